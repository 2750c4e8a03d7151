package cityworks_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// 0001-01-01T00:00:00 decodes as null, offset-less dates as the tenant's wall clock, and ISO
// dates with Z as what they say, whichever way the server writes them.
func TestNullAndLocalDates(t *testing.T) {
	for _, iso := range []bool{false, true} {
		e := newEnv(t, sim.Options{ISODates: iso})
		sr := e.createSR(t, "ticketsync:c:dates")
		if !sr.DateTimeClosed.IsZero() || sr.DateTimeClosed.Ptr() != nil || !sr.DateCancelled.IsZero() {
			t.Fatalf("iso=%t: null dates = %v / %v", iso, sr.DateTimeClosed, sr.DateCancelled)
		}
		if !sr.DateTimeInit.Equal(e.clock.Now()) || sr.DateTimeInit.Location() != chicago {
			t.Fatalf("iso=%t: DateTimeInit = %v, want %v", iso, sr.DateTimeInit, e.clock.Now())
		}
		if h := sr.DateTimeInit.Hour(); h != 10 { // 15:04 UTC is 10:04 CDT
			t.Fatalf("iso=%t: tenant-local hour = %d", iso, h)
		}
	}
	// A client configured with the wrong zone reads offset-less dates hours off: the zone is
	// configuration, not something the wire tells.
	e := newEnv(t, sim.Options{}, func(c *cityworks.Config) { c.Location = time.UTC })
	sr := e.createSR(t, "ticketsync:c:utc")
	if d := sr.DateTimeInit.Sub(e.clock.Now()); d != -5*time.Hour {
		t.Fatalf("UTC-configured client read %v, off by %v; want -5h", sr.DateTimeInit, d)
	}
}

// The change feed: created, closed and cancelled since a time, inclusive at the boundary and
// sent as tenant wall clock.
func TestRequestsChangedSince(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a := e.createSR(t, "ticketsync:c:a")
	e.clock.Advance(time.Hour)
	t1 := e.clock.Now()
	b := e.createSR(t, "ticketsync:c:b")
	c := e.createSR(t, "ticketsync:c:c")
	e.clock.Advance(time.Hour)
	t2 := e.clock.Now()
	if _, err := e.client.CloseRequests(ctx, a.RequestId); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.client.CancelRequest(ctx, c.RequestId, "duplicate"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		since time.Time
		want  []int
	}{
		{t1.Add(-time.Second), []int{a.RequestId, b.RequestId, c.RequestId}},
		{t1, []int{a.RequestId, b.RequestId, c.RequestId}}, // b and c at exactly t1: inclusive
		{t1.Add(time.Second), []int{a.RequestId, c.RequestId}},
		{t2.In(time.FixedZone("JST", 9*3600)), []int{a.RequestId, c.RequestId}}, // any zone in, same instant
		{t2.Add(time.Second), []int{c.RequestId}},
		{e.clock.Now().Add(time.Second), nil},
	} {
		got, err := e.client.RequestsChangedSince(ctx, tc.since)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("since %v: %v, %v; want %v", tc.since, got, err, tc.want)
		}
	}
	// Explicit ranges are inclusive at both ends too.
	ids, err := e.client.SearchRequests(ctx, cityworks.RequestSearch{DateTimeInitBegin: cityworks.NewTime(t1),
		DateTimeInitEnd: cityworks.NewTime(t1)})
	if err != nil || !slices.Equal(ids, []int{b.RequestId, c.RequestId}) {
		t.Fatalf("init range [t1,t1] = %v, %v", ids, err)
	}
	yes := true
	ids, err = e.client.SearchRequests(ctx, cityworks.RequestSearch{Closed: &yes})
	if err != nil || !slices.Equal(ids, []int{a.RequestId}) {
		t.Fatalf("closed = %v, %v", ids, err)
	}
}

// Service requests staff entered directly in Cityworks (with X/Y) are found for import; ours
// are not.
func TestCreatedElsewhereSince(t *testing.T) {
	e := newEnv(t, sim.Options{})
	since := e.clock.Now()
	e.createSR(t, "ticketsync:c:ours")
	x, y := -87.63, 41.88
	staff, err := e.sim.CreateRequest(sim.NewRequest{ProblemSid: e.problem(t, "STLIGHT").ProblemSid, X: &x, Y: &y,
		Address: "50 W Washington St", Details: "Light out at the corner"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.client.CreatedElsewhereSince(context.Background(), since)
	if err != nil || len(got) != 1 || got[0].RequestId != staff.RequestId || got[0].SRX != x || got[0].SRY != y ||
		got[0].InitiatedByApp != sim.StaffApp || got[0].ProblemCode != "STLIGHT" {
		t.Fatalf("CreatedElsewhereSince = %+v, %v", got, err)
	}
}

// Requests in batches of at most 100 ids; MaxResults truncates searches (ascending ids).
func TestPaging(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	sid := e.problem(t, "GRAFFITI").ProblemSid
	var ids []int
	for range 250 {
		sr, err := e.client.CreateRequest(ctx, cityworks.NewServiceRequest{ProblemSid: sid})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sr.RequestId)
	}
	got, err := e.client.Requests(ctx, ids)
	if err != nil || len(got) != 250 || got[0].RequestId != ids[0] || got[249].RequestId != ids[249] {
		t.Fatalf("Requests: %d, %v", len(got), err)
	}
	if n := e.sim.Stats().Calls["ServiceRequest/ByIds"]; n != 3 {
		t.Fatalf("ByIds calls = %d, want 3 batches", n)
	}
	first, err := e.client.SearchRequests(ctx, cityworks.RequestSearch{MaxResults: 10})
	if err != nil || !slices.Equal(first, ids[:10]) {
		t.Fatalf("MaxResults 10 = %v, %v", first, err)
	}
	comments, err := e.client.CommentsByActivity(ctx, cityworks.ActivityRequest, ids...)
	if err != nil || len(comments) != 250 || e.sim.Stats().Calls["Comment/ByActivitySids"] != 3 {
		t.Fatalf("CommentsByActivity: %d activities, %v, %d calls", len(comments), err, e.sim.Stats().Calls["Comment/ByActivitySids"])
	}
}
