package workflows_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// stopAfter is how long an interrupted attempt runs before its context is cancelled, as a
// worker being stopped cancels running activities after its stop timeout.
const stopAfter = 300 * time.Millisecond

// interrupted runs call with a context cancelled while the vendor call is in flight (slow
// makes it slow, undo puts things back) and reports whether the attempt failed as it should.
func interrupted[O any](t *testing.T, ctx context.Context, name string, slow, undo func(), call func(context.Context) (O, error)) (O, error) {
	slow()
	defer undo()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	time.AfterFunc(stopAfter, cancel)
	out, err := call(ctx)
	if err == nil {
		t.Errorf("%s: the interrupted attempt succeeded; the test did not interrupt it", name)
	}
	return out, err
}

// A worker stopped in the middle of each activity: the attempt's context is cancelled while
// its vendor call is in flight. The attempt is retried (on this worker or another), and
// nothing is dropped, abandoned or parked: one remote request, the comment once, every event
// delivered in order, no needs-attention on the timeline.
func TestWorkerStoppedInTheMiddleOfEachActivity(t *testing.T) {
	for _, name := range []string{"CreateRemote", "PollRemoteWithFeedHealth", "AddRemoteComment", "CancelRemote", "DeliverEvent"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "req-stop-"+name)
			a := h.kit.Activities
			twhSlow := func() { h.kit.TWH.SetFaults(twhsim.Faults{Latency: 2 * time.Second}) }
			twhFast := func() { h.kit.TWH.SetFaults(twhsim.Faults{}) }
			var calls atomic.Int32
			first := func() bool { return calls.Add(1) == 1 }
			switch name {
			case "CreateRemote": // the create is committed, its answer held back past the stop
				h.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CreateRemoteInput) (activities.CreateRemoteOutput, error) {
					if !first() {
						return a.CreateRemote(ctx, in)
					}
					return interrupted(t, ctx, name, func() { h.kit.TWH.SetFaults(twhsim.Faults{SlowCreate: 1, SlowCreateDelay: 2 * time.Second}) }, twhFast,
						func(ctx context.Context) (activities.CreateRemoteOutput, error) { return a.CreateRemote(ctx, in) })
				})
			case "PollRemoteWithFeedHealth":
				h.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.PollInput) (activities.PollOutput, error) {
					if !first() {
						return a.PollRemoteWithFeedHealth(ctx, in)
					}
					return interrupted(t, ctx, name, twhSlow, twhFast, func(ctx context.Context) (activities.PollOutput, error) { return a.PollRemoteWithFeedHealth(ctx, in) })
				})
			case "AddRemoteComment":
				h.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CommentInput) (vendorapi.Comment, error) {
					if !first() {
						return a.AddRemoteComment(ctx, in)
					}
					return interrupted(t, ctx, name, twhSlow, twhFast, func(ctx context.Context) (vendorapi.Comment, error) { return a.AddRemoteComment(ctx, in) })
				})
			case "CancelRemote":
				h.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CancelRemoteInput) (activities.CancelRemoteOutput, error) {
					if !first() {
						return a.CancelRemote(ctx, in)
					}
					return interrupted(t, ctx, name, twhSlow, twhFast, func(ctx context.Context) (activities.CancelRemoteOutput, error) { return a.CancelRemote(ctx, in) })
				})
			case "DeliverEvent": // the portal records the event, then holds its answer back
				h.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.DeliverInput) error {
					if !first() {
						return a.DeliverEvent(ctx, in)
					}
					_, err := interrupted(t, ctx, name, func() { h.kit.Portal.SetFaults(portalsim.Faults{SlowNext: 1, SlowDelay: 2 * time.Second}) },
						func() { h.kit.Portal.SetFaults(portalsim.Faults{}) },
						func(ctx context.Context) (struct{}, error) { return struct{}{}, a.DeliverEvent(ctx, in) })
					return err
				})
			}
			h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
			h.at(time.Minute+time.Second, h.poke)
			h.at(10*time.Minute, func() {
				h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "Is someone coming?", Author: "Ada"})
			})
			h.at(20*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "fixed"}) })
			res := h.run()
			if calls.Load() < 2 {
				t.Fatalf("%s ran %d times: the interrupted attempt was not retried", name, calls.Load())
			}
			if res.Status != ticket.Canceled {
				t.Fatalf("result %+v", res)
			}
			wr := h.remote() // exactly one remote request
			if wr.Status != twhsim.StatusCancelled || len(wr.Comments) != 1 || wr.Comments[0].Text != "Is someone coming?" {
				t.Fatalf("remote: status %s, comments %+v", wr.Status, wr.Comments)
			}
			assertEvents(t, dedupe(h.portalEvents()), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
				"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
			evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Type == ticket.EventNeedsAttention || e.DeliveryState == store.DeliveryAbandoned {
					t.Fatalf("the interruption parked or abandoned something: %s %s %s", e.Type, e.DeliveryState, e.Payload)
				}
			}
		})
	}
}

// dedupe drops repeats of the same event (a receiver dedupes on the event id; an interrupted
// delivery may have reached it before the worker stopped).
func dedupe(events []string) []string {
	var out []string
	for i, e := range events {
		if i > 0 && events[i-1] == e {
			continue
		}
		out = append(out, e)
	}
	return out
}
