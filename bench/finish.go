package bench

// What a run ends with: the resources and the store sampled, the figures set next to their
// baselines, the settings and the host they were measured with.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// finish samples resources and the store and computes the comparisons.
func (rn *runner) finish(ctx context.Context) {
	r := rn.r
	r.Finished = time.Now().UTC()
	r.Resources.End = milestone()
	if rn.o.MemProfile != "" {
		if err := writeHeapProfile(rn.o.MemProfile); err != nil {
			rn.note("heap profile not written: %v", err)
		}
	}
	if w := r.Resources.Worker; w != nil {
		w.End, w.Restarts = rn.e.worker.sample(), rn.e.worker.restarts.Load()
		if len(rn.exts) > 0 {
			w.RSSPerOpenTicket = float64(w.End.RSSBytes-w.Idle.RSSBytes) / float64(len(rn.exts))
		}
		if w.Restarts > 0 {
			rn.note("the worker process exited %d times (restarted; its log was in the run's directory)", w.Restarts)
		}
	}
	if len(rn.exts) > 0 {
		r.Resources.RSSPerOpenTicket = float64(r.Resources.End.RSSBytes-r.Resources.Idle.RSSBytes) / float64(len(rn.exts))
	}
	if n, err := rn.e.storeBytes(ctx); err == nil {
		r.Resources.StoreBytes = n
		if len(rn.exts) > 0 {
			r.Resources.StorePerTicket = float64(n) / float64(len(rn.exts))
		}
	} else {
		rn.note("store size not read: %v", err)
	}
	r.Resources.Note = "one process holds the Temporal server (in-memory SQLite), the worker, the API and the bench's simulators, as `ticketsync dev` runs them; RSS per open ticket is (end − idle) / tickets"
	if r.Resources.Worker != nil {
		r.Resources.Note = "this process holds the Temporal server (SQLite in a file), the API and the bench's simulators; the worker runs apart as `ticketsync worker` (worker); CPU figures of phases add both; RSS per open ticket is (end − idle) / tickets"
	}
	r.Comparisons = rn.comparisons()
}

func (rn *runner) comparisons() []Comparison {
	r := rn.r
	var out []Comparison
	add := func(fig string, ts, base float64, of, unit string) {
		out = append(out, Comparison{Figure: fig, Ticketsync: ts, Baseline: base, BaselineOf: of, Ratio: ratio(ts, base), Unit: unit})
	}
	if r.Ceiling != nil && r.Create.PerSecond > 0 {
		add("creation throughput (to remote-created)", r.Create.PerSecond, r.Ceiling.PerSecond, "bare Temporal ceiling", "/s")
	}
	var naive *Latency
	var naiveCalls float64
	if r.Naive != nil {
		naive, naiveCalls = &r.Naive.Phase.Latency, r.Naive.CallsPerTicketDay
	}
	for _, p := range r.Phases {
		if strings.HasSuffix(p.Name, "-transition") || naive == nil || p.Latency.N == 0 {
			continue
		}
		add("p50 latency, "+p.Description, p.Latency.P50, naive.P50, "naive poller", "ms")
		add("p99 latency, "+p.Description, p.Latency.P99, naive.P99, "naive poller", "ms")
	}
	if q := r.Quiet; q != nil {
		if naive != nil {
			add("vendor calls per open ticket-day (quiet)", q.TotalPerTicketDay, naiveCalls, "naive poller", "")
		}
		add("vendor calls per open ticket-day (quiet)", q.TotalPerTicketDay, 2, "target", "")
		if q.History.Counted > 0 {
			add("history events per quiet ticket-day", q.History.PerTicketDay, 50, "target", "")
		}
	}
	return out
}

func (rn *runner) note(format string, a ...any) {
	rn.r.Notes = append(rn.r.Notes, fmt.Sprintf(format, a...))
}

func settingsOf(o Options) Settings {
	return Settings{Tickets: o.Tickets, Duration: Duration(o.Duration), ChangeRate: o.ChangeRate,
		PollInterval: Duration(o.PollInterval), RealPollInterval: Duration(o.RealPollInterval), Scale: o.Scale(),
		RelaxedInterval: Duration(relaxed(o)), FeedInterval: Duration(o.FeedInterval), Push: o.Push, Feed: o.Feed,
		Store: o.Store, WorkflowPollers: o.WorkflowPollers, WorkflowCache: o.WorkflowCache, Phases: o.Phases}
}

func host() Host {
	h := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			h.LoadAvg1, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return h
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
