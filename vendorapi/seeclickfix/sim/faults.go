package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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

type faultsAlias Faults

// MarshalJSON writes Latency as a Go duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		faultsAlias
		Latency string `json:"latency"`
	}{faultsAlias(f), f.Latency.String()})
}

// UnmarshalJSON accepts Latency as a string ("2s") or integer milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	aux := struct {
		*faultsAlias
		Latency json.RawMessage `json:"latency"`
	}{faultsAlias: (*faultsAlias)(f)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	f.Latency = 0
	if len(aux.Latency) == 0 || string(aux.Latency) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(aux.Latency, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad latency %q: %w", s, err)
		}
		f.Latency = d
		return nil
	}
	ms, err := strconv.ParseFloat(string(aux.Latency), 64)
	if err != nil {
		return fmt.Errorf("bad latency %s", aux.Latency)
	}
	f.Latency = time.Duration(ms * float64(time.Millisecond))
	return nil
}

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

// injectLocked picks the injected answer for this call, if any, and returns the function that
// writes it (called after the lock is released).
func (s *Server) injectLocked(w http.ResponseWriter, r *http.Request) func() {
	f := &s.faults
	switch {
	case f.Forbidden > 0:
		f.Forbidden--
		s.stats.Forbidden++
		return func() { writeErr(w, errMessage(http.StatusForbidden, msgAbuse)) }
	case f.RateLimitBurst > 0:
		f.RateLimitBurst--
		s.stats.RateLimited++
		ra := f.RetryAfterSeconds
		return func() {
			w.Header().Set("Retry-After", strconv.Itoa(ra))
			writeErr(w, errMessage(http.StatusTooManyRequests, "Too Many Requests"))
		}
	case f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate:
		s.stats.Faulted++
		switch s.rng.IntN(3) {
		case 0:
			return func() { w.WriteHeader(http.StatusInternalServerError) }
		case 1:
			return func() { writeHTML(w, http.StatusBadGateway, errorPage) }
		default:
			return func() { writeHTML(w, http.StatusServiceUnavailable, maintenancePage) }
		}
	case f.HTMLOn200 > 0:
		f.HTMLOn200--
		s.stats.Faulted++
		return func() { writeHTML(w, http.StatusOK, signInPage) }
	case f.Redirects > 0:
		f.Redirects--
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
		return func() {
			w.Header().Set("Location", target)
			writeJSON(w, status, map[string]string{"message": "Moved"})
		}
	}
	return nil
}
