package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// beatWhile records a heartbeat every `every` until stop is called (or ctx ends): an activity
// whose one call may outlast its heartbeat timeout (a catalog sync, a slow vendor page) stays
// alive while it runs. details, when set, gives what each beat carries.
func beatWhile(ctx context.Context, every time.Duration, send func(context.Context, ...any), details func() []any) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				var d []any
				if details != nil {
					d = details()
				}
				send(ctx, d...)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// FollowerHeartbeatTimeout is the change-feed follower's heartbeat timeout: how long after its
// worker died the follower is started again elsewhere (ConnectionSync). The follower beats
// every followerBeat whatever it is doing, so one slow vendor call (a page behind a slow link,
// an intake pass reading every changed issue) never outlasts it.
const FollowerHeartbeatTimeout = 15 * time.Second

var followerBeat = 4 * time.Second // a variable for tests

// followerHeartbeat records the follower's progress as its heartbeat: at once when the loop
// says so (record), and every followerBeat in between (keepAlive).
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
	return beatWhile(ctx, followerBeat, h.send, func() []any {
		h.mu.Lock()
		defer h.mu.Unlock()
		return []any{h.last}
	})
}
