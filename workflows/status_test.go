package workflows_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

func TestStatusTable(t *testing.T) {
	cases := []struct {
		name     string
		steps    func(h *harness)
		want     []string
		final    string
		remoteSt string
	}{
		{
			name: "Pending-InProgress-Completed",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
				h.at(time.Minute+time.Second, h.poke)
				h.at(20*time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed the trap.", Author: "J. Rivera", VisibleToRequestor: true}, false)
					return err
				}))
			},
			want: []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
				"ticket.feedback_added:InProgress<Requested:Fixed the trap.", "ticket.status_changed:Done<InProgress", "ticket.closed:Done<InProgress"},
			final: ticket.Done, remoteSt: "Completed",
		},
		{
			name: "Rejected",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusRejected, &twhsim.FeedbackInput{Text: "Duplicate of another request.", Author: "Desk", VisibleToRequestor: true}, false)
					return err
				}))
				h.at(time.Minute+time.Second, h.poke)
			},
			want: []string{"ticket.status_changed:Requested", "ticket.feedback_added:Requested:Duplicate of another request.",
				"ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested"},
			final: ticket.Canceled, remoteSt: "Rejected",
		},
		{
			name: "Cancelled-by-staff",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Electrical"); return err }))
				// No poke: the 15-minute timer is the safety net.
				h.at(40*time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusCancelled, nil, false)
					return err
				}))
			},
			want: []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
				"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress"},
			final: ticket.Canceled, remoteSt: "Cancelled",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "req-"+tc.name)
			tc.steps(h)
			res := h.run()
			if res.Status != tc.final || res.RemoteStatus != tc.remoteSt {
				t.Fatalf("result %+v, want status %s remote %s", res, tc.final, tc.remoteSt)
			}
			assertEvents(t, h.portalEvents(), tc.want...)
			if v := h.kit.Portal.Violations(); len(v) > 0 {
				t.Fatalf("portal saw ordering violations: %+v", v)
			}
			row, err := h.kit.Store.GetTicketAnyTenant(context.Background(), h.in.Ref.TicketID)
			if err != nil {
				t.Fatal(err)
			}
			if row.Status != tc.final || row.RemoteID != h.remote().ID {
				t.Fatalf("read model %+v", row)
			}
		})
	}
}

func TestFirstEventIsRequestedWithNullPrevious(t *testing.T) {
	h := newHarness(t, "req-first")
	var st ticket.State
	h.at(30*time.Second, func() { st = h.state() })
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "end test"}) })
	h.run()
	evs := h.kit.Portal.EventsFor(h.in.Ref.TicketID)
	if len(evs) == 0 || evs[0].Event.Type != ticket.EventStatusChanged || evs[0].Event.Ticket.Status != ticket.Requested || evs[0].Event.Ticket.PreviousStatus != "" {
		t.Fatalf("first event %+v", evs)
	}
	if !strings.Contains(string(evs[0].Body), `"previousStatus":null`) {
		t.Fatalf("first event body lacks previousStatus:null: %s", evs[0].Body)
	}
	if st.Status != ticket.Requested || st.RemoteStatus != "Pending" || st.RemoteID == "" || st.NextPoll == nil || st.MappingVersion != "theworxhub-v1" {
		t.Fatalf("state after create: %+v", st)
	}
}

func TestFeedbackVisibleVsHidden(t *testing.T) {
	h := newHarness(t, "req-feedback")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.AddFeedback(id, twhsim.FeedbackInput{Text: "internal: order part #44", Author: "Tech", VisibleToRequestor: false})
		return err
	}))
	h.at(3*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.AddFeedback(id, twhsim.FeedbackInput{Text: "A part is on order.", Author: "Tech", VisibleToRequestor: true})
		return err
	}))
	h.at(4*time.Minute, h.poke)
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	got := h.portalEvents()
	for _, e := range got {
		if strings.Contains(e, "internal") {
			t.Fatalf("hidden feedback reached the portal: %q", got)
		}
	}
	assertEvents(t, got, "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.feedback_added:InProgress<Requested:A part is on order.", "ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

func TestOnHoldCommentForwardedThenInProgress(t *testing.T) {
	h := newHarness(t, "req-onhold")
	var onHold ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusOnHold, &twhsim.FeedbackInput{Text: "Which bathroom sink is leaking?", Author: "J. Rivera", VisibleToRequestor: true}, false)
		return err
	}))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() {
		onHold = h.state()
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "The one in the guest bathroom.", Author: "Ada Resident"})
	})
	h.at(5*time.Minute, h.staff(func(id string) error {
		wr, _ := h.kit.TWH.Request(id)
		if len(wr.Comments) != 1 || wr.Comments[0].Text != "The one in the guest bathroom." || wr.Comments[0].Author != "Ada Resident" {
			t.Errorf("comments at TheWorxHub: %+v", wr.Comments)
		}
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, false)
		return err
	}))
	h.at(5*time.Minute+time.Second, h.poke)
	h.at(6*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	h.at(6*time.Minute+time.Second, h.poke)
	h.run()
	if onHold.Status != ticket.OnHold || onHold.RemoteStatus != "OnHold" || onHold.Category != "Plumbing" {
		t.Fatalf("state while on hold: %+v", onHold)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:OnHold<InProgress", "ticket.feedback_added:OnHold<InProgress:Which bathroom sink is leaking?",
		"ticket.status_changed:InProgress<OnHold", "ticket.status_changed:Done<InProgress", "ticket.closed:Done<InProgress")
}

func TestUnmappedStatusParksAndRecoversOnRetry(t *testing.T) {
	h := newHarness(t, "req-unmapped")
	var parked, recovered ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, "Escalated", nil, true); return err }))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() { parked = h.state() })
	h.at(4*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, true)
		return err
	}))
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalRetry, nil) })
	h.at(6*time.Minute, func() {
		recovered = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if parked.NeedsAttention == nil || !strings.Contains(parked.NeedsAttention.Reason, `"Escalated"`) || parked.NeedsAttention.Since.IsZero() {
		t.Fatalf("parked state: %+v", parked.NeedsAttention)
	}
	if parked.Status != ticket.InProgress || parked.RemoteStatus != "Escalated" {
		t.Fatalf("an unmapped status must never be guessed: %+v", parked)
	}
	if recovered.NeedsAttention != nil || recovered.RemoteStatus != "InProgress" {
		t.Fatalf("after retry: %+v", recovered)
	}
	got := h.portalEvents()
	want := []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested", "ticket.needs_attention:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress"}
	assertEvents(t, got, want...)
	att := h.kit.Portal.EventsFor(h.in.Ref.TicketID)[2].Event.Attention
	if att == nil || !strings.Contains(att.Reason, "Escalated") {
		t.Fatalf("needs_attention event lacks the raw status: %+v", att)
	}
}

func TestStateQueryAtEachStage(t *testing.T) {
	h := newHarness(t, "req-stages")
	type stage struct {
		at                     time.Duration
		status, remote, paused string
	}
	stages := []stage{
		{30 * time.Second, ticket.Requested, "Pending", ""},
		{90 * time.Second, ticket.InProgress, "InProgress", ""},
		{150 * time.Second, ticket.OnHold, "OnHold", ""},
		{210 * time.Second, ticket.OnHold, "OnHold", "audit"},
		{270 * time.Second, ticket.InProgress, "InProgress", ""},
	}
	got := make([]ticket.State, len(stages))
	for i, st := range stages {
		i := i
		h.at(st.at, func() { got[i] = h.state() })
	}
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, twhsim.StatusOnHold, nil, false); return err }))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "audit"}) })
	h.at(4*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, false)
		return err
	}))
	h.at(4*time.Minute+time.Second, func() { h.env.SignalWorkflow(ticket.SignalResume, nil) })
	h.at(5*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	h.at(5*time.Minute+time.Second, h.poke)
	res := h.run()
	for i, want := range stages {
		st := got[i]
		paused := ""
		if st.Paused != nil {
			paused = st.Paused.Reason
		}
		if st.Status != want.status || st.RemoteStatus != want.remote || paused != want.paused || st.RemoteID == "" ||
			st.TicketID != h.in.Ref.TicketID || st.WorkflowID != h.in.Ref.WorkflowID || st.MappingVersion != "theworxhub-v1" {
			t.Errorf("stage %d (%s): %+v", i, want.at, st)
		}
		if (want.paused == "") != (st.NextPoll != nil) {
			t.Errorf("stage %d: nextPoll %v with paused %q", i, st.NextPoll, paused)
		}
	}
	if got[2].PreviousStatus != ticket.InProgress || got[2].Events.Delivered < 3 {
		t.Errorf("OnHold stage: previous %q delivered %d", got[2].PreviousStatus, got[2].Events.Delivered)
	}
	if res.Status != ticket.Done {
		t.Fatalf("result %+v", res)
	}
}

func TestHoldPausesPollingAndResumePollsAtOnce(t *testing.T) {
	h := newHarness(t, "req-hold")
	var paused, resumed ticket.State
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "vendor migration"}) })
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(3*time.Minute, h.poke) // ignored while paused
	h.at(50*time.Minute, func() { paused = h.state() })
	h.at(51*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalResume, nil) })
	h.at(52*time.Minute, func() {
		resumed = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if paused.Paused == nil || paused.Paused.Reason != "vendor migration" || paused.Status != ticket.Requested || paused.NextPoll != nil {
		t.Fatalf("paused state: %+v", paused)
	}
	if resumed.Paused != nil || resumed.Status != ticket.InProgress {
		t.Fatalf("resumed state: %+v", resumed)
	}
}

// A create whose answer was lost is retried and adopts the request by our reference, which
// staff meanwhile finished with a note for the resident (seen in a chaos run): the note must
// not go out with the internal Submitted status (the portal refuses a null status on
// feedback_added, and the ticket never converged). The first event is Requested, then the
// note, then the close.
func TestAdoptedRequestAlreadyFinishedWithFeedback(t *testing.T) {
	h := newHarness(t, "req-adopted-finished")
	a := h.kit.Activities
	var calls atomic.Int32
	h.env.OnActivity("CreateRemote", mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CreateRemoteInput) (activities.CreateRemoteOutput, error) {
		if calls.Add(1) > 1 {
			return a.CreateRemote(ctx, in)
		}
		out, err := a.CreateRemote(ctx, in)
		if err != nil {
			return out, err
		}
		if _, err := h.kit.TWH.Transition(out.Remote.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Replaced the washer.", Author: "J. Rivera", VisibleToRequestor: true}, true); err != nil {
			t.Errorf("staff completes: %v", err)
		}
		return activities.CreateRemoteOutput{}, temporal.NewApplicationError("connection reset after the create was committed", "transport")
	})
	res := h.run()
	if res.Status != ticket.Done || calls.Load() != 2 || len(h.kit.TWH.Requests()) != 1 {
		t.Fatalf("result %+v after %d creates, %d remote requests", res, calls.Load(), len(h.kit.TWH.Requests()))
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.feedback_added:Requested:Replaced the washer.",
		"ticket.status_changed:Done<Requested", "ticket.closed:Done<Requested")
	if v := h.kit.Portal.Violations(); len(v) > 0 {
		t.Fatalf("portal saw violations: %+v", v)
	}
}
