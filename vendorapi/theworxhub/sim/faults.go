package sim

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N calls") count down as they fire;
// rates are probabilities in [0,1] drawn from the seeded RNG. "API calls" are authenticated
// /api/v1 calls (the token endpoint only gets Latency). In JSON, durations are strings such
// as "250ms" (integers are read as milliseconds).
type Faults struct {
	// ErrorRate answers a random 500/502/504 JSON server_error (nothing is committed).
	ErrorRate float64 `json:"errorRate"`
	// RateLimitBurst: the next N API calls get 429 rate_limited with Retry-After.
	RateLimitBurst int `json:"rateLimitBurst"`
	// Maintenance: the next N API calls get the 503 text/html "Scheduled maintenance" page.
	Maintenance int `json:"maintenance"`
	// RetryAfterSeconds is the Retry-After of injected 429s (default 1) and 503s (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// Latency is added to every call, token endpoint included.
	Latency time.Duration `json:"latency"`
	// SlowCreate: the next N creates are committed, then the answer is held back for
	// SlowCreateDelay (default 35 s), i.e. past the client timeout; the retry gets a 409.
	SlowCreate      int           `json:"slowCreate"`
	SlowCreateDelay time.Duration `json:"slowCreateDelay"`
	// DropAfterCreate: the next N creates are committed, then the connection is closed
	// without a response.
	DropAfterCreate int `json:"dropAfterCreate"`
	// RevokeTokens revokes every issued token once, when the faults are set (it reads back
	// false). TokenRevokeRate revokes the presented token at random on API calls.
	RevokeTokens    bool    `json:"revokeTokens"`
	TokenRevokeRate float64 `json:"tokenRevokeRate"`
	// HTMLOn200: the next N API calls get 200 with an HTML (sign-in) page.
	HTMLOn200 int `json:"htmlOn200"`
	// Webhook faults, per notification: lost entirely, delivered twice (same delivery id),
	// signed with a wrong secret.
	WebhookDropRate     float64 `json:"webhookDropRate"`
	WebhookDuplicate    float64 `json:"webhookDuplicate"`
	WebhookBadSignature float64 `json:"webhookBadSignature"`
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
	if f.RevokeTokens {
		s.revokeAllLocked()
		f.RevokeTokens = false
	}
	if f.SlowCreateDelay <= 0 {
		f.SlowCreateDelay = DefaultSlowCreateDelay
	}
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
