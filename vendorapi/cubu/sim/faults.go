package sim

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Faults are injected misbehaviours. Counters ("next N") count down as they fire; rates are
// probabilities in [0,1] drawn from the seeded RNG. In JSON, durations are strings such as
// "250ms" (integers are read as milliseconds).
type Faults struct {
	// S2S API (authenticated calls; the token endpoint only gets Latency and the token faults).

	// ErrorRate answers a random 500/502/503 JSON error (nothing is committed).
	ErrorRate float64 `json:"errorRate"`
	// RateLimitBurst: the next N API calls get 429 with Retry-After.
	RateLimitBurst int `json:"rateLimitBurst"`
	// RetryAfterSeconds is the Retry-After of injected 429s (default 1) and 503 pages (omitted if 0).
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// Latency is added to every S2S call, token endpoint included.
	Latency time.Duration `json:"latency"`
	// HTMLOn200: the next N API calls get 200 with an HTML sign-in page.
	HTMLOn200 int `json:"htmlOn200"`
	// Maintenance: the next N API calls get a 503 text/html page from the front door.
	Maintenance int `json:"maintenance"`
	// RevokeTokens revokes every issued token once, when set (it reads back false);
	// TokenRevokeRate revokes the presented token at random on API calls.
	RevokeTokens    bool    `json:"revokeTokens"`
	TokenRevokeRate float64 `json:"tokenRevokeRate"`
	// TokenOutage: the next N token requests get Azure AD's 503 temporarily_unavailable.
	TokenOutage int `json:"tokenOutage"`
	// SecretExpired makes the token endpoint reject the client secret (400 invalid_client,
	// AADSTS7000222) until cleared: Azure client secrets expire.
	SecretExpired bool `json:"secretExpired"`

	// Service webhooks.

	// HookDuplicates sends every after-hook 1+N times, concurrently and byte-identical.
	HookDuplicates int `json:"hookDuplicates"`
	// HookBadSignature: the next N deliveries are signed with a wrong secret.
	HookBadSignature int `json:"hookBadSignature"`
	// HookUnsigned: the next N deliveries carry no Authorization header.
	HookUnsigned int `json:"hookUnsigned"`
	// HookExtraFields adds fields no contract version knows to every body (as Cubu releases do).
	HookExtraFields bool `json:"hookExtraFields"`
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
	if f.RevokeTokens {
		s.revokeAllLocked()
		f.RevokeTokens = false
	}
	s.faults = f
}

// Faults returns the current faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// RevokeAll invalidates every issued token before its expiry.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeAllLocked()
}

func (s *Server) revokeAllLocked() {
	for _, t := range s.tokens {
		t.revoked = true
	}
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}
