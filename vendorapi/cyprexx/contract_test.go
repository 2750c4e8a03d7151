package cyprexx_test

// Contract tests: the real client against the simulator over real HTTP — feed, work orders,
// push keys and pushes, faults. Relays (photos, surveys, completion) are in
// contract_relay_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// clock is a manual clock for the simulator (ties, cursor expiry, the rate window).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 5, 1, 13, 2, 11, 431_000_000, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sim    *sim.Server
	srv    *httptest.Server
	client *cyprexx.Client
	clock  *clock
}

func newEnv(t *testing.T, opts sim.Options, tweak ...func(*cyprexx.Config)) *env {
	t.Helper()
	clk := newClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.PushRetryDelay == 0 {
		opts.PushRetryDelay = 5 * time.Millisecond
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	cfg := cyprexx.Config{BaseURL: srv.URL, APIToken: sim.DefaultToken, Timeout: 2 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := cyprexx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c, clock: clk}
}

func issue(t *testing.T, e *env, service string) sim.WorkOrder {
	t.Helper()
	wo, err := e.sim.Issue("", sim.WorkOrder{Service: service, Address1: "12 Palm Ave", City: "Doral", State: "FL", Zip: "33166",
		ServiceDue: "2024-06-01", JobNumber: "J-77", LockboxCode: "4321", Note: "Beware of the dog",
		Tasks: []sim.Task{{Name: "Cut grass", PhotoCategories: []string{"Before", "After"}, MinPhotos: 2}},
		Forms: []sim.Form{sim.StandardForm()}})
	if err != nil {
		t.Fatal(err)
	}
	return wo
}

func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != cyprexx.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func TestGetWorkOrder(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	issued := issue(t, e, "Grass Cut")
	wo, err := e.client.WorkOrder(ctx, issued.WorkOrderID)
	if err != nil {
		t.Fatal(err)
	}
	if wo.WorkOrderID != issued.WorkOrderID || wo.WorkOrderNumber == "" || wo.Service != "Grass Cut" || wo.Status != cyprexx.StatusAssigned ||
		wo.LockboxCode.Reveal() != "4321" || wo.KeyCode != "" || wo.ServiceDue != "2024-06-01" || !wo.UpdatedAt.Equal(issued.UpdatedAt) {
		t.Fatalf("work order %+v", wo)
	}
	task, ok := wo.Task("T1")
	form, fok := wo.Form("PCR")
	if !ok || task.MinPhotos != 2 || len(task.PhotoCategories) != 2 || !fok || form.Version != 1 || len(form.Questions) != 4 ||
		form.Questions[1].AnswerType != cyprexx.AnswerSelect || !form.Questions[0].Required {
		t.Fatalf("task %+v form %+v", task, form)
	}
	// The mapped project carries the codes where the table says.
	if p := cyprexx.ToPruvan(*wo); p.WorkOrderNumber != issued.WorkOrderID+"-Grass Cut" || !strings.Contains(p.WorkOrderInfo, "Lockbox: 4321") {
		t.Fatalf("project %+v", p)
	}
	_, err = e.client.WorkOrder(ctx, "404404")
	if ve := vendorErr(t, err); ve.HTTPStatus != 404 || ve.Retryable || !vendorapi.IsNotFound(err) {
		t.Fatalf("missing: %+v", ve)
	}
	other, _ := e.sim.Issue("vendor-2", sim.WorkOrder{Service: "Winterization", Address1: "1 A St", City: "X", State: "TX", Zip: "75001"})
	_, err = e.client.WorkOrder(ctx, other.WorkOrderID)
	if ve := vendorErr(t, err); ve.HTTPStatus != 403 || ve.Code != cyprexx.CodeForbidden || ve.Retryable {
		t.Fatalf("another vendor's: %+v", ve)
	}
}

func TestFeedAndFullRefresh(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	a := issue(t, e, "Grass Cut")
	e.clock.Advance(time.Second)
	b := issue(t, e, "Winterization")
	c := issue(t, e, "Debris Removal") // same updatedAt as b: ordered by id
	e.clock.Advance(time.Second)
	e.sim.Cancel(a.WorkOrderID)

	full, err := e.client.FullRefresh(ctx, "", 0)
	if err != nil || len(full.Items) != 2 || full.Items[0].WorkOrderID != b.WorkOrderID || full.Items[1].WorkOrderID != c.WorkOrderID || full.NextCursor != "" {
		t.Fatalf("full refresh: %+v %v", full, err)
	}
	feed, err := e.client.Changes(ctx, b.UpdatedAt, "", 0)
	if err != nil || len(feed.Items) != 3 || feed.Items[0].WorkOrderID != b.WorkOrderID || feed.Items[2].Status != cyprexx.StatusCancelled {
		t.Fatalf("feed (inclusive boundary, cancelled included): %+v %v", feed, err)
	}
	if _, err := e.client.Changes(ctx, time.Time{}, "", 0); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("zero since: %v", err)
	}
	if _, err := e.client.FullRefresh(ctx, "", 201); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("limit: %v", err)
	}

	// Paging one by one while b is updated: it comes again at the end, nothing is skipped.
	p1, err := e.client.Changes(ctx, a.UpdatedAt, "", 1)
	if err != nil || len(p1.Items) != 1 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	e.clock.Advance(time.Second)
	e.sim.Update(b.WorkOrderID, json.RawMessage(`{"note":"gate code changed"}`))
	var seen []string
	for cur := p1.NextCursor; cur != ""; {
		p, err := e.client.Changes(ctx, time.Time{}, cur, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			seen = append(seen, it.WorkOrderID+"/"+it.Note)
		}
		cur = p.NextCursor
	}
	if strings.Join(seen, ",") != c.WorkOrderID+"/Beware of the dog,"+a.WorkOrderID+"/Beware of the dog,"+b.WorkOrderID+"/gate code changed" {
		t.Fatalf("paged %v", seen)
	}
}

func TestCursorExpiry(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	for range 3 {
		issue(t, e, "Grass Cut")
	}
	p, err := e.client.FullRefresh(ctx, "", 1)
	if err != nil || p.NextCursor == "" {
		t.Fatal(p, err)
	}
	e.clock.Advance(time.Hour)
	_, err = e.client.FullRefresh(ctx, p.NextCursor, 1)
	if ve := vendorErr(t, err); !cyprexx.IsInvalidCursor(err) || ve.Retryable {
		t.Fatalf("1 h old cursor: %+v", ve)
	}
	p, _ = e.client.FullRefresh(ctx, "", 1)
	e.sim.SetFaults(sim.Faults{ExpireCursors: true})
	if _, err := e.client.FullRefresh(ctx, p.NextCursor, 1); !cyprexx.IsInvalidCursor(err) {
		t.Fatalf("expired by fault: %v", err)
	}
	if _, err := e.client.FullRefresh(ctx, "garbage", 1); !cyprexx.IsInvalidCursor(err) {
		t.Fatalf("garbage cursor: %v", err)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	cases := []struct {
		name      string
		faults    sim.Faults
		retryable bool
		status    int
		code      string
		after     time.Duration
		kind      string
	}{
		{"429 burst", sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 7}, true, 429, cyprexx.CodeRateLimited, 7 * time.Second, "RateLimited"},
		{"HTML 503 maintenance", sim.Faults{Maintenance: 1, RetryAfterSeconds: 30}, true, 503, cyprexx.CodeNotJSON, 30 * time.Second, "Unavailable"},
		{"HTML on 200", sim.Faults{HTMLOn200: 1}, true, 200, cyprexx.CodeNotJSON, 0, "Vendor"},
		{"5xx", sim.Faults{ErrorRate: 1}, true, 0, "server_error", 0, "Unavailable"},
		{"latency past the timeout", sim.Faults{Latency: 3 * time.Second}, true, 0, "", 0, "Transport"},
		{"slow body past the timeout", sim.Faults{SlowBody: 1, SlowBodyDelay: 400 * time.Millisecond}, true, 0, "", 0, "Transport"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.sim.SetFaults(c.faults)
			_, err := e.client.WorkOrder(ctx, wo.WorkOrderID)
			ve := vendorErr(t, err)
			if ve.Retryable != c.retryable || (c.status != 0 && ve.HTTPStatus != c.status) || ve.Code != c.code || ve.RetryAfter != c.after || ve.Kind() != c.kind {
				t.Fatalf("%+v (kind %s)", ve, ve.Kind())
			}
			e.sim.SetFaults(sim.Faults{})
			if _, err := e.client.WorkOrder(ctx, wo.WorkOrderID); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func TestRateLimitAndRevokedToken(t *testing.T) {
	e := newEnv(t, sim.Options{RateLimit: 2})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	for range 2 {
		if _, err := e.client.WorkOrder(ctx, wo.WorkOrderID); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.WorkOrder(ctx, wo.WorkOrderID)
	if ve := vendorErr(t, err); ve.HTTPStatus != 429 || !ve.Retryable || ve.RetryAfter != time.Minute {
		t.Fatalf("rate limit: %+v", ve)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.client.WorkOrder(ctx, wo.WorkOrderID); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	e.sim.RevokeToken(sim.DefaultToken)
	for range 2 { // 401 forever
		_, err := e.client.FullRefresh(ctx, "", 0)
		if ve := vendorErr(t, err); !cyprexx.IsInvalidToken(err) || ve.Retryable || ve.Kind() != "Auth" {
			t.Fatalf("revoked token: %+v", ve)
		}
	}
	bad, _ := cyprexx.New(cyprexx.Config{BaseURL: e.srv.URL, APIToken: "wrong"})
	if _, err := bad.FullRefresh(ctx, "", 0); !cyprexx.IsInvalidToken(err) {
		t.Fatalf("unknown token: %v", err)
	}
	// Ops counts the calls that reached an operation; APICalls every authenticated one.
	if st := e.sim.Stats(); st.Unauthorized != 3 || st.RateLimited != 1 || st.Ops["get"] != 3 || st.APICalls != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// receiver is our push endpoint: it authenticates with ReadPush, like the API will.
type receiver struct {
	mu     sync.Mutex
	key    string
	events []cyprexx.PushEvent
	denied []error
	status int // answer to valid pushes (default 204)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := cyprexx.ReadPush(rc.key, r)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.denied = append(rc.denied, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev)
	w.WriteHeader(max(rc.status, http.StatusNoContent))
}

func (rc *receiver) snapshot() ([]cyprexx.PushEvent, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]cyprexx.PushEvent(nil), rc.events...), append([]error(nil), rc.denied...)
}

func newReceiver(t *testing.T, key string) (*receiver, string) {
	rc := &receiver{key: key}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/v1/hooks/cyprexx/conn-1"
}

func TestValidateAndPushes(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	const key = "whsec-push-key-1"
	rc, callback := newReceiver(t, key)
	pk, err := e.client.RegisterPushKey(ctx, key, callback)
	if err != nil || !pk.Created || pk.Status != "active" || pk.CallbackURL != callback || pk.ValidatedAt.IsZero() {
		t.Fatalf("register: %+v %v", pk, err)
	}
	if evs, _ := rc.snapshot(); len(evs) != 1 || evs[0].Event != cyprexx.EventPing || evs[0].DeliveryID == "" {
		t.Fatalf("ping: %+v", evs)
	}
	if pk, err := e.client.RegisterPushKey(ctx, key, callback); err != nil || pk.Created {
		t.Fatalf("re-register: %+v %v", pk, err)
	}
	wo := issue(t, e, "Grass Cut")
	e.clock.Advance(time.Second)
	e.sim.Update(wo.WorkOrderID, json.RawMessage(`{"status":"On Hold"}`))
	e.clock.Advance(time.Second)
	e.sim.Cancel(wo.WorkOrderID)
	e.sim.WaitPushes()
	evs, denied := rc.snapshot()
	if len(evs) != 5 || len(denied) != 0 {
		t.Fatalf("events %+v denied %v", evs, denied)
	}
	got := map[string]cyprexx.PushEvent{}
	for _, ev := range evs[2:] {
		got[ev.Event] = ev
	}
	cancelled := got[cyprexx.EventCancelled]
	if got[cyprexx.EventCreated].WorkOrderID != wo.WorkOrderID || got[cyprexx.EventUpdated].WorkOrderID != wo.WorkOrderID ||
		cancelled.WorkOrderID != wo.WorkOrderID || !cancelled.UpdatedAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("events %+v", got)
	}
	// The receiver then GETs the work order.
	if w, err := e.client.WorkOrder(ctx, cancelled.WorkOrderID); err != nil || w.Status != cyprexx.StatusCancelled || !cyprexx.IsClosed(w.Status) {
		t.Fatalf("%+v %v", w, err)
	}
	if err := e.client.DeletePushKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeletePushKey(ctx, key); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	issue(t, e, "Winterization")
	e.sim.WaitPushes()
	if evs, _ := rc.snapshot(); len(evs) != 5 {
		t.Fatalf("push after delete: %+v", evs)
	}
}

func TestValidateFailures(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	rc, callback := newReceiver(t, "k")
	e.sim.SetFaults(sim.Faults{PingFail: 1})
	_, err := e.client.RegisterPushKey(ctx, "k", callback)
	if ve := vendorErr(t, err); !cyprexx.IsCallbackUnreachable(err) || ve.HTTPStatus != 422 || ve.Retryable {
		t.Fatalf("ping failure: %+v", ve)
	}
	rc.mu.Lock()
	rc.status = http.StatusServiceUnavailable
	rc.mu.Unlock()
	if _, err := e.client.RegisterPushKey(ctx, "k", callback); !cyprexx.IsCallbackUnreachable(err) {
		t.Fatalf("callback answering 503: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, err := e.client.RegisterPushKey(ctx, "k", dead.URL); !cyprexx.IsCallbackUnreachable(err) {
		t.Fatalf("closed callback: %v", err)
	}
	if len(e.sim.PushKeys()) != 0 {
		t.Fatal("a push key was registered without a successful ping")
	}
	if _, err := e.client.RegisterPushKey(ctx, "k", "http://example.com/hook"); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("plain http callback: %v", err)
	}
}

func TestPushFaults(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	const key = "the-real-key"
	rc, callback := newReceiver(t, key)
	if _, err := e.client.RegisterPushKey(ctx, key, callback); err != nil {
		t.Fatal(err)
	}
	count := func() (int, []error) {
		e.sim.WaitPushes()
		evs, denied := rc.snapshot()
		return len(evs) - 1, denied // minus the ping
	}
	e.sim.SetFaults(sim.Faults{PushBadKeyRate: 1})
	issue(t, e, "A")
	if n, denied := count(); n != 0 || len(denied) != 3 || !errors.Is(denied[0], cyprexx.ErrPushKeyMismatch) {
		t.Fatalf("bad key: %d accepted, denied %v (3 attempts, all refused)", n, denied)
	}
	e.sim.SetFaults(sim.Faults{PushMissingKeyRate: 1})
	issue(t, e, "B")
	if _, denied := count(); len(denied) != 6 || !errors.Is(denied[5], cyprexx.ErrPushKeyMissing) {
		t.Fatalf("missing key: %v", denied)
	}
	e.sim.SetFaults(sim.Faults{PushDropRate: 1})
	dropped := issue(t, e, "C")
	if n, _ := count(); n != 0 {
		t.Fatalf("dropped push arrived")
	}
	e.sim.SetFaults(sim.Faults{PushDuplicateRate: 1})
	issue(t, e, "D")
	e.sim.WaitPushes()
	evs, _ := rc.snapshot()
	if len(evs) != 3 || evs[1].DeliveryID != evs[2].DeliveryID || evs[1].WorkOrderID != evs[2].WorkOrderID {
		t.Fatalf("duplicate: %+v", evs)
	}
	st := e.sim.Stats()
	if st.PushesDropped != 3 || st.PushesDelivered != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Lost pushes are what Refresh is for: the dropped work order is in the feed.
	page, err := e.client.Changes(ctx, dropped.UpdatedAt, "", 0)
	if err != nil || !slices.ContainsFunc(page.Items, func(w cyprexx.WorkOrder) bool { return w.WorkOrderID == dropped.WorkOrderID }) {
		t.Fatalf("feed after a lost push: %+v %v", page, err)
	}
}

func TestTasksChangedAfterImportAreFlagged(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	first, _ := e.client.WorkOrder(ctx, wo.WorkOrderID)
	imported := cyprexx.ToPruvan(*first)
	e.sim.SetTasks(wo.WorkOrderID, []sim.Task{{TaskID: "T1", Name: "Cut grass", PhotoCategories: []string{"Before", "After"}, MinPhotos: 2},
		{TaskID: "T2", Name: "Edge sidewalks", PhotoCategories: []string{"After"}}})
	later, _ := e.client.WorkOrder(ctx, wo.WorkOrderID)
	res, err := pruvan.Merge(&imported, cyprexx.ToPruvan(*later), true)
	if err != nil || !res.TasksChanged || len(res.WorkOrder.Services) != 1 || !strings.Contains(strings.Join(res.Notes, " "), `added: "Edge sidewalks"`) {
		t.Fatalf("%+v %v", res, err)
	}
}
