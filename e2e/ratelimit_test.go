package e2e

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/workers"
)

// Two worker processes (separate stores, registries and Temporal workers on one task queue)
// share one connection's vendor rate limit: the limit is held in the store, not per process.
func TestRateLimitHoldsAcrossTwoWorkers(t *testing.T) {
	const perMinute = 120 // one call every 0.5 s
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "shared.db")
	w := newWorldOn(t, false, dbURL, func(f *config.File) { f.Connections[0].WorkSystem.RateLimit = perMinute })
	ctx := context.Background()

	second, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	var waits [2]atomic.Int64
	counted := func(i int, st *store.Store) connectors.Env {
		env := app.ConnectorEnv(st)
		inner := env.Limiter
		env.Limiter = func(conn, vendor string, n int) vendorapi.Limiter {
			return countingLimiter{inner(conn, vendor, n), &waits[i]}
		}
		return env
	}
	var regs [2]*connectors.Registry
	for i, st := range []*store.Store{w.kit.Store, second} {
		if regs[i], err = connectors.Build(w.kit.File, counted(i, st)); err != nil {
			t.Fatal(err)
		}
	}
	// Worker 1 is the world's (its activities now use the counted registry); worker 2 is new.
	w.kit.Activities.Connections = regs[0]
	acts2 := &activities.Activities{Store: second, Connections: regs[1], Engine: w.kit.Activities.Engine}
	w2 := workers.New(w.ts.GetDefaultClient(), acts2, workers.Options{TaskQueue: "ticketsync"})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w2.Stop)

	// Sample the simulator's call counter while 10 tickets are created at once.
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	go func() {
		for {
			st := w.kit.TWH.Stats()
			mu.Lock()
			samples = append(samples, sample{time.Now(), st.APICalls + st.TokenRequests})
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	conn, _ := regs[0].Get(testkit.Connection)
	for i := range 10 {
		nr := vendorapi.NewRequest{RequestType: "Maintenance", Title: "t", Description: "d",
			Location: vendorapi.Location{Address: "apt 1"}, Requester: vendorapi.Person{Name: "n"}}
		if _, _, err := w.kit.Activities.Engine.CreateTicket(ctx, conn, "rl-"+string(rune('a'+i)), nr); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, "10 remote requests", func() bool { return w.kit.TWH.Stats().Creates == 10 })
	close(stop)
	if waits[0].Load() == 0 || waits[1].Load() == 0 {
		t.Fatalf("both workers must have made vendor calls: %d and %d", waits[0].Load(), waits[1].Load())
	}
	mu.Lock()
	defer mu.Unlock()
	// In any 5 s window at most 5 s × 2/s calls (+1 for the window's edge).
	const window, allowed = 5 * time.Second, 11
	worst := 0
	for i := range samples {
		for j := i; j < len(samples) && samples[j].at.Sub(samples[i].at) <= window; j++ {
			worst = max(worst, samples[j].calls-samples[i].calls)
		}
	}
	t.Logf("vendor calls: %d in %s; worst 5 s window %d (limit %d/min); waits per worker %d / %d",
		samples[len(samples)-1].calls, samples[len(samples)-1].at.Sub(samples[0].at).Round(time.Millisecond),
		worst, perMinute, waits[0].Load(), waits[1].Load())
	if worst > allowed {
		t.Fatalf("%d vendor calls in one 5 s window: the shared limit (%d/min) did not hold across workers", worst, perMinute)
	}
}

type sample struct {
	at    time.Time
	calls int
}

type countingLimiter struct {
	vendorapi.Limiter
	n *atomic.Int64
}

func (c countingLimiter) Wait(ctx context.Context) error {
	c.n.Add(1)
	return c.Limiter.Wait(ctx)
}
