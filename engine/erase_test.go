package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
	"github.com/ticketsync/ticketsync/workflows"
)

// stack is ticketsync end to end on an embedded Temporal server: worker, API over HTTP, the
// TheWorxHub simulator pushing its webhooks to the API, and the fake portal.
type stack struct {
	t      *testing.T
	kit    *testkit.Kit
	ts     *temporaltest.TestServer
	c      client.Client
	eng    *engine.Engine
	apiURL string
}

func newStack(t *testing.T, pollInterval time.Duration) *stack {
	t.Helper()
	// The server deletes a just-closed run only after its transfer queue's ack level has moved
	// past the close (every 30 s by default); a second here keeps the test short.
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.TransferProcessorUpdateAckInterval.Key():      []dynamicconfig.ConstrainedValue{{Value: time.Second}},
	})))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: ticket.SearchAttributeTypes(), Namespace: ts.GetDefaultNamespace()}); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + ln.Addr().String()
	kit := testkit.New(t, testkit.Options{WebhookURL: apiURL + "/v1/hooks/theworxhub/" + testkit.Connection})
	eng := kit.UseTemporal(c)
	eng.PollInterval = pollInterval
	w := workers.New(c, kit.Activities, workers.Options{TaskQueue: "ticketsync"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	api := &starter.API{Store: kit.Store, Engine: eng, Connections: kit.Registry, PollInterval: pollInterval, Namespace: ts.GetDefaultNamespace()}
	srv := &http.Server{Handler: api.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &stack{t: t, kit: kit, ts: ts, c: c, eng: eng, apiURL: apiURL}
}

func (s *stack) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rdr io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rdr = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.apiURL+path, rdr)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.kit.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// create starts a ticket through the API and returns its id and the simulator's request.
func (s *stack) create(ext string) (string, twhsim.WorkRequest) {
	s.t.Helper()
	code, got := s.call("POST", "/v1/tickets", map[string]any{"connection": testkit.Connection, "externalId": ext,
		"requestType": "Maintenance", "title": "Leaking sink in flat 12", "description": "The sink of Ada Lovelace drips.",
		"location":  map[string]any{"address": "12 Baker Street"},
		"requester": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+31 6 5555 1234"}})
	if code != 201 {
		s.t.Fatalf("create %s: %d %v", ext, code, got)
	}
	id := got["id"].(string)
	var remote twhsim.WorkRequest
	testkit.WaitFor(s.t, 15*time.Second, "the remote request of "+ext, func() bool {
		for _, r := range s.kit.TWH.Requests() {
			if strings.HasSuffix(r.ExternalReference, ext) {
				remote = r
				return true
			}
		}
		return false
	})
	return id, remote
}

func (s *stack) waitStatus(id, status string) {
	s.t.Helper()
	testkit.WaitFor(s.t, 20*time.Second, "ticket "+id+" "+status, func() bool {
		tk, err := s.kit.Store.GetTicketAnyTenant(context.Background(), id)
		return err == nil && tk.Status == status
	})
}

func (s *stack) waitClosed(wfID string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.c.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		s.t.Fatalf("workflow %s: %v", wfID, err)
	}
}

// history returns the raw history of one run as JSON text (what anyone reading Temporal
// without ticketsync would see), or NotFound.
func (s *stack) history(wfID, runID string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := s.c.GetWorkflowHistory(ctx, wfID, runID, false, 0)
	var b strings.Builder
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return "", err
		}
		j, _ := json.Marshal(ev)
		b.Write(j)
		// Payload data is bytes (base64 in the JSON above): add the start input as text.
		for _, p := range ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads() {
			b.Write(p.GetData())
		}
	}
	return b.String(), nil
}

// runs lists every run of a workflow id that visibility knows.
func (s *stack) runs(wfID string) []string {
	s.t.Helper()
	resp, err := s.c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ts.GetDefaultNamespace(), Query: "WorkflowId = '" + wfID + "'"})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, ex := range resp.GetExecutions() {
		out = append(out, ex.GetExecution().GetRunId())
	}
	return out
}

// A finished ticket's personal data leaves the store at once and its whole history (every
// run of a continued-as-new workflow) leaves Temporal; an anonymous row, the audit entry and
// the events' replayability stay. Erasure never touches a workflow that still runs.
func TestEraseEndToEnd(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 3 // several runs, each with the request in its input
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	s := newStack(t, 300*time.Millisecond)
	ns := s.ts.GetDefaultNamespace()
	id, remote := s.create("erase-e2e-1")
	wfID := ticket.WorkflowID(testkit.Connection, "erase-e2e-1")

	// Open: refused, and nothing changes.
	if code, got := s.call("DELETE", "/v1/tickets/"+id+"/personal-data", nil); code != 409 {
		t.Fatalf("erase while open: %d %v", code, got)
	}
	if _, err := s.kit.TWH.AddFeedback(remote.ID, twhsim.FeedbackInput{Text: "Ada, we come at 9", Author: "J. Rivera", VisibleToRequestor: true}); err != nil {
		t.Fatal(err)
	}
	// Polls every second (the workflow's floor), three per run: wait for a second run.
	testkit.WaitFor(t, 20*time.Second, "several runs (continue-as-new)", func() bool { return len(s.runs(wfID)) >= 2 })
	if _, err := s.kit.TWH.Transition(remote.ID, twhsim.StatusCompleted, nil, true); err != nil {
		t.Fatal(err)
	}
	s.waitStatus(id, ticket.Done)
	s.waitClosed(wfID)
	var runs []string
	testkit.WaitFor(t, 10*time.Second, "every run closed in visibility", func() bool {
		runs = s.runs(wfID)
		return len(runs) >= 2
	})
	for _, run := range runs {
		if h, err := s.history(wfID, run); err != nil || !strings.Contains(h, "ada@example.org") {
			t.Fatalf("run %s: the raw history should hold the requester before erasure (%v)", run, err)
		}
	}

	code, got := s.call("DELETE", "/v1/tickets/"+id+"/personal-data", nil)
	if code != 200 {
		t.Fatalf("erase: %d %v", code, got)
	}
	ctx := context.Background()
	var counts engine.HistoryCounts
	testkit.WaitFor(t, 20*time.Second, "the history deletion", func() bool {
		c, err := s.eng.DeleteErasedHistories(ctx, ns, 10)
		counts.Deleted += c.Deleted
		return err == nil && counts.Deleted == 1
	})
	for _, run := range runs {
		testkit.WaitFor(t, 30*time.Second, "run "+run+" gone from Temporal", func() bool {
			_, err := s.history(wfID, run)
			var nf *serviceerror.NotFound
			return errors.As(err, &nf)
		})
	}
	if c, err := s.eng.DeleteErasedHistories(ctx, ns, 10); err != nil || c != (engine.HistoryCounts{}) {
		t.Fatalf("a second pass: %+v %v", c, err)
	}

	// The store: no personal data; the row, its statuses and the audit trail stay.
	tk, _ := s.kit.Store.GetTicketAnyTenant(ctx, id)
	evs, _ := s.kit.Store.ListEvents(ctx, id)
	all, _ := json.Marshal(struct {
		T store.Ticket
		E []store.Event
	}{tk, evs})
	for _, p := range []string{"Ada", "ada@example.org", "5555", "Baker Street", "flat 12", "drips"} {
		if strings.Contains(string(all), p) {
			t.Errorf("%q is still in the store", p)
		}
	}
	if tk.Status != ticket.Done || tk.RemoteID != remote.ID {
		t.Fatalf("the anonymous row lost its facts: %+v", tk)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if !slices.Contains(types, ticket.EventErased) || !strings.Contains(string(all), "workflow history deleted from Temporal") {
		t.Fatalf("audit trail: %v", types)
	}
	if lc, _ := s.kit.Store.TicketLifecycle(ctx, id); lc.ErasedAt == nil || lc.HistoryDeletedAt == nil {
		t.Fatalf("lifecycle %+v", lc)
	}

	// Replays still work on the anonymous timeline (same ids; the portal dedupes them), but
	// for the feedback whose text went with the erasure.
	code, res := s.call("POST", "/v1/events/replay", map[string]any{"connection": testkit.Connection, "since": "2000-01-01T00:00:00Z"})
	if code != 202 {
		t.Fatalf("replay after erasure: %d %v", code, res)
	}
	var statusEvents, feedback []string
	for _, e := range res["events"].([]any) {
		m := e.(map[string]any)
		if m["type"] == ticket.EventFeedbackAdded {
			feedback = append(feedback, m["id"].(string))
		} else {
			statusEvents = append(statusEvents, m["id"].(string))
		}
	}
	if len(statusEvents) < 3 || len(feedback) != 1 {
		t.Fatalf("replayed %v", res["events"])
	}
	testkit.WaitFor(t, 10*time.Second, "the replayed status events at the portal", func() bool {
		dups := s.kit.Portal.Duplicates()
		for _, id := range statusEvents {
			if dups[id] == 0 {
				return false
			}
		}
		return true
	})
	if dups := s.kit.Portal.Duplicates(); dups[feedback[0]] != 0 {
		t.Errorf("the erased feedback %s was sent again", feedback[0])
	}
	if code, got := s.call("POST", "/v1/events/"+feedback[0]+"/replay", nil); code != 409 || !strings.Contains(fmt.Sprint(got["detail"]), "erased") {
		t.Errorf("replay of the erased feedback: %d %v", code, got)
	}
	if v := s.kit.Portal.Violations(); len(v) > 0 {
		t.Errorf("order violations at the portal: %+v", v)
	}
}

// A ticket the read model calls finished while its workflow still runs (delivering its last
// events) is erased in the store, but its history waits: deleting it would terminate the
// workflow.
func TestEraseNeverDeletesARunningWorkflow(t *testing.T) {
	s := newStack(t, 15*time.Minute)
	ns := s.ts.GetDefaultNamespace()
	id, _ := s.create("erase-e2e-running")
	wfID := ticket.WorkflowID(testkit.Connection, "erase-e2e-running")
	ctx := context.Background()
	tk, _ := s.kit.Store.GetTicketAnyTenant(ctx, id)
	if _, err := s.eng.Erase(ctx, store.Ticket{ID: tk.ID, Tenant: tk.Tenant, Connection: tk.Connection, ExternalID: tk.ExternalID,
		WorkflowID: tk.WorkflowID, Status: ticket.Done, Request: tk.Request}, "test"); err != nil {
		t.Fatal(err)
	}
	c, err := s.eng.DeleteErasedHistories(ctx, ns, 10)
	if err != nil || c != (engine.HistoryCounts{Waiting: 1}) {
		t.Fatalf("pass while running: %+v %v", c, err)
	}
	desc, err := s.c.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetCloseTime() != nil {
		t.Fatalf("the running workflow was touched: %v %v", desc, err)
	}
	if lc, _ := s.kit.Store.TicketLifecycle(ctx, id); lc.HistoryDeletedAt != nil {
		t.Fatalf("history marked deleted while running: %+v", lc)
	}
	// Once it has closed, the next pass deletes it.
	if code, _ := s.call("POST", "/v1/tickets/"+id+"/cancel", map[string]any{"reason": "test"}); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	s.waitClosed(wfID)
	testkit.WaitFor(t, 20*time.Second, "the deletion after close", func() bool {
		c, err := s.eng.DeleteErasedHistories(ctx, ns, 10)
		return err == nil && c.Deleted == 1
	})
}

// Retention prunes finished tickets' timelines and request bodies, keeping audit entries.
func TestPruneRetention(t *testing.T) {
	s := newStack(t, 15*time.Minute)
	id, remote := s.create("retention-e2e")
	if _, err := s.kit.TWH.Transition(remote.ID, twhsim.StatusCompleted, nil, true); err != nil {
		t.Fatal(err)
	}
	s.waitStatus(id, ticket.Done)
	s.waitClosed(ticket.WorkflowID(testkit.Connection, "retention-e2e"))
	ctx := context.Background()
	if c, err := s.eng.PruneRetention(ctx, time.Hour); err != nil || c != (store.PruneCounts{}) {
		t.Fatalf("a ticket finished just now is kept: %+v %v", c, err)
	}
	evs, _ := s.kit.Store.ListEvents(ctx, id)
	c, err := s.eng.PruneRetention(ctx, time.Nanosecond)
	if err != nil || c.Tickets != 1 || c.Events != int64(len(evs)) || c.Requests != 1 {
		t.Fatalf("prune: %+v %v (timeline had %d rows)", c, err, len(evs))
	}
	tk, _ := s.kit.Store.GetTicketAnyTenant(ctx, id)
	lc, _ := s.kit.Store.TicketLifecycle(ctx, id)
	if string(tk.Request) != "{}" || tk.Status != ticket.Done || lc.PrunedEvents != int64(len(evs)) || lc.PrunedAt == nil {
		t.Fatalf("after retention: %+v %+v", tk, lc)
	}
	if c, _ := s.eng.PruneRetention(ctx, 0); c != (store.PruneCounts{}) {
		t.Fatalf("retention 0 means off: %+v", c)
	}
}
