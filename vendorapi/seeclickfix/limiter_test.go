package seeclickfix

import (
	"context"
	"testing"
	"time"
)

// fakeTime drives a RateLimiter without real sleeping: sleep advances the clock.
type fakeTime struct {
	now    time.Time
	sleeps []time.Duration
	during func() // called on each sleep, before the clock moves (another worker's 429)
}

func newFakeLimiter(perMinute int) (*RateLimiter, *fakeTime) {
	ft := &fakeTime{now: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)}
	l := NewRateLimiter(perMinute)
	l.now = func() time.Time { return ft.now }
	l.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ft.sleeps = append(ft.sleeps, d)
		if ft.during != nil {
			f := ft.during
			ft.during = nil
			f()
		}
		ft.now = ft.now.Add(d)
		return nil
	}
	return l, ft
}

func TestRateLimiterNeverExceedsTheSlidingMinute(t *testing.T) {
	for _, perMinute := range []int{1, 5, 20, 120} {
		l, ft := newFakeLimiter(perMinute)
		start := ft.now
		var sent []time.Time
		for ft.now.Sub(start) < 10*time.Minute {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, ft.now)
		}
		for i := range sent {
			n := 0
			for j := i; j < len(sent) && sent[j].Sub(sent[i]) < time.Minute; j++ {
				n++
			}
			if n > perMinute {
				t.Fatalf("perMinute %d: %d requests within a minute from %v", perMinute, n, sent[i].Sub(start))
			}
		}
		// Most of the budget is usable: at least 80% of it over ten minutes.
		if min := perMinute * 10 * 8 / 10; len(sent) < min {
			t.Errorf("perMinute %d: only %d requests in 10 minutes", perMinute, len(sent))
		}
	}
}

func TestRateLimiterDefaultAndBurst(t *testing.T) {
	l, ft := newFakeLimiter(0)
	for range 2 { // RateLimit/10 tokens at once
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(ft.sleeps) != 0 {
		t.Fatalf("burst slept: %v", ft.sleeps)
	}
	l.Wait(context.Background())
	if len(ft.sleeps) != 1 || ft.sleeps[0] != time.Minute/18 {
		t.Fatalf("refill wait = %v, want %v", ft.sleeps, time.Minute/18)
	}
}

func TestRateLimiterBackoff(t *testing.T) {
	l, ft := newFakeLimiter(20)
	start := ft.now
	l.Backoff(30 * time.Second)
	l.Backoff(5 * time.Second) // shorter: does not shorten the block
	l.Backoff(-time.Second)
	if got := l.BlockedUntil().Sub(start); got != 30*time.Second {
		t.Fatalf("BlockedUntil = +%v", got)
	}
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ft.now.Sub(start) != 30*time.Second {
		t.Fatalf("Wait returned at +%v, want +30s", ft.now.Sub(start))
	}
	// A Backoff arriving while a caller waits for a token holds that caller too.
	for l.bucket.TokensAt(ft.now) >= 1 { // empty the (refilled) bucket
		l.Wait(context.Background())
	}
	before := ft.now
	ft.during = func() { l.Backoff(20 * time.Second) }
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ft.now.Sub(before); got != 20*time.Second {
		t.Fatalf("waited %v, want the 20s backoff (sleeps %v)", got, ft.sleeps)
	}
}

func TestRateLimiterCancelReturnsTheToken(t *testing.T) {
	l, ft := newFakeLimiter(20)
	l.Wait(context.Background())
	l.Wait(context.Background()) // bucket empty
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait on a cancelled context = %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	l2sleep := l.sleep
	l.sleep = func(c context.Context, d time.Duration) error { cancel2(); return context.Canceled }
	if err := l.Wait(ctx2); err != context.Canceled {
		t.Fatalf("Wait cancelled while sleeping = %v", err)
	}
	l.sleep = l2sleep
	ft.sleeps = nil
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ft.sleeps) != 1 || ft.sleeps[0] != time.Minute/18 {
		t.Fatalf("after a cancelled wait the next one waited %v, want one refill (%v)", ft.sleeps, time.Minute/18)
	}
}
