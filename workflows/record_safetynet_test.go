//go:build recordhistory

package workflows_test

// Records the history TestReplayRecordedHistories replays for the issue-8 change ids
// (relaxed-safety-net, skip-seen-poke), like record_test.go:
//
//	TICKETSYNC_RECORD_HISTORY=1 go test -tags recordhistory -run TestRecordSafetyNet ./workflows/

import (
	"context"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
)

// relaxed-safety-net and skip-seen-poke: with the feed healthy, the feed's poke of the create
// it already read is skipped; a plain poke reads, and the next timer is the relaxed one.
func TestRecordSafetyNet(t *testing.T) {
	r := newRecorder(t)
	if err := r.kit.Store.SaveCursor(context.Background(), testkit.Connection, engine.FeedLastReadCursor,
		time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	ref := r.create("record-safetynet", r.request())
	r.waitState(ref, "the request created", func(s ticket.State) bool { return s.RemoteID != "" })
	time.Sleep(300 * time.Millisecond)
	r.signal(ref, ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: r.remote().ModifiedAt})
	time.Sleep(300 * time.Millisecond)
	if s := r.state(ref); s.Polls != 0 {
		t.Fatalf("the poke of a change already read made %d reads", s.Polls)
	}
	r.signal(ref, ticket.SignalPoke, nil)
	r.waitState(ref, "one read with the feed healthy", func(s ticket.State) bool {
		return s.Polls == 1 && s.FeedHealthy && s.NextPoll != nil && s.NextPoll.Sub(*s.LastPoll) > 20*time.Hour
	})
	r.signal(ref, ticket.SignalCancel, nil)
	r.keep("ticket-safetynet-v1.json", r.history(ref, ""))
}
