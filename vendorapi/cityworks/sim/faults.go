package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Faults are injected misbehaviours. Counters ("next N calls") count down as they fire; rates
// are probabilities in [0,1] drawn from the seeded RNG. "Calls" are …/Services/… requests. In
// JSON, durations are strings such as "250ms" (integers are read as milliseconds).
type Faults struct {
	// ErrorRate answers a random IIS HTML 500 or 503 page (nothing is committed).
	ErrorRate float64 `json:"errorRate"`
	// ServerErrors / Unavailable: the next N calls get the IIS 500 / 503 HTML page.
	ServerErrors int `json:"serverErrors"`
	Unavailable  int `json:"unavailable"`
	// RateLimitBurst: the next N calls get 429 with Retry-After (a throttling front end).
	RateLimitBurst int `json:"rateLimitBurst"`
	// RetryAfterSeconds is the Retry-After of 429s (default 1) and 503s (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// Latency is added to every call.
	Latency time.Duration `json:"latency"`
	// HTMLOn200: the next N calls get HTTP 200 with a proxy's HTML page instead of JSON.
	HTMLOn200 int `json:"htmlOn200"`
	// LoginRedirect / ObjectMoved: the next N authenticated calls find their session ended:
	// the token is invalidated and the answer is a 302 to /Login.aspx or the 200 "Object moved"
	// page, whatever Options.ExpiredSession says.
	LoginRedirect int `json:"loginRedirect"`
	ObjectMoved   int `json:"objectMoved"`
	// ExpireTokens invalidates every issued token once, when set (it reads back false);
	// TokenExpireRate expires the presented token at random.
	ExpireTokens    bool    `json:"expireTokens"`
	TokenExpireRate float64 `json:"tokenExpireRate"`
	// StatusError: the next N calls (of StatusErrorMethod only, e.g. "ServiceRequest/Close",
	// when set) answer Status 1 with StatusErrorCode (default 30) and StatusErrorMessage.
	StatusError        int    `json:"statusError"`
	StatusErrorCode    int    `json:"statusErrorCode"`
	StatusErrorMessage string `json:"statusErrorMessage"`
	StatusErrorMethod  string `json:"statusErrorMethod"`
	// SlowCreate / SlowUpload: the next N creates (SR or WO) / uploads are committed, then the
	// answer is held back for SlowDelay (default 150 s), past the client's timeout.
	SlowCreate int           `json:"slowCreate"`
	SlowUpload int           `json:"slowUpload"`
	SlowDelay  time.Duration `json:"slowDelay"`
	// DropAfterCreate: the next N creates are committed, then the connection is closed.
	DropAfterCreate int `json:"dropAfterCreate"`
	// LargeResponseBytes pads every envelope with that many bytes.
	LargeResponseBytes int `json:"largeResponseBytes"`
}

type faultsAlias Faults

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		faultsAlias
		Latency   string `json:"latency"`
		SlowDelay string `json:"slowDelay"`
	}{faultsAlias(f), f.Latency.String(), f.SlowDelay.String()})
}

// UnmarshalJSON accepts durations as strings ("2s") or integer milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	aux := struct {
		*faultsAlias
		Latency   jsonDuration `json:"latency"`
		SlowDelay jsonDuration `json:"slowDelay"`
	}{faultsAlias: (*faultsAlias)(f)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	f.Latency, f.SlowDelay = time.Duration(aux.Latency), time.Duration(aux.SlowDelay)
	return nil
}

type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad duration %q: %w", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bad duration %s", b)
	}
	*d = jsonDuration(time.Duration(ms * float64(time.Millisecond)))
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
	if f.SlowDelay <= 0 {
		f.SlowDelay = DefaultSlowDelay
	}
	if f.StatusErrorCode == 0 {
		f.StatusErrorCode = codeInvalidField
	}
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// IIS and ASP.NET pages, as on-prem deployments send them.
const (
	iis500Page = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>500 - Internal server error.</title></head>
<body><div id="header"><h1>Server Error</h1></div><div id="content"><div class="content-container"><fieldset>
<h2>500 - Internal server error.</h2><h3>There is a problem with the resource you are looking for, and it cannot be displayed.</h3>
</fieldset></div></div></body></html>`
	iis503Page = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">
<HTML><HEAD><TITLE>Service Unavailable</TITLE><META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>
<BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>`
	iis404Page = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>404 - File or directory not found.</title></head>
<body><div id="header"><h1>Server Error</h1></div><div id="content"><div class="content-container"><fieldset>
<h2>404 - File or directory not found.</h2><h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
</fieldset></div></div></body></html>`
	proxyPage = `<html><head><title>Please wait - Cityworks</title></head>
<body><p>The application is starting. This page will refresh automatically.</p></body></html>`
	objectMovedFmt = `<html><head><title>Object moved</title></head><body>
<h2>Object moved to <a href="%s">here</a>.</h2>
</body></html>`
	tooManyPage = `<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>`
)
