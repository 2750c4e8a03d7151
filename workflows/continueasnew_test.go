package workflows_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stretchr/testify/mock"
	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/workflows"
)

func TestContinueAsNewCarriesStateAndPendingSignals(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })

	kit := testkit.New(t, testkit.Options{})
	good := kit.Registry
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-can")
	// A comment arrives while the create is parked: it must survive continue-as-new.
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "Please hurry", Author: "Ada"})
	})
	h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next ticket.Input
	if err := decodeCANInput(can, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.NeedsAttention == nil || len(st.PendingComments) != 1 || st.PendingComments[0].Text != "Please hurry" || st.Seq == 0 {
		t.Fatalf("carried state: %+v", st)
	}

	// Second run, configuration fixed: the carried comment is forwarded, sequence continues.
	kit.Activities.Connections = good
	h2 := newHarnessWithKit(t, kit, "req-can")
	h2.in = next
	h2.at(time.Minute, func() { h2.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h2.run()
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	wr := h2.remote()
	if len(wr.Comments) != 1 || wr.Comments[0].Text != "Please hurry" {
		t.Fatalf("carried comment not forwarded: %+v", wr.Comments)
	}
	seen := map[string]bool{}
	for _, r := range kit.Portal.EventsFor(h.in.Ref.TicketID) {
		if seen[r.ID] {
			t.Fatalf("event id %s reused across runs", r.ID)
		}
		seen[r.ID] = true
	}
}

func TestContinueAsNewRepeatsInLaterRuns(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	kit := testkit.New(t, testkit.Options{})
	in := newHarnessWithKit(t, kit, "req-can-twice").in
	for run := 1; run <= 3; run++ {
		h := newHarnessWithKit(t, kit, "req-can-twice")
		h.in = in
		// Guard: a run that never continues-as-new is cancelled after 5 h (20 polls).
		h.at(5*time.Hour, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
		h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("run %d: want continue-as-new after %d polls, got %v", run, workflows.MaxPollsPerRun, err)
		}
		var next ticket.Input
		if err := decodeCANInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if next.State == nil || next.State.Runs != run || next.State.Polls < run*workflows.MaxPollsPerRun {
			t.Fatalf("run %d carried %+v", run, next.State)
		}
		in = next
	}
	if n := len(kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests across runs", n)
	}
}

// atHandOver runs the ticket's first run with MaxPollsPerRun = 2 and calls during from inside
// its second poll, the last step before the run hands over: what during signals is drained at
// the hand-over itself. It returns the carried input.
func atHandOver(t *testing.T, h *harness, during func()) ticket.Input {
	t.Helper()
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	var polls atomic.Int32
	h.env.OnActivity("PollRemoteWithFeedHealth", mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PollInput) (activities.PollOutput, error) {
			out, err := h.kit.Activities.PollRemoteWithFeedHealth(ctx, in)
			if polls.Add(1) == 2 {
				during()
			}
			return out, err
		})
	h.at(time.Minute, h.poke)
	h.at(2*time.Minute, h.poke)
	h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after 2 polls, got %v", err)
	}
	var next ticket.Input
	if err := decodeCANInput(can, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

func (h *harness) row() store.Ticket {
	h.t.Helper()
	row, err := h.kit.Store.GetTicketAnyTenant(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		h.t.Fatal(err)
	}
	return row
}

func (h *harness) hasTimelineEvent(typ string) bool {
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		h.t.Fatal(err)
	}
	return slices.ContainsFunc(evs, func(e store.Event) bool { return e.Type == typ })
}

// A hold that arrives at the hand-over is in the read model (paused, with its timeline row)
// before the next run starts: the hand-over syncs first.
func TestHoldAtTheHandOverIsInTheReadModel(t *testing.T) {
	h := newHarness(t, "req-handover-hold")
	next := atHandOver(t, h, func() { h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "audit"}) })
	if next.State.Paused == nil || next.State.Dirty || len(next.State.Unsynced) != 0 {
		t.Fatalf("carried: paused %+v dirty %t unsynced %d", next.State.Paused, next.State.Dirty, len(next.State.Unsynced))
	}
	if row := h.row(); !row.Paused || row.PausedReason != "audit" || row.Version != next.State.Version {
		t.Fatalf("read model at the hand-over: %+v (carried version %d)", row, next.State.Version)
	}
	if !h.hasTimelineEvent(ticket.EventPaused) {
		t.Fatal("the paused row is missing from the timeline")
	}
}

// A poke that arrives at the hand-over (the work system changed) is acted on as soon as the
// next run starts, not at its safety-net timer.
func TestPokeAtTheHandOverPollsAtOnceInTheNextRun(t *testing.T) {
	h := newHarness(t, "req-handover-poke")
	next := atHandOver(t, h, func() {
		if _, err := h.kit.TWH.SetCategory(h.remote().ID, "Plumbing"); err != nil {
			t.Error(err)
		}
		h.poke()
	})
	if !next.State.PollNow {
		t.Fatal("the poke was not carried")
	}
	h2 := newHarnessWithKit(t, h.kit, "req-handover-poke")
	h2.in = next
	var st ticket.State
	h2.at(time.Minute, func() {
		st = h2.state()
		h2.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h2.run()
	if st.Status != ticket.InProgress {
		t.Fatalf("a minute into the next run the ticket is %s: the carried poke waited for the timer", st.Status)
	}
}

// The store is unreachable at the hand-over: the next run gets the dirty flag and the timeline
// rows not written, and writes them first.
func TestRowsNotWrittenAtTheHandOverAreCarried(t *testing.T) {
	h := newHarness(t, "req-handover-store-down")
	var storeDown atomic.Bool
	h.env.OnActivity("SyncTicket", mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.SyncInput) error {
		if storeDown.Load() {
			return temporal.NewNonRetryableApplicationError("store unreachable", "Store", nil)
		}
		return h.kit.Activities.SyncTicket(ctx, in)
	})
	next := atHandOver(t, h, func() {
		storeDown.Store(true)
		h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "audit"})
	})
	if !next.State.Dirty || !slices.ContainsFunc(next.State.Unsynced, func(e ticket.Event) bool { return e.Type == ticket.EventPaused }) {
		t.Fatalf("carried: dirty %t, unsynced %+v", next.State.Dirty, next.State.Unsynced)
	}
	if h.row().Paused || h.hasTimelineEvent(ticket.EventPaused) {
		t.Fatal("the store was down: nothing should have been written")
	}
	h2 := newHarnessWithKit(t, h.kit, "req-handover-store-down")
	h2.in = next
	var row store.Ticket
	var written bool
	h2.at(time.Minute, func() {
		row, written = h2.row(), h2.hasTimelineEvent(ticket.EventPaused)
		h2.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h2.run()
	if !row.Paused || !written || row.Version <= next.State.Version {
		t.Fatalf("the next run did not write what was carried: paused %t, row written %t, version %d (carried %d)",
			row.Paused, written, row.Version, next.State.Version)
	}
}
