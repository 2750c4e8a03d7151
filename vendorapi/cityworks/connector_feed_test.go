package cityworks_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// The change feed lists our requests created, closed or cancelled since a time (paged), and
// spaces its reads; the import lists Cityworks-originated SRs inside an agency's area, and a
// ticket adopts one instead of creating a request.

func TestChangeFeedListsOurChangedRequests(t *testing.T) {
	w := newCWWorld(t, nil)
	since := time.Now().Add(-time.Minute)
	var ids []string
	for i := range 3 {
		id, err := w.conn.Create(ctx(t), request("feed-"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := w.cw.SetRequestStatus(w.srOf(t, ids[1]).RequestId, sim.SRClosed, ""); err != nil {
		t.Fatal(err)
	}
	// Staff's own request is not ours: the feed does not list it.
	if _, err := w.cw.CreateRequest(sim.NewRequest{ProblemSid: 101, Details: "walk-in"}); err != nil {
		t.Fatal(err)
	}
	page, err := w.conn.Changes(ctx(t), since, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	rest, err := w.conn.Changes(ctx(t), since, page.NextCursor, 2)
	if err != nil {
		t.Fatal(err)
	}
	items := append(page.Items, rest.Items...)
	if len(items) != 3 || rest.NextCursor != "" {
		t.Fatalf("items %+v next %q", items, rest.NextCursor)
	}
	for i, it := range items {
		ext, ok := w.conn.ParseReference(testConn, it.ExternalReference)
		if it.ID != ids[i] || !ok || ext != "feed-"+strconv.Itoa(i) || it.ModifiedAt.IsZero() {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	if items[1].Status != sim.SRClosed {
		t.Fatalf("closed request status %q", items[1].Status)
	}
	// A read right after another answers nothing (on-prem servers are spared) without error.
	again, err := w.conn.Changes(ctx(t), since, "", 10)
	if err != nil || len(again.Items) != 0 {
		t.Fatalf("spaced read: %+v %v", again, err)
	}
	if _, err := w.conn.Changes(ctx(t), since, "x", 10); err == nil {
		t.Fatal("an unreadable cursor must fail")
	}
}

func TestForeignRequestsInsideAgencyAreas(t *testing.T) {
	w := newCWWorld(t, func(o map[string]any) { o["importCityworksRequests"] = true })
	since := time.Now().Add(-time.Minute)
	staff := func(problem int, lat, lng float64, details string) int {
		v, err := w.cw.CreateRequest(sim.NewRequest{ProblemSid: problem, X: &lng, Y: &lat, Details: details, Address: "1 Elm St"})
		if err != nil {
			t.Fatal(err)
		}
		return v.RequestId
	}
	inside := staff(102, inLat, inLng, "light out by the library")
	staff(102, outLat, outLng, "out of town")                 // outside every agency
	staff(103, inLat, inLng, "graffiti: no category maps it") // GRAFFITI is not in options.categories
	closed := staff(101, inLat, inLng, "fixed already")
	if _, err := w.cw.SetRequestStatus(closed, sim.SRClosed, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.conn.Create(ctx(t), request("ours")); err != nil { // ours: never foreign
		t.Fatal(err)
	}
	list, err := w.conn.ForeignRequests(ctx(t), since)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("want only the open SR inside the area with a mapped problem, got %+v", list)
	}
	f := list[0]
	if f.RemoteID != "SR-"+strconv.Itoa(inside) || f.RequestType != "1003" || f.Agency != "7" || f.Title != "Streetlight Out" ||
		f.Description != "light out by the library" || *f.Location.Lat != inLat || *f.Location.Lng != inLng || f.Location.Address != "1 Elm St" {
		t.Fatalf("foreign request %+v", f)
	}
	if !w.conn.ImportsForeign() {
		t.Fatal("importCityworksRequests is on")
	}

	// The ticket of its imported issue adopts the SR: no second request in Cityworks.
	req := request("scf-555")
	req.Answers = map[string]string{vendorapi.AnswerAdoptRemoteID: f.RemoteID}
	before := len(w.cw.Requests())
	id, err := w.conn.Create(ctx(t), req)
	if err != nil || id != f.RemoteID || len(w.cw.Requests()) != before {
		t.Fatalf("adopt: %q %v (%d → %d requests)", id, err, before, len(w.cw.Requests()))
	}
	ours := w.cw.Requests()[len(w.cw.Requests())-1]
	req.Answers[vendorapi.AnswerAdoptRemoteID] = "SR-" + strconv.Itoa(ours.RequestId)
	if _, err := w.conn.Create(ctx(t), req); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("adopting one of our own requests must be refused for good: %v", err)
	}

	off := newCWWorld(t, nil)
	if off.conn.ImportsForeign() {
		t.Fatal("import is off by default")
	}
	if l, err := off.conn.ForeignRequests(ctx(t), since); err != nil || l != nil {
		t.Fatalf("import off: %+v %v", l, err)
	}
}
