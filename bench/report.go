package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/activities"
)

// Report is everything one run measured (the JSON of --json; Markdown renders it).
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     Host      `json:"host"`
	Settings Settings  `json:"settings"`

	Ceiling *Ceiling      `json:"ceiling,omitempty"`
	Create  CreateResult  `json:"create"`
	Quiet   *QuietResult  `json:"quiet,omitempty"`
	Phases  []PhaseResult `json:"phases"`
	Naive   *NaiveResult  `json:"naive,omitempty"`

	Resources   ResourceReport `json:"resources"`
	Comparisons []Comparison   `json:"comparisons"`
	Notes       []string       `json:"notes,omitempty"`
}

// Host describes the machine the figures come from.
type Host struct {
	CPUs      int     `json:"cpus"`
	GoVersion string  `json:"goVersion"`
	LoadAvg1  float64 `json:"loadAvg1"` // at start: other work on the machine skews every figure
}

// Settings are the run's effective settings.
type Settings struct {
	Tickets          int      `json:"tickets"`
	Duration         Duration `json:"duration"`
	ChangeRate       float64  `json:"changeRate"`
	PollInterval     Duration `json:"pollInterval"`
	RealPollInterval Duration `json:"realPollInterval"`
	Scale            float64  `json:"scale"`
	RelaxedInterval  Duration `json:"relaxedPollInterval"` // per-ticket timer with a healthy feed (bench time)
	FeedInterval     Duration `json:"feedInterval"`
	Push             bool     `json:"push"`
	Feed             bool     `json:"feed"`
	Store            string   `json:"store"`
	WorkflowPollers  int      `json:"workflowPollers"`
	WorkflowCache    int      `json:"workflowCache,omitempty"` // 0: the SDK's default
	Phases           []string `json:"phases"`
}

// Duration marshals as a Go duration string.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// CreateResult is the creation phase: N POSTs, concurrency at a time.
type CreateResult struct {
	Tickets int `json:"tickets"`
	// ToRemoteSeconds: first POST to the last request existing in TheWorxHub.
	ToRemoteSeconds float64 `json:"toRemoteSeconds"`
	PerSecond       float64 `json:"ticketsPerSecond"`
	// ToRequestedSeconds: first POST to the last Requested event at the portal.
	ToRequestedSeconds float64  `json:"toRequestedSeconds"`
	RequestedPerSecond float64  `json:"requestedPerSecond"`
	Concurrency        int      `json:"concurrency"`
	VendorCalls        Counts   `json:"vendorCalls"`
	FeedLag            *FeedLag `json:"feedLag,omitempty"` // when the last request was created
}

// QuietResult is the steady state without changes: what the safety nets cost.
type QuietResult struct {
	WindowSeconds float64 `json:"windowSeconds"` // bench time
	OpenTickets   int     `json:"openTickets"`
	SettleSeconds float64 `json:"settleSeconds"` // until every ticket had its first safety-net read
	Calls         Counts  `json:"calls"`
	SimAPICalls   int64   `json:"simApiCalls"` // the simulator's own counter over the window
	// PerTicketDay are calls per open ticket per real day, by kind: per-ticket kinds (get,
	// sweep) scaled by Settings.Scale, connection-level feed reads and tokens in real time.
	PerTicketDay      map[string]float64       `json:"callsPerTicketDay"`
	TotalPerTicketDay float64                  `json:"totalCallsPerTicketDay"`
	History           HistoryResult            `json:"history"`
	CPUSeconds        float64                  `json:"cpuSeconds"`
	Follower          *activities.FeedProgress `json:"follower,omitempty"`
	FeedLag           *FeedLag                 `json:"feedLag,omitempty"` // at the window's end
	// RelaxedReadsUnseen: the window ended before any ticket's relaxed read was due (a note says more).
	RelaxedReadsUnseen bool `json:"relaxedReadsUnseen,omitempty"`
}

// HistoryResult counts the Temporal history events of quiet sample tickets.
type HistoryResult struct {
	Sample             int     `json:"sample"`
	Counted            int     `json:"counted"`        // those whose run did not change in the window
	ContinuedAsNew     int     `json:"continuedAsNew"` // runs that continued as new in the window
	EventsInWindow     float64 `json:"meanEventsInWindow"`
	PerTicketDay       float64 `json:"eventsPerTicketDay"`
	PerTicketMonth     float64 `json:"eventsPerTicketMonth"`
	MeanHistoryLength  float64 `json:"meanRunLength"`  // of the current runs at the window's end
	MaxRunPollsPerRun  int     `json:"maxPollsPerRun"` // continue-as-new bound
	RunBoundEvents     int     `json:"runBoundEvents"` // ≈ events of a run at that bound
	QuietCycleEvents   float64 `json:"quietCycleEvents,omitempty"`
	SafetyNetPollsSeen int64   `json:"safetyNetPolls"`
}

// Latency summarises delivered changes, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50Ms"`
	P95  float64 `json:"p95Ms"`
	P99  float64 `json:"p99Ms"`
	Max  float64 `json:"maxMs"`
	Mean float64 `json:"meanMs"`
}

// PhaseResult is one change phase.
type PhaseResult struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Seconds     float64 `json:"seconds"`
	Changes     int     `json:"changes"`
	Skipped     int     `json:"skippedTicks"` // every ticket tried had a change in flight
	Lost        int     `json:"lost"`         // never arrived within the drain window
	Latency     Latency `json:"latency"`
	Calls       Counts  `json:"calls"`
	// GetsPerChange: per-ticket reads in the phase per change made (the safety nets' reads
	// in the same window are included).
	GetsPerChange float64 `json:"getsPerChange"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	// Follower is the change-feed follower's last heartbeat at the phase's end (counters since
	// it last started; the SDK sends heartbeats at most every ~48 s, so it may lag).
	Follower *activities.FeedProgress `json:"follower,omitempty"`
	FeedLag  *FeedLag                 `json:"feedLag,omitempty"` // at the phase's end
}

// FeedLag is how far the change-feed follower is behind the feed: a follower that falls behind
// a burst leaves the changes of the meantime to the pushes and the per-ticket timers.
type FeedLag struct {
	// BehindSeconds: the newest change in TheWorxHub minus the follower's saved watermark (0
	// when it has poked everything).
	BehindSeconds float64 `json:"behindSeconds"`
	Backlog       int     `json:"backlog"` // requests changed after the watermark
}

// NaiveResult is the cron-poller baseline on the same workload.
type NaiveResult struct {
	Phase             PhaseResult `json:"phase"`
	Cycles            int         `json:"cycles"`
	CallsPerCycle     float64     `json:"callsPerCycle"`
	CallsPerTicketDay float64     `json:"callsPerTicketDay"` // at the real poll interval
}

// ResourceReport samples the process (stack + bench) at the run's milestones.
type ResourceReport struct {
	Idle             Resources `json:"idle"`        // stack up, no tickets
	AfterCreate      Resources `json:"afterCreate"` // N open tickets
	End              Resources `json:"end"`
	RSSPerOpenTicket float64   `json:"rssBytesPerOpenTicket"` // (after quiet − idle) / N
	StoreBytes       int64     `json:"storeBytes"`
	StorePerTicket   float64   `json:"storeBytesPerTicket"`
	// Worker is the worker process's own, when it runs apart (--worker-process).
	Worker *WorkerResources `json:"worker,omitempty"`
	Note   string           `json:"note"`
}

// WorkerResources samples the worker child process at the same milestones.
type WorkerResources struct {
	Idle             Resources `json:"idle"`
	AfterCreate      Resources `json:"afterCreate"`
	End              Resources `json:"end"`
	RSSPerOpenTicket float64   `json:"rssBytesPerOpenTicket"` // (end − idle) / N
	Restarts         int64     `json:"restarts"`              // worker exits the bench restarted (0 in a healthy run)
}

// Comparison is one figure next to its baseline.
type Comparison struct {
	Figure     string  `json:"figure"`
	Ticketsync float64 `json:"ticketsync"`
	Baseline   float64 `json:"baseline"`
	BaselineOf string  `json:"baselineOf"` // "naive" | "ceiling" | "target"
	Ratio      float64 `json:"ratio"`      // ticketsync / baseline
	Unit       string  `json:"unit"`
}

// summarize computes nearest-rank percentiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{N: len(s), P50: ms(rank(0.50)), P95: ms(rank(0.95)), P99: ms(rank(0.99)), Max: ms(s[len(s)-1]),
		Mean: ms(sum / time.Duration(len(s)))}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Markdown renders the report as the tables docs/performance.md shows.
func (r *Report) Markdown() string {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "### ticketsync bench — %d open tickets, %s\n\n", s.Tickets, r.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Settings: poll interval %s standing for %s (scale ×%.0f, relaxed per-ticket timer %s), feed interval %s, push %s, feed %s, store %s, %g changes/s for %s per phase, %d workflow pollers; host %d CPUs, load %.1f at start.\n\n",
		time.Duration(s.PollInterval), time.Duration(s.RealPollInterval), s.Scale, time.Duration(s.RelaxedInterval), time.Duration(s.FeedInterval),
		onOff(s.Push), onOff(s.Feed), s.Store, s.ChangeRate, time.Duration(s.Duration), s.WorkflowPollers, r.Host.CPUs, r.Host.LoadAvg1)
	if s.WorkflowCache > 0 {
		fmt.Fprintf(&b, "Worker's workflow cache: %d.\n\n", s.WorkflowCache)
	}

	b.WriteString("| Figure | ticketsync | Baseline | Ratio |\n|---|---:|---:|---:|\n")
	for _, c := range r.Comparisons {
		fmt.Fprintf(&b, "| %s | %s %s | %s %s (%s) | %s |\n", c.Figure, num(c.Ticketsync), c.Unit, num(c.Baseline), c.Unit, c.BaselineOf, ratioText(c.Ratio))
	}
	b.WriteString("\n| Latency (staff change → portal) | n | p50 | p95 | p99 | max | lost |\n|---|---:|---:|---:|---:|---:|---:|\n")
	rows := slices.Clone(r.Phases)
	if r.Naive != nil {
		rows = append(rows, r.Naive.Phase)
	}
	for _, p := range rows {
		l := p.Latency
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d |\n", p.Description, l.N, msText(l.P50), msText(l.P95), msText(l.P99), msText(l.Max), p.Lost)
	}
	if q := r.Quiet; q != nil {
		b.WriteString("\n| Quiet steady state (per open ticket-day, real time) | value |\n|---|---:|\n")
		keys := make([]string, 0, len(q.PerTicketDay))
		for k := range q.PerTicketDay {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| vendor calls: %s | %s |\n", k, num(q.PerTicketDay[k]))
		}
		fmt.Fprintf(&b, "| **vendor calls, total** | **%s** |\n", num(q.TotalPerTicketDay))
		if q.RelaxedReadsUnseen {
			b.WriteString("| relaxed per-ticket reads | not due yet in this window (notes) |\n")
		}
		fmt.Fprintf(&b, "| Temporal history events (sample of %d) | %s |\n", q.History.Counted, num(q.History.PerTicketDay))
		fmt.Fprintf(&b, "| history events per ticket-month | %s |\n", num(q.History.PerTicketMonth))
		fmt.Fprintf(&b, "| window (bench time) | %.0f s over %d open tickets |\n", q.WindowSeconds, q.OpenTickets)
	}
	type lagAt struct {
		when string
		lag  *FeedLag
	}
	lags := []lagAt{{"creation's end", r.Create.FeedLag}}
	for _, p := range r.Phases {
		lags = append(lags, lagAt{p.Name + "'s end", p.FeedLag})
	}
	if r.Quiet != nil {
		lags = append(lags, lagAt{"quiet window's end", r.Quiet.FeedLag})
	}
	lags = slices.DeleteFunc(lags, func(l lagAt) bool { return l.lag == nil })
	if len(lags) > 0 {
		b.WriteString("\n| Feed follower, behind the feed at | newest change − watermark | changes after it |\n|---|---:|---:|\n")
		for _, l := range lags {
			fmt.Fprintf(&b, "| %s | %s s | %d |\n", l.when, num(l.lag.BehindSeconds), l.lag.Backlog)
		}
	}
	res := r.Resources
	title := "one process: Temporal server + worker + API + simulators"
	if res.Worker != nil {
		title = "this process: Temporal server + API + simulators; the worker apart, below"
	}
	fmt.Fprintf(&b, "\n| Resources (%s) | value |\n|---|---:|\n", title)
	fmt.Fprintf(&b, "| RSS idle / after create / end | %s / %s / %s |\n", mib(res.Idle.RSSBytes), mib(res.AfterCreate.RSSBytes), mib(res.End.RSSBytes))
	fmt.Fprintf(&b, "| peak RSS | %s |\n", mib(res.End.PeakRSSBytes))
	fmt.Fprintf(&b, "| at the end: Go heap / goroutine stacks / outside Go (SQLite) | %s / %s / %s (%d goroutines) |\n",
		mib(res.End.GoHeapBytes), mib(res.End.GoStackBytes), mib(res.End.NonGoBytes), res.End.Goroutines)
	fmt.Fprintf(&b, "| RSS per open ticket | %s KiB |\n", num(res.RSSPerOpenTicket/1024))
	fmt.Fprintf(&b, "| CPU seconds (whole run) | %s |\n", num(res.End.CPUSeconds))
	fmt.Fprintf(&b, "| store size | %s (%s bytes per ticket) |\n", mib(res.StoreBytes), num(res.StorePerTicket))
	if w := res.Worker; w != nil {
		fmt.Fprintf(&b, "\n| Worker process (`ticketsync worker`, apart) | value |\n|---|---:|\n")
		fmt.Fprintf(&b, "| worker RSS idle / after create / end | %s / %s / %s |\n", mib(w.Idle.RSSBytes), mib(w.AfterCreate.RSSBytes), mib(w.End.RSSBytes))
		fmt.Fprintf(&b, "| worker peak RSS | %s |\n", mib(w.End.PeakRSSBytes))
		fmt.Fprintf(&b, "| worker RSS per open ticket | %s KiB |\n", num(w.RSSPerOpenTicket/1024))
		fmt.Fprintf(&b, "| worker CPU seconds (whole run) | %s |\n", num(w.End.CPUSeconds))
		fmt.Fprintf(&b, "| worker restarts | %d |\n", w.Restarts)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func num(f float64) string {
	switch {
	case f == 0:
		return "0"
	case math.Abs(f) >= 100:
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 10:
		return fmt.Sprintf("%.1f", f)
	case math.Abs(f) >= 0.01:
		return fmt.Sprintf("%.2f", f)
	default:
		return fmt.Sprintf("%.4f", f)
	}
}

func ratioText(r float64) string {
	if r == 0 {
		return "–"
	}
	if r >= 10 || r < 0.1 {
		return fmt.Sprintf("%.3g×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

func msText(ms float64) string {
	if ms >= 10000 {
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%s ms", num(ms))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
