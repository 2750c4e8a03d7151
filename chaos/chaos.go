// Package chaos proves that ticketsync loses nothing and duplicates nothing when everything
// around it breaks (`ticketsync chaos`, issue 12). One run:
//
//   - starts an embedded stack on loopback: the Temporal server, the store (SQLite, or a fresh
//     schema of a loopback PostgreSQL), the API in this process, the worker as a child process
//     (the binary's production `worker` mode, payload codec on), and the simulators of every
//     connector pair it drives behind fault proxies;
//   - drives every connector pair to a terminal status, dealing tickets to them in turn:
//     portal → TheWorxHub tickets created through the API, with residents commenting and
//     cancelling through it; Cubu → TheWorxHub cases queued at the (simulated) Cubu desk, whose
//     signed webhooks create the tickets and whose cases ticketsync resolves through Cubu's S2S
//     API when they are Done (staff play TheWorxHub for both; driver.go, check.go); and the
//     pairs of pair.go, each in its own file: SeeClickFix → Cityworks (scf.go) and Cyprexx →
//     Pruvan (cyprexx.go);
//   - meanwhile injects faults: 20 % 5xx, 429 bursts with Retry-After, HTML pages (error pages
//     and on 200), timeouts (a create committed and answered past the client's timeout),
//     connection resets after a committed create, slow bodies, lost and duplicated webhooks
//     (Cubu's refused ones sent again), revoked tokens and token-endpoint outages, portal
//     deliveries refused, throttled, answered with HTML or acked too late; the
//     worker is SIGKILLed and restarted every 15–30 s, the Temporal server restarted,
//     the store made unavailable, and the portal receiver taken down for a while;
//   - then stops the faults, waits for the tickets to settle and checks the invariants against
//     the simulators' truth: every ticket converged, no duplicate remote create, comment or
//     event, no lost event, feedback, comment or case resolve, per-ticket order kept,
//     redeliveries under their event id, nothing stuck without a needs-attention reason.
//
// The proxies count the faults as ticketsync met them (not as armed), by kind.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
)

// Bounds of a run.
const (
	MaxDuration   = 10 * time.Minute
	MinDuration   = 20 * time.Second
	MaxTickets    = 2000
	DefaultSettle = 3 * time.Minute
)

// Options configure Run.
type Options struct {
	Tickets int
	// Duration is how long faults are injected (MinDuration…MaxDuration). Tickets are created
	// over its first half; then the run waits up to Settle for every ticket to converge.
	Duration time.Duration
	Settle   time.Duration // default DefaultSettle
	// DatabaseURL "" runs the store on SQLite; a loopback postgres://… URL runs it in a fresh
	// schema (dropped afterwards) behind a proxy whose connections the run cuts.
	DatabaseURL string
	// Dir holds the run's data and logs (worker.log, chaos.log); "" = a temporary directory,
	// removed after a passing run unless KeepDir.
	Dir     string
	KeepDir bool
	Seed    uint64
	// Pairs are the connector pairs driven (names of PairNames); empty = every one. Tickets are
	// dealt to them in turn.
	Pairs []string
	// PollInterval is the per-ticket safety-net poll (default 30 s).
	PollInterval time.Duration
	// WorkerCommand builds the worker child process: the ticketsync binary in its `worker`
	// mode. The run sets its environment (TICKETSYNC_*) and output.
	WorkerCommand func() *exec.Cmd
	// Out receives the progress lines; Logger the stack's logs (default: Dir/chaos.log).
	Out    io.Writer
	Logger *slog.Logger
}

// Line is one "name: value" of the report.
type Line struct{ Name, Value string }

// Report is the outcome of a run.
type Report struct {
	Lines []Line
	OK    bool
	Dir   string // where the logs are (kept after a failing run)
}

// Print writes one "name: value" line per figure and invariant.
func (r *Report) Print(w io.Writer) {
	for _, l := range r.Lines {
		fmt.Fprintf(w, "%s: %s\n", l.Name, l.Value)
	}
}

// Validate checks the options' bounds; the errors name the flags.
func (o Options) Validate() error {
	var errs []error
	if o.Tickets < 1 || o.Tickets > MaxTickets {
		errs = append(errs, fmt.Errorf("--tickets must be between 1 and %d", MaxTickets))
	}
	if o.Duration < MinDuration || o.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("--duration must be between %s and %s", MinDuration, MaxDuration))
	}
	if o.Settle < 0 || o.Settle > MaxDuration {
		errs = append(errs, fmt.Errorf("--settle must be between 0 and %s", MaxDuration))
	}
	for _, name := range o.Pairs {
		if !slices.Contains(PairNames(), name) {
			errs = append(errs, fmt.Errorf("--pairs: unknown pair %q (pairs: %s)", name, strings.Join(PairNames(), ", ")))
		}
	}
	if o.WorkerCommand == nil {
		errs = append(errs, errors.New("no worker command"))
	}
	return errors.Join(errs...)
}

// Run performs one chaos run. It returns an error only when the run could not be carried out;
// failed invariants are in the report (OK false).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	tempDir := o.Dir == ""
	if tempDir {
		d, err := os.MkdirTemp("", "ticketsync-chaos-")
		if err != nil {
			return nil, err
		}
		o.Dir = d
	} else if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		f, err := os.OpenFile(filepath.Join(o.Dir, "chaos.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		o.Logger = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	began := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(o.Out, "chaos %s: %s\n", time.Since(began).Round(time.Second), fmt.Sprintf(format, a...))
	}

	faults := newFaultCounts()
	say("starting the embedded stack in %s (store: %s)", o.Dir, storeKind(o.DatabaseURL))
	st, err := start(ctx, o, faults)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			st.stop()
		}
	}()
	say("stack up in %s; %d tickets over %s of faults, then up to %s to settle", time.Since(began).Round(time.Second), o.Tickets, o.Duration, o.Settle)

	runCtx, cancelRun := context.WithTimeout(ctx, o.Duration+o.Settle)
	defer cancelRun()
	d := newDriver(st, o.Tickets, o.Seed, o.Pairs)
	driven := make(chan struct{})
	go func() { d.run(runCtx, o.Duration/2); close(driven) }()
	sc := &schedule{st: st, rng: rand.New(rand.NewPCG(o.Seed, 3)), phase: o.Duration, out: func(s string) { say("%s", s) }}
	faulting := make(chan struct{})
	go func() { sc.run(runCtx); close(faulting) }()

	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	phase := "faults"
	var v *verdict
	settleBy := time.Time{}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-faulting:
			faulting = nil
			phase, settleBy = "settling", time.Now().Add(o.Settle)
			say("faults stopped (%d injected); waiting for the tickets to settle", faults.total())
		case <-progress.C:
			line := fmt.Sprintf("[%s] tickets %d/%d created, %d played out; kills %d, Temporal restarts %d, store outages %d; faults %d (%s)",
				phase, d.created.Load(), o.Tickets, d.done.Load(), st.kills.Load(), st.restarts.Load(), st.outages.Load(), faults.total(), faults.summary())
			if phase == "settling" {
				if v, err = check(ctx, st, d); err == nil {
					line += "; " + v.summary()
					if v.ok() && int(d.done.Load()) == o.Tickets {
						say("%s", line)
						break loop
					}
				}
				if time.Now().After(settleBy) {
					say("%s", line)
					break loop
				}
			}
			say("%s", line)
		}
	}
	cancelRun()
	<-driven
	if faulting != nil {
		<-faulting
	}
	if v, err = check(context.WithoutCancel(ctx), st, d); err != nil {
		return nil, fmt.Errorf("final check: %w", err)
	}
	faults.addN("theworxhub", faultWebhookLos, st.twh.Stats().WebhooksDropped)
	for _, p := range st.pairs {
		p.count(faults)
	}
	for _, dl := range st.cubu.Deliveries() {
		switch {
		case dl.Copy > 0:
			faults.add("cubu", faultWebhookDup)
		case dl.ReplayOf > 0:
			faults.add("cubu", faultWebhookResent)
		}
	}
	rep := report(o, st, d, v, faults, time.Since(began))
	stopped = true
	st.stop()
	rep.Dir = o.Dir
	if rep.OK && tempDir && !o.KeepDir {
		_ = os.RemoveAll(o.Dir)
		rep.Dir = ""
	}
	return rep, nil
}

func storeKind(u string) string {
	if u == "" {
		return "SQLite"
	}
	return "PostgreSQL"
}

// report turns the verdict and the counters into the report's lines: figures first, then one
// line per invariant, then the result.
func report(o Options, st *stack, d *driver, v *verdict, faults *faultCounts, took time.Duration) *Report {
	r := &Report{OK: v.ok()}
	add := func(name string, format string, a ...any) {
		r.Lines = append(r.Lines, Line{name, fmt.Sprintf(format, a...)})
	}
	add("duration", "%s (faults %s, settle up to %s)", took.Round(time.Second), o.Duration, o.Settle)
	add("store", "%s", storeKind(o.DatabaseURL))
	add("tickets "+arrow(portalPair), "%d", v.perConnection[connectionID])
	add("tickets "+arrow(cubuPair), "%d", v.perConnection[cubuConnID])
	for _, p := range st.pairs {
		add("tickets "+arrow(p.name()), "%d", v.perConnection[p.conn()])
	}
	exercised := st.driven(v.perConnection)
	var missing []string
	for _, k := range append(connectors.RequestKinds(), connectors.WorkKinds()...) {
		if !slices.Contains(exercised, k) && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	add("kinds not driven", "%s", orNone(strings.Join(missing, ", ")))
	add("tickets created", "%d", v.created)
	add("scripts played out", "%d", v.scripted)
	for _, l := range faults.lines() {
		name, val, _ := strings.Cut(l, ": ")
		add(name, "%s", val)
	}
	byKind := faults.byKind()
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		add("faults total "+k, "%d", byKind[k])
	}
	add("worker kills survived", "%d", st.kills.Load())
	add("worker exits restarted", "%d", st.exits.Load())
	add("temporal restarts survived", "%d", st.restarts.Load())
	add("store outages survived", "%d", st.outages.Load())
	add("portal outages survived", "%d", faults.get("portal", faultDown))
	add("redeliveries (same event id)", "%d", v.redeliveries)
	if len(v.scriptErrors) > 0 {
		add("script errors", "%d (%s)", len(v.scriptErrors), firstN(v.scriptErrors, 3))
	}
	if len(v.attention) > 0 {
		add("needs attention", "%d (%s)", len(v.attention), firstN(v.attention, 3))
	}
	if v.held > 0 {
		add("held behind needs-attention", "%d", v.held)
	}
	add("late (still retrying at the end)", "%d", v.late)
	if len(v.blocked) > 0 {
		add("deliveries abandoned without a needs-attention reason", "%d (%s)", len(v.blocked), firstN(v.blocked, 2))
	}
	// The invariants.
	add("converged", "%d/%d", v.converged, v.tickets)
	if len(v.notConverged) > 0 {
		add("not converged", "%s", firstN(v.notConverged, 5))
	}
	add("duplicate remote creates", "%d", v.dupCreates)
	add("duplicate remote comments", "%d", v.dupComments)
	add("duplicate feedback events", "%d", v.dupFeedback)
	add("redelivery id changes", "%d", v.idChanges)
	for _, name := range slices.Sorted(maps.Keys(v.dupBy)) {
		add(name, "%d", v.dupBy[name])
	}
	add("duplicates", "%d", v.duplicates())
	add("lost creates", "%d", v.lostCreates)
	add("lost events", "%d", v.lostEvents)
	add("lost feedback", "%d", v.lostFeedback)
	add("lost comments", "%d", v.lostComments)
	add("lost case resolves", "%d", v.lostResolves)
	for _, name := range slices.Sorted(maps.Keys(v.lostBy)) {
		add(name, "%d", v.lostBy[name])
	}
	add("lost", "%d", v.lost())
	add("order violations", "%d", v.orderViolations)
	add("timeline gaps", "%d", v.timelineGaps)
	add("stuck without reason", "%d", v.stuck)
	if r.OK {
		add("result", "PASS")
	} else {
		add("result", "FAIL")
	}
	return r
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
