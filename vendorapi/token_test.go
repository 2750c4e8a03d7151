package vendorapi_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// fakeClock is a settable clock for the cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenCacheFetchesOnceAndRefreshes(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var fetches atomic.Int32
	release := make(chan struct{})
	cache := vendorapi.NewTokenCache("v", "fetch token", clock.now, func(ctx context.Context) (string, time.Time, error) {
		n := fetches.Add(1)
		<-release
		return "tok" + string(rune('0'+n)), vendorapi.RefreshAt(clock.now(), time.Hour, time.Minute), nil
	})
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			tok, err := cache.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	time.Sleep(20 * time.Millisecond) // let them all queue behind the first fetch
	close(release)
	wg.Wait()
	for _, tok := range got {
		if tok != "tok1" {
			t.Fatalf("concurrent callers got %v after %d fetches", got, fetches.Load())
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for one burst", fetches.Load())
	}

	clock.add(58*time.Minute + 59*time.Second) // the refresh point is a minute early
	if tok := cache.Cached(); tok != "tok1" {
		t.Fatalf("before the refresh point: %q", tok)
	}
	clock.add(time.Second)
	if cache.Cached() != "" {
		t.Fatal("still cached at the refresh point")
	}
	if tok, _ := cache.Token(context.Background()); tok != "tok2" || fetches.Load() != 2 {
		t.Fatalf("after expiry: %q, %d fetches", tok, fetches.Load())
	}
}

func TestTokenCacheDropAndClear(t *testing.T) {
	n := 0
	cache := vendorapi.NewTokenCache("v", "op", time.Now, func(context.Context) (string, time.Time, error) {
		n++
		return string(rune('a' + n - 1)), time.Time{}, nil // zero: valid until dropped
	})
	ctx := context.Background()
	a, _ := cache.Token(ctx)
	cache.Drop("not-the-cached-one") // another caller's stale token: keep ours
	if tok, _ := cache.Token(ctx); tok != a || n != 1 {
		t.Fatalf("a stale drop replaced the token: %q after %d fetches", tok, n)
	}
	cache.Drop(a)
	b, _ := cache.Token(ctx)
	cache.Clear()
	c, _ := cache.Token(ctx)
	if a != "a" || b != "b" || c != "c" || n != 3 {
		t.Fatalf("got %q %q %q after %d fetches", a, b, c, n)
	}
}

func TestTokenCacheErrorsAndGivingUp(t *testing.T) {
	boom := errors.New("invalid_client")
	cache := vendorapi.NewTokenCache("v", "fetch token", time.Now, func(ctx context.Context) (string, time.Time, error) {
		return "", time.Time{}, boom
	})
	if _, err := cache.Token(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("fetch error: %v", err)
	}

	entered, block := make(chan struct{}), make(chan struct{})
	slow := vendorapi.NewTokenCache("v", "fetch token", time.Now, func(ctx context.Context) (string, time.Time, error) {
		close(entered)
		<-block
		return "late", time.Time{}, nil
	})
	go slow.Token(context.Background())
	<-entered // the first caller is fetching; the next one waits for it
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := slow.Token(ctx)
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || ve.Op != "fetch token" || ve.Vendor != "v" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a waiter whose context ends: %#v", err)
	}
	close(block)
}

func TestRefreshAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ ttl, margin, early time.Duration }{
		{time.Hour, time.Minute, time.Minute},
		{5 * time.Minute, time.Minute, 30 * time.Second}, // a tenth of a short lifetime
		{time.Hour, 0, 0},
	} {
		if got := vendorapi.RefreshAt(start, tc.ttl, tc.margin); got != start.Add(tc.ttl-tc.early) {
			t.Errorf("ttl %v margin %v: %v early, want %v", tc.ttl, tc.margin, start.Add(tc.ttl).Sub(got), tc.early)
		}
	}
}

func TestTokenCacheCallRetriesOnceWithAFreshToken(t *testing.T) {
	n := 0
	cache := vendorapi.NewTokenCache("v", "op", time.Now, func(context.Context) (string, time.Time, error) {
		n++
		return string(rune('a' + n - 1)), time.Time{}, nil
	})
	ctx := context.Background()
	var used []string
	refuse := func(tok string) (bool, error) { used = append(used, tok); return true, errors.New("401") }
	if err := cache.Call(ctx, refuse); err == nil || err.Error() != "401" || len(used) != 2 || used[0] != "a" || used[1] != "b" {
		t.Fatalf("refused twice: %v, tokens %v", err, used)
	}
	used = nil
	accept := func(tok string) (bool, error) { used = append(used, tok); return false, nil }
	if err := cache.Call(ctx, accept); err != nil || len(used) != 1 || used[0] != "b" || n != 2 {
		t.Fatalf("the second token is kept: %v, tokens %v after %d fetches", err, used, n)
	}
	used = nil
	fail := func(tok string) (bool, error) { used = append(used, tok); return false, errors.New("timeout") }
	if err := cache.Call(ctx, fail); err == nil || len(used) != 1 || n != 2 {
		t.Fatalf("other failures are not retried here: %v, tokens %v", err, used)
	}
	broken := vendorapi.NewTokenCache("v", "op", time.Now, func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, errors.New("invalid_client")
	})
	if err := broken.Call(ctx, accept); err == nil || err.Error() != "invalid_client" {
		t.Fatalf("no token: %v", err)
	}
}
