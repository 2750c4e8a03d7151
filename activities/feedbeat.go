package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// FollowerHeartbeatTimeout is the change-feed follower's heartbeat timeout: how long after its
// worker died the follower is started again elsewhere (ConnectionSync). The follower beats
// every followerBeat whatever it is doing, so one slow vendor call (a page behind a slow link,
// an intake pass reading every changed issue) never outlasts it.
const FollowerHeartbeatTimeout = 15 * time.Second

var followerBeat = 4 * time.Second // a variable for tests

// followerHeartbeat records the follower's progress as its heartbeat: at once when the loop
// says so (record), and from a goroutine every followerBeat in between (keepAlive).
type followerHeartbeat struct {
	mu   sync.Mutex
	last FeedProgress
	send func(context.Context, ...any) // activity.RecordHeartbeat (the SDK throttles what it sends)
}

func newFollowerHeartbeat(p FeedProgress) *followerHeartbeat {
	return &followerHeartbeat{last: p, send: activity.RecordHeartbeat}
}

func (h *followerHeartbeat) record(ctx context.Context, p FeedProgress) {
	h.mu.Lock()
	h.last = p
	h.mu.Unlock()
	h.send(ctx, p)
}

// keepAlive beats with the last recorded progress until stop is called.
func (h *followerHeartbeat) keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(followerBeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				p := h.last
				h.mu.Unlock()
				h.send(ctx, p)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
