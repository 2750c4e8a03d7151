package bench

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/workflows"
)

// The sweep reads back at least the span a quiet ticket's relaxed timer leaves uncovered.
func TestSweepWindowCoversTheRelaxedTimer(t *testing.T) {
	for _, p := range []time.Duration{time.Second, 5 * time.Second, time.Minute, 15 * time.Minute, time.Hour, 48 * time.Hour} {
		if s, r := activities.SweepWindow(p), workflows.RelaxedPollInterval(p); s < r {
			t.Errorf("poll %s: sweep window %s shorter than the relaxed timer %s", p, s, r)
		}
	}
}

func TestClassifyTellsVendorCallsApart(t *testing.T) {
	for _, tc := range []struct{ method, target, want string }{
		{"POST", "/oauth/token", OpToken},
		{"GET", "/api/v1/workrequests/104201", OpGet},
		{"GET", "/api/v1/workrequests?modifiedSince=2026-01-01T00:00:00.000Z&limit=200", OpFeed},
		{"GET", "/api/v1/workrequests?cursor=abc&limit=200", OpFeed},
		{"GET", "/api/v1/workrequests?modifiedSince=2026-01-01T00:00:00.000Z&limit=" + SweepPage, OpSweep},
		{"GET", "/api/v1/workrequests?externalReference=ticketsync%3Ac%3Ax", OpLookup},
		{"POST", "/api/v1/workrequests", OpCreate},
		{"POST", "/api/v1/workrequests/104201/cancel", OpCancel},
		{"POST", "/api/v1/workrequests/104201/comments", OpComment},
		{"GET", "/elsewhere", OpOther},
	} {
		if got := classify(httptest.NewRequest(tc.method, tc.target, nil)); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.target, got, tc.want)
		}
	}
	if SweepPage != "500" || activities.SweepPage != 500 {
		t.Fatalf("the door tells sweeps apart by page size: %s vs %d", SweepPage, activities.SweepPage)
	}
}

func TestCountsTotalLeavesTokensOut(t *testing.T) {
	c := Counts{OpGet: 10, OpFeed: 5, OpToken: 3}
	if c.Total() != 15 {
		t.Fatalf("total %d", c.Total())
	}
	d := c.Sub(Counts{OpGet: 4, OpToken: 3})
	if d[OpGet] != 6 || d[OpFeed] != 5 || len(d) != 2 {
		t.Fatalf("sub %v", d)
	}
}

func TestSummarizeUsesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.N != 200 || l.P50 != 100 || l.P95 != 190 || l.P99 != 198 || l.Max != 200 || l.Mean != 100.5 {
		t.Fatalf("%+v", l)
	}
	if (summarize(nil) != Latency{}) {
		t.Fatal("empty summary")
	}
}

// The tracker matches an arrival to the pending change of its ticket only when it is the
// change's own event.
func TestTrackerMatchesOnlyTheChangesOwnEvent(t *testing.T) {
	tr := newTracker()
	t0 := time.Now()
	tr.pending["x"] = &change{ext: "x", want: "OnHold", at: t0, phase: PhasePush}
	tr.pending["y"] = &change{ext: "y", feedback: true, want: "F-9", at: t0, phase: PhasePush}
	tr.arrive(arrival{At: t0.Add(time.Second), Type: "ticket.status_changed", ExternalID: "x", Status: "InProgress"})
	tr.arrive(arrival{At: t0.Add(2 * time.Second), Type: "ticket.status_changed", ExternalID: "x", Status: "OnHold"})
	tr.arrive(arrival{At: t0.Add(time.Second), Type: "ticket.feedback_added", ExternalID: "y", FeedbackID: "F-8"})
	if got := tr.latenciesOf(PhasePush); len(got) != 1 || got[0] != 2*time.Second {
		t.Fatalf("latencies %v", got)
	}
	if tr.pendingIn(PhasePush) != 1 || tr.dropPending(PhasePush) != 1 || tr.pendingIn(PhasePush) != 0 {
		t.Fatal("the feedback change should still be pending, then dropped")
	}
}

func TestOptionsValidateAndScale(t *testing.T) {
	o := Options{}
	o.Defaults()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Scale() != 180 {
		t.Fatalf("5s standing for 15m: scale %g", o.Scale())
	}
	bad := Options{Tickets: 5, PollInterval: 100 * time.Millisecond, Store: "oracle", Phases: []string{"warp"}}
	bad.Defaults()
	err := bad.Validate()
	for _, want := range []string{"--poll-interval", "--store", "warp"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	o.Push = false
	if o.plays(PhasePush) || !o.plays(PhaseCreate) {
		t.Fatal("push phase with --push off")
	}
}

// Markdown shows every figure the JSON holds, with its baseline and ratio.
func TestMarkdownShowsEveryFigure(t *testing.T) {
	r := &Report{Settings: Settings{Tickets: 10, PollInterval: Duration(time.Second), RealPollInterval: Duration(15 * time.Minute), Scale: 900},
		Phases: []PhaseResult{{Name: PhasePush, Description: "push (webhook) + feed", Latency: Latency{N: 3, P50: 12, P99: 40},
			FeedLag: &FeedLag{BehindSeconds: 1.5, Backlog: 2}}},
		Naive:   &NaiveResult{Phase: PhaseResult{Name: PhaseNaive, Description: "naive cron poller", Latency: Latency{N: 3, P50: 500}}},
		Quiet:   &QuietResult{PerTicketDay: map[string]float64{OpGet: 1, OpFeed: 0.5}, TotalPerTicketDay: 1.5, History: HistoryResult{Counted: 5, PerTicketDay: 7}},
		Ceiling: &Ceiling{PerSecond: 50}, Create: CreateResult{PerSecond: 40, FeedLag: &FeedLag{}}}
	r.Comparisons = (&runner{r: r}).comparisons()
	md := r.Markdown()
	for _, want := range []string{"creation throughput", "0.80×", "push (webhook) + feed | 3 | 12.0 ms", "naive cron poller",
		"vendor calls: get | 1.00", "**1.50**", "history events", "RSS", "store size",
		"| creation's end | 0 s | 0 |", "| push's end | 1.50 s | 2 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// A quiet window shorter than the relaxed interval that ends before any ticket's first relaxed
// read counts none of them: the report says so instead of a per-ticket figure that looks cheap.
func TestRelaxedUnseenFlagsAWindowBeforeTheFirstRelaxedRead(t *testing.T) {
	o := Options{PollInterval: 5 * time.Minute, RealPollInterval: 15 * time.Minute}
	r := relaxed(o) // 8 h
	for _, tc := range []struct {
		name                string
		window, sinceCreate time.Duration
		unseen              bool
	}{
		{"100k run: 15 min window, 2 h after the first ticket", 15 * time.Minute, 2 * time.Hour, true},
		{"a window of a whole relaxed interval", r, 2 * time.Hour, false},
		{"the first tickets' relaxed reads are due", 15 * time.Minute, o.PollInterval + r, false},
	} {
		msg := relaxedUnseen(o, tc.window, tc.sinceCreate)
		if (msg != "") != tc.unseen {
			t.Errorf("%s: %q", tc.name, msg)
		}
		if tc.unseen && !strings.Contains(msg, "8h0m0s") {
			t.Errorf("%s: the note names the relaxed interval: %q", tc.name, msg)
		}
	}
	md := (&Report{Quiet: &QuietResult{PerTicketDay: map[string]float64{}, RelaxedReadsUnseen: true}}).Markdown()
	if !strings.Contains(md, "relaxed per-ticket reads | not due yet") {
		t.Fatalf("the table flags the window:\n%s", md)
	}
}
