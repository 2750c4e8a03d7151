package sim

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
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

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) { return simkit.MarshalDurations(f) }

// UnmarshalJSON accepts durations as strings ("2s") or integer milliseconds.
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

// ASP.NET pages (IIS's own are simkit's): a proxy's warm-up page and the session redirect.
const (
	proxyPage = `<html><head><title>Please wait - Cityworks</title></head>
<body><p>The application is starting. This page will refresh automatically.</p></body></html>`
	objectMovedFmt = `<html><head><title>Object moved</title></head><body>
<h2>Object moved to <a href="%s">here</a>.</h2>
</body></html>`
)
