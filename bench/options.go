package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/config"
)

// Phase names, in the order a run plays them.
const (
	PhaseCeiling = "ceiling" // bare Temporal: two no-op activities per workflow
	PhaseCreate  = "create"  // N tickets to remote-created (always runs)
	PhaseQuiet   = "quiet"   // steady state without changes: vendor calls and history per ticket-day
	PhasePush    = "push"    // staff changes with pushes (and the feed)
	PhaseFeed    = "feed"    // pushes dropped: the change feed brings the changes
	PhaseTimer   = "timer"   // pushes dropped and the feed failing: the per-ticket timers
	PhaseNaive   = "naive"   // baseline: a cron poller GETting every open ticket every interval
)

// AllPhases are the phases a default run plays.
var AllPhases = []string{PhaseCeiling, PhaseCreate, PhaseQuiet, PhasePush, PhaseNaive, PhaseFeed, PhaseTimer}

// Options configure a run. Zero values take the defaults below (Defaults).
type Options struct {
	Tickets    int           // --tickets: open tickets to create (default 1000)
	Duration   time.Duration // --duration: length of each change phase (default 60s)
	ChangeRate float64       // --change-rate: staff changes per second during change phases (default 2)
	// PollInterval is the per-ticket poll interval the stack runs with (--poll-interval,
	// default 5s); RealPollInterval is the production value it stands for (default 15m). Their
	// ratio scales per-ticket figures (calls, history events) from bench time to real time.
	PollInterval     time.Duration
	RealPollInterval time.Duration
	// FeedInterval is the change feed's base interval (--feed-interval, default 5s as in
	// production); feed reads run in real time and are not scaled.
	FeedInterval time.Duration
	Push         bool // --push on|off: TheWorxHub pushes (off: every webhook is dropped)
	Feed         bool // --feed on|off: the change feed works (off: every feed read fails)
	// Phases to play (default AllPhases; create always runs). Phases that contradict Push/Feed
	// (push with --push off, feed with --feed off) are skipped.
	Phases []string
	// QuietWindow is the quiet steady-state window; 0 = one relaxed per-ticket cycle plus
	// its jitter (so every ticket's safety-net timer fires about once in it).
	QuietWindow time.Duration
	// Settle bounds the wait for every ticket to finish its first safety-net read (default
	// 2 min + 4 poll intervals).
	Settle time.Duration
	// FeedWarmup and TimerWarmup are the transitions before the feed-only and timer-only
	// phases are measured (0 = long enough for the stretched feed to snap back, and for the
	// failing feed to wake every ticket); changes in them are reported as "transition".
	FeedWarmup, TimerWarmup time.Duration
	Store                   string // --store sqlite|postgres (default sqlite, in memory)
	DatabaseURL             string // --database-url for --store postgres (a fresh schema is made in it)
	HistorySample           int    // quiet tickets whose history is counted (default 20)
	// CeilingWorkflows is how many bare workflows the ceiling runs (default min(Tickets, 1000),
	// at least 100).
	CeilingWorkflows int
	Concurrency      int    // concurrent creates and ceiling starts (default 32)
	WorkflowPollers  int    // worker workflow-task pollers (default 8, the dev stack's)
	WorkflowCache    int    // --workflow-cache: the worker's sticky workflow cache (0 = the SDK's 10,000)
	MemProfile       string // heap profile written at the end, before the stack stops
	// WorkerCommand, when set, runs the worker as a child process (--worker-process: the
	// ticketsync binary's `worker`; the run sets its environment), so the worker's RSS and CPU
	// are measured apart from the server's.
	WorkerCommand func() *exec.Cmd
	Progress      io.Writer
	Logger        *slog.Logger
}

// Defaults fills zero values.
func (o *Options) Defaults() {
	if o.Tickets <= 0 {
		o.Tickets = 1000
	}
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.ChangeRate <= 0 {
		o.ChangeRate = 2
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.RealPollInterval <= 0 {
		o.RealPollInterval = 15 * time.Minute
	}
	if o.FeedInterval <= 0 {
		o.FeedInterval = 5 * time.Second // TICKETSYNC_FEED_INTERVAL's default
	}
	if len(o.Phases) == 0 {
		o.Phases = slices.Clone(AllPhases)
	}
	if o.Store == "" {
		o.Store = "sqlite"
	}
	if o.HistorySample <= 0 {
		o.HistorySample = 20
	}
	if o.CeilingWorkflows <= 0 {
		o.CeilingWorkflows = max(100, min(o.Tickets, 1000))
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.WorkflowPollers <= 0 {
		o.WorkflowPollers = 8
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Tickets < 1 {
		errs = append(errs, errors.New("--tickets must be at least 1"))
	}
	if o.PollInterval < time.Second {
		errs = append(errs, fmt.Errorf("--poll-interval %s: at least 1s (the stack's minimum)", o.PollInterval))
	}
	if o.RealPollInterval < o.PollInterval {
		errs = append(errs, fmt.Errorf("--real-poll-interval %s is shorter than --poll-interval %s", o.RealPollInterval, o.PollInterval))
	}
	for _, p := range o.Phases {
		if !slices.Contains(AllPhases, p) {
			errs = append(errs, fmt.Errorf("unknown phase %q (want %s)", p, strings.Join(AllPhases, ", ")))
		}
	}
	switch o.Store {
	case "sqlite":
	case "postgres":
		if o.DatabaseURL == "" {
			errs = append(errs, errors.New("--store postgres needs --database-url (or TICKETSYNC_DATABASE_URL)"))
		}
	default:
		errs = append(errs, fmt.Errorf("--store %q: want sqlite or postgres", o.Store))
	}
	if o.WorkflowCache < 0 || o.WorkflowCache > config.MaxWorkflowCache {
		errs = append(errs, fmt.Errorf("--workflow-cache %d: want 1 to %d (0: the SDK's default)", o.WorkflowCache, config.MaxWorkflowCache))
	}
	if o.ChangeRate > 1000 {
		errs = append(errs, fmt.Errorf("--change-rate %g: at most 1000 changes per second", o.ChangeRate))
	}
	return errors.Join(errs...)
}

// Scale is how many real seconds one bench second of per-ticket time stands for.
func (o *Options) Scale() float64 {
	return float64(o.RealPollInterval) / float64(o.PollInterval)
}

// plays reports whether the run plays phase p under the push/feed settings.
func (o *Options) plays(p string) bool {
	if p == PhaseCreate {
		return true
	}
	if !slices.Contains(o.Phases, p) {
		return false
	}
	switch p {
	case PhasePush:
		return o.Push
	case PhaseFeed:
		return o.Feed
	}
	return true
}
