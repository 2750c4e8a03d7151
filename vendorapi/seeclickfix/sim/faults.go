package sim

import (
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N calls") count down as they fire;
// rates are probabilities in [0,1] drawn from the seeded RNG. They apply to /api/v2 calls
// (media only get Latency). In JSON, durations are strings such as "250ms" (integers are
// milliseconds).
type Faults struct {
	// ErrorRate answers a random 500 (empty body), 502 or 503 (HTML page); nothing is committed.
	ErrorRate float64 `json:"errorRate"`
	// RateLimitBurst: the next N calls get 429 with Retry-After: RetryAfterSeconds (default 30).
	RateLimitBurst    int `json:"rateLimitBurst"`
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// Forbidden: the next N calls get the 403 "forbidden by administrative rules" (blacklist).
	Forbidden int `json:"forbidden"`
	// HTMLPages: the next N calls get a 503 text/html maintenance page (before auth).
	HTMLPages int `json:"htmlPages"`
	// HTMLOn200: the next N calls get 200 with an HTML sign-in page.
	HTMLOn200 int `json:"htmlOn200"`
	// Latency is added to every call, media included.
	Latency time.Duration `json:"latency"`
	// Redirects: the next N calls are redirected (alternately 301 and 302) to the same path
	// under /moved, or under RedirectBase (another origin) when set.
	Redirects    int    `json:"redirects"`
	RedirectBase string `json:"redirectBase"`
	// ModerateComments / ModerateIssues: the next N comments / reports posted through the API
	// are held for moderation (202) until approved at /_sim.
	ModerateComments int `json:"moderateComments"`
	ModerateIssues   int `json:"moderateIssues"`
}

// MarshalJSON writes Latency as a Go duration string.
func (f Faults) MarshalJSON() ([]byte, error) { return simkit.MarshalDurations(f) }

// UnmarshalJSON accepts Latency as a string ("2s") or integer milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error { return simkit.UnmarshalDurations(b, f) }

// SetFaults replaces the fault configuration.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	if f.RetryAfterSeconds <= 0 {
		f.RetryAfterSeconds = 30
	}
	f.RedirectBase = strings.TrimRight(f.RedirectBase, "/")
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}

// injectLocked picks the injected answer for this call, if any, and returns its writer (called
// after the lock is released).
func (s *Server) injectLocked(r *http.Request) func(http.ResponseWriter) {
	f := &s.faults
	if simkit.Take(&f.Forbidden) {
		s.stats.Forbidden++
		return func(w http.ResponseWriter) { writeErr(w, errMessage(http.StatusForbidden, msgAbuse)) }
	}
	kind, answer := simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
		ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}.Inject(s.rng, faultAnswers)
	switch kind {
	case simkit.RateLimited:
		s.stats.RateLimited++
	case simkit.ServerError, simkit.HTMLOn200:
		s.stats.Faulted++
	}
	if answer != nil {
		return answer
	}
	if !simkit.Take(&f.Redirects) {
		return nil
	}
	s.stats.Redirects++
	status := http.StatusMovedPermanently
	if f.Redirects%2 == 1 {
		status = http.StatusFound
	}
	// Under /moved already? /moved/moved/… is served the same.
	target := f.RedirectBase + "/moved" + r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	return func(w http.ResponseWriter) {
		w.Header().Set("Location", target)
		simkit.WriteJSON(w, status, map[string]string{"message": "Moved"})
	}
}

// faultAnswers are SCF's answers for the injected 429 and HTML-on-200, and its 5xx: an empty
// 500 from the app, a 502 error page or the 503 maintenance page from the front end.
var faultAnswers = simkit.Answers{
	TooMany: func(w http.ResponseWriter) {
		writeErr(w, errMessage(http.StatusTooManyRequests, "Too Many Requests"))
	},
	ServerErrors: []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable},
	ServerError: func(w http.ResponseWriter, status int) {
		switch status {
		case http.StatusBadGateway:
			simkit.WriteHTML(w, status, errorPage)
		case http.StatusServiceUnavailable:
			simkit.WriteHTML(w, status, maintenancePage)
		default:
			w.WriteHeader(status)
		}
	},
	HTMLPage: signInPage,
}
