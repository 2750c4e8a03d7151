package portal

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

func throttled(retryAfter time.Duration) error {
	return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, HTTPStatus: http.StatusTooManyRequests, Retryable: true, RetryAfter: retryAfter}
}

func fixed(j float64) func() float64 { return func() float64 { return j } }

// Every retry is jittered ±20 % around the schedule, so tickets failing together spread out.
func TestRetryDelayJitter(t *testing.T) {
	unavailable := &vendorapi.Error{Vendor: Vendor, Op: opDeliver, HTTPStatus: http.StatusBadGateway, Retryable: true}
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, 10 * time.Second}, {3, 40 * time.Second}, {20, time.Hour}} {
		if lo := RetryDelay(tc.attempt, unavailable, fixed(0)); lo != time.Duration(0.8*float64(tc.base)) {
			t.Errorf("attempt %d, jitter 0: %s, want 0.8 × %s", tc.attempt, lo, tc.base)
		}
		if hi := RetryDelay(tc.attempt, unavailable, fixed(1)); hi != time.Duration(1.2*float64(tc.base)) {
			t.Errorf("attempt %d, jitter 1: %s, want 1.2 × %s", tc.attempt, hi, tc.base)
		}
		seen := map[time.Duration]bool{}
		for range 200 {
			d := RetryDelay(tc.attempt, unavailable, nil)
			if d < time.Duration(0.8*float64(tc.base)) || d > time.Duration(1.2*float64(tc.base)) {
				t.Fatalf("attempt %d: %s outside ±20 %% of %s", tc.attempt, d, tc.base)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("attempt %d: only %d distinct delays in 200 draws: not jittered", tc.attempt, len(seen))
		}
	}
}

// Retry-After is a floor: it lengthens a shorter backoff, never shortens a longer one.
func TestRetryAfterIsAFloor(t *testing.T) {
	// Retry-After 60 s after the first failure (backoff ~10 s): at least 60 s, up to 20 % more.
	for j, want := range map[float64]time.Duration{0: 60 * time.Second, 0.5: 66 * time.Second, 1: 72 * time.Second} {
		if got := RetryDelay(1, throttled(time.Minute), fixed(j)); got != want {
			t.Errorf("Retry-After 60s, jitter %v: %s, want %s", j, got, want)
		}
	}
	for range 200 {
		if got := RetryDelay(1, throttled(time.Minute), nil); got < time.Minute || got > 72*time.Second {
			t.Fatalf("Retry-After 60s: %s, want within [60s, 72s]", got)
		}
	}
	// Deep in an outage (attempt 6: backoff 320 s ± 20 %), "Retry-After: 1" does not replace it.
	for range 200 {
		if got := RetryDelay(6, throttled(time.Second), nil); got < 256*time.Second || got > 384*time.Second {
			t.Fatalf("Retry-After 1s at attempt 6: %s, want the backoff (256–384 s)", got)
		}
	}
	// An absurd Retry-After cannot hold an event past its lifetime (nor overflow).
	if got := RetryDelay(1, throttled(1<<62), fixed(0)); got != MaxRetryAfter {
		t.Errorf("huge Retry-After: %s, want %s", got, MaxRetryAfter)
	}
	// Errors without Retry-After, and foreign errors, follow the schedule.
	if got := RetryDelay(2, errors.New("boom"), fixed(0.5)); got != 20*time.Second {
		t.Errorf("plain error: %s, want 20s", got)
	}
	if got := RetryDelay(2, nil, fixed(0.5)); got != 20*time.Second {
		t.Errorf("nil error: %s, want 20s", got)
	}
}
