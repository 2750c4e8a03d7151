package sim

import (
	"net/http"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N calls") count down as they fire;
// ErrorRate is a probability drawn from the seeded RNG. In JSON, Latency is a string such as
// "6s" (an integer is read as milliseconds).
type Faults struct {
	// ErrorRate answers a random IIS HTML 500 or 503 page.
	ErrorRate float64 `json:"errorRate"`
	// ServerErrors / Unavailable: the next N calls get the IIS HTML 500 / 503 page.
	ServerErrors int `json:"serverErrors"`
	Unavailable  int `json:"unavailable"`
	// RateLimitBurst: the next N calls get HTTP 429 with Retry-After (the World service's
	// throttling).
	RateLimitBurst int `json:"rateLimitBurst"`
	// RetryAfterSeconds is the Retry-After of 429 (default 1) and 503 (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// HTMLOn200: the next N calls get HTTP 200 with an HTML page.
	HTMLOn200 int `json:"htmlOn200"`
	// ConnectionReset: the next N calls are dropped without an answer.
	ConnectionReset int `json:"connectionReset"`
	// ErrorBody / Forbidden / BadRequest: the next N calls get HTTP 200 with error code 500
	// "Unable to complete operation." / 403 / 400 with details other than "no match".
	ErrorBody  int `json:"errorBody"`
	Forbidden  int `json:"forbidden"`
	BadRequest int `json:"badRequest"`
	// ExpireTokens ends every issued token once, when set (it reads back false).
	ExpireTokens bool `json:"expireTokens"`
	// Latency is added to every call (over 5 s: past the client's default timeout).
	Latency time.Duration `json:"latency"`
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
	if f.ExpireTokens {
		s.expireAllLocked()
		f.ExpireTokens = false
	}
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

// frontFaultLocked answers with a front-end fault if one fires, unlocking s.mu in that case.
func (s *Server) frontFaultLocked(w http.ResponseWriter) bool {
	f := &s.faults
	if simkit.Take(&f.ConnectionReset) {
		s.stats.Faulted++
		s.mu.Unlock()
		simkit.DropConnection(w)
		return true
	}
	answer := simkit.IISFaults{ServerErrors: &f.ServerErrors, Unavailable: &f.Unavailable,
		APIFaults: simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
			ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}}.Inject(s.rng, signInPage)
	if answer == nil {
		return false
	}
	s.stats.Faulted++
	s.mu.Unlock()
	answer(w)
	return true
}

// bodyFaultLocked returns an injected HTTP-200 error body, if one fires.
func (s *Server) bodyFaultLocked() (int, string, string) {
	f := &s.faults
	switch {
	case simkit.Take(&f.ErrorBody):
		s.stats.Faulted++
		return 500, "Unable to complete operation.", ""
	case simkit.Take(&f.Forbidden):
		s.stats.Faulted++
		return 403, "You do not have permissions to access this resource or perform this operation.", ""
	case simkit.Take(&f.BadRequest):
		s.stats.Faulted++
		return 400, "Cannot perform query. Invalid query parameters.", "'outFields' parameter is invalid"
	}
	return 0, "", ""
}

const signInPage = `<html><head><title>Sign In - ArcGIS Web Adaptor</title></head><body><form method="post"><input name="username"><input name="password" type="password"></form></body></html>`
