package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// A request over the budget once encoded is refused before anything is recorded or started,
// whether it comes from the API or from a request system's intake (counted as failed: a
// retry cannot shrink it).
func TestRequestsOverTheEncodedBudgetStartNothing(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	eng := kit.UseTemporal(mocks.NewClient(t)) // any call to Temporal fails the test
	conn, err := kit.Registry.Get(testkit.Connection)
	if err != nil {
		t.Fatal(err)
	}
	big := vendorapi.NewRequest{RequestType: "Maintenance", Title: "Big", Description: strings.Repeat("&", 100000),
		Location: vendorapi.Location{Address: "apt 1"}, Requester: vendorapi.Person{Name: "Ada"}}
	ctx := context.Background()
	if _, _, err := eng.CreateTicket(ctx, conn, "too-big", big); !errors.Is(err, engine.ErrRequestTooLarge) {
		t.Fatalf("create: %v", err)
	}
	counts, err := eng.Execute(ctx, conn, []vendorapi.Intent{{Kind: vendorapi.IntentStart, ExternalID: "too-big-2", Request: &big}})
	if err != nil || counts.Failed != 1 || counts.New != 0 {
		t.Fatalf("intake start: %+v %v", counts, err)
	}
	for _, ext := range []string{"too-big", "too-big-2"} {
		if _, err := kit.Store.GetTicketByExternalID(ctx, testkit.Connection, ext); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: a row was recorded (%v)", ext, err)
		}
	}
}

// A poke intent that says which modification it announces signals it (ticket.PokeSignal), so
// a ticket that has read it does not read again; one that does not say signals nothing.
func TestPokeIntentsCarryTheAnnouncedModification(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	c := mocks.NewClient(t)
	eng := kit.UseTemporal(c)
	conn, err := kit.Registry.Get(testkit.Connection)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 10, 0, 0, 123e6, time.UTC)
	c.On("SignalWorkflow", mock.Anything, ticket.WorkflowID(testkit.Connection, "e1"), "", ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: at}).Return(nil).Once()
	c.On("SignalWorkflow", mock.Anything, ticket.WorkflowID(testkit.Connection, "e2"), "", ticket.SignalPoke, nil).Return(nil).Once()
	counts, err := eng.Execute(context.Background(), conn, []vendorapi.Intent{
		{Kind: vendorapi.IntentPoke, ExternalID: "e1", ModifiedAt: at},
		{Kind: vendorapi.IntentPoke, ExternalID: "e2"},
	})
	if err != nil || counts.Updated != 2 {
		t.Fatalf("pokes: %+v %v", counts, err)
	}
}
