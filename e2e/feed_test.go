package e2e

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/workflows"
)

// Without any webhook, ConnectionSync's change-feed follower pokes the ticket within seconds.
func TestChangeFeedPokesChangedTickets(t *testing.T) {
	w := newWorldWith(t, false)
	tickets := w.kit.Activities.Engine
	ctx := context.Background()
	if err := tickets.EnsureConnectionSync(ctx, testkit.Connection); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second worker start must not fail or start a second follower.
	if err := tickets.EnsureConnectionSync(ctx, testkit.Connection); err != nil {
		t.Fatal(err)
	}
	id, remote := w.createRecorded("feed-1")
	began := time.Now()
	if _, err := w.kit.TWH.SetCategory(remote.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	if err := waitPortal(w, id, "InProgress"); err != nil {
		t.Fatal(err)
	}
	t.Logf("feed-only latency: %s (feed interval 200ms, ticket timer 15m)", time.Since(began).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "feed watermark persisted", func() bool {
		c, err := w.kit.Store.GetCursor(ctx, testkit.Connection, "feed.watermark")
		return err == nil && c != ""
	})
	code, conn := w.call("GET", "/v1/connections/"+testkit.Connection, w.kit.APIKey, nil)
	feed, _ := conn["feed"].(map[string]any)
	if code != 200 || feed == nil || feed["cursor"] == nil || feed["lastRead"] == nil || feed["lastError"] != nil {
		t.Fatalf("connection status: %d %v", code, conn)
	}
	if code, _ := w.call("GET", "/v1/connections/"+testkit.OtherConn, w.kit.APIKey, nil); code != 404 {
		t.Fatalf("another tenant's connection: %d", code)
	}
	desc, err := w.ts.GetDefaultClient().DescribeWorkflowExecution(ctx, ticket.ConnectionSyncWorkflowID(testkit.Connection), "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("ConnectionSync not running: %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
}

// TestQuietTicketHistoryBudget measures history events per poll cycle of a ticket nothing
// happens to, and extrapolates to a day at the default 15-minute interval (DESIGN.md §3).
func TestQuietTicketHistoryBudget(t *testing.T) {
	w := newWorld(t)
	c := w.ts.GetDefaultClient()
	tickets := w.kit.Activities.Engine
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "quiet-1")
	in := ticket.Input{Ref: ref, MappingVersion: "theworxhub-v1", PollInterval: time.Second,
		Request: vendorapi.NewRequest{RequestType: "Maintenance", Title: "t", Description: "d", Location: vendorapi.Location{Address: "apt 1"}, Requester: vendorapi.Person{Name: "n"}}}
	ctx := context.Background()
	if err := tickets.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	count := func() (events, polls int) {
		iter := c.GetWorkflowHistory(ctx, ref.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			if _, err := iter.Next(); err != nil {
				t.Fatal(err)
			}
			events++
		}
		v, err := c.QueryWorkflow(ctx, ref.WorkflowID, "", ticket.QueryState)
		if err != nil {
			t.Fatal(err)
		}
		var st ticket.State
		_ = v.Get(&st)
		return events, st.Polls
	}
	waitFor(t, 10*time.Second, "first polls", func() bool { _, p := count(); return p >= 2 })
	e1, p1 := count()
	waitFor(t, 20*time.Second, "ten more polls", func() bool { _, p := count(); return p >= p1+10 })
	e2, p2 := count()
	if testing.Verbose() {
		iter := c.GetWorkflowHistory(ctx, ref.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for iter.HasNext() {
			ev, _ := iter.Next()
			n++
			if n > e1 && n <= e1+24 {
				t.Logf("%d %s", ev.GetEventId(), ev.GetEventType())
			}
		}
	}
	perCycle := float64(e2-e1) / float64(p2-p1)
	perDay := perCycle * float64(24*time.Hour/workflows.DefaultPollInterval)
	t.Logf("quiet ticket: %.1f history events per poll cycle → %.0f events per ticket-day at 15m", perCycle, perDay)
	if perCycle > 6.5 {
		t.Fatalf("a quiet poll cycle costs %.1f events; budget is 6 (timer fired+started, one workflow task, one poll marker)", perCycle)
	}
}

// With a healthy change feed a quiet ticket relaxes its safety-net timer (×96: a day at 15 min).
func TestHealthyFeedRelaxesTheTicketTimer(t *testing.T) {
	w := newWorldWith(t, false)
	c := w.ts.GetDefaultClient()
	tickets := w.kit.Activities.Engine
	ctx := context.Background()
	if err := tickets.EnsureConnectionSync(ctx, testkit.Connection); err != nil {
		t.Fatal(err)
	}
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "relax-1")
	in := ticket.Input{Ref: ref, MappingVersion: "theworxhub-v1", PollInterval: time.Second,
		Request: vendorapi.NewRequest{RequestType: "Maintenance", Title: "t", Description: "d", Location: vendorapi.Location{Address: "apt 1"}, Requester: vendorapi.Person{Name: "n"}}}
	if err := tickets.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	var st ticket.State
	waitFor(t, 20*time.Second, "a poll that sees the healthy feed", func() bool {
		v, err := c.QueryWorkflow(ctx, ref.WorkflowID, "", ticket.QueryState)
		if err != nil {
			return false
		}
		_ = v.Get(&st)
		return st.FeedHealthy && st.LastPoll != nil && st.NextPoll != nil && st.NextPoll.After(*st.LastPoll)
	})
	gap := st.NextPoll.Sub(*st.LastPoll)
	if want := workflows.RelaxedPollInterval(time.Second); gap < want*9/10 || gap > want*11/10 {
		t.Fatalf("next poll %s after the last one; want %s ± 10%% (1s × %d)", gap, want, workflows.SafetyNetRelaxFactor)
	}
}
