package cubu_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

func TestBodyHashAndReplayKey(t *testing.T) {
	body := fixture(t, "afterResolve.json")
	sum := sha256.Sum256(body)
	if cubu.BodyHash(body) != hex.EncodeToString(sum[:]) {
		t.Fatal("BodyHash is not the hex SHA-256")
	}
	const caseID = "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44"
	k := cubu.ReplayKey("conn", cubu.AfterResolve, caseID, body)
	if k != "cubu:conn:afterResolve:"+caseID+":"+hex.EncodeToString(sum[:]) {
		t.Fatalf("ReplayKey = %s", k)
	}
	other := map[string]string{
		"connection": cubu.ReplayKey("conn2", cubu.AfterResolve, caseID, body),
		"hook":       cubu.ReplayKey("conn", cubu.AfterClose, caseID, body),
		"case":       cubu.ReplayKey("conn", cubu.AfterResolve, "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d", body),
		"body":       cubu.ReplayKey("conn", cubu.AfterResolve, caseID, append([]byte(" "), body...)),
	}
	for what, o := range other {
		if o == k {
			t.Errorf("a different %s gives the same key", what)
		}
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestMemoryReplayStoreWindow(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := &cubu.MemoryReplayStore{Now: clk.Now}
	ctx := context.Background()
	seen := func(key string) bool {
		t.Helper()
		ok, err := s.Seen(ctx, key, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen("a") {
		t.Fatal("first delivery reported as seen")
	}
	clk.Advance(23 * time.Hour)
	if !seen("a") {
		t.Fatal("repeat within the window not seen")
	}
	if seen("b") {
		t.Fatal("another key seen")
	}
	clk.Advance(time.Hour) // 24 h after the first delivery: the repeat did not extend it
	if seen("a") {
		t.Fatal("key still seen after its window")
	}
	if !seen("a") {
		t.Fatal("re-recorded key not seen")
	}
}

func TestMemoryReplayStorePrunes(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := &cubu.MemoryReplayStore{Now: clk.Now}
	for i := range 300 {
		s.Seen(context.Background(), fmt.Sprint("old", i), time.Minute)
	}
	clk.Advance(time.Hour)
	for i := range 300 {
		s.Seen(context.Background(), fmt.Sprint("new", i), time.Minute)
	}
	if n := s.Len(); n >= 600 || n < 300 {
		t.Fatalf("Len = %d: expired keys were not pruned (or live ones were)", n)
	}
}

// TestMemoryReplayStoreConcurrent: of N identical concurrent deliveries exactly one is new.
func TestMemoryReplayStoreConcurrent(t *testing.T) {
	s := cubu.NewMemoryReplayStore()
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if ok, err := s.Seen(context.Background(), "same", time.Hour); err == nil && !ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d deliveries treated as new", fresh.Load())
	}
}

func TestMemoryReplayStoreCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cubu.NewMemoryReplayStore().Seen(ctx, "k", time.Hour); err == nil {
		t.Fatal("no error on a cancelled context")
	}
}

var _ cubu.ReplayStore = (*cubu.MemoryReplayStore)(nil)
