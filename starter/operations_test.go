package starter_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// ops is the API over the test kit's store and connections with a mocked Temporal client.
type ops struct {
	t   *testing.T
	kit *testkit.Kit
	mc  *mocks.Client
	api *starter.API
	h   http.Handler
}

func newOps(t *testing.T) *ops {
	t.Helper()
	kit := testkit.New(t, testkit.Options{})
	mc := mocks.NewClient(t)
	api := &starter.API{Store: kit.Store, Engine: kit.UseTemporal(mc), Connections: kit.Registry, PollInterval: 15 * time.Minute,
		OperatorKeys: []string{opsOperatorKey}}
	return &ops{t: t, kit: kit, mc: mc, api: api, h: api.Handler()}
}

// opsOperatorKey is the test API's operator key (every tenant).
const opsOperatorKey = "op_0123456789abcdef0123456789abcdef"

// call sends a request with the tenant's key (or key, when given) and decodes the JSON answer.
func (o *ops) call(method, path, body string, key ...string) (int, map[string]any) {
	o.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	k := o.kit.APIKey
	if len(key) > 0 {
		k = key[0]
	}
	req.Header.Set("Authorization", "Bearer "+k)
	rec := httptest.NewRecorder()
	o.h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil && rec.Body.Len() > 0 {
		o.t.Fatalf("%s %s: %d, not JSON: %s", method, path, rec.Code, rec.Body)
	}
	return rec.Code, out
}

// ticketRow records a ticket of the kit's connection directly in the store.
func (o *ops) ticketRow(ext, status string, updated time.Time, mutate ...func(*store.TicketState)) store.Ticket {
	o.t.Helper()
	ctx := context.Background()
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, ext)
	if _, _, err := o.kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ext, WorkflowID: ref.WorkflowID, Status: ticket.Submitted, MappingVersion: "theworxhub-v1",
		Request:   json.RawMessage(`{"request":{"requestType":"Maintenance","title":"Sink","requester":{"name":"Ada"}}}`),
		CreatedAt: updated, UpdatedAt: updated}); err != nil {
		o.t.Fatal(err)
	}
	st := store.TicketState{ID: ref.TicketID, Status: status, RemoteID: "R-" + ext, RemoteStatus: "Pending", UpdatedAt: updated, Version: 1}
	for _, m := range mutate {
		m(&st)
	}
	if err := o.kit.Store.UpdateTicketState(ctx, st); err != nil {
		o.t.Fatal(err)
	}
	tk, err := o.kit.Store.GetTicketAnyTenant(ctx, ref.TicketID)
	if err != nil {
		o.t.Fatal(err)
	}
	return tk
}

// stateValue answers the mocked state query.
type stateValue struct{ st ticket.State }

func (v stateValue) HasValue() bool { return true }
func (v stateValue) Get(ptr any) error {
	b, err := json.Marshal(v.st)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func TestTicketViewsLinkToTemporalWeb(t *testing.T) {
	o := newOps(t)
	tk := o.ticketRow("REQ/1 x", ticket.Requested, time.Now())
	code, got := o.call("GET", "/v1/tickets/"+tk.ID, "")
	links, _ := got["links"].(map[string]any)
	if code != 200 || links["temporalWeb"] != "http://127.0.0.1:8233/namespaces/default/workflows/ticket%2Fsunrise-twh%2FREQ%2F1%20x" {
		t.Fatalf("GET ticket: %d %v", code, got["links"])
	}
	o.api.TemporalWebURL, o.api.Namespace = "https://temporal.example/web/", "prod ns"
	o.h = o.api.Handler()
	code, page := o.call("GET", "/v1/tickets", "")
	items, _ := page["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("list: %d %v", code, page)
	}
	if l := items[0].(map[string]any)["links"].(map[string]any)["temporalWeb"]; l != "https://temporal.example/web/namespaces/prod%20ns/workflows/ticket%2Fsunrise-twh%2FREQ%2F1%20x" {
		t.Fatalf("configured link %v", l)
	}
}

func TestLookupByExternalID(t *testing.T) {
	o := newOps(t)
	tk := o.ticketRow("cubigo-1001", ticket.InProgress, time.Now())
	o.ticketRow("cubigo-1002", ticket.Requested, time.Now())
	lookup := func(query string, key ...string) (int, []any) {
		t.Helper()
		code, page := o.call("GET", "/v1/tickets?"+query, "", key...)
		items, _ := page["items"].([]any)
		return code, items
	}
	if code, items := lookup("connection=sunrise-twh&externalId=cubigo-1001"); code != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != tk.ID {
		t.Fatalf("lookup: %d %v", code, items)
	}
	for _, q := range []string{"connection=sunrise-twh&externalId=nope", "connection=sunrise-twh&externalId=cubigo-1001&status=Done",
		"connection=sunrise-twh&externalId=cubigo-1001&needsAttention=true"} {
		if code, items := lookup(q); code != 200 || len(items) != 0 {
			t.Errorf("%s: %d %v, want an empty page", q, code, items)
		}
	}
	for q, want := range map[string]int{
		"externalId=cubigo-1001":                                    422, // which connection?
		"connection=sunrise-twh&externalId=cubigo-1001&colour=red":  422,
		"connection=sunrise-twh&externalId=cubigo-1001&status=Open": 422,
		"connection=moonrise-twh&externalId=cubigo-1001":            404, // another tenant's connection
		"connection=nobody&externalId=cubigo-1001":                  404,
	} {
		if code, _ := lookup(q); code != want {
			t.Errorf("%s: %d, want %d", q, code, want)
		}
	}
	// The other tenant cannot find it through its own connection either.
	if code, items := lookup("connection=moonrise-twh&externalId=cubigo-1001", o.kit.OtherAPIKey); code != 200 || len(items) != 0 {
		t.Errorf("other tenant: %d %v", code, items)
	}
	// Without externalId it is the list.
	if code, items := lookup("connection=sunrise-twh"); code != 200 || len(items) != 2 {
		t.Errorf("list: %d %d items", code, len(items))
	}
}

func TestStuckTicketsParkedAndOverdueOldestFirst(t *testing.T) {
	o := newOps(t)
	now := time.Now().UTC()
	hour := func(n int) time.Time { return now.Add(-time.Duration(n) * time.Hour) }
	parkedSince := hour(5)
	parked := o.ticketRow("parked", ticket.Requested, hour(1), func(s *store.TicketState) {
		s.NeedsAttention, s.AttentionReason, s.AttentionSince = true, "unmapped remote status \"Escalated\" (mapping theworxhub-v1)", &parkedSince
	})
	late := o.ticketRow("late", ticket.InProgress, hour(4))
	quiet := o.ticketRow("quiet", ticket.InProgress, hour(3))
	paused := o.ticketRow("paused-in-workflow", ticket.InProgress, hour(3))
	gone := o.ticketRow("gone", ticket.InProgress, hour(2))
	silent := o.ticketRow("silent", ticket.InProgress, hour(6))
	parkedLive := o.ticketRow("parked-live", ticket.InProgress, hour(3))
	finished := o.ticketRow("finished-live", ticket.InProgress, hour(3))
	o.ticketRow("fresh", ticket.InProgress, now)                                 // read model recent: never queried
	o.ticketRow("done", ticket.Done, hour(9))                                    // finished: not stuck
	o.ticketRow("held", ticket.InProgress, hour(9), func(s *store.TicketState) { // paused in the read model
		s.Paused, s.PausedReason = true, "vendor migration"
	})

	dueAt, nextPoll, attentionSince := now.Add(-3*time.Hour-30*time.Minute), now.Add(10*time.Minute), hour(1)
	states := map[string]ticket.State{
		late.WorkflowID:       {Status: ticket.InProgress, NextPoll: &dueAt},
		quiet.WorkflowID:      {Status: ticket.InProgress, NextPoll: &nextPoll, FeedHealthy: true},
		paused.WorkflowID:     {Status: ticket.InProgress, Paused: &ticket.Pause{Since: hour(3), Reason: "x"}},
		parkedLive.WorkflowID: {Status: ticket.InProgress, NeedsAttention: &ticket.Attention{Since: attentionSince, Reason: "could not forward a requester comment: HTTP 500"}},
		finished.WorkflowID:   {Status: ticket.Done, Finished: true},
	}
	var mu sync.Mutex
	asked := map[string]bool{}
	o.mc.On("QueryWorkflow", mock.Anything, mock.Anything, "", ticket.QueryState).Return(
		func(ctx context.Context, wf, _, _ string, _ ...any) (converter.EncodedValue, error) {
			mu.Lock()
			asked[wf] = true
			mu.Unlock()
			switch wf {
			case gone.WorkflowID:
				return nil, serviceerror.NewNotFound("workflow not found")
			case silent.WorkflowID:
				<-ctx.Done() // no worker: the query times out
				return nil, ctx.Err()
			}
			return stateValue{states[wf]}, nil
		})

	start := time.Now()
	code, got := o.call("GET", "/v1/tickets/stuck", "")
	if code != 200 {
		t.Fatalf("stuck: %d %v", code, got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stuck took %s: a silent workflow must cost one query timeout, not more", took)
	}
	type row struct{ ext, kind, reason string }
	var rows []row
	for _, it := range got["items"].([]any) {
		m := it.(map[string]any)
		rows = append(rows, row{m["ticket"].(map[string]any)["externalId"].(string), m["kind"].(string), m["reason"].(string)})
	}
	want := []struct{ ext, kind, reasonHas string }{
		{"silent", "overdue", "did not answer a state query"},            // since 6 h ago + 2×15 min
		{"parked", "parked", "Escalated"},                                // since 5 h
		{"late", "overdue", "safety-net poll was due"},                   // due 3 h 30 min ago
		{"finished-live", "overdue", "read model still says InProgress"}, // 3 h
		{"gone", "overdue", "Temporal has no workflow"},                  // 2 h
		{"parked-live", "parked", "could not forward"},                   // 1 h
	}
	if len(rows) != len(want) {
		t.Fatalf("stuck items %+v, want %d", rows, len(want))
	}
	for i, w := range want {
		if rows[i].ext != w.ext || rows[i].kind != w.kind || !strings.Contains(rows[i].reason, w.reasonHas) {
			t.Errorf("item %d = %+v, want %s/%s with %q", i, rows[i], w.ext, w.kind, w.reasonHas)
		}
	}
	if asked[parked.WorkflowID] || len(asked) != 7 {
		t.Errorf("queried %v: only stale, open, unparked, unpaused tickets are asked", slices.Sorted(maps.Keys(asked)))
	}
	// Another tenant sees none of them.
	if code, got := o.call("GET", "/v1/tickets/stuck", "", o.kit.OtherAPIKey); code != 200 || len(got["items"].([]any)) != 0 {
		t.Errorf("other tenant: %d %v", code, got)
	}
}

var registerOtherKind = sync.OnceValue(func() error {
	return mapping.Register(mapping.Mapping{Name: "otherkind-v1", WorkKind: "otherkind", Table: map[string]string{"Open": ticket.InProgress}})
})

func TestRemapValidatesThenSignalsAndPokes(t *testing.T) {
	if err := registerOtherKind(); err != nil {
		t.Fatal(err)
	}
	o := newOps(t)
	tk := o.ticketRow("remap-1", ticket.Requested, time.Now())
	var mu sync.Mutex
	var sent []string
	var signalErr error
	o.mc.On("SignalWorkflow", mock.Anything, tk.WorkflowID, "", mock.Anything, mock.Anything).Return(
		func(_ context.Context, _, _, name string, arg any) error {
			mu.Lock()
			defer mu.Unlock()
			if r, ok := arg.(ticket.RemapSignal); ok {
				name += ":" + r.Mapping
			}
			sent = append(sent, name)
			return signalErr
		})
	code, got := o.call("POST", "/v1/tickets/"+tk.ID+"/remap", `{"mapping":" theworxhub-v1 "}`)
	if code != 202 || got["signal"] != "remap" || got["ticket"].(map[string]any)["mappingVersion"] != "theworxhub-v1" {
		t.Fatalf("remap: %d %v", code, got)
	}
	if strings.Join(sent, ",") != "remap:theworxhub-v1,poke" {
		t.Fatalf("signals %v: want remap, then poke (the workflow reads the remap when it wakes)", sent)
	}
	for body, want := range map[string]int{
		`{"mapping":"theworxhub-v404"}`: 422, // unknown version
		`{"mapping":"otherkind-v1"}`:    422, // another work system's statuses
		`{"mapping":""}`:                422,
		`{"mapping":"x","now":true}`:    400,
		``:                              400,
	} {
		if code, got := o.call("POST", "/v1/tickets/"+tk.ID+"/remap", body); code != want {
			t.Errorf("remap %s: %d %v, want %d", body, code, got, want)
		}
	}
	if code, _ := o.call("POST", "/v1/tickets/tkt_nope/remap", `{"mapping":"theworxhub-v1"}`); code != 404 {
		t.Errorf("unknown ticket: %d", code)
	}
	if code, _ := o.call("POST", "/v1/tickets/"+tk.ID+"/remap", `{"mapping":"theworxhub-v1"}`, o.kit.OtherAPIKey); code != 404 {
		t.Errorf("another tenant's ticket: %d", code)
	}
	signalErr = errors.New("frontend unavailable")
	if code, _ := o.call("POST", "/v1/tickets/"+tk.ID+"/remap", `{"mapping":"theworxhub-v1"}`); code != 503 {
		t.Errorf("engine down: %d", code)
	}
	done := o.ticketRow("remap-done", ticket.Done, time.Now())
	if code, _ := o.call("POST", "/v1/tickets/"+done.ID+"/remap", `{"mapping":"theworxhub-v1"}`); code != 409 {
		t.Errorf("finished ticket: %d", code)
	}
}

// An operator key works across tenants on every operator endpoint; an erasure it makes is
// recorded as the operator's.
func TestOperatorKeySeesEveryTenant(t *testing.T) {
	o := newOps(t)
	ctx := context.Background()
	since := time.Now().Add(-time.Hour)
	ref := ticket.NewRef(testkit.OtherTenant, testkit.OtherConn, "moon-1")
	if _, _, err := o.kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: "moon-1", WorkflowID: ref.WorkflowID}); err != nil {
		t.Fatal(err)
	}
	if err := o.kit.Store.UpdateTicketState(ctx, store.TicketState{ID: ref.TicketID, Status: ticket.Canceled, NeedsAttention: true,
		AttentionReason: "event x could not be delivered", AttentionSince: &since, Version: 1}); err != nil {
		t.Fatal(err)
	}
	o.ticketRow("sun-1", ticket.Requested, time.Now(), func(s *store.TicketState) { s.NeedsAttention, s.AttentionReason, s.AttentionSince = true, "x", &since })

	count := func(key string) int {
		t.Helper()
		code, got := o.call("GET", "/v1/tickets/stuck", "", key)
		if code != 200 {
			t.Fatalf("stuck: %d %v", code, got)
		}
		return len(got["items"].([]any))
	}
	if mine, all := count(o.kit.APIKey), count(opsOperatorKey); mine != 1 || all != 2 {
		t.Fatalf("stuck: the tenant sees %d (want 1), the operator %d (want 2)", mine, all)
	}
	if code, page := o.call("GET", "/v1/tickets?connection=moonrise-twh&externalId=moon-1", "", opsOperatorKey); code != 200 || len(page["items"].([]any)) != 1 {
		t.Fatalf("operator lookup: %d %v", code, page)
	}
	if code, got := o.call("POST", "/v1/events/replay", `{"tenant":"moonrise","since":"2000-01-01T00:00:00Z","dryRun":true}`, opsOperatorKey); code != 200 {
		t.Fatalf("operator replay of another tenant: %d %v", code, got)
	}
	if code, _ := o.call("POST", "/v1/events/replay", `{"tenant":"nobody","since":"2000-01-01T00:00:00Z","dryRun":true}`, opsOperatorKey); code != 404 {
		t.Fatalf("operator replay of an unknown tenant: %d", code)
	}
	if code, got := o.call("DELETE", "/v1/tickets/"+ref.TicketID+"/personal-data", "", opsOperatorKey); code != 200 {
		t.Fatalf("operator erase: %d %v", code, got)
	}
	if lc, _ := o.kit.Store.TicketLifecycle(ctx, ref.TicketID); !strings.HasPrefix(lc.ErasedBy, "operator API key ") || strings.Contains(lc.ErasedBy, opsOperatorKey) {
		t.Fatalf("erased by %q", lc.ErasedBy)
	}
}
