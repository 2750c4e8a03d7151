package sim

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N") count down as they fire; rates are
// probabilities in [0,1] drawn from the seeded RNG. In JSON, durations are strings such as
// "250ms" (integers are read as milliseconds).
//
// Push API faults (Pruvan answering us):
type Faults struct {
	// ErrorRate answers a random 500/502/504 on push API calls (nothing is done).
	ErrorRate float64 `json:"errorRate"`
	// RateLimitBurst: the next N push API calls get 429 with Retry-After.
	RateLimitBurst int `json:"rateLimitBurst"`
	// Maintenance: the next N push API calls get a 503 text/html page.
	Maintenance int `json:"maintenance"`
	// RetryAfterSeconds is the Retry-After of injected 429s (default 1) and 503s (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// HTMLOn200: the next N push API calls get 200 with an HTML sign-in page.
	HTMLOn200 int `json:"htmlOn200"`
	// AppError: the next N push API calls get HTTP 200 {"response":false,"error":"…"}.
	AppError int `json:"appError"`
	// Latency is added to every push API call.
	Latency time.Duration `json:"latency"`
	// DropPull: the next N accepted push key calls start no import (the pull is lost).
	DropPull int `json:"dropPull"`

	// Order-source faults (Pruvan calling the order source):

	// BadCredentials: the next N order-source calls send a wrong password.
	BadCredentials int `json:"badCredentials"`
	// DuplicateUploads: the next N uploaded items are sent twice with the same uuid (a retry
	// after a lost answer, or a re-publish).
	DuplicateUploads int `json:"duplicateUploads"`
	// FileBeforePayload: the next N uploads put the file part before the payload part.
	FileBeforePayload int `json:"fileBeforePayload"`
	// UnknownFields adds members the contract does not name to every payload and item.
	UnknownFields bool `json:"unknownFields"`
	// MixedStatusBatch: the next N status calls also carry an unknown workOrderNumber.
	MixedStatusBatch int `json:"mixedStatusBatch"`
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) { return simkit.MarshalDurations(f) }

// UnmarshalJSON accepts durations as strings ("2s") or integer milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error { return simkit.UnmarshalDurations(b, f) }

// SetFaults replaces the fault configuration.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
