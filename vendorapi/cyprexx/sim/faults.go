package sim

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N") count down as they fire; rates are
// probabilities in [0,1] drawn from the seeded RNG. "API calls" are authenticated /api/v1
// calls. In JSON, durations are strings such as "250ms" (integers are read as milliseconds).
type Faults struct {
	// ErrorRate answers a random 500/502/504 JSON server_error (nothing is done).
	ErrorRate float64 `json:"errorRate"`
	// RateLimitBurst: the next N API calls get 429 rate_limited with Retry-After.
	RateLimitBurst int `json:"rateLimitBurst"`
	// Maintenance: the next N API calls get the 503 text/html maintenance page.
	Maintenance int `json:"maintenance"`
	// RetryAfterSeconds is the Retry-After of injected 429s (default 1) and 503s (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// HTMLOn200: the next N API calls get 200 with an HTML sign-in page.
	HTMLOn200 int `json:"htmlOn200"`
	// Latency is added before every API call.
	Latency time.Duration `json:"latency"`
	// SlowBody: the next N JSON answers are sent in 8 pieces, SlowBodyDelay apart.
	SlowBody      int           `json:"slowBody"`
	SlowBodyDelay time.Duration `json:"slowBodyDelay"`
	// ResetAfterUpload: the next N photo uploads are stored, then the connection is reset
	// without an answer. SlowUpload: the next N are stored, then answered after
	// SlowUploadDelay (default 35 s, past a client's timeout). A retry with the same
	// sourceId must get the stored photo back, not a second one.
	ResetAfterUpload int           `json:"resetAfterUpload"`
	SlowUpload       int           `json:"slowUpload"`
	SlowUploadDelay  time.Duration `json:"slowUploadDelay"`
	// ExpireCursors invalidates every feed cursor issued so far, once (reads back false).
	ExpireCursors bool `json:"expireCursors"`
	// PingFail: the next N push key registrations fail their ping (422 callback_unreachable)
	// without calling the callback.
	PingFail int `json:"pingFail"`
	// Push faults, per notification: lost entirely, delivered twice (same delivery id),
	// sent with a wrong push key, sent without the push key header.
	PushDropRate       float64 `json:"pushDropRate"`
	PushDuplicateRate  float64 `json:"pushDuplicateRate"`
	PushBadKeyRate     float64 `json:"pushBadKeyRate"`
	PushMissingKeyRate float64 `json:"pushMissingKeyRate"`
}

// DefaultSlowUploadDelay outlasts a client's 30 s call timeout.
const DefaultSlowUploadDelay = 35 * time.Second

// DefaultSlowBodyDelay makes a slow body take 3.5 s.
const DefaultSlowBodyDelay = 500 * time.Millisecond

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
	if f.ExpireCursors {
		s.cursorEpoch++
		f.ExpireCursors = false
	}
	if f.SlowUploadDelay <= 0 {
		f.SlowUploadDelay = DefaultSlowUploadDelay
	}
	if f.SlowBodyDelay <= 0 {
		f.SlowBodyDelay = DefaultSlowBodyDelay
	}
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
