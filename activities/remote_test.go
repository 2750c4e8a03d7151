package activities_test

import (
	"context"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// A create records the remote id in the read model before the workflow's next write, so the
// work system's push about the create finds its ticket without reading the request; a retried
// create (it adopts the request) records the same id.
func TestCreateRemoteRecordsTheRemoteIDAtOnce(t *testing.T) {
	ctx := context.Background()
	kit := testkit.New(t, testkit.Options{})
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "r-1")
	if _, _, err := kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ref.ExternalID, WorkflowID: ref.WorkflowID}); err != nil {
		t.Fatal(err)
	}
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(kit.Activities)
	in := activities.CreateRemoteInput{Ref: ref, Request: vendorapi.NewRequest{RequestType: "Maintenance", Title: "Leak",
		Description: "Kitchen sink", Location: vendorapi.Location{Address: "Apt 4"}, Requester: vendorapi.Person{Name: "Ada"}}}
	for i, adopted := range []bool{false, true} {
		v, err := env.ExecuteActivity(kit.Activities.CreateRemote, in)
		if err != nil {
			t.Fatal(err)
		}
		var out activities.CreateRemoteOutput
		if err := v.Get(&out); err != nil || out.Adopted != adopted || out.Remote.ID == "" {
			t.Fatalf("create %d: %+v, %v", i, out, err)
		}
		tk, err := kit.Store.GetTicketByRemoteID(ctx, testkit.Connection, out.Remote.ID)
		if err != nil || tk.ID != ref.TicketID {
			t.Fatalf("create %d: the push's look-up by %s found %+v, %v", i, out.Remote.ID, tk, err)
		}
	}
	if n := len(kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests, want 1", n)
	}
}
