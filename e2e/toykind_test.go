package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// A toy kind pair registered in this test only runs tickets end to end through the real
// engine (intake → start → create → poll → notify, comments, refresh, validate, catalog)
// without a line in starter/ or workflows/: the connector model is the whole contract.

// toyWork is an in-memory work system with a catalog and a self-test.
type toyWork struct {
	mu       sync.Mutex
	reqs     map[string]*vendorapi.RemoteRequest
	creates  int
	comments []vendorapi.Comment
}

func (w *toyWork) Kind() string { return "toywork" }
func (w *toyWork) Reference(conn, ext string) string {
	return "toy:" + conn + ":" + ext
}
func (w *toyWork) FindByReference(_ context.Context, ref string) (*vendorapi.RemoteRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.reqs {
		if r.ExternalReference == ref {
			c := *r
			return &c, nil
		}
	}
	return nil, nil
}
func (w *toyWork) Create(_ context.Context, req vendorapi.NewRequest) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.creates++
	id := "toy-" + strconv.Itoa(len(w.reqs)+1)
	w.reqs[id] = &vendorapi.RemoteRequest{ID: id, ExternalReference: req.ExternalReference, Status: "open", ModifiedAt: time.Now()}
	return id, nil
}
func (w *toyWork) Get(_ context.Context, id string) (*vendorapi.RemoteRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.reqs[id]
	if !ok {
		return nil, &vendorapi.Error{Vendor: "toywork", Op: "get", HTTPStatus: http.StatusNotFound}
	}
	c := *r
	return &c, nil
}
func (w *toyWork) Cancel(ctx context.Context, id, _ string) (*vendorapi.RemoteRequest, error) {
	w.set(id, "canceled")
	return w.Get(ctx, id)
}
func (w *toyWork) AddComment(_ context.Context, _ string, c vendorapi.Comment) (vendorapi.Comment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.comments = append(w.comments, c)
	return c, nil
}
func (w *toyWork) Catalog(context.Context) ([]vendorapi.Category, error) {
	return []vendorapi.Category{{ID: "1", Name: "Potholes"}, {ID: "2", Name: "Streetlights"}}, nil
}
func (w *toyWork) Validate(context.Context) []vendorapi.Check {
	return []vendorapi.Check{{Name: "toywork: reachable", OK: true}}
}
func (w *toyWork) set(id, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs[id].Status = status
	w.reqs[id].ModifiedAt = time.Now()
}

// toyRequest is a request system polled for new requests and comments, notified natively.
type toyRequest struct {
	mu       sync.Mutex
	issues   []string // external ids reported by intake
	comments map[string]string
	notified []vendorapi.Notification
	catalog  []vendorapi.Category
}

func (r *toyRequest) Kind() string { return "toyreq" }
func (r *toyRequest) Notify(_ context.Context, n vendorapi.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notified = append(r.notified, n)
	return nil
}

// Intake lists every issue (the cursor counts them) and every comment on each pass, as a real
// poller with an overlap window would: the engine must dedupe.
func (r *toyRequest) Intake(_ context.Context, cursor string, full bool) (vendorapi.IntakePage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var page vendorapi.IntakePage
	for _, ext := range r.issues {
		page.Intents = append(page.Intents, vendorapi.Intent{Kind: vendorapi.IntentStart, ExternalID: ext,
			Request: &vendorapi.NewRequest{RequestType: "Potholes", Title: "Pothole " + ext, Description: "deep", Requester: vendorapi.Person{Name: "Citizen"}}})
	}
	for id, ext := range r.comments {
		page.Intents = append(page.Intents, vendorapi.Intent{Kind: vendorapi.IntentSignal, ExternalID: ext, Signal: ticket.SignalComment,
			Payload: ticket.CommentSignal{ID: id, Text: "comment " + id, Author: "Citizen"}})
	}
	page.Cursor = strconv.Itoa(len(r.issues))
	return page, nil
}
func (r *toyRequest) SyncCatalog(_ context.Context, cats []vendorapi.Category) (vendorapi.CatalogCounts, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := vendorapi.CatalogCounts{Created: len(cats) - len(r.catalog), Unchanged: len(r.catalog)}
	r.catalog = cats
	return counts, nil
}
func (r *toyRequest) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notified {
		out = append(out, n.ExternalID+":"+n.Kind+":"+n.Status)
	}
	return out
}

var (
	toyOnce  sync.Once
	toyWorks sync.Map
	toyReqs  sync.Map
)

func registerToyKinds() {
	toyOnce.Do(func() {
		connectors.RegisterWork(connectors.WorkKind{Kind: "toywork", RequestTypes: []string{"Potholes"},
			New: func(c config.Connection, _ connectors.Env) (vendorapi.WorkSystem, error) {
				w, _ := toyWorks.Load(c.ID)
				return w.(*toyWork), nil
			}})
		connectors.RegisterRequest(connectors.RequestKind{Kind: "toyreq",
			New: func(c config.Connection, _ connectors.Env) (vendorapi.RequestSystem, error) {
				r, _ := toyReqs.Load(c.ID)
				return r.(*toyRequest), nil
			}})
		if err := mapping.Register(mapping.Mapping{Name: "toywork-v1", WorkKind: "toywork",
			Table: map[string]string{"open": ticket.Requested, "working": ticket.InProgress, "done": ticket.Done, "canceled": ticket.Canceled}}); err != nil {
			panic(err)
		}
	})
}

func TestToyKindPairEndToEnd(t *testing.T) {
	registerToyKinds()
	work := &toyWork{reqs: map[string]*vendorapi.RemoteRequest{}}
	req := &toyRequest{comments: map[string]string{}}
	const conn = "toy-city"
	toyWorks.Store(conn, work)
	toyReqs.Store(conn, req)
	w := newWorldWith(t, false, func(f *config.File) {
		f.Connections = append(f.Connections, config.Connection{ID: conn, Tenant: f.Tenants[0].ID,
			RequestSystem: config.RequestSystem{Kind: "toyreq", PollInterval: config.Duration{Duration: time.Second}},
			WorkSystem:    config.WorkSystem{Kind: "toywork"}})
	})
	ctx := context.Background()
	eng := w.kit.Activities.Engine
	if err := eng.EnsureConnectionSync(ctx, conn); err != nil {
		t.Fatal(err)
	}
	// A citizen reports two issues; the intake poller starts a ticket for each.
	req.mu.Lock()
	req.issues = []string{"i-1", "i-2"}
	req.mu.Unlock()
	waitFor(t, 20*time.Second, "both toy requests created remotely", func() bool {
		work.mu.Lock()
		defer work.mu.Unlock()
		return len(work.reqs) == 2
	})
	// A comment reported on every intake pass crosses exactly once.
	req.mu.Lock()
	req.comments["c-9"] = "i-1"
	req.mu.Unlock()
	waitFor(t, 20*time.Second, "the comment forwarded", func() bool {
		work.mu.Lock()
		defer work.mu.Unlock()
		return len(work.comments) == 1
	})
	time.Sleep(3 * time.Second) // several more intake passes report the same comment again
	// Staff finish the first request; a poke (as a feed would) brings it home.
	first, _ := work.FindByReference(ctx, work.Reference(conn, "i-1"))
	work.set(first.ID, "done")
	if _, err := eng.Poke(ctx, mustConn(t, w, conn), "i-1", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "i-1 closed at the request system", func() bool {
		for _, k := range req.kinds() {
			if k == "i-1:closed:Done" {
				return true
			}
		}
		return false
	})
	work.mu.Lock()
	if work.creates != 2 || len(work.comments) != 1 {
		t.Fatalf("creates=%d comments=%d: intake must never duplicate", work.creates, len(work.comments))
	}
	work.mu.Unlock()
	var i1 []string
	for _, k := range req.kinds() {
		if k[:3] == "i-1" {
			i1 = append(i1, k)
		}
	}
	if fmt.Sprint(i1) != "[i-1:status_changed:Requested i-1:status_changed:Done i-1:closed:Done]" {
		t.Fatalf("notifications of i-1: %v", i1)
	}

	// Connection operations through the API.
	key := w.kit.APIKey
	code, refresh := w.call("POST", "/v1/connections/"+conn+"/refresh?full=true", key, nil)
	if code != 200 || refresh["new"] != 0.0 || refresh["unchanged"] == 0.0 || refresh["failed"] != 0.0 {
		t.Fatalf("refresh of an unchanged request system: %d %v", code, refresh)
	}
	code, val := w.call("POST", "/v1/connections/"+conn+"/validate", key, nil)
	if code != 200 || val["ok"] != true {
		t.Fatalf("validate: %d %v", code, val)
	}
	code, cat := w.call("POST", "/v1/connections/"+conn+"/sync-catalog", key, nil)
	if code != 200 || cat["categories"] != 2.0 || cat["created"] != 2.0 {
		t.Fatalf("sync-catalog: %d %v", code, cat)
	}
	code, view := w.call("GET", "/v1/connections/"+conn, key, nil)
	if code != 200 || view["intake"] == nil || fmt.Sprint(view["capabilities"]) != "[intake catalog]" {
		t.Fatalf("connection view: %d %v", code, view)
	}
	// The portal connection has no intake and no catalog: clear 409s, not 500s.
	if code, p := w.call("POST", "/v1/connections/"+"sunrise-twh"+"/refresh", key, nil); code != 409 {
		t.Fatalf("refresh without intake: %d %v", code, p)
	}
	if code, p := w.call("POST", "/v1/connections/"+"sunrise-twh"+"/sync-catalog", key, nil); code != 409 {
		t.Fatalf("sync-catalog without catalog: %d %v", code, p)
	}
}

func mustConn(t *testing.T, w *world, id string) *connectors.Conn {
	c, err := w.kit.Registry.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
