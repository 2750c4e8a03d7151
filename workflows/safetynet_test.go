package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workflows"
)

// feedHealthy makes the connection's change feed look healthy to the poll (the follower
// vouched for it just now).
func feedHealthy(t *testing.T, h *harness) {
	t.Helper()
	if err := h.kit.Store.SaveCursor(context.Background(), h.in.Ref.Connection, engine.FeedLastReadCursor,
		time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
}

// With a healthy feed a quiet ticket reads the work system once per relaxed interval
// (RelaxedPollInterval of its 15 minutes), not every 15 minutes: the safety net costs a few
// vendor calls and history events a day.
func TestQuietTicketWithHealthyFeedReadsOnceADay(t *testing.T) {
	h := newHarness(t, "relaxed-1")
	feedHealthy(t, h)
	want := workflows.RelaxedPollInterval(15 * time.Minute)
	// The first read falls in 15 min ± 10 %, the second one relaxed interval ± 10 % later.
	before := 15*time.Minute*9/10 + want*85/100
	after := 15*time.Minute*11/10 + want*115/100
	var afterFirst, beforeSecond, afterSecond ticket.State
	h.at(20*time.Minute, func() { afterFirst = h.state() }) // the first (15 min) read told it the feed is healthy
	h.at(before, func() { beforeSecond = h.state() })
	h.at(after, func() { afterSecond = h.state() })
	h.at(after+time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if afterFirst.Polls != 1 || !afterFirst.FeedHealthy {
		t.Fatalf("after the first read: polls %d, feed healthy %t", afterFirst.Polls, afterFirst.FeedHealthy)
	}
	gap := afterFirst.NextPoll.Sub(*afterFirst.LastPoll)
	if gap < want*9/10 || gap > want*11/10 {
		t.Fatalf("next read %s after the last, want %s ± 10%%", gap, want)
	}
	if beforeSecond.Polls != 1 || afterSecond.Polls != 2 {
		t.Fatalf("polls: %d before the relaxed interval, %d after", beforeSecond.Polls, afterSecond.Polls)
	}
}

// The feed's poke of a change the ticket has already read (a push brought it) neither reads
// the work system nor restarts the timer; a poke of a newer change, or one without a
// modification (webhook, operator), reads.
func TestFeedPokeOfAChangeAlreadyReadIsSkipped(t *testing.T) {
	h := newHarness(t, "seen-poke-1")
	var created twhsim.WorkRequest
	var before, afterSeen, afterNewer, afterPlain ticket.State
	var callsBefore, callsAfterSeen int
	h.at(time.Minute, func() {
		created = h.remote()
		before = h.state()
		callsBefore = h.kit.TWH.Stats().APICalls
		h.env.SignalWorkflow(ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: created.ModifiedAt})
	})
	h.at(2*time.Minute, func() {
		afterSeen = h.state()
		callsAfterSeen = h.kit.TWH.Stats().APICalls
	})
	h.at(3*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(4*time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: h.remote().ModifiedAt})
	})
	h.at(5*time.Minute, func() { afterNewer = h.state(); h.poke() })
	h.at(6*time.Minute, func() { afterPlain = h.state() })
	h.at(7*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if afterSeen.Polls != before.Polls || callsAfterSeen != callsBefore {
		t.Fatalf("a poke of a change already read: polls %d → %d, vendor calls %d → %d", before.Polls, afterSeen.Polls, callsBefore, callsAfterSeen)
	}
	if afterSeen.NextPoll == nil || before.NextPoll == nil || !afterSeen.NextPoll.Equal(*before.NextPoll) {
		t.Fatalf("the timer was restarted: next read %v → %v", before.NextPoll, afterSeen.NextPoll)
	}
	if afterNewer.Polls != before.Polls+1 || afterNewer.Status != ticket.InProgress {
		t.Fatalf("a poke of a newer change: polls %d, status %s", afterNewer.Polls, afterNewer.Status)
	}
	if afterPlain.Polls != afterNewer.Polls+1 {
		t.Fatalf("a poke without a modification did not read: polls %d → %d", afterNewer.Polls, afterPlain.Polls)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}
