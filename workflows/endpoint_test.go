package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
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
