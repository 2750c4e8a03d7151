package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/workflows"
)

// runner holds one run's moving parts.
type runner struct {
	o       Options
	e       *env
	tr      *tracker
	staff   *staff
	prog    *progress
	r       *Report
	exts    []string  // every ticket
	created time.Time // when the first ticket was asked for
	sample  []string  // quiet tickets whose history is counted (never changed)
	changes []string  // tickets staff may change
}

// Run plays the phases and returns the report. The report is returned with what was measured
// even when a later phase fails (err says which).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.Defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	rn := &runner{o: o, tr: newTracker(), r: &Report{Started: time.Now().UTC(), Host: host(), Settings: settingsOf(o)}}
	e, err := start(ctx, &rn.o, rn.tr.arrive)
	if err != nil {
		return nil, err
	}
	rn.e = e
	defer e.stop()
	rn.prog = newProgress(o.Progress, rn)
	defer rn.prog.stop()
	rn.r.Resources.Idle = milestone()
	if e.worker != nil {
		rn.r.Resources.Worker = &WorkerResources{Idle: e.worker.sample()}
	}
	err = rn.play(ctx)
	rn.finish(ctx)
	return rn.r, err
}

func (rn *runner) play(ctx context.Context) error {
	o := rn.o
	if o.plays(PhaseCeiling) {
		rn.prog.enter(PhaseCeiling)
		c, err := runCeiling(ctx, rn.e.stack.App.Temporal, o.CeilingWorkflows, o.Concurrency, o.WorkflowPollers)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		rn.r.Ceiling = &c
	}
	if err := rn.create(ctx); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	rn.r.Resources.AfterCreate = milestone()
	if w := rn.r.Resources.Worker; w != nil {
		w.AfterCreate = rn.e.worker.sample()
	}
	n := min(o.HistorySample, len(rn.exts)/2)
	rn.sample, rn.changes = rn.exts[:n], rn.exts[n:]
	st, err := newStaff(rn.e.twh, rn.tr, rn.changes, 42)
	if err != nil {
		return err
	}
	rn.staff = st
	if o.plays(PhaseQuiet) {
		if err := rn.quiet(ctx); err != nil {
			return fmt.Errorf("quiet: %w", err)
		}
	}
	if o.plays(PhasePush) {
		if err := rn.changePhase(ctx, PhasePush, "push (webhook) + feed", true, o.Feed, 0, 0); err != nil {
			return err
		}
	}
	if o.plays(PhaseNaive) {
		if err := rn.naive(ctx); err != nil {
			return fmt.Errorf("naive: %w", err)
		}
	}
	if o.plays(PhaseFeed) {
		// A change made while the feed was stretched waits up to its longest stretch.
		stretched := activities.MaxFeedStretch * o.FeedInterval
		if err := rn.changePhase(ctx, PhaseFeed, "feed only (pushes dropped)", false, true, feedWarmup(o), stretched); err != nil {
			return err
		}
	}
	if o.plays(PhaseTimer) {
		// A ticket not woken yet waits for its relaxed timer.
		if err := rn.changePhase(ctx, PhaseTimer, "timer only (pushes dropped, feed failing)", false, false, timerWarmup(o), relaxed(o)); err != nil {
			return err
		}
	}
	return nil
}

// relaxed is the per-ticket safety-net interval of a quiet ticket whose feed is healthy.
func relaxed(o Options) time.Duration { return workflows.RelaxedPollInterval(o.PollInterval) }

// relaxedCycle is a relaxed interval plus the timers' jitter: a quiet window this long sees
// every ticket's relaxed read once.
func relaxedCycle(o Options) time.Duration {
	r := relaxed(o)
	return r + time.Duration(float64(r)*workflows.PollJitter)
}

// feedWarmup is how long after pushes stop the feed takes to notice: its interval, stretched
// up to the maximum while pushes kept up, snaps back at the first change no push announced.
func feedWarmup(o Options) time.Duration {
	if o.FeedWarmup > 0 {
		return o.FeedWarmup
	}
	return activities.MaxFeedStretch*o.FeedInterval + 2*o.FeedInterval + 5*time.Second
}

// timerWarmup is how long after the feed fails the tickets take to tighten their timers: the
// follower wakes them all once the feed kept failing, each reads once and then runs on the
// plain poll interval.
func timerWarmup(o Options) time.Duration {
	if o.TimerWarmup > 0 {
		return o.TimerWarmup
	}
	wake := time.Duration(o.Tickets) * 5 * time.Millisecond // pokes and reads, roughly
	return activities.FeedWakeAfter(o.FeedInterval) + wake + 2*o.PollInterval + 5*time.Second
}

func (rn *runner) create(ctx context.Context) error {
	o := rn.o
	rn.prog.enter(PhaseCreate)
	rn.exts = make([]string, o.Tickets)
	for i := range rn.exts {
		rn.exts[i] = fmt.Sprintf("bench-%06d", i)
	}
	calls0, _ := rn.e.twhDoor.counts()
	began := time.Now()
	rn.created = began
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, ext := range rn.exts {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := rn.e.createTicket(ctx, ext); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// Remote-created: the request exists in TheWorxHub. Requested: its event reached the portal.
	// A run gives up only when neither moved for stall.
	const stall = 5 * time.Minute
	progressed, last := time.Now(), -1
	for {
		n, _ := rn.tr.requestedCount()
		created := rn.e.twh.Stats().Creates
		if created >= o.Tickets && n >= o.Tickets {
			break
		}
		if created+n > last {
			progressed, last = time.Now(), created+n
		}
		if time.Since(progressed) > stall {
			return fmt.Errorf("only %d of %d requests created and %d Requested at the portal, nothing moved for %s", created, o.Tickets, n, stall)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	var lastRemote time.Time
	for _, wr := range rn.e.twh.Requests() {
		if wr.CreatedAt.After(lastRemote) {
			lastRemote = wr.CreatedAt
		}
	}
	_, lastRequested := rn.tr.requestedCount()
	calls1, _ := rn.e.twhDoor.counts()
	c := &rn.r.Create
	c.Tickets, c.Concurrency = o.Tickets, o.Concurrency
	c.ToRemoteSeconds = lastRemote.Sub(began).Seconds()
	c.PerSecond = ratio(float64(o.Tickets), c.ToRemoteSeconds)
	c.ToRequestedSeconds = lastRequested.Sub(began).Seconds()
	c.RequestedPerSecond = ratio(float64(o.Tickets), c.ToRequestedSeconds)
	c.VendorCalls = calls1.Sub(calls0)
	c.FeedLag = rn.feedLag(ctx)
	return nil
}

// remotes are the remote ids of exts.
func (rn *runner) remotes(exts []string) []string {
	out := make([]string, len(exts))
	for i, x := range exts {
		out[i] = rn.tr.remoteOf(x)
	}
	return out
}

// quiet waits until every ticket had its first safety-net read (from then on its timer runs
// relaxed), then counts what one relaxed cycle costs with nothing changing.
func (rn *runner) quiet(ctx context.Context) error {
	o := rn.o
	rn.prog.enter(PhaseQuiet + " (settling)")
	began := time.Now()
	all := rn.remotes(rn.exts)
	settle := o.Settle
	if settle <= 0 {
		settle = 2*time.Minute + 4*o.PollInterval
	}
	for {
		done := true
		for _, n := range rn.e.twhDoor.readsOf(all) {
			if n < 2 { // the read-back after the create, then the first safety-net read
				done = false
				break
			}
		}
		if done {
			break
		}
		if time.Since(began) > settle {
			rn.note("quiet: not every ticket had its first safety-net read within %s; measured anyway", settle)
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	q := &QuietResult{OpenTickets: len(rn.exts), SettleSeconds: time.Since(began).Seconds()}
	window := o.QuietWindow
	if window <= 0 {
		window = relaxedCycle(o)
	}
	rn.prog.enter(PhaseQuiet)
	c := rn.e.stack.App.Temporal
	type mark struct {
		n   int64
		run string
	}
	wf := make([]string, len(rn.sample))
	start := make([]mark, len(rn.sample))
	for i, x := range rn.sample {
		wf[i] = ticket.WorkflowID(Connection, x)
		n, run, err := historyLength(ctx, c, wf[i])
		if err != nil {
			return fmt.Errorf("history of %s: %w", wf[i], err)
		}
		start[i] = mark{n, run}
	}
	sampleRemotes := rn.remotes(rn.sample)
	reads0 := rn.e.twhDoor.readsOf(sampleRemotes)
	calls0, _ := rn.e.twhDoor.counts()
	sim0 := rn.e.twh.Stats().APICalls
	cpu0 := rn.cpuSeconds()
	t0 := time.Now()
	if err := sleep(ctx, window); err != nil {
		return err
	}
	w := time.Since(t0).Seconds()
	calls1, _ := rn.e.twhDoor.counts()
	q.SimAPICalls = int64(rn.e.twh.Stats().APICalls - sim0)
	q.CPUSeconds = rn.cpuSeconds() - cpu0
	reads1 := rn.e.twhDoor.readsOf(sampleRemotes)
	q.WindowSeconds = w
	q.Calls = calls1.Sub(calls0)
	if msg := relaxedUnseen(o, window, time.Since(rn.created)); msg != "" {
		q.RelaxedReadsUnseen = true
		rn.note("%s", msg)
	}
	q.PerTicketDay = map[string]float64{}
	scale := o.Scale()
	n := float64(len(rn.exts))
	for op, v := range q.Calls {
		f := 86400 / (w * n) // real-time calls (feed reads, tokens)
		if op == OpGet || op == OpSweep {
			f /= scale // per-ticket timing follows the poll interval
		}
		q.PerTicketDay[op] = float64(v) * f
		if op != OpToken {
			q.TotalPerTicketDay += float64(v) * f
		}
	}
	q.Follower = rn.follower(ctx)
	q.FeedLag = rn.feedLag(ctx)
	h := &q.History
	h.Sample = len(rn.sample)
	var sum, lens float64
	var polls int64
	for i := range rn.sample {
		polls += int64(reads1[i] - reads0[i])
		n, run, err := historyLength(ctx, c, wf[i])
		if err != nil {
			return fmt.Errorf("history of %s: %w", wf[i], err)
		}
		lens += float64(n)
		if run != start[i].run {
			h.ContinuedAsNew++
			continue
		}
		h.Counted++
		sum += float64(n - start[i].n)
	}
	h.SafetyNetPollsSeen = polls
	if h.Counted > 0 {
		h.EventsInWindow = sum / float64(h.Counted)
		h.PerTicketDay = h.EventsInWindow * 86400 / (w * scale)
		h.PerTicketMonth = h.PerTicketDay * 30
		h.MeanHistoryLength = lens / float64(len(rn.sample))
	}
	if polls > 0 {
		h.QuietCycleEvents = sum / float64(polls)
	}
	h.MaxRunPollsPerRun = workflows.MaxPollsPerRun
	h.RunBoundEvents = int(h.QuietCycleEvents * float64(workflows.MaxPollsPerRun))
	rn.r.Quiet = q
	return nil
}

// relaxedUnseen says why a quiet window saw none of the tickets' relaxed reads: a ticket's first
// relaxed read comes a poll interval plus a relaxed interval (less its jitter) after its
// creation, so a window shorter than the relaxed interval that ends before then counts only the
// connection's feed and sweep. A window of one relaxed interval sees every ticket's read.
func relaxedUnseen(o Options, window, sinceCreate time.Duration) string {
	r := relaxed(o)
	earliest := o.PollInterval + time.Duration(float64(r)*(1-workflows.PollJitter))
	if window >= r || sinceCreate >= earliest {
		return ""
	}
	return fmt.Sprintf("quiet: the window ended %s after the first ticket was created, before any relaxed per-ticket read was due (poll %s + relaxed %s): "+
		"vendor calls: get leaves out the one relaxed read a ticket makes per relaxed interval (scaled: %s); a window of %s or a shorter --poll-interval measures it",
		sinceCreate.Round(time.Second), o.PollInterval, r, workflows.RelaxedPollInterval(o.RealPollInterval), relaxedCycle(o))
}

// changePhase plays staff changes with pushes and the feed set as given: first for warmup
// (reported as the phase's transition, whose changes may take up to slowest to arrive), then
// for the phase's duration; after each it waits for the changes in flight.
func (rn *runner) changePhase(ctx context.Context, name, desc string, push, feed bool, warmup, slowest time.Duration) error {
	rn.e.twhDoor.setPush(push && rn.o.Push)
	rn.e.twhDoor.feedDown.Store(!(feed && rn.o.Feed))
	if warmup > 0 {
		res, err := rn.playPhase(ctx, name+"-transition", desc+", transition", warmup, rn.drain()+slowest, rn.tr)
		if err != nil {
			return err
		}
		rn.r.Phases = append(rn.r.Phases, res)
	}
	res, err := rn.playPhase(ctx, name, desc, rn.o.Duration, rn.drain(), rn.tr)
	if err != nil {
		return err
	}
	rn.r.Phases = append(rn.r.Phases, res)
	// Back to the run's settings for what follows.
	rn.e.twhDoor.setPush(rn.o.Push)
	rn.e.twhDoor.feedDown.Store(!rn.o.Feed)
	return nil
}

// drain is how long a phase waits for its changes in flight once it stopped changing: a
// change that has not arrived by then is lost.
func (rn *runner) drain() time.Duration {
	return 30*time.Second + 4*max(rn.o.PollInterval, rn.o.FeedInterval)
}

func (rn *runner) playPhase(ctx context.Context, name, desc string, d, drain time.Duration, tr *tracker) (PhaseResult, error) {
	rn.prog.enter(name)
	calls0, _ := rn.e.twhDoor.counts()
	cpu0 := rn.cpuSeconds()
	t0 := time.Now()
	made, skipped, err := rn.staff.play(ctx, tr, name, rn.o.ChangeRate, d)
	if err != nil {
		return PhaseResult{}, err
	}
	deadline := time.Now().Add(drain)
	for tr.pendingIn(name) > 0 && time.Now().Before(deadline) {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return PhaseResult{}, err
		}
	}
	lost := tr.dropPending(name)
	calls1, _ := rn.e.twhDoor.counts()
	res := PhaseResult{Name: name, Description: desc, Seconds: time.Since(t0).Seconds(), Changes: made, Skipped: skipped,
		Lost: lost, Latency: summarize(tr.latenciesOf(name)), Calls: calls1.Sub(calls0),
		CPUSeconds: rn.cpuSeconds() - cpu0}
	if made > 0 {
		res.GetsPerChange = float64(res.Calls[OpGet]) / float64(made)
	}
	res.Follower = rn.follower(ctx)
	res.FeedLag = rn.feedLag(ctx)
	return res, nil
}

// naive runs the cron-poller baseline on the same simulator and workload.
func (rn *runner) naive(ctx context.Context) error {
	rn.prog.enter(PhaseNaive + " (priming)")
	ntr := newTracker()
	byRemote := map[string]string{}
	for _, x := range rn.exts {
		byRemote[rn.tr.remoteOf(x)] = x
	}
	nv, err := rn.e.newNaive(ntr, byRemote)
	if err != nil {
		return err
	}
	if err := nv.prime(ctx); err != nil {
		return err
	}
	_, naive0 := rn.e.twhDoor.counts()
	cycles0 := nv.cyclesDone()
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- nv.run(pctx) }()
	res, err := rn.playPhase(ctx, PhaseNaive, fmt.Sprintf("naive cron poller (GET every open ticket every %s)", rn.o.PollInterval), rn.o.Duration, rn.drain(), ntr)
	cancel()
	if rerr := <-done; err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	_, naive1 := rn.e.twhDoor.counts()
	calls := naive1.Sub(naive0)
	res.Calls = calls
	if res.Changes > 0 {
		res.GetsPerChange = float64(calls[OpGet]) / float64(res.Changes)
	}
	nr := &NaiveResult{Phase: res, Cycles: nv.cyclesDone() - cycles0}
	if nr.Cycles > 0 {
		nr.CallsPerCycle = float64(calls.Total()) / float64(nr.Cycles)
		nr.CallsPerTicketDay = nr.CallsPerCycle / float64(len(rn.exts)) * 86400 / rn.o.RealPollInterval.Seconds()
	}
	rn.r.Naive = nr
	return nil
}

// follower snapshots the feed follower's heartbeat (nil when it cannot be read).
func (rn *runner) follower(ctx context.Context) *activities.FeedProgress {
	p, err := rn.e.followerProgress(ctx)
	if err != nil {
		rn.note("feed follower not read: %v", err)
		return nil
	}
	return &p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errors.Join(errStopped, ctx.Err())
	case <-t.C:
		return nil
	}
}
