package bench

import (
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/portal"
)

// change is one staff change awaiting its event at the portal.
type change struct {
	ext, remoteID string
	feedback      bool   // feedback added (else a status change)
	want          string // the portal status, or the feedback id
	at            time.Time
	phase         string
}

// tracker matches the portal's arrivals to the staff changes (one pending change per ticket,
// so a change is never folded into the next) and to the creations.
type tracker struct {
	mu        sync.Mutex
	remote    map[string]string    // ext → remote id (from the Requested event)
	requested map[string]time.Time // ext → arrival of its Requested event
	pending   map[string]*change
	latencies map[string][]time.Duration // by phase
	arrivals  int64
	onMatch   func(ext string) // a ticket's pending change was delivered
}

func newTracker() *tracker {
	return &tracker{remote: map[string]string{}, requested: map[string]time.Time{}, pending: map[string]*change{},
		latencies: map[string][]time.Duration{}}
}

func (t *tracker) arrive(a arrival) {
	t.mu.Lock()
	t.arrivals++
	if a.Type == portal.TypeStatusChanged && a.Status == "Requested" {
		if _, ok := t.requested[a.ExternalID]; !ok {
			t.requested[a.ExternalID] = a.At
			t.remote[a.ExternalID] = a.RemoteID
		}
	}
	c, ok := t.pending[a.ExternalID]
	matched := ok && ((c.feedback && a.Type == portal.TypeFeedbackAdded && a.FeedbackID == c.want) ||
		(!c.feedback && a.Type == portal.TypeStatusChanged && a.Status == c.want))
	if matched {
		t.latencies[c.phase] = append(t.latencies[c.phase], a.At.Sub(c.at))
		delete(t.pending, a.ExternalID)
	}
	on := t.onMatch
	t.mu.Unlock()
	if matched && on != nil {
		on(a.ExternalID)
	}
}

// pendingIn counts the changes of a phase still awaiting their event.
func (t *tracker) pendingIn(phase string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.pending {
		if c.phase == phase {
			n++
		}
	}
	return n
}

// dropPending forgets the changes of a phase that never arrived (they count as lost).
func (t *tracker) dropPending(phase string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, c := range t.pending {
		if c.phase == phase {
			delete(t.pending, k)
			n++
		}
	}
	return n
}

func (t *tracker) latenciesOf(phase string) []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.latencies[phase]...)
}

// requestedCount is how many tickets reached Requested at the portal, and the last arrival.
func (t *tracker) requestedCount() (int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, at := range t.requested {
		if at.After(last) {
			last = at
		}
	}
	return len(t.requested), last
}

func (t *tracker) remoteOf(ext string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remote[ext]
}
