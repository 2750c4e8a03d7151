package activities

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The follower beats on its own while a call blocks it (a slow vendor page), carrying the last
// progress it recorded: its heartbeat timeout can stay short enough to restart a follower whose
// worker died within seconds.
func TestFollowerBeatsWhileACallBlocksIt(t *testing.T) {
	old := followerBeat
	followerBeat = 20 * time.Millisecond
	t.Cleanup(func() { followerBeat = old })

	var mu sync.Mutex
	var beats []FeedProgress
	hb := newFollowerHeartbeat(FeedProgress{})
	hb.send = func(_ context.Context, details ...any) {
		mu.Lock()
		defer mu.Unlock()
		beats = append(beats, details[0].(FeedProgress))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := hb.keepAlive(ctx)
	hb.record(ctx, FeedProgress{Reads: 7})
	time.Sleep(10 * followerBeat) // one slow call, no beat of its own
	stop()
	mu.Lock()
	n := len(beats)
	mu.Unlock()
	time.Sleep(3 * followerBeat)
	mu.Lock()
	defer mu.Unlock()
	if n < 5 {
		t.Fatalf("%d heartbeats during a call 10 beats long", n)
	}
	for i, p := range beats {
		if p.Reads != 7 {
			t.Fatalf("heartbeat %d carried %+v, want the recorded progress", i, p)
		}
	}
	if len(beats) != n {
		t.Fatalf("%d heartbeats after stop", len(beats)-n)
	}
}
