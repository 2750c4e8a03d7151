package cubu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// DefaultReplayWindow is how long a delivery is remembered. Cubu signs no timestamp, nonce
// or delivery id, so a captured request verifies forever; the window bounds what the store
// keeps, not what an attacker can replay after it (creates are idempotent on the case id).
const DefaultReplayWindow = 24 * time.Hour

// ReplayStore remembers deliveries. Seen records key and reports whether it had already been
// recorded within window, atomically (two concurrent identical deliveries: exactly one gets
// false). Implementations must be safe for concurrent use.
type ReplayStore interface {
	Seen(ctx context.Context, key string, window time.Duration) (bool, error)
}

// BodyHash is the lower-case hex SHA-256 of a raw body.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// ReplayKey identifies one delivery as the contract asks: (hook, caseId, SHA-256(body)).
// Byte-identical repeats share it; the same hook for the same case with any change (e.g. a
// later afterResolve after a re-open) does not. The connection id scopes keys in a shared
// store; it, the hook and the GUID case id contain no ':' of their own.
func ReplayKey(connection string, hook Hook, caseID string, body []byte) string {
	return "cubu:" + connection + ":" + string(hook) + ":" + caseID + ":" + BodyHash(body)
}

// MemoryReplayStore is an in-process ReplayStore for tests and single-process setups; keys
// older than their window are pruned as new ones arrive.
type MemoryReplayStore struct {
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
	calls   int
}

type memEntry struct {
	seen   time.Time
	window time.Duration
}

// NewMemoryReplayStore returns an empty store on the real clock.
func NewMemoryReplayStore() *MemoryReplayStore {
	return &MemoryReplayStore{Now: time.Now}
}

// Seen implements ReplayStore. A repeat inside the window does not extend it: the window
// starts at the first delivery.
func (m *MemoryReplayStore) Seen(ctx context.Context, key string, window time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	t := now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]memEntry{}
	}
	m.calls++
	if m.calls%256 == 0 {
		for k, e := range m.entries {
			if !t.Before(e.seen.Add(e.window)) {
				delete(m.entries, k)
			}
		}
	}
	if e, ok := m.entries[key]; ok && t.Before(e.seen.Add(window)) {
		return true, nil
	}
	m.entries[key] = memEntry{seen: t, window: window}
	return false, nil
}

// Len is the number of remembered keys (expired ones may linger until the next pruning).
func (m *MemoryReplayStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
