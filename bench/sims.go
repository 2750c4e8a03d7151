package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// Vendor call kinds, as the simulator's door tells them apart.
const (
	OpToken   = "token"   // POST /oauth/token
	OpGet     = "get"     // GET /api/v1/workrequests/{id}: a per-ticket read
	OpFeed    = "feed"    // GET /api/v1/workrequests?modifiedSince|cursor: the change feed
	OpSweep   = "sweep"   // the same listing with limit=SweepPage: the connection-level sweep
	OpLookup  = "lookup"  // GET /api/v1/workrequests?externalReference=…
	OpCreate  = "create"  // POST /api/v1/workrequests
	OpCancel  = "cancel"  // POST …/{id}/cancel
	OpComment = "comment" // POST …/{id}/comments
	OpOther   = "other"
)

// SweepPage is the page size the connection-level sweep asks for (activities/feed.go); the
// follower's regular reads ask for less, which is how the door tells the two apart.
const SweepPage = "500"

// NaiveUserAgent marks the naive poller's calls so they are counted apart.
const NaiveUserAgent = "ticketsync-bench-naive/1"

// classify names the vendor call a request is.
func classify(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/oauth/token":
		return OpToken
	case p == "/api/v1/workrequests" || p == "/api/v1/workrequests/":
		if r.Method == http.MethodPost {
			return OpCreate
		}
		q := r.URL.Query()
		switch {
		case q.Get("externalReference") != "":
			return OpLookup
		case q.Get("limit") == SweepPage:
			return OpSweep
		default:
			return OpFeed
		}
	case strings.HasPrefix(p, "/api/v1/workrequests/"):
		rest := strings.TrimPrefix(p, "/api/v1/workrequests/")
		_, action, _ := strings.Cut(rest, "/")
		switch action {
		case "":
			return OpGet
		case "cancel":
			return OpCancel
		case "comments":
			return OpComment
		}
	}
	return OpOther
}

// Counts are vendor calls by kind.
type Counts map[string]int64

// Total is every call but token requests (the simulator's own APICalls counts the same).
func (c Counts) Total() int64 {
	var n int64
	for k, v := range c {
		if k != OpToken {
			n += v
		}
	}
	return n
}

// Sub is c − base, kind by kind.
func (c Counts) Sub(base Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if d := v - base[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// twhDoor stands in front of the TheWorxHub simulator: it counts every call by kind and by
// caller (ticketsync or the naive poller), counts per-request reads, and fails feed reads
// while the feed is switched off.
type twhDoor struct {
	sim      *twhsim.Server
	feedDown atomic.Bool

	mu       sync.Mutex
	stack    Counts
	naive    Counts
	failed   int64            // feed reads answered 503 while the feed was down
	getsByID map[string]int32 // ticketsync's per-request reads
}

func newTWHDoor(sim *twhsim.Server) *twhDoor {
	return &twhDoor{sim: sim, stack: Counts{}, naive: Counts{}, getsByID: map[string]int32{}}
}

func (d *twhDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim") {
		d.sim.ServeHTTP(w, r)
		return
	}
	op := classify(r)
	naive := r.Header.Get("User-Agent") == NaiveUserAgent
	down := d.feedDown.Load() && !naive && (op == OpFeed || op == OpSweep)
	d.mu.Lock()
	if naive {
		d.naive[op]++
	} else {
		d.stack[op]++
		if op == OpGet {
			id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/v1/workrequests/"), "/")
			d.getsByID[id]++
		}
	}
	if down {
		d.failed++
	}
	d.mu.Unlock()
	if down {
		// What a broken feed looks like: a retryable server error, nothing listed.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"code":"server_error","message":"feed unavailable (bench: feed off)"}}`)
		return
	}
	d.sim.ServeHTTP(w, r)
}

// counts returns snapshots of ticketsync's and the naive poller's counters.
func (d *twhDoor) counts() (stack, naive Counts) {
	d.mu.Lock()
	defer d.mu.Unlock()
	stack, naive = Counts{}, Counts{}
	for k, v := range d.stack {
		stack[k] = v
	}
	for k, v := range d.naive {
		naive[k] = v
	}
	return stack, naive
}

// readsOf is how many times ticketsync read each of ids.
func (d *twhDoor) readsOf(ids []string) []int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = d.getsByID[id]
	}
	return out
}

// setPush drops (off) or delivers (on) the simulator's webhooks.
func (d *twhDoor) setPush(on bool) {
	f := d.sim.Faults()
	f.WebhookDropRate = 0
	if !on {
		f.WebhookDropRate = 1
	}
	d.sim.SetFaults(f)
}

// arrival is one event accepted by the portal receiver.
type arrival struct {
	At         time.Time
	EventID    string
	Type       string
	ExternalID string
	RemoteID   string
	Status     string
	FeedbackID string
}

// portalDoor stands in front of the portal receiver (which verifies signatures, dedupes and
// checks ordering) and reports every event it accepted, stamped with its arrival time.
type portalDoor struct {
	recv *portalsim.Receiver
	on   func(arrival)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (p *portalDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.recv.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	p.recv.ServeHTTP(rec, r)
	at := time.Now()
	if rec.status/100 != 2 || p.on == nil {
		return
	}
	var ev struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Ticket struct {
			ExternalID string  `json:"externalId"`
			RemoteID   *string `json:"remoteId"`
			Status     *string `json:"status"`
		} `json:"ticket"`
		Feedback *struct {
			ID string `json:"id"`
		} `json:"feedback"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return
	}
	a := arrival{At: at, EventID: ev.ID, Type: ev.Type, ExternalID: ev.Ticket.ExternalID}
	if ev.Ticket.RemoteID != nil {
		a.RemoteID = *ev.Ticket.RemoteID
	}
	if ev.Ticket.Status != nil {
		a.Status = *ev.Ticket.Status
	}
	if ev.Feedback != nil {
		a.FeedbackID = ev.Feedback.ID
	}
	p.on(a)
}
