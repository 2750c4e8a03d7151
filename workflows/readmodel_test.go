package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// The API host's clock runs an hour ahead, so the row it inserted before starting the workflow
// carries a future updatedAt. The workflow's writes are ordered by its own version, not by
// comparing clocks: Requested and the remote id reach the row at once.
func TestReadModelIsOrderedByTheWorkflowsVersionNotByClocks(t *testing.T) {
	h := newHarness(t, "req-skew")
	ctx := context.Background()
	ahead := time.Now().Add(time.Hour).UTC()
	ref := h.in.Ref
	if _, _, err := h.kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ref.ExternalID, WorkflowID: ref.WorkflowID, Status: ticket.Submitted, MappingVersion: h.in.MappingVersion,
		CreatedAt: ahead, UpdatedAt: ahead}); err != nil {
		t.Fatal(err)
	}
	read := func() store.Ticket {
		row, err := h.kit.Store.GetTicketAnyTenant(ctx, ref.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	var requested store.Ticket
	var st ticket.State
	h.at(time.Minute, func() { requested, st = read(), h.state() })
	h.at(2*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if requested.Status != ticket.Requested || requested.RemoteID == "" || requested.Version == 0 || requested.Version != st.Version {
		t.Fatalf("under a skewed API clock the row after the create is %+v (workflow version %d)", requested, st.Version)
	}
	final := read()
	if final.Status != ticket.Canceled || final.Version <= requested.Version {
		t.Fatalf("final row %+v (version after create %d)", final, requested.Version)
	}
}
