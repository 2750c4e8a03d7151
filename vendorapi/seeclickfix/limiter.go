package seeclickfix

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is SCF's documented limit: requests per minute per credential.
const RateLimit = 20

// Limiter paces requests of one SCF credential. The client calls Wait before every request
// (redirect hops included) and Backoff with the vendor's Retry-After on every 429.
// Implementations shared across processes (e.g. backed by the database) let every worker of a
// connection respect one budget; RateLimiter is the in-process one.
type Limiter interface {
	// Wait blocks until a request may be sent, or returns ctx's error.
	Wait(ctx context.Context) error
	// Backoff blocks every request until d from now (longer blocks win).
	Backoff(d time.Duration)
}

// RateLimiter is an in-process Limiter: a token bucket plus a "blocked until" time set by
// Backoff. It is safe for concurrent use.
type RateLimiter struct {
	mu      sync.Mutex
	bucket  *rate.Limiter
	blocked time.Time
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

var _ Limiter = (*RateLimiter)(nil)

// NewRateLimiter allows perMinute requests in any sliding minute (SCF counts that way: a plain
// bucket of perMinute tokens refilling at perMinute/min would allow almost twice as many in
// the first minute). The bucket holds perMinute/10 tokens (at least one) for short bursts and
// refills at the rest of the budget. perMinute <= 0 means RateLimit.
func NewRateLimiter(perMinute int) *RateLimiter {
	if perMinute <= 0 {
		perMinute = RateLimit
	}
	burst := max(1, perMinute/10)
	every := rate.Every(time.Minute / time.Duration(max(1, perMinute-burst)))
	if perMinute == 1 { // the one request is the burst; refill once a minute
		every = rate.Every(time.Minute)
	}
	return &RateLimiter{bucket: rate.NewLimiter(every, burst), now: time.Now, sleep: sleepCtx}
}

// Wait takes a token, then also waits out any Backoff (including one that arrives while it
// waits), or returns ctx's error (the token is then given back).
func (l *RateLimiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	res := l.bucket.ReserveN(now, 1)
	ready := now.Add(res.DelayFrom(now))
	l.mu.Unlock()
	for {
		l.mu.Lock()
		now = l.now()
		until := ready
		if l.blocked.After(until) {
			until = l.blocked
		}
		l.mu.Unlock()
		if !now.Before(until) {
			return nil
		}
		if err := l.sleep(ctx, until.Sub(now)); err != nil {
			l.mu.Lock()
			res.CancelAt(l.now())
			l.mu.Unlock()
			return err
		}
	}
}

// Backoff blocks requests until d from now unless they are already blocked for longer.
func (l *RateLimiter) Backoff(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.blocked) {
		l.blocked = until
	}
}

// BlockedUntil is the end of the current Backoff (zero or past when none).
func (l *RateLimiter) BlockedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
