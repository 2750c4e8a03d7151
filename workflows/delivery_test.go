package workflows_test

import (
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

func TestDeliveryDoesNotBlockPolling(t *testing.T) {
	h := newHarness(t, "req-slowportal")
	h.kit.Portal.SetFaults(portalsim.Faults{FailNext: 3})
	var st ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, func() { st = h.state() })
	h.at(30*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if st.Status != ticket.InProgress {
		t.Fatalf("polling should proceed while deliveries retry: %+v", st)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

// A 410 disables the connection's endpoint (contracts/portal.md): the operator re-enables it
// and, here, skips the event that met the 410; the rest flow in order.
func TestPortalGoneParksDeliveryUntilSkip(t *testing.T) {
	h := newHarness(t, "req-gone")
	h.kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	var blocked ticket.State
	h.at(time.Minute, func() { blocked = h.state() })
	h.at(2*time.Minute, func() {
		h.kit.Portal.SetFaults(portalsim.Faults{})
		enableEndpoint(t, h)
		h.env.SignalWorkflow(ticket.SignalSkip, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != "delivery" || blocked.Events.Pending == 0 {
		t.Fatalf("blocked state: %+v", blocked)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	// The first event was skipped; the rest flowed in order.
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}

func TestDeliveryAbandonedAfterEventMaxAgeThenRetried(t *testing.T) {
	h := newHarness(t, "req-maxage")
	h.in.EventMaxAge = 3 * time.Minute
	h.kit.Portal.SetFaults(portalsim.Faults{FailNext: 1000})
	var blocked ticket.State
	h.at(10*time.Minute, func() { blocked = h.state() })
	h.at(11*time.Minute, func() {
		h.kit.Portal.SetFaults(portalsim.Faults{})
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(12*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != "delivery" || !blocked.DeliveryBlocked {
		t.Fatalf("after the max age the ticket must be parked on delivery: %+v", blocked.NeedsAttention)
	}
	// After the operator's retry every event arrives, in order, the first one included.
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}
