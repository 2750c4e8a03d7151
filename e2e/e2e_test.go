// Package e2e runs ticketsync end to end: a real Temporal server (temporaltest), the worker, the
// HTTP API, the TheWorxHub simulator and a fake portal, all talking over real connections.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/temporaltest"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/internal/pgtest"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
)

type world struct {
	t      testing.TB
	kit    *testkit.Kit
	ts     *temporaltest.TestServer
	apiURL string
}

func newWorld(t testing.TB) *world { return newWorldWith(t, true) }

// newWorldWith optionally leaves out the simulator's webhook (to prove the change feed alone
// delivers updates quickly).
func newWorldWith(t testing.TB, webhook bool, configure ...func(*config.File)) *world {
	return newWorldOn(t, webhook, "", configure...)
}

// newWorldOn also chooses the store (default: SQLite in a temp dir).
func newWorldOn(t testing.TB, webhook bool, databaseURL string, configure ...func(*config.File)) *world {
	t.Helper()
	var ts *temporaltest.TestServer
	if tt, ok := t.(*testing.T); ok {
		ts = temporaltest.NewServer(temporaltest.WithT(tt))
	} else {
		ts = temporaltest.NewServer()
		t.Cleanup(ts.Stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := ts.GetDefaultClient()
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: devstack.SearchAttributes, Namespace: ts.GetDefaultNamespace(),
	}); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + ln.Addr().String()
	var hook string
	if webhook {
		hook = apiURL + "/v1/hooks/theworxhub/" + testkit.Connection
	}
	opts := testkit.Options{WebhookURL: hook, DatabaseURL: databaseURL}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	kit := testkit.New(t, opts)
	eng := kit.UseTemporal(c)

	w := workers.New(c, kit.Activities, workers.Options{TaskQueue: "ticketsync"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	api := &starter.API{Store: kit.Store, Engine: eng, Connections: kit.Registry, PollInterval: 15 * time.Minute}
	srv := &http.Server{Handler: api.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &world{t: t, kit: kit, ts: ts, apiURL: apiURL}
}

func (w *world) call(method, path, key string, body any) (int, map[string]any) {
	w.t.Helper()
	var rdr io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rdr = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.apiURL+path, rdr)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// oneRemote waits for the simulator to hold exactly one request and returns it.
func (w *world) oneRemote() twhsim.WorkRequest {
	w.t.Helper()
	var remote twhsim.WorkRequest
	waitFor(w.t, 10*time.Second, "the remote request", func() bool {
		r := w.kit.TWH.Requests()
		if len(r) == 1 {
			remote = r[0]
		}
		return len(r) == 1
	})
	return remote
}

// createRecorded creates a ticket and waits until the simulator holds its one request and the
// read model has recorded that request's id.
func (w *world) createRecorded(ext string) (string, twhsim.WorkRequest) {
	w.t.Helper()
	code, created := w.call("POST", "/v1/tickets", w.kit.APIKey, ticketBody(ext))
	if code != 201 {
		w.t.Fatalf("create %s: %d %v", ext, code, created)
	}
	id := created["id"].(string)
	remote := w.oneRemote()
	waitFor(w.t, 10*time.Second, "remote id recorded", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, w.kit.APIKey, nil)
		return v["remoteId"] == remote.ID
	})
	return id, remote
}

func ticketBody(ext string) map[string]any {
	return map[string]any{"connection": testkit.Connection, "externalId": ext, "requestType": "Maintenance",
		"title": "Leaking sink", "description": "The bathroom sink drips.",
		"location":  map[string]any{"address": "Building A, apt 12"},
		"requester": map[string]any{"name": "Ada Resident", "email": "ada@example.org"}}
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, within, what, cond)
}

func TestEndToEnd(t *testing.T) { endToEnd(t, newWorld(t)) }

// The same story with the production store: PostgreSQL (a fresh schema; fails in CI if absent).
func TestEndToEndOnPostgreSQL(t *testing.T) { endToEnd(t, newWorldOn(t, true, pgtest.SchemaURL(t))) }

func endToEnd(t *testing.T, w *world) {
	key := w.kit.APIKey

	code, created := w.call("POST", "/v1/tickets", key, ticketBody("cubigo-9001"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id, _ := created["id"].(string)
	if !strings.HasPrefix(id, "tkt_") || created["status"] != "Submitted" {
		t.Fatalf("created ticket view: %v", created)
	}

	// Idempotent replay and conflict.
	code, replay := w.call("POST", "/v1/tickets", key, ticketBody("cubigo-9001"))
	if code != http.StatusOK || replay["id"] != id {
		t.Fatalf("replay: %d %v", code, replay)
	}
	changed := ticketBody("cubigo-9001")
	changed["title"] = "Something else"
	if code, p := w.call("POST", "/v1/tickets", key, changed); code != http.StatusConflict {
		t.Fatalf("conflicting replay: %d %v", code, p)
	}

	// Within a second or so the work system has exactly one pending request.
	var remote twhsim.WorkRequest
	waitFor(t, 10*time.Second, "the pending request in TheWorxHub", func() bool {
		reqs := w.kit.TWH.Requests()
		if len(reqs) == 1 {
			remote = reqs[0]
		}
		return len(reqs) == 1 && reqs[0].Status == twhsim.StatusPending
	})
	if remote.ExternalReference != "ticketsync:"+testkit.Connection+":cubigo-9001" || remote.Title != "Leaking sink" || remote.Location != "Building A, apt 12" {
		t.Fatalf("remote request: %+v", remote)
	}

	// Another tenant sees nothing.
	if code, p := w.call("GET", "/v1/tickets/"+id, w.kit.OtherAPIKey, nil); code != http.StatusNotFound {
		t.Fatalf("other tenant GET: %d %v", code, p)
	}
	if code, _ := w.call("GET", "/v1/tickets/"+id, "not-a-key", nil); code != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d", code)
	}

	// Staff set the category: the webhook pokes the ticket; the portal hears InProgress, signed.
	began := time.Now()
	if _, err := w.kit.TWH.SetCategory(remote.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.kit.Portal.WaitFor(ctx, func(evs []portalsim.Received) bool {
		for _, e := range evs {
			if e.Event.Ticket.ID == id && e.Event.Type == "ticket.status_changed" && e.Event.Ticket.Status == "InProgress" {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("portal never received InProgress: %v (got %d events)", err, len(w.kit.Portal.Events()))
	}
	t.Logf("InProgress reached the portal %s after staff saved", time.Since(began).Round(time.Millisecond))
	evs := w.kit.Portal.EventsFor(id)
	if evs[0].Event.Ticket.Status != "Requested" || evs[0].Event.Ticket.PreviousStatus != "" {
		t.Fatalf("first event: %+v", evs[0].Event)
	}
	h := evs[1].Headers
	if h.Get("webhook-id") != evs[1].ID || !strings.HasPrefix(h.Get("webhook-signature"), "v1,") || h.Get("Ticketsync-Event-Type") != "ticket.status_changed" {
		t.Fatalf("headers: %v", h)
	}

	waitFor(t, 5*time.Second, "the read model", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, key, nil)
		return v["status"] == "InProgress" && v["remoteId"] == remote.ID && v["category"] == "Plumbing"
	})

	// List, search attributes and the state query through the SDK client.
	code, list := w.call("GET", "/v1/tickets?status=InProgress&connection="+testkit.Connection, key, nil)
	if items, _ := list["items"].([]any); code != 200 || len(items) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	if code, _ := w.call("GET", "/v1/tickets?connection="+testkit.OtherConn, key, nil); code != http.StatusNotFound {
		t.Fatalf("listing another tenant's connection: %d", code)
	}
	c := w.ts.GetDefaultClient()
	wfID := created["workflowId"].(string)
	if wfID != "ticket/"+testkit.Connection+"/cubigo-9001" {
		t.Fatalf("workflow id %q", wfID)
	}
	v, err := c.QueryWorkflow(ctx, wfID, "", ticket.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st ticket.State
	if err := v.Get(&st); err != nil || st.Status != "InProgress" || st.RemoteID != remote.ID {
		t.Fatalf("state query: %+v %v", st, err)
	}
	// Temporal Web lists our signals and query (workflow metadata) and shows current details.
	mv, err := c.QueryWorkflow(ctx, wfID, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := mv.Get(&meta); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range meta.GetDefinition().GetSignalDefinitions() {
		names[d.GetName()] = d.GetDescription() != ""
	}
	for _, d := range meta.GetDefinition().GetQueryDefinitions() {
		names[d.GetName()] = d.GetDescription() != ""
	}
	for _, n := range []string{"cancel", "comment", "hold", "resume", "poke", "retry", "skip", "state"} {
		if !names[n] {
			t.Errorf("workflow metadata lacks a described %q: %v", n, names)
		}
	}
	if !strings.Contains(meta.GetCurrentDetails(), "InProgress") {
		t.Errorf("current details %q", meta.GetCurrentDetails())
	}
	waitFor(t, 10*time.Second, "search by TicketStatus", func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: w.ts.GetDefaultNamespace(),
			Query:     fmt.Sprintf("TicketStatus = 'InProgress' AND TicketRemoteId = '%s'", remote.ID),
		})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == wfID
	})

	// Resident comments, then cancels; the remote is cancelled first, the ticket finishes.
	if code, p := w.call("POST", "/v1/tickets/"+id+"/comments", key, map[string]any{"text": "Guest bathroom", "author": "Ada"}); code != http.StatusAccepted {
		t.Fatalf("comment: %d %v", code, p)
	}
	waitFor(t, 10*time.Second, "comment at TheWorxHub", func() bool {
		wr, _ := w.kit.TWH.Request(remote.ID)
		return len(wr.Comments) == 1 && wr.Comments[0].Text == "Guest bathroom"
	})
	if code, p := w.call("POST", "/v1/tickets/"+id+"/cancel", key, map[string]any{"reason": "fixed it myself"}); code != http.StatusAccepted {
		t.Fatalf("cancel: %d %v", code, p)
	}
	run := c.GetWorkflow(ctx, wfID, "")
	var res ticket.Result
	if err := run.Get(ctx, &res); err != nil || res.Status != "Canceled" {
		t.Fatalf("workflow result %+v %v", res, err)
	}
	wr, _ := w.kit.TWH.Request(remote.ID)
	if wr.Status != twhsim.StatusCancelled {
		t.Fatalf("remote status %s", wr.Status)
	}
	waitFor(t, 5*time.Second, "the closed event", func() bool {
		evs := w.kit.Portal.EventsFor(id)
		return len(evs) > 0 && evs[len(evs)-1].Event.Type == "ticket.closed"
	})
	if code, _ := w.call("POST", "/v1/tickets/"+id+"/comments", key, map[string]any{"text": "hello?"}); code != http.StatusConflict {
		t.Fatalf("comment on a finished ticket: %d", code)
	}
	code, timeline := w.call("GET", "/v1/tickets/"+id+"/events", key, nil)
	if items, _ := timeline["items"].([]any); code != 200 || len(items) < 5 {
		t.Fatalf("timeline: %d %v", code, timeline)
	}
	if dups := w.kit.Portal.Duplicates(); len(dups) > 0 {
		t.Logf("duplicate deliveries (allowed, deduped by webhook-id): %v", dups)
	}
	if len(w.kit.TWH.Requests()) != 1 {
		t.Fatalf("remote requests: %d", len(w.kit.TWH.Requests()))
	}
}
