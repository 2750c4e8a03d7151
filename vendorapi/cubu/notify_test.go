package cubu_test

// Status back to Cubu and `connections validate`, against the simulator over real HTTP.

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cubu"
	"github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

// s2sConnector is a connector whose S2S side talks to a fresh simulator.
func s2sConnector(t *testing.T, opts sim.Options) (*cubu.Connector, *sim.Server) {
	t.Helper()
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	cfg := connectorConfig(workAddress, fieldOptions())
	s2s := simConfig(srv.URL)
	cfg.S2S = &s2s
	return newConnector(t, cfg), s
}

func closedDone(caseID string, attempt int) vendorapi.Notification {
	return vendorapi.Notification{ID: "evt_done", Kind: vendorapi.NotifyClosed, Attempt: attempt, TicketID: "tkt_1",
		Connection: "acme-cubu", ExternalID: caseID, Status: ticket.Done, PreviousStatus: ticket.InProgress}
}

func TestNotifyResolvesTheCaseWhenDone(t *testing.T) {
	c, s := s2sConnector(t, sim.Options{})
	ctx := context.Background()
	cs, err := s.QueueUp(sim.NewCase{Fields: map[string]string{sim.FieldDescription: "Leaking tap"}})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing but a Done ticket has a Cubu equivalent: no call at all for the rest.
	for _, n := range []vendorapi.Notification{
		{Kind: vendorapi.NotifyStatusChanged, ExternalID: cs.ID, Status: ticket.Requested},
		{Kind: vendorapi.NotifyStatusChanged, ExternalID: cs.ID, Status: ticket.Done},
		{Kind: vendorapi.NotifyFeedbackAdded, ExternalID: cs.ID, Status: ticket.InProgress, Feedback: &vendorapi.Feedback{Text: "Parts ordered"}},
		{Kind: vendorapi.NotifyNeedsAttention, ExternalID: cs.ID, Reason: "could not create the request in the work system"},
		{Kind: vendorapi.NotifyClosed, ExternalID: cs.ID, Status: ticket.Canceled},
	} {
		if err := c.Notify(ctx, n); err != nil {
			t.Fatalf("%s %s: %v", n.Kind, n.Status, err)
		}
	}
	if st := s.Stats(); st.TokenRequests+st.APICalls != 0 {
		t.Fatalf("notifications without a Cubu call made calls: %+v", st)
	}

	if err := c.Notify(ctx, closedDone(cs.ID, 1)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Case(cs.ID)
	if last := got.History[len(got.History)-1]; got.Status != sim.StatusResolved || last.Action != "resolve" || last.By != "s2s" {
		t.Fatalf("case after Done: %s %+v", got.Status, got.History)
	}
	// The retry of a resolve whose answer was lost: Cubu says 1001, which counts as done.
	if err := c.Notify(ctx, closedDone(cs.ID, 2)); err != nil {
		t.Fatalf("repeated resolve: %v", err)
	}
	if st := s.Stats(); st.Resolves != 1 || st.Ops["resolve"] != 2 || st.Conflicts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNotifyConflictsAndFaults(t *testing.T) {
	c, s := s2sConnector(t, sim.Options{})
	ctx := context.Background()
	// Served by another agent right now (1002): retried until they are done.
	locked, _ := s.QueueUp(sim.NewCase{})
	if _, err := s.StartWork(locked.ID, sim.SecondAgentID); err != nil {
		t.Fatal(err)
	}
	err := c.Notify(ctx, closedDone(locked.ID, 1))
	if cubu.ErrorCode(err) != cubu.CodeLockedByAnotherUser || !vendorapi.IsRetryable(err) {
		t.Fatalf("locked case: %v (retryable %v)", err, vendorapi.IsRetryable(err))
	}
	// Assigned to another agent (1004): a person must reassign it; the ticket parks.
	assigned, _ := s.QueueUp(sim.NewCase{})
	if _, err := s.Assign(assigned.ID, sim.SecondAgentID); err != nil {
		t.Fatal(err)
	}
	err = c.Notify(ctx, closedDone(assigned.ID, 1))
	if cubu.ErrorCode(err) != cubu.CodeAssignedToAnotherUser || vendorapi.IsRetryable(err) {
		t.Fatalf("assigned case: %v", err)
	}
	// An outage is retried.
	open, _ := s.QueueUp(sim.NewCase{})
	s.SetFaults(sim.Faults{Maintenance: 1})
	if err := c.Notify(ctx, closedDone(open.ID, 1)); err == nil || !vendorapi.IsRetryable(err) {
		t.Fatalf("maintenance page: %v", err)
	}
	if err := c.Notify(ctx, closedDone(open.ID, 2)); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	// A ticket whose external id is no case id has nothing to resolve in Cubu.
	before := s.Stats().Ops["resolve"]
	if err := c.Notify(ctx, closedDone("portal-123", 1)); err != nil || s.Stats().Ops["resolve"] != before {
		t.Fatalf("non-GUID external id: %v", err)
	}
}

func TestNotifyWithoutS2S(t *testing.T) {
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	if err := c.Notify(context.Background(), closedDone("3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44", 1)); err != nil {
		t.Fatal(err)
	}
	checks := c.Validate(context.Background())
	if len(checks) != 2 || !checks[0].OK || !checks[1].OK || checks[1].Detail == "" {
		t.Fatalf("checks %+v", checks)
	}
}

func TestValidateAgainstTheSimulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, s := s2sConnector(t, sim.Options{})
	checks := c.Validate(ctx)
	if len(checks) != 3 {
		t.Fatalf("checks %+v", checks)
	}
	for _, ch := range checks {
		if !ch.OK {
			t.Errorf("%+v", ch)
		}
	}
	// An expired client secret fails the token check, names the fix and skips the API check.
	s.SetFaults(sim.Faults{SecretExpired: true})
	checks = c.Validate(ctx)
	if checks[1].OK || checks[1].Fix == "" || checks[2].OK || checks[2].Detail != "skipped: no token" {
		t.Fatalf("expired secret: %+v", checks)
	}
	// An app registration without the Agent Impersonator role.
	c, _ = s2sConnector(t, sim.Options{Roles: []string{sim.RoleCaseManager}})
	checks = c.Validate(ctx)
	if !checks[1].OK || checks[2].OK || checks[2].Fix != "grant the app registration the Agent Impersonator role in Cubu" {
		t.Fatalf("missing role: %+v", checks)
	}
}
