//go:build benchsmoke

package bench

// The bench's smoke run: a tiny run of every phase that proves the harness measures and
// reports every figure (the figures themselves mean nothing at this size). It starts the whole
// embedded stack, so it is not part of `go test ./...`:
//
//	go test -tags benchsmoke -count=1 -run TestBenchSmoke -timeout 10m ./bench/

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestBenchSmoke(t *testing.T) {
	o := Options{Tickets: 20, Duration: 5 * time.Second, ChangeRate: 2, PollInterval: time.Second, Push: true, Feed: true,
		FeedInterval: 250 * time.Millisecond, QuietWindow: 10 * time.Second, HistorySample: 4, CeilingWorkflows: 50}
	if testing.Verbose() {
		o.Progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.Ceiling == nil || r.Ceiling.PerSecond <= 0 {
		t.Errorf("no ceiling: %+v", r.Ceiling)
	}
	if r.Create.Tickets != 20 || r.Create.PerSecond <= 0 || r.Create.RequestedPerSecond <= 0 || r.Create.VendorCalls[OpCreate] != 20 {
		t.Errorf("creation: %+v", r.Create)
	}
	q := r.Quiet
	if q == nil || q.WindowSeconds <= 0 || q.TotalPerTicketDay <= 0 || q.SimAPICalls <= 0 || q.History.Counted+q.History.ContinuedAsNew != 4 {
		t.Errorf("quiet: %+v", q)
	}
	phases := map[string]PhaseResult{}
	for _, p := range r.Phases {
		phases[p.Name] = p
	}
	for _, name := range []string{PhasePush, PhaseFeed, PhaseFeed + "-transition", PhaseTimer, PhaseTimer + "-transition"} {
		p, ok := phases[name]
		if !ok || p.Changes == 0 || p.Latency.N == 0 || p.Latency.P99 <= 0 || p.Calls.Total() == 0 {
			t.Errorf("phase %s: %+v", name, p)
		}
	}
	// With pushes on the quiet feed stretched its interval; once the feed failed, the follower
	// woke every ticket, so timer-only changes arrived within a poll interval, not a relaxed one.
	if q != nil && q.Calls[OpFeed] >= int64(q.WindowSeconds/o.FeedInterval.Seconds()/2) {
		t.Errorf("quiet: %d feed reads in %.0f s at a %s base: the feed did not stretch", q.Calls[OpFeed], q.WindowSeconds, o.FeedInterval)
	}
	if p := phases[PhaseTimer]; time.Duration(p.Latency.Max*float64(time.Millisecond)) > relaxed(o)/2 {
		t.Errorf("timer phase: a change took %.0f ms: tickets were not woken", p.Latency.Max)
	}
	if n := r.Naive; n == nil || n.Phase.Latency.N == 0 || n.Cycles == 0 || n.CallsPerTicketDay <= 0 {
		t.Errorf("naive: %+v", r.Naive)
	}
	res := r.Resources
	if res.Idle.RSSBytes <= 0 || res.End.RSSBytes <= 0 || res.End.PeakRSSBytes <= 0 || res.End.CPUSeconds <= 0 || res.StoreBytes <= 0 {
		t.Errorf("resources: %+v", res)
	}
	figures := map[string]bool{}
	for _, c := range r.Comparisons {
		figures[c.Figure+" vs "+c.BaselineOf] = c.Ratio > 0
	}
	for _, want := range []string{
		"creation throughput (to remote-created) vs bare Temporal ceiling",
		"p99 latency, push (webhook) + feed vs naive poller",
		"p99 latency, feed only (pushes dropped) vs naive poller",
		"p99 latency, timer only (pushes dropped, feed failing) vs naive poller",
		"vendor calls per open ticket-day (quiet) vs naive poller",
		"vendor calls per open ticket-day (quiet) vs target",
		"history events per quiet ticket-day vs target",
	} {
		if _, ok := figures[want]; !ok {
			t.Errorf("no comparison %q (have %v)", want, figures)
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || len(back.Phases) != len(r.Phases) {
		t.Fatalf("JSON does not round-trip: %v", err)
	}
	if r.Create.FeedLag == nil || phases[PhasePush].FeedLag == nil {
		t.Errorf("the follower's lag was not measured: %+v, %+v", r.Create.FeedLag, phases[PhasePush].FeedLag)
	}
	md := r.Markdown()
	for _, want := range []string{"| creation's end |", "| creation throughput", "| push (webhook) + feed |", "| naive cron poller", "vendor calls, total", "history events", "RSS idle"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	t.Logf("\n%s", md)
}
