package seeclickfix_test

// Connector tests: the SeeClickFix request side (notifications, intake, import, catalog sink)
// against the simulator over real HTTP, with a fake work system as its peer. This file holds
// the helpers and the notifications; connector_*_test.go cover one topic each.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// areaGeometry is agency 7's service area: a box around the simulated city.
var areaGeometry = json.RawMessage(`{"type":"Polygon","coordinates":[[[-73.0,41.25],[-72.85,41.25],[-72.85,41.35],[-73.0,41.35],[-73.0,41.25]]]}`)

// fakeWork is the connection's work system as the request side sees it: requests raised
// directly in it (ForeignRequests) and the files of its feedback (AttachmentOpener).
type fakeWork struct {
	mu      sync.Mutex
	foreign []vendorapi.ForeignRequest
	files   map[string][]byte
	opens   int
	failOps int // the next N opens fail with a retryable error
}

func (f *fakeWork) Kind() string                      { return "cityworks" }
func (f *fakeWork) Reference(conn, ext string) string { return conn + ":" + ext }
func (f *fakeWork) Cancel(context.Context, string, string) (*vendorapi.RemoteRequest, error) {
	return nil, nil
}
func (f *fakeWork) FindByReference(context.Context, string) (*vendorapi.RemoteRequest, error) {
	return nil, nil
}
func (f *fakeWork) Create(context.Context, vendorapi.NewRequest) (string, error) { return "", nil }
func (f *fakeWork) Get(context.Context, string) (*vendorapi.RemoteRequest, error) {
	return nil, nil
}
func (f *fakeWork) AddComment(_ context.Context, _ string, c vendorapi.Comment) (vendorapi.Comment, error) {
	return c, nil
}
func (f *fakeWork) ImportsForeign() bool { return true }
func (f *fakeWork) ForeignRequests(_ context.Context, since time.Time) ([]vendorapi.ForeignRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vendorapi.ForeignRequest
	for _, r := range f.foreign {
		if !r.CreatedAt.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}
func (f *fakeWork) OpenAttachment(_ context.Context, a vendorapi.Attachment) (io.ReadCloser, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if f.failOps > 0 {
		f.failOps--
		return nil, "", &vendorapi.Error{Vendor: "cityworks", Op: "download", HTTPStatus: 503, Retryable: true}
	}
	data, ok := f.files[a.URL]
	if !ok {
		return nil, "", &vendorapi.Error{Vendor: "cityworks", Op: "download", HTTPStatus: 404}
	}
	return io.NopCloser(bytes.NewReader(data)), "", nil
}

type scfWorld struct {
	sim  *sim.Server
	srv  *httptest.Server
	conn *seeclickfix.Connector
	work *fakeWork
}

// newSCFWorld maps request types 1001 (Pothole) and 1003 (Streetlight Out) to the work side.
func newSCFWorld(t *testing.T, extra map[string]any) *scfWorld {
	t.Helper()
	s := sim.New(sim.Options{DisableRateLimit: true, Seed: 1,
		Agencies: []sim.Agency{{ID: 7, Name: "Public Works", Geometry: areaGeometry}}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	opts := map[string]any{"categories": []any{
		map[string]any{"requestType": 1001, "kind": "SR", "templateId": 101},
		map[string]any{"requestType": 1003, "kind": "SR", "templateId": 102},
	}, "agencies": []any{}}
	for k, v := range extra {
		opts[k] = v
	}
	conn, err := seeclickfix.NewConnector(seeclickfix.ConnectorConfig{Connection: "city-scf", Options: opts,
		WorkSideOptions: []string{"kind", "agencies", "importCityworksRequests"},
		Client: seeclickfix.Config{BaseURL: srv.URL, OrganizationID: sim.DefaultOrganizationID,
			Username: sim.DefaultUsername, Password: sim.DefaultPassword, UserAgent: "ticketsync/test"}})
	if err != nil {
		t.Fatal(err)
	}
	w := &scfWorld{sim: s, srv: srv, conn: conn, work: &fakeWork{files: map[string][]byte{}}}
	conn.UseWorkSystem(w.work)
	return w
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func (w *scfWorld) report(t *testing.T, in sim.ReportInput) sim.Issue {
	t.Helper()
	if in.Lat == 0 {
		in.Lat, in.Lng = sim.DefaultLat, sim.DefaultLng
	}
	is, err := w.sim.Report(in)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func note(ext int64, kind, status string) vendorapi.Notification {
	return vendorapi.Notification{ID: "evt_" + kind + status, Kind: kind, Status: status, ExternalID: itoa(ext), Attempt: 1}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// posts renders what ticketsync posted to an issue as "kind:comment".
func (w *scfWorld) posts(id int64) []string {
	var out []string
	for _, p := range w.sim.Posted(id) {
		if p.Via == "api" {
			out = append(out, p.Kind+":"+p.Comment)
		}
	}
	return out
}

func TestNotifyAcknowledgesAndCloses(t *testing.T) {
	w := newSCFWorld(t, map[string]any{"acknowledgeComment": "Crew assigned."})
	is := w.report(t, sim.ReportInput{Summary: "Pothole", RequestTypeID: 1001, Reporter: "Jane"})
	for _, n := range []vendorapi.Notification{
		note(is.ID, vendorapi.NotifyStatusChanged, ticket.Requested),  // nothing: not started yet
		note(is.ID, vendorapi.NotifyStatusChanged, ticket.InProgress), // acknowledge
		note(is.ID, vendorapi.NotifyStatusChanged, ticket.OnHold),     // already acknowledged
		note(is.ID, vendorapi.NotifyNeedsAttention, ""),               // never public
		note(is.ID, vendorapi.NotifyStatusChanged, ticket.Done),       // closed does it
		note(is.ID, vendorapi.NotifyClosed, ticket.Done),
		note(is.ID, vendorapi.NotifyClosed, ticket.Done), // a retry after a lost answer
	} {
		if err := w.conn.Notify(tctx(t), n); err != nil {
			t.Fatalf("%s %s: %v", n.Kind, n.Status, err)
		}
	}
	got := strings.Join(w.posts(is.ID), "|")
	if got != "acknowledge:Crew assigned.|close:"+seeclickfix.DefaultCloseComment {
		t.Fatalf("posted: %q", got)
	}
	if st, _ := w.sim.Issue(is.ID); st.Status != sim.StatusClosed {
		t.Fatalf("issue status %s", st.Status)
	}

	canceled := w.report(t, sim.ReportInput{Summary: "Pothole 2", RequestTypeID: 1001})
	if err := w.conn.Notify(tctx(t), note(canceled.ID, vendorapi.NotifyClosed, ticket.Canceled)); err != nil {
		t.Fatal(err)
	}
	if got := w.posts(canceled.ID); len(got) != 1 || got[0] != "close:"+seeclickfix.DefaultCancelComment {
		t.Fatalf("cancel: %q", got)
	}
	// Acknowledging an issue closed meanwhile (e.g. by the citizen) is not a failure.
	if err := w.conn.Notify(tctx(t), note(canceled.ID, vendorapi.NotifyStatusChanged, ticket.InProgress)); err != nil {
		t.Fatalf("acknowledge a closed issue: %v", err)
	}
	bad := note(0, vendorapi.NotifyClosed, ticket.Done)
	bad.ExternalID = "not-an-issue"
	if err := w.conn.Notify(tctx(t), bad); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("a bad external id must park the delivery: %v", err)
	}
}

func TestNotifyFeedbackWithImageOnce(t *testing.T) {
	w := newSCFWorld(t, nil)
	is := w.report(t, sim.ReportInput{Summary: "Light out", RequestTypeID: 1003, Reporter: "Jane"})
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0}
	w.work.files["cityworks:request-attachment:701"] = png
	w.work.failOps = 1
	fb := note(is.ID, vendorapi.NotifyFeedbackAdded, ticket.InProgress)
	fb.Feedback = &vendorapi.Feedback{ID: "attachment-701", Text: "All fixed, see photo", Author: "Pat",
		Attachments: []vendorapi.Attachment{{Name: "after.png", URL: "cityworks:request-attachment:701"}}}
	if err := w.conn.Notify(tctx(t), fb); err == nil || !vendorapi.IsRetryable(err) {
		t.Fatalf("a transient failure to read the image must be retried: %v", err)
	}
	fb.Attempt = 2
	if err := w.conn.Notify(tctx(t), fb); err != nil {
		t.Fatal(err)
	}
	fb.Attempt = 3 // its answer was lost: the retry finds the comment and posts nothing
	if err := w.conn.Notify(tctx(t), fb); err != nil {
		t.Fatal(err)
	}
	posted := w.sim.Posted(is.ID)
	if len(posted) != 1 || posted[0].Comment != "All fixed, see photo" || !bytes.Equal(posted[0].Image, png) || posted[0].Kind != "comment" {
		t.Fatalf("posted: %+v", posted)
	}
	// A file SCF cannot show is named instead; a text-only note goes as it is.
	w.work.files["cityworks:request-attachment:702"] = []byte("%PDF-1.4 report")
	fb2 := note(is.ID, vendorapi.NotifyFeedbackAdded, ticket.InProgress)
	fb2.Feedback = &vendorapi.Feedback{ID: "attachment-702", Text: "Report attached",
		Attachments: []vendorapi.Attachment{{Name: "report.pdf", URL: "cityworks:request-attachment:702"}}}
	fb3 := note(is.ID, vendorapi.NotifyFeedbackAdded, ticket.InProgress)
	fb3.Feedback = &vendorapi.Feedback{ID: "comment-9", Text: "Scheduled for Monday"}
	for _, n := range []vendorapi.Notification{fb2, fb3} {
		if err := w.conn.Notify(tctx(t), n); err != nil {
			t.Fatal(err)
		}
	}
	got := w.posts(is.ID)
	if len(got) != 3 || got[1] != "comment:Report attached\n(attachment: report.pdf)" || got[2] != "comment:Scheduled for Monday" {
		t.Fatalf("posted: %q", got)
	}
}

func TestValidate(t *testing.T) {
	w := newSCFWorld(t, nil)
	checks := w.conn.Validate(tctx(t))
	if len(checks) != 2 || !checks[0].OK || !checks[1].OK {
		t.Fatalf("checks: %+v", checks)
	}
	bad := newSCFWorld(t, map[string]any{"categories": []any{map[string]any{"requestType": 9999}}})
	checks = bad.conn.Validate(tctx(t))
	if checks[1].OK || !strings.Contains(checks[1].Detail, "9999") {
		t.Fatalf("unknown request type: %+v", checks)
	}
	_, err := seeclickfix.NewConnector(seeclickfix.ConnectorConfig{Options: map[string]any{"acknowledgeComent": "x"},
		Client: seeclickfix.Config{BaseURL: w.srv.URL, OrganizationID: 1, Token: "t"}})
	if err == nil || !strings.Contains(err.Error(), "acknowledgeComent") {
		t.Fatalf("an unknown option must be named: %v", err)
	}
}
