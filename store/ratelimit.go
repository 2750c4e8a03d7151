package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Limiter paces calls to one vendor for one connection across every process sharing this
// store: each call reserves the next free slot (slots are 60s/perMinute apart) with one atomic
// UPDATE … RETURNING, then sleeps until its slot. A vendor's 429 pushes the next slot past its
// Retry-After for everyone. It implements vendorapi.Limiter.
type Limiter struct {
	s        *Store
	key      string
	interval time.Duration
	now      func() time.Time
	ensured  atomic.Bool // the row exists (one INSERT per process, not per call)
}

var _ vendorapi.Limiter = (*Limiter)(nil)

// NewLimiter returns the shared limiter for key at perMinute calls per minute.
func (s *Store) NewLimiter(key string, perMinute int) *Limiter {
	if perMinute <= 0 {
		perMinute = 60
	}
	// 1 % slack: slots exactly 60s/N apart can put N+1 calls in a closed 60 s window.
	interval := time.Duration(float64(time.Minute) / float64(perMinute) * 1.01)
	return &Limiter{s: s, key: key, interval: interval, now: time.Now}
}

// Wait reserves the next slot (one statement) and sleeps until it. A slot beyond ctx's deadline
// fails at once with a retryable error rather than sleeping into a timeout.
func (l *Limiter) Wait(ctx context.Context) error {
	now := l.now().UnixNano()
	if err := l.ensure(ctx, now); err != nil {
		return err
	}
	var slot int64
	err := l.s.db.GetContext(ctx, &slot, l.s.q(`
		UPDATE rate_limits SET next_slot = (CASE WHEN next_slot < ? THEN ? ELSE next_slot END) + ?
		WHERE limit_key = ? RETURNING next_slot`), now, now, int64(l.interval), l.key)
	if err != nil {
		return fmt.Errorf("store: rate limit %s: %w", l.key, err)
	}
	wait := time.Duration(slot - int64(l.interval) - now)
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now+int64(wait) > dl.UnixNano() {
		return &vendorapi.Error{Vendor: l.key, Op: "rate limit", Code: "rate_limited", Retryable: true,
			Message: "the connection's shared rate limit has no free slot before the call's deadline", RetryAfter: wait}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff makes no process call before now+d (the vendor's Retry-After).
func (l *Limiter) Backoff(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	until := l.now().Add(d).UnixNano()
	if err := l.ensure(ctx, until); err != nil {
		l.s.log().Warn("rate limit backoff not recorded", "key", l.key, "error", err)
		return
	}
	if _, err := l.s.db.ExecContext(ctx, l.s.q(`UPDATE rate_limits SET next_slot = ? WHERE limit_key = ? AND next_slot < ?`),
		until, l.key, until); err != nil {
		l.s.log().Warn("rate limit backoff not recorded", "key", l.key, "error", err)
	}
}

func (l *Limiter) ensure(ctx context.Context, now int64) error {
	if l.ensured.Load() {
		return nil
	}
	if _, err := l.s.db.ExecContext(ctx, l.s.q(`INSERT INTO rate_limits (limit_key, next_slot) VALUES (?, ?) ON CONFLICT (limit_key) DO NOTHING`),
		l.key, now); err != nil {
		return fmt.Errorf("store: rate limit %s: %w", l.key, err)
	}
	l.ensured.Store(true)
	return nil
}
