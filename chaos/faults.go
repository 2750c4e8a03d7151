package chaos

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// faultCounts counts faults by where they happened ("theworxhub", "portal", "worker", …) and
// kind, as ticketsync met them.
type faultCounts struct {
	mu sync.Mutex
	n  map[string]map[string]int
}

func newFaultCounts() *faultCounts { return &faultCounts{n: map[string]map[string]int{}} }

func (f *faultCounts) add(where, kind string) { f.addN(where, kind, 1) }

func (f *faultCounts) addN(where, kind string, n int) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[where] == nil {
		f.n[where] = map[string]int{}
	}
	f.n[where][kind] += n
}

func (f *faultCounts) get(where, kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[where][kind]
}

// byKind sums over every place: kind → count.
func (f *faultCounts) byKind() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, kinds := range f.n {
		for k, v := range kinds {
			out[k] += v
		}
	}
	return out
}

// lines are "where.kind: n" sorted, for the report.
func (f *faultCounts) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, where := range slices.Sorted(maps.Keys(f.n)) {
		for _, kind := range slices.Sorted(maps.Keys(f.n[where])) {
			out = append(out, fmt.Sprintf("faults %s %s: %d", where, kind, f.n[where][kind]))
		}
	}
	return out
}

func (f *faultCounts) total() int {
	n := 0
	for _, v := range f.byKind() {
		n += v
	}
	return n
}

func (f *faultCounts) summary() string {
	k := f.byKind()
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(k)) {
		parts = append(parts, fmt.Sprintf("%s=%d", shortKind(name), k[name]))
	}
	return strings.Join(parts, " ")
}

// shortKind is a fault kind's name on the progress line.
func shortKind(k string) string {
	if short, ok := shortKinds[k]; ok {
		return short
	}
	return k
}

var shortKinds = map[string]string{
	fault5xx: "5xx", fault429: "429", fault429NoRA: "429-no-retry-after", faultHTMLPage: "html-error",
	faultHTMLOn200: "html-200", faultAuth: "401", faultReset: "reset", faultTimeout: "timeout",
	faultSlowBody: "slow", faultDown: "down", faultKill: "kill", faultTemporal: "temporal-restart",
	faultStore: "store-outage", faultWebhookLos: "webhook-lost", faultWebhookDup: "webhook-dup",
	faultWebhookResent: "webhook-resent",
}

// schedule is the fault plan over the fault phase of a run, scaled to its length: the
// simulators' armed faults, the proxies' slow bodies, worker kills, Temporal restarts, store
// outages and a portal outage. Everything stops when the phase ends.
type schedule struct {
	st    *stack
	rng   *rand.Rand
	phase time.Duration
	out   func(string)
}

// run drives the plan until ctx ends or the phase is over, then clears every fault.
func (sc *schedule) run(ctx context.Context) {
	began := time.Now()
	end := began.Add(sc.phase)
	at := func(frac float64) time.Time { return began.Add(time.Duration(frac * float64(sc.phase))) }

	// One-off disruptions at fixed points of the phase, spread so each is survived on its own.
	temporalRestarts := []time.Time{at(0.45)}
	if sc.phase >= 2*time.Minute {
		temporalRestarts = []time.Time{at(0.35), at(0.7)}
	}
	storeOutages := []time.Time{at(0.25), at(0.6), at(0.85)}
	portalDown, portalUp := at(0.5), at(0.5).Add(min(30*time.Second, sc.phase/6))
	// Worker kills: every 15–30 s (shorter phases: at least three).
	killEvery := min(25*time.Second, sc.phase/4)
	nextKill := began.Add(killEvery / 2)

	base := twhsim.Faults{ErrorRate: 0.2, TokenRevokeRate: 0.01, WebhookDropRate: 0.2, WebhookDuplicate: 0.15,
		RetryAfterSeconds: 1}
	sc.st.twh.SetFaults(base)
	// Cubu: its S2S API fails like TheWorxHub's, its tokens are revoked and its token endpoint
	// has outages; every service webhook is sent twice at once.
	cubuBase := cubusim.Faults{ErrorRate: 0.2, TokenRevokeRate: 0.02, HookDuplicates: 1, RetryAfterSeconds: 1}
	sc.st.cubu.SetFaults(cubuBase)
	for _, p := range sc.st.proxies {
		p.setSlowRate(0.05)
	}
	for _, p := range sc.st.pairs {
		p.faults()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			sc.clear()
			return
		case now := <-tick.C:
			if now.After(end) {
				sc.clear()
				return
			}
			n++
			// Bursts every few seconds, so ticketsync meets each kind many times, on top of
			// what is still armed (SetFaults replaces the counters).
			f := sc.st.twh.Faults()
			f.ErrorRate, f.TokenRevokeRate, f.WebhookDropRate, f.WebhookDuplicate = base.ErrorRate, base.TokenRevokeRate, base.WebhookDropRate, base.WebhookDuplicate
			f.RetryAfterSeconds = base.RetryAfterSeconds
			changed := false
			// Top a counter up (never add to it): an API called rarely (Cubu's S2S) would
			// otherwise pile up a backlog that outlasts the fault phase.
			arm := func(every int, counter *int, to int) {
				changed = topUp(n, every, counter, to) || changed
			}
			arm(5, &f.RateLimitBurst, 3)
			arm(7, &f.Maintenance, 2)
			arm(9, &f.HTMLOn200, 1)
			arm(11, &f.DropAfterCreate, 1)
			if n%45 == 10 && f.SlowCreate == 0 { // a create held past the client's timeout: costs ~30 s, so rarely
				f.SlowCreate, f.SlowCreateDelay, changed = 1, 35*time.Second, true
			}
			if changed {
				sc.st.twh.SetFaults(f)
			}
			cf := sc.st.cubu.Faults()
			cf.ErrorRate, cf.TokenRevokeRate, cf.HookDuplicates, cf.RetryAfterSeconds = cubuBase.ErrorRate, cubuBase.TokenRevokeRate, cubuBase.HookDuplicates, cubuBase.RetryAfterSeconds
			changed = false
			arm(6, &cf.RateLimitBurst, 2)
			arm(8, &cf.Maintenance, 1)
			arm(10, &cf.HTMLOn200, 1)
			arm(13, &cf.TokenOutage, 1)
			if changed {
				sc.st.cubu.SetFaults(cf)
			}
			for _, p := range sc.st.pairs {
				p.tick(n)
			}
			// The portal receiver's counters cannot be read back: arm a round every 4 s.
			if n%4 == 0 {
				pf := portalsim.Faults{FailNext: 1, RateLimitNext: 1, UnavailableNext: 1, HTMLNext: 1, RetryAfter: time.Second}
				if n%12 == 0 {
					pf.SlowNext, pf.SlowDelay = 1, 11*time.Second // past the sender's 10 s ack deadline
				}
				sc.st.portal.SetFaults(pf)
			}

			if !now.Before(nextKill) {
				nextKill = now.Add(killEvery/2 + time.Duration(sc.rng.Int64N(int64(killEvery/2)+1)))
				sc.st.killWorker()
			}
			if len(temporalRestarts) > 0 && !now.Before(temporalRestarts[0]) {
				temporalRestarts = temporalRestarts[1:]
				sc.st.restartTemporal(ctx)
			}
			if len(storeOutages) > 0 && !now.Before(storeOutages[0]) {
				storeOutages = storeOutages[1:]
				go sc.st.storeOutage(ctx, 8*time.Second)
			}
			if !portalDown.IsZero() && !now.Before(portalDown) {
				portalDown = time.Time{}
				sc.out("portal receiver down")
				_ = sc.st.portalProxy.setDown(true)
			}
			if portalDown.IsZero() && !portalUp.IsZero() && !now.Before(portalUp) {
				portalUp = time.Time{}
				sc.out("portal receiver up")
				_ = sc.st.portalProxy.setDown(false)
			}
		}
	}
}

// clear stops every fault: what is left is for ticketsync to converge.
func (sc *schedule) clear() {
	sc.st.twh.SetFaults(twhsim.Faults{})
	sc.st.portal.SetFaults(portalsim.Faults{})
	sc.st.cubu.SetFaults(cubusim.Faults{})
	for _, p := range sc.st.proxies {
		p.setSlowRate(0)
	}
	for _, p := range sc.st.pairs {
		p.clear()
	}
	_ = sc.st.portalProxy.setDown(false)
}
