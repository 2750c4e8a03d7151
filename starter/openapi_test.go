package starter_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/apiclient"
	"github.com/ticketsync/ticketsync/apiclient/apitest"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
)

func loadSpec(t *testing.T) *apitest.Spec {
	t.Helper()
	doc, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return apitest.MustLoad(t, doc)
}

// The document is OpenAPI 3.1, valid, and what GET /openapi.json serves.
func TestOpenAPIDocument(t *testing.T) {
	spec := loadSpec(t)
	if spec.Doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", spec.Doc.OpenAPI)
	}
	ids := map[string]bool{}
	for _, op := range spec.Operations() {
		if op.ID == "" || ids[op.ID] {
			t.Errorf("%s %s: operationId %q missing or not unique", op.Method, op.Path, op.ID)
		}
		ids[op.ID] = true
	}
	w := newWorld(t)
	code, _, body := w.raw(http.MethodGet, "/openapi.json", "", "", nil)
	want, _ := os.ReadFile("openapi.json")
	if code != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET /openapi.json: %d, %d bytes (want the file, %d bytes)", code, len(body), len(want))
	}
}

// ---- routes ----------------------------------------------------------------------------------

// muxPatterns reads the route patterns the API registers from this package's source: every
// string literal "METHOD /path" or "/path" passed to route(…), Handle(…) or HandleFunc(…).
func muxPatterns(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	var out []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			if name != "route" && name != "Handle" && name != "HandleFunc" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if strings.Contains(s, "/") {
				out = append(out, s)
			}
			return true
		})
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// shape makes a path template comparable across the mux and the document: parameters lose
// their names and the mux's trailing wildcard {rest...} becomes an ordinary parameter.
func shape(path string) string { return pathParam.ReplaceAllString(path, "{}") }

// Every route the mux serves is in the document, and every documented operation is served by
// a mux route of the same shape (the mux itself decides, as it does for real requests).
func TestOpenAPIRoutesMatchTheMux(t *testing.T) {
	spec := loadSpec(t)
	patterns := muxPatterns(t)
	if len(patterns) < 10 {
		t.Fatalf("found only %d route patterns in the source: %v", len(patterns), patterns)
	}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.Handle(p, http.NotFoundHandler())
	}
	documented := map[string][]string{} // shape → methods
	for _, op := range spec.Operations() {
		documented[shape(op.Path)] = append(documented[shape(op.Path)], op.Method)
	}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p
		}
		if path == "/codec/" {
			continue // Temporal's remote codec protocol (package codec, docs/security.md), not the REST API
		}
		methods, found := documented[shape(path)]
		switch {
		case !found:
			t.Errorf("the mux serves %q; the document has no such path", p)
		case method != "" && !slices.Contains(methods, method):
			t.Errorf("the mux serves %q; the document has only %v at that path", p, methods)
		}
	}
	for _, op := range spec.Operations() {
		sample := pathParam.ReplaceAllString(op.Path, "x")
		r := httptest.NewRequest(op.Method, sample, nil)
		_, pattern := mux.Handler(r)
		got := pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			got = p
		}
		if pattern == "" || shape(got) != shape(op.Path) {
			t.Errorf("%s %s (%s) is documented but not served (the mux routes it to %q)", op.Method, op.Path, op.ID, pattern)
		}
	}
}

// ---- the tour --------------------------------------------------------------------------------

type world struct {
	t       *testing.T
	kit     *testkit.Kit
	temp    *mocks.Client
	checker *apitest.Checker
	srv     *httptest.Server
	client  *apiclient.Client
	// operator uses an operator API key (skip, enable-endpoint).
	operator *apiclient.Client

	signalErr error // what the next SignalWorkflow answers
}

// newWorld runs the real API handler (store, connections and simulators from testkit, a mock
// Temporal client) behind a validating checker.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, kit: testkit.New(t, testkit.Options{}), temp: mocks.NewClient(t)}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("wf").Maybe()
	run.On("GetRunID").Return("run").Maybe()
	w.temp.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(run, nil).Maybe()
	// No worker answers state queries here: handlers that consult the live state decide without it.
	w.temp.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, errors.New("no worker polls the task queue")).Maybe()
	w.temp.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(func(context.Context, string, string, string, any) error { return w.signalErr }).Maybe()
	eng := &engine.Engine{Client: w.temp, TaskQueue: "ticketsync", Store: w.kit.Store, Connections: w.kit.Registry,
		PollInterval: 15 * time.Minute}
	operatorKey := testkit.RandomKey("op_")
	api := &starter.API{Store: w.kit.Store, Engine: eng, Connections: w.kit.Registry, PollInterval: 15 * time.Minute,
		OperatorKeys: []string{operatorKey}}
	w.checker = loadSpec(t).Wrap(t, api.Handler())
	w.srv = httptest.NewServer(w.checker)
	t.Cleanup(w.srv.Close)
	c, err := apiclient.New(apiclient.Options{BaseURL: w.srv.URL, APIKey: w.kit.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	w.client = c
	if w.operator, err = apiclient.New(apiclient.Options{BaseURL: w.srv.URL, APIKey: operatorKey}); err != nil {
		t.Fatal(err)
	}
	return w
}

// raw sends one request; key "" sends none, contentType "" none either.
func (w *world) raw(method, path, key, contentType string, body []byte) (int, http.Header, []byte) {
	w.t.Helper()
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rdr)
	if err != nil {
		w.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// expect sends a JSON request with the tenant's key and checks the status.
func (w *world) expect(status int, method, path, body string) []byte {
	w.t.Helper()
	var b []byte
	ct := ""
	if body != "" {
		b, ct = []byte(body), "application/json"
	}
	code, _, got := w.raw(method, path, w.kit.APIKey, ct, b)
	if code != status {
		w.t.Errorf("%s %s: %d, want %d: %s", method, path, code, status, got)
	}
	return got
}

// invalid sends requests the document must reject too, and checks the server's status.
func (w *world) invalid(status int, method, path, key, contentType string, body []byte) {
	w.t.Helper()
	w.checker.ExpectInvalid(func() {
		if code, _, got := w.raw(method, path, key, contentType, body); code != status {
			w.t.Errorf("%s %s: %d, want %d: %s", method, path, code, status, got)
		}
	})
}

func (w *world) setState(id string, mutate func(*store.TicketState)) {
	w.t.Helper()
	st := store.TicketState{ID: id, Status: "Requested", RemoteID: "104201", RemoteStatus: "Pending", UpdatedAt: time.Now().UTC()}
	mutate(&st)
	if err := w.kit.Store.UpdateTicketState(context.Background(), st); err != nil {
		w.t.Fatal(err)
	}
}

const ticketBody = `{"connection":"sunrise-twh","externalId":"tour-1","requestType":"Maintenance","title":"Leaking sink",
	"description":"The kitchen sink drips.","location":{"address":"apt 4","lat":52.1,"lng":4.3},
	"requester":{"name":"Ada","email":"ada@example.org","phone":"+31 6 1234"},"answers":{"floor":2,"urgent":true,"room":"kitchen"},
	"attachments":[{"name":"sink.jpg","url":"https://files.example/sink.jpg","contentType":"image/jpeg"}]}`

// A scripted tour of the API through the real handlers: every request and every answer is
// validated against the document (see apitest.Checker), statuses are asserted, and at the end
// every documented operation must have been exercised.
func TestOpenAPITour(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	key, other := w.kit.APIKey, w.kit.OtherAPIKey

	t.Run("service", func(t *testing.T) {
		w.t = t
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
			if code, _, body := w.raw(http.MethodGet, p, "", "", nil); code != 200 {
				t.Errorf("GET %s: %d %s", p, code, body)
			}
		}
	})

	var id string
	t.Run("create", func(t *testing.T) {
		w.t = t
		var created map[string]any
		if err := json.Unmarshal(w.expect(201, "POST", "/v1/tickets", ticketBody), &created); err != nil {
			t.Fatal(err)
		}
		id, _ = created["id"].(string)
		w.expect(200, "POST", "/v1/tickets", ticketBody)
		w.expect(409, "POST", "/v1/tickets", strings.Replace(ticketBody, "Leaking sink", "Leaking tap", 1))
		w.expect(404, "POST", "/v1/tickets", strings.Replace(ticketBody, "sunrise-twh", "moonrise-twh", 1))
		tk, isNew, err := w.client.CreateTicket(ctx, apiclient.CreateTicket{Connection: "sunrise-twh", ExternalID: "tour-2",
			RequestType: "Housekeeping", Title: "Towels", Description: "Two more.", Location: &apiclient.Location{Address: "apt 9"},
			Requester: &apiclient.Requester{Name: "Bo"}})
		if err != nil || !isNew || tk.Status != "Submitted" {
			t.Fatalf("client create: %v %v %+v", err, isNew, tk)
		}
		// What the server refuses, the document refuses too.
		w.invalid(400, "POST", "/v1/tickets", key, "application/json", []byte(`{"connection":`))
		w.invalid(400, "POST", "/v1/tickets", key, "application/json", []byte(strings.Replace(ticketBody, `"title"`, `"colour":"blue","title"`, 1)))
		w.invalid(400, "POST", "/v1/tickets", key, "application/json", []byte(strings.Replace(ticketBody, `"title":"Leaking sink"`, `"title":7`, 1)))
		w.invalid(422, "POST", "/v1/tickets", key, "application/json", []byte(strings.Replace(ticketBody, `"floor":2`, `"floor":[2]`, 1)))
		w.invalid(422, "POST", "/v1/tickets", key, "application/json", []byte(`{"connection":"sunrise-twh","externalId":"tour-3","requestType":"Maintenance","description":"D","requester":{"name":"A"}}`))
		w.invalid(422, "POST", "/v1/tickets", key, "application/json", []byte(strings.Replace(ticketBody, "tour-1", "has space", 1)))
		w.invalid(415, "POST", "/v1/tickets", key, "text/plain", []byte(ticketBody))
		w.invalid(413, "POST", "/v1/tickets", key, "application/json", []byte(strings.Replace(ticketBody, "The kitchen sink drips.", strings.Repeat("x", 1<<20), 1)))
		w.invalid(401, "POST", "/v1/tickets", "", "application/json", []byte(ticketBody))
		if code, hdr, _ := w.raw("GET", "/v1/tickets", "not-a-key", "", nil); code != 401 || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("unknown key: %d %v", code, hdr)
		}
	})
	if id == "" {
		t.Fatal("no ticket")
	}

	t.Run("read", func(t *testing.T) {
		w.t = t
		tk, err := w.client.GetTicket(ctx, id)
		if err != nil || tk.ExternalID != "tour-1" {
			t.Fatalf("get: %v %+v", err, tk)
		}
		page, err := w.client.ListTickets(ctx, apiclient.ListTicketsParams{Connection: "sunrise-twh", Status: "Submitted", Limit: 1})
		if err != nil || len(page.Items) != 1 || page.NextCursor == nil {
			t.Fatalf("list: %v %+v", err, page)
		}
		if page, err = w.client.ListTickets(ctx, apiclient.ListTicketsParams{Cursor: *page.NextCursor, Limit: 1}); err != nil || len(page.Items) != 1 {
			t.Fatalf("next page: %v", err)
		}
		// A timeline as the workflow writes it: a delivered event, a retried one, a local one.
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := w.kit.Store.AppendEvents(ctx, []store.Event{
			{ID: "evt_tour_1", TicketID: id, Seq: 1, Type: "ticket.status_changed", Payload: json.RawMessage(`{"status":"Requested"}`), OccurredAt: now, Deliver: true},
			{ID: "evt_tour_2", TicketID: id, Seq: 2, Type: "ticket.feedback_added", Payload: json.RawMessage(`{"text":"Which sink?"}`), OccurredAt: now, Deliver: true},
			{ID: "evt_tour_3", TicketID: id, Seq: 3, Type: "comment.forwarded", Payload: json.RawMessage(`{"text":"Kitchen"}`), OccurredAt: now},
		}); err != nil {
			t.Fatal(err)
		}
		if err := w.kit.Store.MarkEventDelivery(ctx, "evt_tour_1", store.DeliveryDelivered, 1, "", now); err != nil {
			t.Fatal(err)
		}
		if err := w.kit.Store.MarkEventDelivery(ctx, "evt_tour_2", store.DeliveryPending, 3, "HTTP 503", now); err != nil {
			t.Fatal(err)
		}
		if tl, err := w.client.ListTicketEvents(ctx, id); err != nil || len(tl.Items) != 3 || tl.Items[1].Delivery.Attempts != 3 {
			t.Fatalf("events: %v %+v", err, tl)
		}
		w.expect(404, "GET", "/v1/tickets/tkt_nope", "")
		w.expect(404, "GET", "/v1/tickets/tkt_nope/events", "")
		w.expect(404, "GET", "/v1/tickets?connection=moonrise-twh", "")
		w.expect(422, "GET", "/v1/tickets?cursor=not-a-cursor", "")
		w.invalid(422, "GET", "/v1/tickets?status=Open", key, "", nil)
		w.invalid(422, "GET", "/v1/tickets?limit=0", key, "", nil)
		if code, _, body := w.raw("GET", "/v1/tickets/"+id, other, "", nil); code != 404 {
			t.Errorf("another tenant's ticket: %d %s", code, body)
		}
	})

	t.Run("lookup by external id", func(t *testing.T) {
		w.t = t
		tk, err := w.client.TicketByExternalID(ctx, "sunrise-twh", "tour-1")
		if err != nil || tk.ID != id {
			t.Errorf("GET /v1/tickets?connection=…&externalId=…: %v %+v", err, tk)
		}
	})

	t.Run("signals", func(t *testing.T) {
		w.t = t
		for _, call := range []func() (*apiclient.SignalAccepted, error){
			func() (*apiclient.SignalAccepted, error) {
				return w.client.AddComment(ctx, id, apiclient.Comment{Text: "Any news?", Author: "Ada"})
			},
			func() (*apiclient.SignalAccepted, error) { return w.client.HoldTicket(ctx, id, "vendor migration") },
			func() (*apiclient.SignalAccepted, error) { return w.client.ResumeTicket(ctx, id) },
			func() (*apiclient.SignalAccepted, error) { return w.client.RetryTicket(ctx, id) },
			func() (*apiclient.SignalAccepted, error) { return w.operator.SkipTicketEvent(ctx, id) },
		} {
			if res, err := call(); err != nil || !res.Accepted || res.Ticket.ID != id {
				t.Errorf("signal: %v %+v", err, res)
			}
		}
		w.expect(202, "POST", "/v1/tickets/"+id+"/hold", `{}`)
		w.invalid(422, "POST", "/v1/tickets/"+id+"/comments", key, "application/json", []byte(`{"text":"  "}`))
		w.invalid(400, "POST", "/v1/tickets/"+id+"/resume", key, "application/json", []byte(`{"now":true}`))
		w.invalid(415, "POST", "/v1/tickets/"+id+"/cancel", key, "text/plain", []byte(`{"reason":"x"}`))
		w.expect(404, "POST", "/v1/tickets/tkt_nope/retry", "")
		w.signalErr = errors.New("frontend unavailable")
		w.expect(503, "POST", "/v1/tickets/"+id+"/retry", "")
		w.signalErr = serviceerror.NewNotFound("workflow not found")
		w.expect(409, "POST", "/v1/tickets/"+id+"/retry", "")
		w.signalErr = nil
		if _, err := w.client.CancelTicket(ctx, id, "resident fixed it"); err != nil {
			t.Errorf("cancel: %v", err)
		}
		w.setState(id, func(s *store.TicketState) { s.Status = "Canceled" })
		w.expect(409, "POST", "/v1/tickets/"+id+"/comments", `{"text":"late"}`)
	})

	t.Run("connections", func(t *testing.T) {
		w.t = t
		list, err := w.client.ListConnections(ctx)
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != "sunrise-twh" {
			t.Fatalf("list: %v %+v", err, list)
		}
		if c, err := w.client.GetConnection(ctx, "sunrise-twh"); err != nil || c.Feed == nil {
			t.Fatalf("get: %v %+v", err, c)
		}
		w.expect(404, "GET", "/v1/connections/moonrise-twh", "")
		rep, err := w.client.ValidateConnection(ctx, "sunrise-twh")
		if err != nil || len(rep.Checks) == 0 {
			t.Fatalf("validate: %v %+v", err, rep)
		}
		w.expect(404, "POST", "/v1/connections/moonrise-twh/validate", "")
		// The portal has no intake and TheWorxHub no catalog for it: both answer 409.
		w.expect(409, "POST", "/v1/connections/sunrise-twh/refresh?full=true", "")
		w.invalid(422, "POST", "/v1/connections/sunrise-twh/refresh?full=maybe", key, "", nil)
		w.expect(409, "POST", "/v1/connections/sunrise-twh/sync-catalog", "")
		w.expect(404, "POST", "/v1/connections/nope/sync-catalog", "")
	})

	t.Run("hooks", func(t *testing.T) {
		w.t = t
		body := []byte(`{"event":"workrequest.updated","id":"999999","modifiedAt":"2026-01-02T03:04:05Z"}`)
		mac := hmac.New(sha256.New, []byte(testkit.WebhookSecret))
		mac.Write(body)
		sign := func(req *http.Request, sig string) { req.Header.Set("X-TWH-Signature", sig) }
		send := func(path, sig string, b []byte) int {
			req, _ := http.NewRequest("POST", w.srv.URL+path, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			sign(req, sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		for _, tc := range []struct {
			path, sig string
			body      []byte
			want      int
		}{
			{"/v1/hooks/theworxhub/sunrise-twh", good, body, 202},
			{"/v1/hooks/theworxhub/sunrise-twh", "sha256=00", body, 401},
			{"/v1/hooks/theworxhub/nobody", good, body, 401},
			{"/v1/hooks/nokind/sunrise-twh", good, body, 404},
			{"/v1/hooks/theworxhub/sunrise-twh/extra", good, body, 404},
			{"/v1/hooks/theworxhub/sunrise-twh", good, []byte(`{"pad":"` + strings.Repeat("x", 2<<20) + `"}`), 413},
		} {
			if got := send(tc.path, tc.sig, tc.body); got != tc.want {
				t.Errorf("POST %s: %d, want %d", tc.path, got, tc.want)
			}
		}
		// Per-connection rate limit: a burst of calls ends in 429 with Retry-After.
		limited := false
		for i := 0; i < 1000 && !limited; i++ {
			limited = send("/v1/hooks/theworxhub/sunrise-twh", "sha256=00", body) == http.StatusTooManyRequests
		}
		if !limited {
			t.Error("1000 hook calls in a row never answered 429")
		}
	})

	t.Run("operator routes", func(t *testing.T) {
		w.t = t
		parked, _, err := w.client.CreateTicket(ctx, apiclient.CreateTicket{Connection: "sunrise-twh", ExternalID: "tour-parked",
			RequestType: "Maintenance", Title: "Door", Description: "Squeaks.", Location: &apiclient.Location{Address: "apt 1"},
			Requester: &apiclient.Requester{Name: "Cy"}})
		if err != nil {
			t.Fatal(err)
		}
		since := time.Now().Add(-time.Hour).UTC()
		w.setState(parked.ID, func(s *store.TicketState) { // parked on its create: the work system does not have it
			s.Status, s.RemoteID, s.RemoteStatus = "Submitted", "", ""
			s.NeedsAttention, s.AttentionReason, s.AttentionSince = true, "the work request is invalid: location is required", &since
		})
		if list, err := w.client.ListStuckTickets(ctx); err != nil || len(list.Items) == 0 {
			t.Errorf("GET /v1/tickets/stuck: %v %+v", err, list)
		}
		title := "Door squeaks loudly"
		if _, err := w.client.PatchTicket(ctx, parked.ID, apiclient.TicketPatch{Title: &title}); err != nil {
			t.Errorf("PATCH /v1/tickets/{id}: %v", err)
		}
		if _, err := w.client.RemapTicket(ctx, parked.ID, "theworxhub-v1"); err != nil {
			t.Errorf("POST /v1/tickets/{id}/remap: %v", err)
		}
		if _, err := w.client.ErasePersonalData(ctx, id); err != nil { // id was canceled above
			t.Errorf("DELETE /v1/tickets/{id}/personal-data: %v", err)
		}
		w.expect(409, "DELETE", "/v1/tickets/"+parked.ID+"/personal-data", "")
		if _, err := w.operator.EnableConnectionEndpoint(ctx, "sunrise-twh"); err != nil {
			t.Errorf("POST /v1/connections/{id}/enable-endpoint: %v", err)
		}
		if _, err := w.client.ReplayEvents(ctx, apiclient.ReplayRequest{Connection: "sunrise-twh", Since: since, DryRun: true}); err != nil {
			t.Errorf("POST /v1/events/replay: %v", err)
		}
		if res, err := w.client.ReplayEvent(ctx, "evt_tour_1"); err != nil || res.Count != 1 || res.Events[0].ID != "evt_tour_1" {
			t.Errorf("POST /v1/events/{eventId}/replay: %v %+v", err, res)
		}
		w.expect(404, "POST", "/v1/events/evt_nope/replay", "")
		w.invalid(422, "POST", "/v1/events/replay", key, "application/json", []byte(`{"since":"2026-01-02T00:00:00Z"}`))
	})

	t.Run("store down", func(t *testing.T) {
		w.t = t
		w.kit.Store.Close()
		w.expect(503, "GET", "/v1/tickets", "")
		if code, _, _ := w.raw("GET", "/readyz", "", "", nil); code != 503 {
			t.Errorf("readyz with the store down: %d", code)
		}
	})

	w.t = t
	// Every operation was called and, but for these, answered with success. The test kit's
	// portal → TheWorxHub connection has no intake, no catalog and no sub-path hooks; the
	// client test checks those success bodies against the same document.
	noSuccessHere := []string{"refreshConnection", "syncConnectionCatalog", "receiveHookPath"}
	called, succeeded := map[string]bool{}, map[string]bool{}
	for _, ex := range w.checker.Exchanges() {
		called[ex.Operation] = true
		if ex.Status < 300 {
			succeeded[ex.Operation] = true
		}
	}
	var missing []string
	for _, op := range loadSpec(t).Operations() {
		if !succeeded[op.ID] && !(slices.Contains(noSuccessHere, op.ID) && (called[op.ID] || op.ID == "receiveHookPath")) {
			missing = append(missing, fmt.Sprintf("%s %s (%s)", op.Method, op.Path, op.ID))
		}
	}
	if len(missing) > 0 {
		t.Errorf("documented operations never answered with success in the tour:\n  %s", strings.Join(missing, "\n  "))
	}
}
