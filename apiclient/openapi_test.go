package apiclient_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/apiclient"
	"github.com/ticketsync/ticketsync/apiclient/apitest"
)

func loadSpec(t *testing.T) *apitest.Spec {
	t.Helper()
	doc, err := os.ReadFile("../starter/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return apitest.MustLoad(t, doc)
}

// Operations API clients do not call: vendors' webhooks, Prometheus' scrape, the document.
var notForClients = []string{"receiveHook", "receiveHookPath", "metrics", "openAPI"}

func TestEveryOperationHasAMethod(t *testing.T) {
	spec := loadSpec(t)
	ct := reflect.TypeFor[*apiclient.Client]()
	for _, op := range spec.Operations() {
		if op.ID == "" {
			t.Errorf("%s %s has no operationId", op.Method, op.Path)
			continue
		}
		if slices.Contains(notForClients, op.ID) {
			continue
		}
		name := strings.ToUpper(op.ID[:1]) + op.ID[1:]
		if _, ok := ct.MethodByName(name); !ok {
			t.Errorf("%s %s (%s): no Client.%s", op.Method, op.Path, op.ID, name)
		}
	}
}

// Each Go type and the schema it mirrors have the same JSON members; members the schema
// requires in a request body are never omitted.
func TestTypesMatchSchemas(t *testing.T) {
	spec := loadSpec(t)
	types := map[string]reflect.Type{
		"Problem": reflect.TypeFor[apiclient.Problem](), "FieldError": reflect.TypeFor[apiclient.FieldError](),
		"CreateTicket": reflect.TypeFor[apiclient.CreateTicket](), "Location": reflect.TypeFor[apiclient.Location](),
		"Requester": reflect.TypeFor[apiclient.Requester](), "Attachment": reflect.TypeFor[apiclient.Attachment](),
		"Answers": reflect.TypeFor[apiclient.Answers](), "TicketPatch": reflect.TypeFor[apiclient.TicketPatch](),
		"Ticket": reflect.TypeFor[apiclient.Ticket](), "SinceReason": reflect.TypeFor[apiclient.SinceReason](),
		"TicketLinks": reflect.TypeFor[apiclient.TicketLinks](), "TicketPage": reflect.TypeFor[apiclient.TicketPage](),
		"Timeline": reflect.TypeFor[apiclient.Timeline](), "TimelineEvent": reflect.TypeFor[apiclient.TimelineEvent](),
		"Delivery": reflect.TypeFor[apiclient.Delivery](), "Comment": reflect.TypeFor[apiclient.Comment](),
		"Reason": reflect.TypeFor[apiclient.Reason](), "SignalAccepted": reflect.TypeFor[apiclient.SignalAccepted](),
		"Remap": reflect.TypeFor[apiclient.Remap](), "Erasure": reflect.TypeFor[apiclient.Erasure](),
		"StuckTicket": reflect.TypeFor[apiclient.StuckTicket](), "StuckList": reflect.TypeFor[apiclient.StuckList](),
		"Connection": reflect.TypeFor[apiclient.Connection](), "StreamStatus": reflect.TypeFor[apiclient.StreamStatus](),
		"ConnectionList": reflect.TypeFor[apiclient.ConnectionList](), "Check": reflect.TypeFor[apiclient.Check](),
		"ValidationReport": reflect.TypeFor[apiclient.ValidationReport](), "RefreshResult": reflect.TypeFor[apiclient.RefreshResult](),
		"CatalogResult": reflect.TypeFor[apiclient.CatalogResult](), "ReplayRequest": reflect.TypeFor[apiclient.ReplayRequest](),
		"ReplayResult": reflect.TypeFor[apiclient.ReplayResult](), "ReplayedEvent": reflect.TypeFor[apiclient.ReplayedEvent](),
		"Health": reflect.TypeFor[apiclient.Health](),
	}
	// Schemas only the server side uses.
	serverOnly := []string{"Empty", "HookAccepted"}
	requestBodies := []string{"CreateTicket", "Location", "Requester", "Attachment", "TicketPatch", "Comment", "Reason", "Remap", "ReplayRequest"}
	for name, ref := range spec.Doc.Components.Schemas {
		typ, ok := types[name]
		if !ok {
			if !slices.Contains(serverOnly, name) {
				t.Errorf("schema %s has no Go type in apiclient", name)
			}
			continue
		}
		s := ref.Value
		if typ.Kind() == reflect.Map {
			if len(s.Properties) != 0 || s.AdditionalProperties.Schema == nil {
				t.Errorf("schema %s: a map type needs a schema with only additionalProperties", name)
			}
			continue
		}
		fields := jsonFields(typ)
		for prop := range s.Properties {
			if _, ok := fields[prop]; !ok {
				t.Errorf("schema %s: property %q has no field in %s", name, prop, typ)
			}
		}
		for f, omitempty := range fields {
			if s.Properties[f] == nil {
				t.Errorf("%s: field %q is not a property of schema %s", typ, f, name)
			}
			if omitempty && slices.Contains(requestBodies, name) && slices.Contains(s.Required, f) {
				t.Errorf("%s: required field %q is omitempty", typ, f)
			}
		}
	}
	for name := range types {
		if spec.Doc.Components.Schemas[name] == nil {
			t.Errorf("Go type for %s, but the document has no such schema", name)
		}
	}
}

func jsonFields(typ reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}

// fakeAnswers are canned answers that the document accepts (the checker validates them).
const (
	ticketJSON = `{"id":"tkt_1","workflowId":"ticket/c1/x1","tenant":"sunrise","connection":"c1","externalId":"x1",
		"status":"OnHold","remoteId":"104","remoteStatus":"OnHold","category":null,"mappingVersion":"theworxhub-v1",
		"needsAttention":{"since":"2026-01-02T03:04:05Z","reason":"unmapped status"},"paused":null,
		"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:06Z",
		"links":{"temporalWeb":"http://127.0.0.1:8233/namespaces/default/workflows/ticket%2Fc1%2Fx1"}}`
	acceptedJSON   = `{"accepted":true,"signal":"cancel","ticket":` + ticketJSON + `}`
	connectionJSON = `{"id":"c1","tenant":"sunrise","requestSystem":"portal","workSystem":"theworxhub","mapping":"theworxhub-v1",
		"pollInterval":"15m0s","requestTypes":["Maintenance"],"capabilities":["changeFeed","workHooks"],
		"feed":{"cursor":null,"lastRead":"2026-01-02T03:04:05Z","lagSeconds":3,"lastError":null},"intake":null}`
	replayJSON = `{"count":1,"dryRun":false,"events":[{"id":"evt_1","ticket":"tkt_1","type":"ticket.status_changed","occurredAt":"2026-01-02T03:04:05Z"}]}`
)

// Every client method against a fake API whose exchanges are checked against the document:
// the method, path, query and body the client sends, and the decoding of a documented answer.
func TestClientAgainstTheDocument(t *testing.T) {
	spec := loadSpec(t)
	type answer struct {
		status int
		body   string
	}
	var next answer
	var gotBody string
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.Header.Get("Authorization") != "Bearer k1" || !strings.HasPrefix(r.Header.Get("User-Agent"), "ticketsync-apiclient/") {
			t.Errorf("%s %s: headers %v", r.Method, r.URL, r.Header)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(next.status)
		_, _ = io.WriteString(w, next.body)
	})
	checker := spec.Wrap(t, fake)
	srv := httptest.NewServer(checker)
	defer srv.Close()
	c, err := apiclient.New(apiclient.Options{BaseURL: srv.URL, APIKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	yes := true
	title := "New title"
	since := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		op, method, path, query, body string
		answer                        answer
		call                          func() (any, error)
		check                         func(any) bool
	}{
		{"createTicket", "POST", "/v1/tickets", "", `{"connection":"c1","externalId":"x1","requestType":"Maintenance","title":"T","description":"D","location":{"address":"apt 3"},"requester":{"name":"Bo"},"answers":{"floor":2}}`,
			answer{201, ticketJSON}, func() (any, error) {
				tk, created, err := c.CreateTicket(ctx, apiclient.CreateTicket{Connection: "c1", ExternalID: "x1", RequestType: "Maintenance",
					Title: "T", Description: "D", Location: &apiclient.Location{Address: "apt 3"}, Requester: &apiclient.Requester{Name: "Bo"},
					Answers: apiclient.Answers{"floor": 2}})
				if !created {
					return nil, io.ErrUnexpectedEOF
				}
				return tk, err
			}, func(v any) bool { return v.(*apiclient.Ticket).NeedsAttention.Reason == "unmapped status" }},
		{"listTickets", "GET", "/v1/tickets", "connection=c1&cursor=abc&limit=5&needsAttention=true&status=OnHold", "",
			answer{200, `{"items":[` + ticketJSON + `],"nextCursor":"n2"}`}, func() (any, error) {
				return c.ListTickets(ctx, apiclient.ListTicketsParams{Connection: "c1", Status: "OnHold", NeedsAttention: &yes, Limit: 5, Cursor: "abc"})
			}, func(v any) bool { p := v.(*apiclient.TicketPage); return len(p.Items) == 1 && *p.NextCursor == "n2" }},
		{"listTickets", "GET", "/v1/tickets", "connection=c1&externalId=x1", "",
			answer{200, `{"items":[` + ticketJSON + `],"nextCursor":null}`}, func() (any, error) {
				return c.TicketByExternalID(ctx, "c1", "x1")
			}, func(v any) bool { return v.(*apiclient.Ticket).ID == "tkt_1" }},
		{"getTicket", "GET", "/v1/tickets/tkt_1", "", "", answer{200, ticketJSON},
			func() (any, error) { return c.GetTicket(ctx, "tkt_1") },
			func(v any) bool {
				return strings.HasPrefix(v.(*apiclient.Ticket).Links.TemporalWeb, "http://127.0.0.1:8233/")
			}},
		{"listTicketEvents", "GET", "/v1/tickets/tkt_1/events", "", "",
			answer{200, `{"items":[{"id":"evt_1","seq":1,"type":"ticket.status_changed","occurredAt":"2026-01-02T03:04:05Z","delivery":{"state":"delivered","attempts":1,"deliveredAt":"2026-01-02T03:04:06Z"},"data":{"status":"Requested"}}]}`},
			func() (any, error) { return c.ListTicketEvents(ctx, "tkt_1") },
			func(v any) bool {
				e := v.(*apiclient.Timeline).Items[0]
				return e.Delivery.State == "delivered" && string(e.Data) == `{"status":"Requested"}`
			}},
		{"addComment", "POST", "/v1/tickets/tkt_1/comments", "", `{"text":"hi","author":"Ada"}`, answer{202, acceptedJSON},
			func() (any, error) { return c.AddComment(ctx, "tkt_1", apiclient.Comment{Text: "hi", Author: "Ada"}) },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"cancelTicket", "POST", "/v1/tickets/tkt_1/cancel", "", `{"reason":"fixed"}`, answer{202, acceptedJSON},
			func() (any, error) { return c.CancelTicket(ctx, "tkt_1", "fixed") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Ticket.ID == "tkt_1" }},
		{"holdTicket", "POST", "/v1/tickets/tkt_1/hold", "", `{}`, answer{202, acceptedJSON},
			func() (any, error) { return c.HoldTicket(ctx, "tkt_1", "") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"resumeTicket", "POST", "/v1/tickets/tkt_1/resume", "", "", answer{202, acceptedJSON},
			func() (any, error) { return c.ResumeTicket(ctx, "tkt_1") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"retryTicket", "POST", "/v1/tickets/tkt_1/retry", "", "", answer{202, acceptedJSON},
			func() (any, error) { return c.RetryTicket(ctx, "tkt_1") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"skipTicketEvent", "POST", "/v1/tickets/tkt_1/skip", "", "", answer{202, acceptedJSON},
			func() (any, error) { return c.SkipTicketEvent(ctx, "tkt_1") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"remapTicket", "POST", "/v1/tickets/tkt_1/remap", "", `{"mapping":"theworxhub-v2"}`, answer{202, acceptedJSON},
			func() (any, error) { return c.RemapTicket(ctx, "tkt_1", "theworxhub-v2") },
			func(v any) bool { return v.(*apiclient.SignalAccepted).Accepted }},
		{"patchTicket", "PATCH", "/v1/tickets/tkt_1", "", `{"title":"New title","location":{"address":"apt 4"}}`, answer{200, ticketJSON},
			func() (any, error) {
				return c.PatchTicket(ctx, "tkt_1", apiclient.TicketPatch{Title: &title, Location: &apiclient.Location{Address: "apt 4"}})
			}, func(v any) bool { return v.(*apiclient.Ticket).ID == "tkt_1" }},
		{"erasePersonalData", "DELETE", "/v1/tickets/tkt_1/personal-data", "", "", answer{200, `{"ticket":` + ticketJSON + `,"erasedAt":"2026-01-03T00:00:00Z"}`},
			func() (any, error) { return c.ErasePersonalData(ctx, "tkt_1") },
			func(v any) bool { return v.(*apiclient.Erasure).ErasedAt.Day() == 3 }},
		{"listStuckTickets", "GET", "/v1/tickets/stuck", "", "", answer{200, `{"items":[{"ticket":` + ticketJSON + `,"kind":"parked","reason":"unmapped status","since":"2026-01-02T03:04:05Z"}]}`},
			func() (any, error) { return c.ListStuckTickets(ctx) },
			func(v any) bool { return v.(*apiclient.StuckList).Items[0].Kind == "parked" }},
		{"listConnections", "GET", "/v1/connections", "", "", answer{200, `{"items":[` + connectionJSON + `]}`},
			func() (any, error) { return c.ListConnections(ctx) },
			func(v any) bool { return *v.(*apiclient.ConnectionList).Items[0].Feed.LagSeconds == 3 }},
		{"getConnection", "GET", "/v1/connections/c1", "", "", answer{200, connectionJSON},
			func() (any, error) { return c.GetConnection(ctx, "c1") },
			func(v any) bool { return v.(*apiclient.Connection).WorkSystem == "theworxhub" }},
		{"validateConnection", "POST", "/v1/connections/c1/validate", "", "", answer{200, `{"connection":"c1","ok":false,"checks":[{"name":"work system auth","ok":false,"detail":"401","fix":"check clientSecret"},{"name":"portal","ok":true}]}`},
			func() (any, error) { return c.ValidateConnection(ctx, "c1") },
			func(v any) bool {
				f := v.(*apiclient.ValidationReport).Failed()
				return len(f) == 1 && f[0].Fix == "check clientSecret"
			}},
		{"refreshConnection", "POST", "/v1/connections/c1/refresh", "full=true", "", answer{200, `{"connection":"c1","full":true,"new":2,"updated":1,"unchanged":7,"failed":0,"durationMs":120}`},
			func() (any, error) { return c.RefreshConnection(ctx, "c1", true) },
			func(v any) bool {
				return *v.(*apiclient.RefreshResult) == apiclient.RefreshResult{Connection: "c1", Full: true, New: 2, Updated: 1, Unchanged: 7, DurationMS: 120}
			}},
		{"syncConnectionCatalog", "POST", "/v1/connections/c1/sync-catalog", "", "", answer{200, `{"connection":"c1","categories":12,"created":2,"updated":1,"unchanged":9,"failed":0}`},
			func() (any, error) { return c.SyncConnectionCatalog(ctx, "c1") },
			func(v any) bool { r := v.(*apiclient.CatalogResult); return r.Categories == 12 && r.Created == 2 }},
		{"enableConnectionEndpoint", "POST", "/v1/connections/c1/enable-endpoint", "", "", answer{200, connectionJSON},
			func() (any, error) { return c.EnableConnectionEndpoint(ctx, "c1") },
			func(v any) bool { return v.(*apiclient.Connection).ID == "c1" }},
		{"replayEvent", "POST", "/v1/events/evt_1/replay", "", "", answer{202, replayJSON},
			func() (any, error) { return c.ReplayEvent(ctx, "evt_1") },
			func(v any) bool { return v.(*apiclient.ReplayResult).Events[0].ID == "evt_1" }},
		{"replayEvents", "POST", "/v1/events/replay", "", `{"connection":"c1","since":"2026-01-02T00:00:00Z","dryRun":true}`,
			answer{200, strings.Replace(replayJSON, `"dryRun":false`, `"dryRun":true`, 1)},
			func() (any, error) {
				return c.ReplayEvents(ctx, apiclient.ReplayRequest{Connection: "c1", Since: since, DryRun: true})
			},
			func(v any) bool { return v.(*apiclient.ReplayResult).DryRun }},
		{"health", "GET", "/healthz", "", "", answer{200, `{"status":"ok"}`},
			func() (any, error) { return c.Health(ctx) }, func(v any) bool { return v.(*apiclient.Health).Status == "ok" }},
		{"ready", "GET", "/readyz", "", "", answer{200, `{"status":"ready"}`},
			func() (any, error) { return c.Ready(ctx) }, func(v any) bool { return v.(*apiclient.Health).Status == "ready" }},
	}
	called := map[string]bool{}
	for _, tc := range cases {
		next = tc.answer
		n := len(checker.Exchanges())
		v, err := tc.call()
		if err != nil {
			t.Errorf("%s: %v", tc.op, err)
			continue
		}
		ex := checker.Exchanges()
		if len(ex) != n+1 {
			t.Errorf("%s: %d requests", tc.op, len(ex)-n)
			continue
		}
		got := ex[n]
		if got.Operation != tc.op || got.Method != tc.method || got.Path != tc.path || got.Query != tc.query {
			t.Errorf("%s: sent %s %s?%s (operation %s), want %s %s?%s", tc.op, got.Method, got.Path, got.Query, got.Operation, tc.method, tc.path, tc.query)
		}
		if !jsonEqual(gotBody, tc.body) {
			t.Errorf("%s: body %s, want %s", tc.op, gotBody, tc.body)
		}
		if !tc.check(v) {
			t.Errorf("%s: decoded %+v", tc.op, v)
		}
		called[tc.op] = true
	}
	for _, op := range spec.Operations() {
		if !called[op.ID] && !slices.Contains(notForClients, op.ID) {
			t.Errorf("operation %s is not exercised by this test", op.ID)
		}
	}
}

func jsonEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// The document rejects what the client must never send: an unknown field, a ticket without
// a requester, a replay without a connection or tenant.
func TestDocumentRejectsInvalidRequests(t *testing.T) {
	spec := loadSpec(t)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/tickets", `{"connection":"c1","externalId":"x","requestType":"M","title":"T","description":"D","requester":{"name":"B"},"colour":"blue"}`},
		{"POST", "/v1/tickets", `{"connection":"c1","externalId":"x","requestType":"M","title":"T","description":"D"}`},
		{"POST", "/v1/tickets", `{"connection":"c1","externalId":"has space","requestType":"M","title":"T","description":"D","requester":{"name":"B"}}`},
		{"POST", "/v1/tickets", `{"connection":"c1","externalId":"x","requestType":"M","title":"T","description":"D","requester":{"name":"B"},"location":{"lat":1}}`},
		{"POST", "/v1/events/replay", `{"since":"2026-01-02T00:00:00Z"}`},
		{"PATCH", "/v1/tickets/tkt_1", `{}`},
		{"POST", "/v1/tickets/tkt_1/comments", `{"text":"   "}`},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer k")
		if _, err := spec.Request(r); err == nil {
			t.Errorf("%s %s %s: accepted", tc.method, tc.path, tc.body)
		}
	}
	r := httptest.NewRequest("GET", "/v1/tickets", nil)
	if _, err := spec.Request(r); err == nil || !strings.Contains(err.Error(), "Bearer") {
		t.Errorf("request without a key: %v", err)
	}
	ex, _ := spec.Request(httptest.NewRequest("GET", "/healthz", nil))
	h := http.Header{"Content-Type": {"application/json"}}
	if err := spec.Response(ex, 200, h, []byte(`{"status":"ok","surprise":1}`)); err == nil || !strings.Contains(err.Error(), "$.surprise") {
		t.Errorf("undocumented member: %v", err)
	}
	if err := spec.Response(ex, 418, h, []byte(`{}`)); err == nil {
		t.Error("undocumented status accepted")
	}
}
