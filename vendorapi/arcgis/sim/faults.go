package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
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

// sleep waits d unless the client goes away first (false then).
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// frontFaultLocked answers with a front-end fault if one fires, unlocking s.mu in that case.
func (s *Server) frontFaultLocked(w http.ResponseWriter) bool {
	f := &s.faults
	status, page, retryAfter := 0, "", 0
	switch {
	case f.ConnectionReset > 0:
		f.ConnectionReset--
		s.stats.Faulted++
		s.mu.Unlock()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.ServerErrors > 0:
		f.ServerErrors--
		status, page = http.StatusInternalServerError, iis500Page
	case f.Unavailable > 0:
		f.Unavailable--
		status, page, retryAfter = http.StatusServiceUnavailable, iis503Page, f.RetryAfterSeconds
	case f.RateLimitBurst > 0:
		f.RateLimitBurst--
		status, page, retryAfter = http.StatusTooManyRequests, tooManyPage, max(f.RetryAfterSeconds, 1)
	case f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate:
		status, page = http.StatusInternalServerError, iis500Page
		if s.rng.IntN(2) == 1 {
			status, page, retryAfter = http.StatusServiceUnavailable, iis503Page, f.RetryAfterSeconds
		}
	case f.HTMLOn200 > 0:
		f.HTMLOn200--
		status, page = http.StatusOK, signInPage
	default:
		return false
	}
	s.stats.Faulted++
	s.mu.Unlock()
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeHTML(w, status, page)
	return true
}

// bodyFaultLocked returns an injected HTTP-200 error body, if one fires.
func (s *Server) bodyFaultLocked() (int, string, string) {
	f := &s.faults
	switch {
	case f.ErrorBody > 0:
		f.ErrorBody--
	case f.Forbidden > 0:
		f.Forbidden--
		s.stats.Faulted++
		return 403, "You do not have permissions to access this resource or perform this operation.", ""
	case f.BadRequest > 0:
		f.BadRequest--
		s.stats.Faulted++
		return 400, "Cannot perform query. Invalid query parameters.", "'outFields' parameter is invalid"
	default:
		return 0, "", ""
	}
	s.stats.Faulted++
	return 500, "Unable to complete operation.", ""
}

const (
	iis500Page = `<!DOCTYPE html><html><head><title>500 - Internal server error.</title></head>
<body><h2>500 - Internal server error.</h2><h3>There is a problem with the resource you are looking for, and it cannot be displayed.</h3></body></html>`
	iis503Page  = `<HTML><HEAD><TITLE>Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>`
	tooManyPage = `<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>`
	signInPage  = `<html><head><title>Sign In - ArcGIS Web Adaptor</title></head><body><form method="post"><input name="username"><input name="password" type="password"></form></body></html>`
)
