package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/activities"
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

// A ticket started as the engine starts it (with its Submitted search attributes) upserts
// only what changes: nothing at start, the status and remote id once the request exists (not
// twice), the status again at the end. Each upsert is a visibility write.
func TestSearchAttributesAreUpsertedOnlyWhenTheyChange(t *testing.T) {
	h := newHarness(t, "req-sa")
	h.env.SetTypedSearchAttributesOnStart(ticket.StartSearchAttributes(h.in.Ref))
	var upserts []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		var keys []string
		for k := range sa.GetUntypedValues() {
			keys = append(keys, k.GetName())
		}
		slices.Sort(keys)
		st, _ := sa.GetKeyword(ticket.SAStatus)
		upserts = append(upserts, st+" "+strings.Join(keys, ","))
	}).Return(nil)
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	want := []string{"Requested TicketRemoteId,TicketStatus", "Canceled TicketStatus"}
	if !slices.Equal(upserts, want) {
		t.Fatalf("upserts %q, want %q", upserts, want)
	}
}

// A finished ticket's last read-model write is forced and versioned past anything a workflow
// task lost to a crash could have written (whose writes the store would otherwise keep): the
// row ends with the final status whatever was written before.
func TestFinishedTicketsLastWriteWinsOverALostTasksWrites(t *testing.T) {
	h := newHarness(t, "req-final-sync")
	var last activities.SyncInput
	h.env.OnActivity("SyncTicket", mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.SyncInput) error {
		if in.Version == 2 {
			// A lost task's write: a later version than this run's next syncs, older content.
			lost := in
			lost.Version, lost.Status = 900, ticket.InProgress
			if err := h.kit.Activities.SyncTicket(ctx, lost); err != nil {
				return err
			}
		}
		last = in
		return h.kit.Activities.SyncTicket(ctx, in)
	})
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	row, err := h.kit.Store.GetTicketAnyTenant(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != ticket.Canceled || row.Status != ticket.Canceled || last.Status != ticket.Canceled || last.Version < 1000 {
		t.Fatalf("result %s, row %s, last sync %s v%d", res.Status, row.Status, last.Status, last.Version)
	}
}
