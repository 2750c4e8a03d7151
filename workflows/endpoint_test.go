package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	"github.com/ticketsync/ticketsync/workflows"
)

// A 410 Gone met by one ticket disables the connection's endpoint (contracts/portal.md): every
// ticket of the connection then waits, sending nothing even though the portal answers again,
// until an operator re-enables the endpoint; then the waiting ticket's events flow, in order,
// without a retry signal (the hourly re-check) and without being abandoned.
func TestGoneDisablesTheEndpointForEveryTicketUntilReenabled(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	ctx := context.Background()

	a := newHarnessWithKit(t, kit, "req-gone-a")
	kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	var aWaiting ticket.State
	a.at(time.Minute, func() {
		aWaiting = a.state()
		kit.Portal.SetFaults(portalsim.Faults{}) // the portal answers again; the endpoint stays disabled
	})
	a.at(2*time.Minute, func() { a.env.SignalWorkflow(ticket.SignalCancel, nil) })
	for i := range 3 { // the operator drops A's three events; nothing is sent meanwhile
		a.at(time.Duration(3+i)*time.Minute, func() { a.env.SignalWorkflow(ticket.SignalSkip, nil) })
	}
	if res := a.run(); res.Status != ticket.Canceled {
		t.Fatalf("A: %+v", res)
	}
	if aWaiting.NeedsAttention == nil || !strings.HasPrefix(aWaiting.NeedsAttention.Reason, ticket.ReasonEndpointDisabled) || !aWaiting.EndpointWait {
		t.Fatalf("A after the 410: %+v", aWaiting.NeedsAttention)
	}
	if ep, err := kit.Store.EndpointDisabled(ctx, testkit.Tenant, testkit.Connection); err != nil || !ep.Disabled {
		t.Fatalf("the 410 must disable the endpoint in the store: %+v %v", ep, err)
	}

	b := newHarnessWithKit(t, kit, "req-gone-b")
	var bWaiting ticket.State
	var sentWhileDisabled int
	b.at(time.Minute, func() {
		bWaiting = b.state()
		sentWhileDisabled = len(kit.Portal.EventsFor(b.in.Ref.TicketID))
	})
	b.at(2*time.Minute, func() {
		if _, err := kit.Store.EnableEndpoint(ctx, testkit.Tenant, testkit.Connection); err != nil {
			t.Error(err)
		}
	})
	b.at(2*time.Hour, func() { b.env.SignalWorkflow(ticket.SignalCancel, nil) })
	if res := b.run(); res.Status != ticket.Canceled {
		t.Fatalf("B: %+v", res)
	}
	if bWaiting.NeedsAttention == nil || !strings.HasPrefix(bWaiting.NeedsAttention.Reason, ticket.ReasonEndpointDisabled) ||
		bWaiting.Events.Pending == 0 || sentWhileDisabled != 0 {
		t.Fatalf("B while the endpoint was disabled: attention %+v, pending %d, sent %d", bWaiting.NeedsAttention, bWaiting.Events.Pending, sentWhileDisabled)
	}
	if got := kit.Portal.EventsFor(a.in.Ref.TicketID); len(got) != 0 {
		t.Fatalf("A's events reached the portal while its endpoint was disabled: %d", len(got))
	}
	assertEvents(t, b.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Canceled<Requested",
		"ticket.closed:Canceled<Requested")
	evs, err := kit.Store.ListEvents(ctx, b.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.DeliveryState == "abandoned" {
			t.Fatalf("event %s (%s) was abandoned; it should have waited", e.ID, e.Type)
		}
	}
}

// A ticket waiting for a disabled endpoint hands over to a new run and keeps waiting there:
// once the endpoint is re-enabled, the new run's re-check delivers without any signal.
func TestEndpointWaitSurvivesContinueAsNew(t *testing.T) {
	old := workflows.MaxPollsPerRun
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	kit := testkit.New(t, testkit.Options{})
	kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	in := newHarnessWithKit(t, kit, "req-gone-can").in
	run := 0
	res, carriedInputs := runs(t, kit, in, 3, func(h *harness) {
		run++
		workflows.MaxPollsPerRun = 500
		if run == 1 {
			workflows.MaxPollsPerRun = 2 // hand over while waiting
			return
		}
		h.at(10*time.Minute, func() {
			kit.Portal.SetFaults(portalsim.Faults{})
			if _, err := kit.Store.EnableEndpoint(context.Background(), testkit.Tenant, testkit.Connection); err != nil {
				t.Error(err)
			}
		})
		h.at(3*time.Hour, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	})
	if len(carriedInputs) != 1 || !carriedInputs[0].in.State.EndpointWait {
		t.Fatalf("want one hand-over while waiting for the endpoint, got %d", len(carriedInputs))
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	assertEvents(t, portalEventsOf(kit, in.Ref.TicketID), "ticket.status_changed:Requested",
		"ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}
