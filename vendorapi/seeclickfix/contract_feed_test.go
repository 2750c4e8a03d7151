package seeclickfix_test

// Listing and the change feed: paging, inclusive whole-second boundaries, the overlap window,
// archived issues, crowded seconds.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// version identifies one delivered state of an issue.
type version struct {
	id int64
	at int64
}

// drain calls Changes until SCF has no more right now; it returns the delivered versions,
// the cursor and the number of requests made.
func drain(t *testing.T, c *seeclickfix.Client, cursor string) ([]version, string, int) {
	t.Helper()
	var out []version
	for n := 1; ; n++ {
		ch, err := c.Changes(context.Background(), cursor)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		for _, is := range ch.Issues {
			out = append(out, version{is.ID, is.UpdatedAt.Unix()})
		}
		cursor = ch.Cursor
		if !ch.More {
			return out, cursor, n
		}
		if n > 50 {
			t.Fatal("Changes never caught up")
		}
	}
}

// pollUntilQuiet drains repeatedly until a whole drain delivers nothing.
func pollUntilQuiet(t *testing.T, c *seeclickfix.Client, cursor string) ([]version, string) {
	t.Helper()
	var all []version
	for range 10 {
		got, next, _ := drain(t, c, cursor)
		cursor = next
		if len(got) == 0 {
			return all, cursor
		}
		all = append(all, got...)
	}
	t.Fatal("feed never went quiet")
	return nil, ""
}

// assertOnce checks that got holds exactly the versions in want, each once.
func assertOnce(t *testing.T, got, want []version) {
	t.Helper()
	seen := map[version]int{}
	for _, v := range got {
		seen[v]++
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("version %+v delivered %d times", v, n)
		}
	}
	for _, v := range want {
		if seen[v] == 0 {
			t.Errorf("version %+v never delivered", v)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("delivered %d distinct versions, want %d", len(seen), len(want))
	}
}

func versionOf(is sim.Issue) version { return version{is.ID, is.UpdatedAt.Unix()} }

func TestListIssuesPagingFiltersAndDefaults(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	var ids []int64
	for i := range 45 {
		is := report(t, e, sim.ReportInput{Summary: fmt.Sprintf("issue %d", i), RequestTypeID: 1001 + int64(i%2)})
		ids = append(ids, is.ID)
		e.clock.Advance(time.Second)
	}
	// Defaults: 20 per page, created_at DESC.
	p1, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Issues) != 20 || p1.Issues[0].ID != ids[44] || p1.Pagination.Page != 1 || p1.Pagination.PerPage != 20 ||
		p1.Pagination.Pages != 3 || p1.Pagination.NextPage == nil || *p1.Pagination.NextPage != 2 || p1.Pagination.PreviousPage != nil ||
		p1.Pagination.NextPageURL == "" {
		t.Fatalf("page 1 = %d issues, pagination %+v", len(p1.Issues), p1.Pagination)
	}
	p3, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{Page: 3})
	if len(p3.Issues) != 5 || p3.Pagination.NextPage != nil || p3.Issues[4].ID != ids[0] || *p3.Pagination.PreviousPage != 2 {
		t.Fatalf("last page = %d issues, %+v", len(p3.Issues), p3.Pagination)
	}
	// created_at bounds: after is >=, before is <.
	created := e.sim.Issues()
	mid := created[10].CreatedAt
	win, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{CreatedAfter: mid, CreatedBefore: mid.Add(3 * time.Second),
		Sort: "created_at", SortDirection: "ASC", PerPage: 100})
	if len(win.Issues) != 3 || win.Issues[0].ID != created[10].ID {
		t.Errorf("created window = %d issues", len(win.Issues))
	}
	// Request type filter and search.
	pot, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{RequestTypes: []int64{1001}, PerPage: 100})
	if len(pot.Issues) != 23 {
		t.Errorf("request type filter: %d issues", len(pot.Issues))
	}
	one, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{Search: "issue 17"})
	if len(one.Issues) != 1 || one.Issues[0].Summary != "issue 17" {
		t.Errorf("search: %+v", one.Issues)
	}
	// details=true carries comments and caps per_page at 20; the client refuses more.
	det, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{Details: true, PerPage: 20})
	if err != nil || len(det.Issues) != 20 || det.Issues[0].Comments == nil {
		t.Errorf("details page: %d issues, %v", len(det.Issues), err)
	}
	_, err = e.client.ListIssues(ctx, seeclickfix.IssueQuery{Details: true, PerPage: 50})
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument {
		t.Errorf("details with per_page 50: %+v", ve)
	}

	// Archived issues are excluded unless asked for.
	if _, err := e.sim.Transition(ids[0], sim.ActionClose, sim.CommentInput{Comment: "done"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Archive(ids[0]); err != nil {
		t.Fatal(err)
	}
	all, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{PerPage: 100})
	withArchived, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{PerPage: 100,
		Statuses: []string{seeclickfix.FilterOpen, seeclickfix.FilterAcknowledged, seeclickfix.FilterClosed, seeclickfix.FilterArchived}})
	if len(all.Issues) != 44 || len(withArchived.Issues) != 45 {
		t.Errorf("default list %d, with archived %d", len(all.Issues), len(withArchived.Issues))
	}
}

func TestUpdatedAtBoundariesAreInclusiveWholeSeconds(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	a := report(t, e, sim.ReportInput{Summary: "a"})
	e.clock.Advance(1500 * time.Millisecond)
	b := report(t, e, sim.ReportInput{Summary: "b"})
	if b.UpdatedAt.Nanosecond() != 0 || a.UpdatedAt.Equal(b.UpdatedAt) {
		t.Fatalf("sim timestamps: %v %v", a.UpdatedAt, b.UpdatedAt)
	}
	// >= b's second, even when asked with sub-second precision (floored to the second).
	got, _ := e.client.ListIssues(ctx, seeclickfix.IssueQuery{UpdatedAfter: b.UpdatedAt.Add(900 * time.Millisecond)})
	if len(got.Issues) != 1 || got.Issues[0].ID != b.ID {
		t.Errorf("updated_at_after = b: %+v", got.Issues)
	}
	got, _ = e.client.ListIssues(ctx, seeclickfix.IssueQuery{UpdatedBefore: b.UpdatedAt})
	if len(got.Issues) != 1 || got.Issues[0].ID != a.ID {
		t.Errorf("updated_at_before = b (exclusive): %+v", got.Issues)
	}
	if s := seeclickfix.FormatTime(time.Date(2026, 2, 10, 8, 15, 19, 999, time.FixedZone("EST", -5*3600))); s != "2026-02-10T13:15:19Z" {
		t.Errorf("FormatTime = %s", s)
	}
}

func TestChangesPagesAndDedupesBoundary(t *testing.T) {
	e := newEnv(t, noLimit())
	start := e.clock.Now()
	var want []version
	for i := range 230 {
		want = append(want, versionOf(report(t, e, sim.ReportInput{Summary: fmt.Sprintf("n%d", i)})))
		if i%3 == 0 {
			e.clock.Advance(time.Second) // ties of up to three issues per second
		}
	}
	got, cursor, requests := drain(t, e.client, seeclickfix.StartCursor(start))
	assertOnce(t, got, want)
	if !slices.IsSortedFunc(got, func(a, b version) int { return int(a.at - b.at) }) {
		t.Error("feed not in updated_at order")
	}
	if requests > 4 {
		t.Errorf("%d requests for 230 issues", requests)
	}
	// Quiet: nothing new, one request.
	again, cursor, requests := drain(t, e.client, cursor)
	if len(again) != 0 || requests != 1 {
		t.Fatalf("quiet poll delivered %d in %d requests", len(again), requests)
	}
	// A change in the very second of the watermark still arrives (inclusive boundary), and
	// the boundary's earlier issues are not delivered again.
	last := want[len(want)-1]
	c, err := e.sim.AddComment(last.id, sim.CommentInput{Comment: "same second", Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	sameSecond := report(t, e, sim.ReportInput{Summary: "same second"})
	if sameSecond.UpdatedAt.Unix() != last.at || c.CreatedAt.Unix() != last.at {
		t.Fatalf("clock moved: %v vs %d", sameSecond.UpdatedAt, last.at)
	}
	got, cursor, _ = drain(t, e.client, cursor)
	assertOnce(t, got, []version{versionOf(sameSecond)}) // the comment did not change last's updated_at
	// A later update of a delivered issue is a new version.
	e.clock.Advance(5 * time.Second)
	upd, _ := e.sim.AddComment(want[0].id, sim.CommentInput{Comment: "later", Name: "y"})
	got, _, _ = drain(t, e.client, cursor)
	if len(got) != 1 || got[0].id != want[0].id || got[0].at != upd.CreatedAt.Unix() {
		t.Fatalf("later update: %+v", got)
	}

	_, err = e.client.Changes(context.Background(), "not a cursor")
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument || ve.Retryable {
		t.Errorf("bad cursor: %+v", ve)
	}
}

func TestChangesOverlapCatchesLateCommits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		overlap time.Duration
		late    time.Duration
		caught  bool
	}{
		{"inside the default window", 0, 20 * time.Second, true},
		{"outside a 5s window", 5 * time.Second, 20 * time.Second, false},
		{"no overlap", -1, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, noLimit(), func(c *seeclickfix.Config) { c.FeedOverlap = tc.overlap })
			start := e.clock.Now()
			early := report(t, e, sim.ReportInput{Summary: "early"})
			e.clock.Advance(time.Minute)
			report(t, e, sim.ReportInput{Summary: "watermark"})
			_, cursor, _ := drain(t, e.client, seeclickfix.StartCursor(start))
			// A transaction that began before the watermark commits now, stamped in the past.
			e.clock.Advance(-tc.late)
			lateIs, err := e.sim.AddComment(early.ID, sim.CommentInput{Comment: "late", Name: "z"})
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(tc.late)
			got, _, _ := drain(t, e.client, cursor)
			caught := slices.Contains(got, version{early.ID, lateIs.CreatedAt.Unix()})
			if caught != tc.caught || len(got) > 1 {
				t.Errorf("late commit caught = %v (got %+v), want %v", caught, got, tc.caught)
			}
		})
	}
}

func TestChangesCrowdedSecondWithUpdatesWhilePaging(t *testing.T) {
	e := newEnv(t, noLimit())
	start := e.clock.Now().Add(-time.Hour)
	var want []version
	for i := range 250 { // one second, two and a half pages
		want = append(want, versionOf(report(t, e, sim.ReportInput{Summary: fmt.Sprintf("bulk %d", i)})))
	}
	cursor := seeclickfix.StartCursor(start)
	var got []version
	step := func() bool {
		ch, err := e.client.Changes(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range ch.Issues {
			got = append(got, version{is.ID, is.UpdatedAt.Unix()})
		}
		cursor = ch.Cursor
		return ch.More
	}
	step() // page 1 of the first query
	step() // page 1 again from the new watermark: nothing new, on to page 2
	// Meanwhile 30 issues of page 1 change, shifting the rest of the second forward a page.
	e.clock.Advance(time.Second)
	for _, v := range want[:30] {
		is, err := e.sim.Transition(v.id, sim.ActionAcknowledge, sim.CommentInput{Comment: "on it"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, versionOf(is))
	}
	for step() {
	}
	rest, _ := pollUntilQuiet(t, e.client, cursor)
	assertOnce(t, append(got, rest...), want)
}

func TestChangesIncludeAutoArchivedIssues(t *testing.T) {
	e := newEnv(t, noLimit())
	start := e.clock.Now()
	is := report(t, e, sim.ReportInput{Summary: "to archive"})
	if _, err := e.sim.Transition(is.ID, sim.ActionClose, sim.CommentInput{Comment: "fixed"}); err != nil {
		t.Fatal(err)
	}
	_, cursor, _ := drain(t, e.client, seeclickfix.StartCursor(start))
	e.clock.Advance(8 * 24 * time.Hour)
	ch, err := e.client.Changes(context.Background(), cursor)
	if err != nil || len(ch.Issues) != 1 || ch.Issues[0].Status != seeclickfix.StatusArchived {
		t.Fatalf("archived issue in feed: %+v, %v", ch.Issues, err)
	}
}
