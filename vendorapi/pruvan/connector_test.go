package pruvan_test

// The Pruvan work side over a real store (SQLite) and the Pruvan simulator, which calls our
// order-source methods through a small stand-in for the API's hook route.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

const (
	conn     = "acme-pruvan"
	user     = "ts-acme"
	password = "4f1c0d8e3b2a59687f6e5d4c3b2a190817263544"
	token    = "tok-acme"
)

type world struct {
	t     *testing.T
	ctx   context.Context
	w     *pruvan.WorkSystem
	sim   *psim.Server
	mu    sync.Mutex
	pokes []string // external ids the hooks asked to poke
}

func newWorld(t *testing.T, opts pruvan.Options) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wd := &world{t: t, ctx: ctx}
	hooks := httptest.NewServer(http.HandlerFunc(wd.route))
	t.Cleanup(hooks.Close)
	wd.sim = psim.New(psim.Options{Seed: 5, Integrations: []psim.Integration{{ClientCode: conn, URL: hooks.URL + "/v1/hooks/pruvan/" + conn,
		Username: user, Password: password, Token: token, AutoAdmin: opts.AutoAdmin}}})
	simSrv := httptest.NewServer(wd.sim)
	t.Cleanup(simSrv.Close)
	t.Cleanup(wd.sim.Close)
	wd.sim.SetBaseURL(simSrv.URL)
	wd.w, err = pruvan.NewWorkSystem(pruvan.WorkConfig{Connection: conn, Push: pruvan.PushConfig{BaseURL: simSrv.URL},
		Credentials: pruvan.Credentials{Username: user, Password: password, Token: token}, Options: opts,
		Records: st.Records(conn), SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// route stands in for the API's /v1/hooks/{kind}/{connection}/{path...}: it streams what the
// work side streams, answers its verdict and records the pokes.
func (wd *world) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/hooks/pruvan/"+conn+"/")
	req := vendorapi.HookRequest{Connection: conn, Path: path, Method: r.Method, Header: r.Header, Received: time.Now()}
	if wd.w.StreamsHook(path) {
		req.Stream = r.Body
	} else {
		req.Body, _ = io.ReadAll(r.Body)
	}
	res, err := wd.w.HandleHook(r.Context(), nil, req)
	var he *vendorapi.HookError
	switch {
	case errors.As(err, &he):
		http.Error(w, he.Detail, he.Status)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	wd.mu.Lock()
	for _, in := range res.Intents {
		wd.pokes = append(wd.pokes, string(in.Kind)+":"+in.ExternalID)
	}
	wd.mu.Unlock()
	w.Header().Set("Content-Type", res.ContentType)
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

func (wd *world) intents() []string {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	return append([]string(nil), wd.pokes...)
}

func project(id string) pruvan.WorkOrder {
	return pruvan.WorkOrder{WorkOrderNumber: id + "-Grass Cut", Address1: "1 Main St", City: "Doral", State: "FL", Zip: "33166",
		Description: "Grass Cut", Reference: "J-1", ClientStatus: "Assigned", DueDate: "2026-06-01", ClientDueDate: "2026-06-01",
		Services: []pruvan.Service{{ServiceName: "Cut grass"}}}
}

// publishAndCreate publishes a project and creates it as the ticket would.
func (wd *world) publishAndCreate(id string) string {
	wd.t.Helper()
	if _, err := wd.w.Publish(wd.ctx, id, vendorapi.NewRequest{Title: "Grass Cut"}, project(id)); err != nil {
		wd.t.Fatal(err)
	}
	pid, _, err := wd.w.CreateWithNotes(wd.ctx, vendorapi.NewRequest{ExternalReference: wd.w.Reference(conn, id)})
	if err != nil {
		wd.t.Fatal(err)
	}
	wd.sim.WaitIdle()
	return pid
}

func (wd *world) status(pid string) string {
	wd.t.Helper()
	r, err := wd.w.Get(wd.ctx, pid)
	if err != nil {
		wd.t.Fatal(err)
	}
	return r.Status
}

// The project's status as the ticket reads it: Available until Pruvan pulls it, then what
// Pruvan reports; complete adds the request system's cue; the source order's end decides last
// (Closed, or Cancelled — which a completed order can no longer become: 409).
func TestStatusFollowsPruvan(t *testing.T) {
	wd := newWorld(t, pruvan.Options{})
	if _, err := wd.w.Create(wd.ctx, vendorapi.NewRequest{ExternalReference: "nothing-published"}); vendorapi.IsRetryable(err) || err == nil {
		t.Fatalf("a create with nothing published cannot succeed later: %v", err)
	}
	pid := wd.publishAndCreate("WO-1") // no push key yet: Pruvan does not pull
	if s := wd.status(pid); s != pruvan.StatusAvailable {
		t.Fatalf("before Pruvan's pull: %q", s)
	}
	if err := wd.sim.Validate(wd.ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := wd.sim.Refresh(wd.ctx, conn, false); err != nil {
		t.Fatal(err)
	}
	if s := wd.status(pid); s != pruvan.StatusUnassigned || len(wd.intents()) != 0 {
		t.Fatalf("after the pull: %q; a pull pokes nobody: %v", s, wd.intents())
	}
	key := psim.ProjectKey(conn, pid)
	if _, err := wd.sim.SetStatus(wd.ctx, key, "In Progress", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if in := wd.intents(); len(in) != 1 || in[0] != "poke:WO-1" {
		t.Fatalf("a status report pokes the ticket: %v", in)
	}
	if s := wd.status(pid); s != "In Progress" {
		t.Fatalf("reported: %q", s)
	}
	if _, err := wd.w.AddComment(wd.ctx, pid, vendorapi.Comment{Text: "hi"}); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("Pruvan takes no comments: %v", err)
	}

	if _, err := wd.sim.Complete(wd.ctx, key, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, err := wd.w.Get(wd.ctx, pid)
	if err != nil || r.Status != pruvan.StatusComplete || !pruvan.IsCompletion(r.Feedback[len(r.Feedback)-1].ID) {
		t.Fatalf("complete is Pruvan's report plus the request system's cue: %+v %v", r, err)
	}
	// The source order completes (its client took the completion): Closed, and too late to cancel.
	if err := wd.w.Close(wd.ctx, "WO-1", "Completed"); err != nil {
		t.Fatal(err)
	}
	if s := wd.status(pid); s != pruvan.StatusClosed {
		t.Fatalf("closed: %q", s)
	}
	if _, err := wd.w.Cancel(wd.ctx, pid, "too late"); !vendorapi.IsConflict(err) {
		t.Fatalf("a completed order cannot be cancelled: %v", err)
	}

	pid2 := wd.publishAndCreate("WO-2")
	r, err = wd.w.Cancel(wd.ctx, pid2, "cancelled in Cyprexx")
	if err != nil || r.Status != pruvan.StatusCancelled {
		t.Fatalf("cancel: %+v %v", r, err)
	}
	wd.sim.WaitIdle()
	if p, _ := wd.sim.Project(psim.ProjectKey(conn, pid2)); p.WorkOrder.ClientStatus != pruvan.StatusCancelled {
		t.Fatalf("the cancel reaches Pruvan as the client status: %+v", p.WorkOrder)
	}
}

// getWorkOrders: with a timestamp, what changed since (a closed project too, with its final
// client status); with null, every open project; a project nobody created is never served.
func TestGetWorkOrdersIncrementalAndFull(t *testing.T) {
	wd := newWorld(t, pruvan.Options{})
	if err := wd.sim.Validate(wd.ctx, conn); err != nil {
		t.Fatal(err)
	}
	a := wd.publishAndCreate("WO-A")
	wd.publishAndCreate("WO-B")
	if _, err := wd.w.Publish(wd.ctx, "WO-C", vendorapi.NewRequest{}, project("WO-C")); err != nil {
		t.Fatal(err)
	}
	full, err := wd.sim.Refresh(wd.ctx, conn, true)
	if err != nil || full.Received != 2 {
		t.Fatalf("full refresh serves the two created projects, not the unpublished one: %+v %v", full, err)
	}
	if err := wd.w.Close(wd.ctx, "WO-A", "Completed"); err != nil {
		t.Fatal(err)
	}
	wd.sim.WaitIdle()
	if p, _ := wd.sim.Project(psim.ProjectKey(conn, a)); p.WorkOrder.ClientStatus != "Completed" {
		t.Fatalf("closing pushes the final client status: %+v", p.WorkOrder)
	}
	inc, err := wd.sim.Refresh(wd.ctx, conn, false)
	if err != nil || inc.Received < 1 {
		t.Fatalf("incremental carries the closed project: %+v %v", inc, err)
	}
	full, err = wd.sim.Refresh(wd.ctx, conn, true)
	if err != nil || full.Received != 1 {
		t.Fatalf("full refresh without the closed project: %+v %v", full, err)
	}
}

// uploadPictures keeps each photo once (retries and re-publishes with the same uuid are
// acknowledged unread), streamed unaltered even when the file part comes first, and serves it
// back through OpenAttachment for the request system.
func TestUploadsAreKeptOnceAndUnaltered(t *testing.T) {
	wd := newWorld(t, pruvan.Options{ValidatorURL: "https://validator.example/v/"})
	if err := wd.sim.Validate(wd.ctx, conn); err != nil {
		t.Fatal(err)
	}
	pid := wd.publishAndCreate("WO-1")
	wd.sim.SetFaults(psim.Faults{DuplicateUploads: 1, FileBeforePayload: 2})
	sent, err := wd.sim.UploadPhotos(wd.ctx, psim.ProjectKey(conn, pid), psim.PhotoRequest{Count: 2, Category: "Before", Size: 6 << 20})
	if err != nil || len(sent) != 3 {
		t.Fatalf("sent %+v %v", sent, err)
	}
	for _, s := range sent {
		if !s.Accepted {
			t.Fatalf("refused: %+v", s)
		}
	}
	items, err := wd.w.Items(wd.ctx, "WO-1")
	if err != nil || len(items) != 2 {
		t.Fatalf("two photos, one kept each: %+v %v", items, err)
	}
	for i, it := range items {
		want := []psim.SentItem{sent[0], sent[2]}[i] // sent[1] repeats sent[0]'s uuid
		if it.UUID != want.UUID || it.SHA256 != want.SHA256 || it.Size != want.Size || it.State != pruvan.ItemPending ||
			it.VerificationLink != "https://validator.example/v/"+it.UUID {
			t.Fatalf("item %d: %+v, sent %+v", i, it, want)
		}
		body, ct, err := wd.w.OpenAttachment(wd.ctx, it.Attachment())
		if err != nil || ct != "image/jpeg" {
			t.Fatalf("open: %v %q", err, ct)
		}
		h := sha256.New()
		n, _ := io.Copy(h, body)
		body.Close()
		if hex.EncodeToString(h.Sum(nil)) != want.SHA256 || n != want.Size {
			t.Fatalf("photo %d altered in the order book", i)
		}
	}
	r, err := wd.w.Get(wd.ctx, pid)
	if err != nil || len(r.Feedback) != 2 || len(r.Feedback[0].Attachments) != 1 || !strings.Contains(r.Feedback[0].Text, "Pruvan Validator") {
		t.Fatalf("feedback: %+v %v", r, err)
	}
	if err := wd.w.Relay(wd.ctx, "WO-1", items[0].UUID, pruvan.ItemRelayed, "P-1", "T1", "task T1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := wd.w.OpenAttachment(wd.ctx, items[0].Attachment()); !vendorapi.IsNotFound(err) {
		t.Fatalf("a relayed photo is no longer kept: %v", err)
	}
	// The order ends: what was not relayed never will be, and its bytes go.
	if err := wd.w.Close(wd.ctx, "WO-1", pruvan.StatusCancelled); err != nil {
		t.Fatal(err)
	}
	items, _ = wd.w.Items(wd.ctx, "WO-1")
	if items[1].State != pruvan.ItemFailed || !strings.Contains(items[1].Detail, "ended (Cancelled)") || items[0].State != pruvan.ItemRelayed {
		t.Fatalf("after the close: %+v", items)
	}
	if _, _, err := wd.w.OpenAttachment(wd.ctx, items[1].Attachment()); !vendorapi.IsNotFound(err) {
		t.Fatalf("an unrelayable photo is no longer kept: %v", err)
	}
}

// An unknown method is 404; a wrong password is a HookError 401, decided before anything is
// read (the API answers it like an unknown connection).
func TestHookRefusals(t *testing.T) {
	wd := newWorld(t, pruvan.Options{})
	_, err := wd.w.HandleHook(wd.ctx, nil, vendorapi.HookRequest{Path: "deleteEverything", Method: http.MethodPost})
	var he *vendorapi.HookError
	if !errors.As(err, &he) || he.Status != http.StatusNotFound {
		t.Fatalf("unknown method: %v", err)
	}
	body := `payload={"username":"ts-acme","password":"0000","token":"tok-acme","pushKey":"x"}`
	_, err = wd.w.HandleHook(wd.ctx, nil, vendorapi.HookRequest{Path: "validate", Method: http.MethodPost, Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("bad credentials: %v", err)
	}
}
