package starter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// operatorKey is the operator API key the ticket handler tests configure.
const operatorKey = "op-0123456789abcdef0123456789abcdef"

// tapi is the API over the test kit with a mocked Temporal client and an operator key.
type tapi struct {
	t   *testing.T
	kit *testkit.Kit
	mc  *mocks.Client
	api *starter.API
	h   http.Handler
}

func newTAPI(t *testing.T) *tapi {
	t.Helper()
	kit := testkit.New(t, testkit.Options{})
	mc := mocks.NewClient(t)
	api := &starter.API{Store: kit.Store, Engine: kit.UseTemporal(mc), Connections: kit.Registry,
		PollInterval: 15 * time.Minute, OperatorKeys: []string{" " + operatorKey + " "}}
	return &tapi{t: t, kit: kit, mc: mc, api: api, h: api.Handler()}
}

// do sends a request with key ("" = none) and returns the status, headers and raw body.
func (a *tapi) do(method, path, key, body string) (int, http.Header, string) {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

// json sends a request with the tenant's key and decodes the answer.
func (a *tapi) json(method, path, body string, want int) map[string]any {
	a.t.Helper()
	code, _, raw := a.do(method, path, a.kit.APIKey, body)
	if code != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, code, raw, want)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		a.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return out
}

// started expects n workflow starts.
func (a *tapi) started(n int) {
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("wf").Maybe()
	run.On("GetRunID").Return("run").Maybe()
	a.mc.On("ExecuteWorkflow", mock.Anything, mock.Anything, ticket.WorkflowType, mock.Anything).Return(run, nil).Times(n)
}

// create creates a ticket through the API (one workflow start expected).
func (a *tapi) create(ext string, mutate func(map[string]any)) store.Ticket {
	a.t.Helper()
	body := ticketJSON(ext)
	if mutate != nil {
		mutate(body)
	}
	b, _ := json.Marshal(body)
	a.started(1)
	got := a.json("POST", "/v1/tickets", string(b), http.StatusCreated)
	row, err := a.kit.Store.GetTicketAnyTenant(context.Background(), got["id"].(string))
	if err != nil {
		a.t.Fatal(err)
	}
	return row
}

// state writes the workflow-owned part of a ticket's row.
func (a *tapi) state(id string, version int64, mutate func(*store.TicketState)) {
	a.t.Helper()
	st := store.TicketState{ID: id, Status: ticket.Requested, RemoteID: "104201", RemoteStatus: "Pending", UpdatedAt: time.Now().UTC(), Version: version}
	mutate(&st)
	if err := a.kit.Store.UpdateTicketState(context.Background(), st); err != nil {
		a.t.Fatal(err)
	}
}

// live makes the state query of workflowID answer st (nil: the query fails, no worker).
func (a *tapi) live(workflowID string, st *ticket.State) {
	call := a.mc.On("QueryWorkflow", mock.Anything, workflowID, "", ticket.QueryState)
	if st == nil {
		call.Return(nil, errors.New("no worker polls the task queue")).Maybe()
		return
	}
	call.Return(jsonValue{*st}, nil).Maybe()
}

// signalled expects one signal name to workflowID and returns its argument once sent.
func (a *tapi) signalled(workflowID, name string) *any {
	var arg any
	a.mc.On("SignalWorkflow", mock.Anything, workflowID, "", name, mock.Anything).
		Run(func(args mock.Arguments) { arg = args.Get(4) }).Return(nil).Once()
	return &arg
}

func ticketJSON(ext string) map[string]any {
	return map[string]any{"connection": testkit.Connection, "externalId": ext, "requestType": "Maintenance",
		"title": "Leaking sink", "description": "The kitchen sink drips.", "location": map[string]any{"address": "apt 4"},
		"requester": map[string]any{"name": "Ada"}}
}

// jsonValue is a state query's answer.
type jsonValue struct{ v any }

func (v jsonValue) HasValue() bool { return true }
func (v jsonValue) Get(ptr any) error {
	b, err := json.Marshal(v.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// A field the connection's work system requires (TheWorxHub: location.address) is refused at
// the API with 422 naming it: before, the create answered 201 and the ticket parked with "the
// work request is invalid". Nothing is created.
func TestCreateRefusesWhatTheWorkSystemRequires(t *testing.T) {
	a := newTAPI(t)
	body := ticketJSON("no-location")
	delete(body, "location")
	b, _ := json.Marshal(body)
	out := a.json("POST", "/v1/tickets", string(b), http.StatusUnprocessableEntity)
	if !strings.Contains(fmt.Sprint(out["errors"]), "location.address") || !strings.Contains(fmt.Sprint(out["detail"]), "theworxhub") {
		t.Fatalf("the 422 should name location.address and the work system: %v", out)
	}
	if _, err := a.kit.Store.GetTicketByExternalID(context.Background(), testkit.Connection, "no-location"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused create recorded a row: %v", err)
	}
}

// A body under 1 MiB whose request grows past the workflow engine's budget once JSON-escaped
// (< > & take 6 bytes) is refused with 413 instead of failing at Temporal with 503; one just
// under the budget is created.
func TestCreateBoundsTheEncodedRequest(t *testing.T) {
	a := newTAPI(t)
	over := ticketJSON("escaped-over")
	over["description"] = strings.Repeat("<", 95000) // 95 KB of body, 570 KB encoded
	b, _ := json.Marshal(over)
	if len(b) > starter.MaxBodyBytes {
		t.Fatalf("test body %d bytes is over the body limit", len(b))
	}
	code, _, raw := a.do("POST", "/v1/tickets", a.kit.APIKey, string(b))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(raw, "bytes once encoded") {
		t.Fatalf("over the encoded budget: %d %s", code, raw)
	}
	under := a.create("escaped-under", func(m map[string]any) { m["description"] = strings.Repeat("<", 85000) })
	if under.Status != ticket.Submitted {
		t.Fatalf("under the budget: %+v", under)
	}
}

// An old create replayed after its ticket finished (its workflow history long gone with
// retention) answers 200 with the final view and starts nothing. (Passed before this change
// too: engine.CreateTicket already refused to restart a finished ticket.)
func TestReplayedCreateOfAFinishedTicketStartsNothing(t *testing.T) {
	a := newTAPI(t)
	row := a.create("done-long-ago", nil)
	a.state(row.ID, 7, func(s *store.TicketState) { s.Status, s.RemoteStatus = ticket.Done, "Completed" })
	b, _ := json.Marshal(ticketJSON("done-long-ago"))
	got := a.json("POST", "/v1/tickets", string(b), http.StatusOK)
	if got["status"] != ticket.Done || got["remoteId"] != "104201" {
		t.Fatalf("replayed create of a finished ticket: %v", got)
	}
	a.mc.AssertNumberOfCalls(t, "ExecuteWorkflow", 1)
}

// skip is an operator action: a tenant key gets 403; an operator key may skip on any tenant's
// ticket.
func TestSkipIsAnOperatorAction(t *testing.T) {
	a := newTAPI(t)
	row := a.create("skip-me", nil)
	if code, _, raw := a.do("POST", "/v1/tickets/"+row.ID+"/skip", a.kit.APIKey, ""); code != http.StatusForbidden || !strings.Contains(raw, "operator") {
		t.Fatalf("tenant key on skip: %d %s", code, raw)
	}
	a.signalled(row.WorkflowID, ticket.SignalSkip)
	if code, _, raw := a.do("POST", "/v1/tickets/"+row.ID+"/skip", operatorKey, ""); code != http.StatusAccepted {
		t.Fatalf("operator key on skip: %d %s", code, raw)
	}
	if code, _, _ := a.do("GET", "/v1/tickets/"+row.ID, a.kit.OtherAPIKey, ""); code != http.StatusNotFound {
		t.Fatalf("another tenant's key sees the ticket: %d", code)
	}
	if code, _, _ := a.do("GET", "/v1/tickets/"+row.ID, operatorKey, ""); code != http.StatusOK {
		t.Fatalf("the operator key does not see a tenant's ticket: %d", code)
	}
	if code, _, raw := a.do("GET", "/v1/tickets?connection="+testkit.Connection, operatorKey, ""); code != http.StatusOK || !strings.Contains(raw, row.ID) {
		t.Fatalf("the operator key lists every tenant's tickets: %d %s", code, raw)
	}
	if code, _, _ := a.do("POST", "/v1/tickets/"+row.ID+"/skip", "op-not-configured-0123456789abcdef01", ""); code != http.StatusUnauthorized {
		t.Fatalf("an unknown key: %d", code)
	}
}

// Re-enabling an endpoint a 410 disabled is an operator action; it sends retry to every
// ticket of the connection waiting for it (and to no other parked ticket).
func TestEnableEndpointResumesTheWaitingTickets(t *testing.T) {
	a := newTAPI(t)
	ctx := context.Background()
	waiting := a.create("waits-1", nil)
	other := a.create("parked-otherwise", nil)
	since := time.Now().UTC()
	a.state(waiting.ID, 3, func(s *store.TicketState) {
		s.NeedsAttention, s.AttentionSince = true, &since
		s.AttentionReason = ticket.ReasonEndpointDisabled + ": deliveries of every ticket of connection sunrise-twh wait"
	})
	a.state(other.ID, 3, func(s *store.TicketState) {
		s.NeedsAttention, s.AttentionSince, s.AttentionReason = true, &since, "unmapped remote status \"Escalated\""
	})
	if err := a.kit.Store.DisableEndpoint(ctx, testkit.Tenant, testkit.Connection, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	path := "/v1/connections/" + testkit.Connection + "/enable-endpoint"
	if code, _, _ := a.do("POST", path, a.kit.APIKey, ""); code != http.StatusForbidden {
		t.Fatalf("tenant key: %d", code)
	}
	if ep, _ := a.kit.Store.EndpointDisabled(ctx, testkit.Tenant, testkit.Connection); !ep.Disabled {
		t.Fatal("a refused call re-enabled the endpoint")
	}
	a.signalled(waiting.WorkflowID, ticket.SignalRetry)
	code, _, raw := a.do("POST", path, operatorKey, "")
	if code != http.StatusOK || !strings.Contains(raw, `"id":"sunrise-twh"`) {
		t.Fatalf("operator key: %d %s", code, raw)
	}
	if ep, _ := a.kit.Store.EndpointDisabled(ctx, testkit.Tenant, testkit.Connection); ep.Disabled {
		t.Fatal("the endpoint is still disabled")
	}
	if code, _, _ := a.do("POST", "/v1/connections/nope/enable-endpoint", operatorKey, ""); code != http.StatusNotFound {
		t.Fatalf("unknown connection: %d", code)
	}
}

// /readyz names each dependency and its state, never a driver's or the SDK's error text.
func TestReadyzReportsComponentsNotErrors(t *testing.T) {
	a := newTAPI(t)
	a.api.Ready = func(context.Context) error { return nil }
	code, _, raw := a.do("GET", "/readyz", "", "")
	if code != 200 || !strings.Contains(raw, `"database":"ok"`) || !strings.Contains(raw, `"temporal":"ok"`) || !strings.Contains(raw, `"status":"ready"`) {
		t.Fatalf("ready: %d %s", code, raw)
	}
	a.api.Ready = func(context.Context) error {
		return errors.New("dial tcp 10.20.30.40:7233: connect: connection refused (user=svc-temporal password=hunter2)")
	}
	code, hdr, raw := a.do("GET", "/readyz", "", "")
	if code != 503 || !strings.Contains(raw, `"temporal":"unavailable"`) || !strings.Contains(raw, `"database":"ok"`) ||
		!strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("temporal down: %d %s", code, raw)
	}
	a.kit.Store.Close()
	code, _, raw = a.do("GET", "/readyz", "", "")
	if code != 503 || !strings.Contains(raw, `"database":"unavailable"`) {
		t.Fatalf("store closed: %d %s", code, raw)
	}
	for _, secret := range []string{"10.20.30.40", "hunter2", "svc-temporal", "sql", "closed"} {
		if strings.Contains(raw, secret) {
			t.Fatalf("/readyz leaks %q: %s", secret, raw)
		}
	}
}

// hold answers the state it leads to (paused, pending until the workflow applies it); resume
// of a ticket that is not paused is 409.
func TestHoldShowsThePendingPauseAndResumeNeedsAPause(t *testing.T) {
	a := newTAPI(t)
	row := a.create("hold-me", nil)
	a.signalled(row.WorkflowID, ticket.SignalHold)
	got := a.json("POST", "/v1/tickets/"+row.ID+"/hold", `{"reason":"vendor migration"}`, http.StatusAccepted)
	paused, _ := got["ticket"].(map[string]any)["paused"].(map[string]any)
	if paused == nil || paused["pending"] != true || paused["reason"] != "vendor migration" || paused["since"] == nil {
		t.Fatalf("hold answered paused %v", got["ticket"].(map[string]any)["paused"])
	}

	// The read model lags: the workflow says it is not paused.
	a.live(row.WorkflowID, &ticket.State{Status: ticket.Requested})
	if code, _, raw := a.do("POST", "/v1/tickets/"+row.ID+"/resume", a.kit.APIKey, ""); code != http.StatusConflict || !strings.Contains(raw, "not paused") {
		t.Fatalf("resume of an unpaused ticket: %d %s", code, raw)
	}
	// Paused in the read model: resume is sent and answers paused null.
	since := time.Now().UTC()
	a.state(row.ID, 2, func(s *store.TicketState) { s.Paused, s.PausedReason, s.PausedSince = true, "vendor migration", &since })
	a.signalled(row.WorkflowID, ticket.SignalResume)
	got = a.json("POST", "/v1/tickets/"+row.ID+"/resume", "", http.StatusAccepted)
	if got["ticket"].(map[string]any)["paused"] != nil {
		t.Fatalf("resume answered paused %v", got["ticket"].(map[string]any)["paused"])
	}
}

// Comments are refused with 429 (and Retry-After) while too many wait for the work system.
func TestCommentsWaitWhileTooManyArePending(t *testing.T) {
	a := newTAPI(t)
	full := a.create("comments-full", nil)
	pending := make([]ticket.CommentSignal, ticket.SoftPendingComments)
	for i := range pending {
		pending[i] = ticket.CommentSignal{Text: fmt.Sprintf("waiting %d", i), Author: "Ada"}
	}
	a.live(full.WorkflowID, &ticket.State{Status: ticket.Requested, PendingComments: pending})
	code, hdr, raw := a.do("POST", "/v1/tickets/"+full.ID+"/comments", a.kit.APIKey, `{"text":"one more","author":"Ada"}`)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("comment on a full queue: %d %s", code, raw)
	}

	room := a.create("comments-room", nil)
	a.live(room.WorkflowID, &ticket.State{Status: ticket.Requested, PendingComments: pending[:3]})
	a.signalled(room.WorkflowID, ticket.SignalComment)
	a.json("POST", "/v1/tickets/"+room.ID+"/comments", `{"text":"one more","author":"Ada"}`, http.StatusAccepted)

	// No worker answers the query: the comment is sent (the workflow bounds its queue itself).
	blind := a.create("comments-blind", nil)
	a.live(blind.WorkflowID, nil)
	a.signalled(blind.WorkflowID, ticket.SignalComment)
	a.json("POST", "/v1/tickets/"+blind.ID+"/comments", `{"text":"one more","author":"Ada"}`, http.StatusAccepted)
}

// A ticket parked on invalid input is corrected with PATCH (the merged request validated like
// a create, handed to the workflow by the patch signal); a ticket the work system has, or one
// not parked on its create, cannot be.
func TestPatchCorrectsAParkedCreate(t *testing.T) {
	a := newTAPI(t)
	since := time.Now().UTC()
	parked := a.create("patch-me", func(m map[string]any) { m["answers"] = map[string]any{"floor": 2, "pets": "cat"} })
	a.state(parked.ID, 2, func(s *store.TicketState) {
		s.Status, s.RemoteID, s.RemoteStatus = ticket.Submitted, "", ""
		s.NeedsAttention, s.AttentionSince = true, &since
		s.AttentionReason = "could not create the request in the work system: theworxhub: create work request: HTTP 422 validation_failed"
	})
	a.live(parked.WorkflowID, nil) // no worker: the read model decides
	path := "/v1/tickets/" + parked.ID
	for _, bad := range []string{`{"location":{"lat":52.1,"lng":4.3}}`, `{"requester":{"email":"not an address"}}`, `{}`} {
		if code, _, raw := a.do("PATCH", path, a.kit.APIKey, bad); code != http.StatusUnprocessableEntity {
			t.Fatalf("PATCH %s: %d %s", bad, code, raw)
		}
	}
	if code, _, _ := a.do("PATCH", path, a.kit.APIKey, `{"colour":"blue"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", code)
	}
	arg := a.signalled(parked.WorkflowID, ticket.SignalPatch)
	got := a.json("PATCH", path, `{"location":{"address":"Building B, apt 3"},"answers":{"pets":null,"floor":3}}`, http.StatusOK)
	if got["id"] != parked.ID {
		t.Fatalf("PATCH answered %v", got)
	}
	p, ok := (*arg).(ticket.PatchSignal)
	if !ok || p.Request.Location.Address != "Building B, apt 3" || p.Request.Title != "Leaking sink" ||
		p.Request.Answers["floor"] != "3" || len(p.Request.Answers) != 1 || strings.Join(p.Fields, ",") != "location,answers.floor,answers.pets" {
		t.Fatalf("patch signal %+v", *arg)
	}

	created := a.create("patch-too-late", nil)
	a.state(created.ID, 2, func(s *store.TicketState) {})
	if code, _, raw := a.do("PATCH", "/v1/tickets/"+created.ID, a.kit.APIKey, `{"title":"x"}`); code != http.StatusConflict || !strings.Contains(raw, "already has") {
		t.Fatalf("PATCH after the create: %d %s", code, raw)
	}
	// Live state: parked, but on a comment, not on the create.
	notParked := a.create("patch-not-parked", nil)
	a.live(notParked.WorkflowID, &ticket.State{Status: ticket.Submitted, NeedsAttention: &ticket.Attention{Step: ticket.StepComment}})
	if code, _, _ := a.do("PATCH", "/v1/tickets/"+notParked.ID, a.kit.APIKey, `{"title":"x"}`); code != http.StatusConflict {
		t.Fatalf("PATCH of a ticket not parked on its create: %d", code)
	}
}

// A finished ticket never needs attention in the API, even when its row says so (a row written
// before finished tickets were cleared).
func TestFinishedTicketNeedsNoAttentionInTheAPI(t *testing.T) {
	a := newTAPI(t)
	since := time.Now().UTC()
	row := a.create("canceled-parked", nil)
	a.state(row.ID, 4, func(s *store.TicketState) {
		s.Status, s.NeedsAttention, s.AttentionSince, s.AttentionReason = ticket.Canceled, true, &since, "could not forward a requester comment"
	})
	got := a.json("GET", "/v1/tickets/"+row.ID, "", http.StatusOK)
	if got["needsAttention"] != nil {
		t.Fatalf("finished ticket view: needsAttention %v", got["needsAttention"])
	}
	list := a.json("GET", "/v1/tickets?needsAttention=true", "", http.StatusOK)
	if items := list["items"].([]any); len(items) != 0 {
		t.Fatalf("needsAttention=true lists a finished ticket: %v", items)
	}
}
