// Package sim is a fake request portal that receives ticketsync's events (contracts/portal.md,
// "Simulator"). It verifies signatures exactly like a real receiver, dedupes on webhook-id,
// checks per-ticket ordering and injects the faults the sender must survive. Tests use the Go
// accessors; humans use GET /_sim/ (HTML) and /_sim/events (JSON).
package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
)

// DedupeMode decides what the receiver does with a repeated webhook-id.
type DedupeMode int

const (
	// Tolerant answers 200 to a repeat without recording it again (contract step 6).
	Tolerant DedupeMode = iota
	// Intolerant behaves like a naive receiver: it records the repeat again (Duplicate=true),
	// so tests can assert how many duplicates the sender produced.
	Intolerant
)

// Options configure a Receiver.
type Options struct {
	Secrets   []stdwebhooks.Secret // accepted secrets (rotation: any verifies)
	Tolerance time.Duration        // timestamp tolerance, default stdwebhooks.DefaultTolerance
	Now       func() time.Time     // receiver clock, default time.Now (Faults.ClockSkew is added)
	Dedupe    DedupeMode
	MaxBody   int64 // default 1 MiB
}

// Faults are injected in this order of precedence; counters count down per request.
type Faults struct {
	Gone            bool          // answer 410 to every delivery until cleared
	FailNext        int           // next N deliveries: 500
	RateLimitNext   int           // next N: 429 with Retry-After
	UnavailableNext int           // next N: 503 with Retry-After
	RetryAfter      time.Duration // for 429/503, default 1 s (sent as whole seconds, min 1)
	SlowNext        int           // next N accepted deliveries: record, then ack after SlowDelay
	SlowDelay       time.Duration // default 11 s (past the sender's 10 s ack deadline)
	HTMLNext        int           // next N accepted deliveries: 200 with an HTML body
	ClockSkew       time.Duration // added to the receiver's clock when checking webhook-timestamp
}

// Received is one accepted (verified, processed) delivery.
type Received struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	Body      []byte       `json:"-"`
	Event     portal.Event `json:"-"`
	Headers   http.Header  `json:"headers"`
	At        time.Time    `json:"at"`
	Attempt   int          `json:"attempt"`
	Duplicate bool         `json:"duplicate,omitempty"` // Intolerant mode: a repeat of an earlier id
}

// Request is one HTTP request seen, accepted or not, with the status answered.
type Request struct {
	ID      string    `json:"id"`
	Attempt int       `json:"attempt"`
	Status  int       `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Violation is a per-ticket ordering problem seen on arrival.
type Violation struct {
	TicketID string `json:"ticketId"`
	EventID  string `json:"eventId"`
	Message  string `json:"message"`
}

type ticketState struct {
	status  string // last status announced by ticket.status_changed ("" before the first)
	closed  bool
	arrival []string // event ids in arrival order
}

// Receiver is the fake portal; it is an http.Handler.
type Receiver struct {
	opts Options

	mu         sync.Mutex
	faults     Faults
	events     []Received
	seen       map[string]bool
	duplicates map[string]int
	requests   []Request
	violations []Violation
	tickets    map[string]*ticketState
	changed    chan struct{} // closed and replaced on every change (WaitFor)
}

// New builds a Receiver.
func New(opts Options) *Receiver {
	if opts.Tolerance <= 0 {
		opts.Tolerance = stdwebhooks.DefaultTolerance
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	r := &Receiver{opts: opts}
	r.resetLocked()
	return r
}

func (r *Receiver) resetLocked() {
	r.events = nil
	r.seen = map[string]bool{}
	r.duplicates = map[string]int{}
	r.requests = nil
	r.violations = nil
	r.tickets = map[string]*ticketState{}
	if r.changed != nil {
		close(r.changed)
	}
	r.changed = make(chan struct{})
}

// Reset forgets everything received (faults and secrets stay).
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resetLocked()
}

// SetFaults replaces the injected faults.
func (r *Receiver) SetFaults(f Faults) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = f
}

// SetSecrets replaces the accepted secrets (rotation scenarios).
func (r *Receiver) SetSecrets(s []stdwebhooks.Secret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Secrets = append([]stdwebhooks.Secret(nil), s...)
}

// Events returns the accepted deliveries in arrival order.
func (r *Receiver) Events() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.events...)
}

// EventsFor returns one ticket's accepted deliveries in arrival order.
func (r *Receiver) EventsFor(ticketID string) []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Received
	for _, e := range r.events {
		if e.Event.Ticket.ID == ticketID {
			out = append(out, e)
		}
	}
	return out
}

// Duplicates counts repeats per webhook-id after the first acceptance (both modes).
func (r *Receiver) Duplicates() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.duplicates))
	for k, v := range r.duplicates {
		out[k] = v
	}
	return out
}

// Requests lists every delivery request with the status answered (including rejected ones).
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Violations lists ordering problems: a status_changed whose previousStatus is not the
// ticket's last announced status (null first), ticket.closed not right after the
// status_changed to its terminal status, or any event after ticket.closed.
func (r *Receiver) Violations() []Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Violation(nil), r.violations...)
}

// WaitFor blocks until cond holds for the accepted deliveries or ctx ends.
func (r *Receiver) WaitFor(ctx context.Context, cond func([]Received) bool) error {
	for {
		r.mu.Lock()
		ok := cond(append([]Received(nil), r.events...))
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("portal sim: condition not met: %w", ctx.Err())
		case <-ch:
		}
	}
}

func (r *Receiver) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// ServeHTTP: GET /_sim/ and /_sim/events for inspection; a POST anywhere else is a delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path == "/_sim/events" && req.Method == http.MethodGet:
		r.serveJSON(w, req)
	case (req.URL.Path == "/_sim/" || req.URL.Path == "/_sim") && req.Method == http.MethodGet:
		r.serveHTML(w)
	case strings.HasPrefix(req.URL.Path, "/_sim"):
		http.NotFound(w, req)
	case req.Method == http.MethodPost:
		r.deliver(w, req)
	default:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST events here", http.StatusMethodNotAllowed)
	}
}

func (r *Receiver) deliver(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBody)) // raw bytes first (step 1)
	id := req.Header.Get(portal.HeaderWebhookID)
	attempt, _ := strconv.Atoi(req.Header.Get(portal.HeaderDeliveryAttempt))

	r.mu.Lock()
	reply := func(status int, reason string) {
		r.requests = append(r.requests, Request{ID: id, Attempt: attempt, Status: status, Reason: reason, At: r.opts.Now()})
		retryAfter := retryAfterSeconds(r.faults.RetryAfter)
		r.notifyLocked()
		r.mu.Unlock()
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		http.Error(w, reason, status)
	}
	f := &r.faults
	if err != nil {
		reply(http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	switch {
	case f.Gone:
		reply(http.StatusGone, "endpoint disabled")
		return
	case f.FailNext > 0:
		f.FailNext--
		reply(http.StatusInternalServerError, "injected failure")
		return
	case f.RateLimitNext > 0:
		f.RateLimitNext--
		reply(http.StatusTooManyRequests, "injected rate limit")
		return
	case f.UnavailableNext > 0:
		f.UnavailableNext--
		reply(http.StatusServiceUnavailable, "injected unavailability")
		return
	}
	now := r.opts.Now().Add(f.ClockSkew)
	if err := stdwebhooks.Verify(r.opts.Secrets, id, req.Header.Get(portal.HeaderWebhookTS),
		req.Header.Get(portal.HeaderWebhookSig), body, now, r.opts.Tolerance); err != nil {
		reply(http.StatusUnauthorized, "signature verification failed: "+err.Error())
		return
	}
	ev, err := portal.ParseEvent(body)
	if err != nil {
		reply(http.StatusBadRequest, err.Error())
		return
	}
	if ev.ID != id {
		reply(http.StatusBadRequest, "body id differs from webhook-id")
		return
	}

	dup := r.seen[id]
	if dup {
		r.duplicates[id]++
		if r.opts.Dedupe == Tolerant {
			reply(http.StatusOK, "duplicate ignored")
			return
		}
	}
	r.seen[id] = true
	r.events = append(r.events, Received{ID: id, Type: ev.Type, Body: body, Event: ev,
		Headers: req.Header.Clone(), At: r.opts.Now(), Attempt: attempt, Duplicate: dup})
	if !dup {
		r.checkOrderLocked(ev)
	}

	var delay time.Duration
	html := false
	if f.SlowNext > 0 {
		f.SlowNext--
		delay = f.SlowDelay
		if delay <= 0 {
			delay = 11 * time.Second
		}
	}
	if f.HTMLNext > 0 {
		f.HTMLNext--
		html = true
	}
	reason := ""
	if delay > 0 {
		reason = "slow ack"
	}
	if html {
		reason = strings.TrimPrefix(reason+", html body", ", ")
	}
	r.requests = append(r.requests, Request{ID: id, Attempt: attempt, Status: http.StatusOK, At: r.opts.Now(), Reason: reason})
	r.notifyLocked()
	r.mu.Unlock()

	if delay > 0 { // processed already; only the ack is late, as with a slow real portal
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
	}
	if html {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<!doctype html><html><body><h1>Thanks!</h1></body></html>")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received":true}`)
}

func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func (r *Receiver) checkOrderLocked(ev portal.Event) {
	t := r.tickets[ev.Ticket.ID]
	if t == nil {
		t = &ticketState{}
		r.tickets[ev.Ticket.ID] = t
	}
	t.arrival = append(t.arrival, ev.ID)
	bad := func(format string, a ...any) {
		r.violations = append(r.violations, Violation{TicketID: ev.Ticket.ID, EventID: ev.ID, Message: fmt.Sprintf(format, a...)})
	}
	if t.closed {
		bad("%s after ticket.closed", ev.Type)
	}
	switch ev.Type {
	case portal.TypeStatusChanged:
		if ev.Ticket.PreviousStatus != t.status {
			bad("previousStatus %q, but the last status sent was %q", ev.Ticket.PreviousStatus, t.status)
		}
		if ev.Ticket.Status == ev.Ticket.PreviousStatus {
			bad("status_changed to the same status %q", ev.Ticket.Status)
		}
		t.status = ev.Ticket.Status
	case portal.TypeClosed:
		if !ticket.IsTerminal(ev.Ticket.Status) || ev.Ticket.Status != t.status {
			bad("ticket.closed with status %q, but the last status sent was %q", ev.Ticket.Status, t.status)
		}
		t.closed = true
	}
}

type snapshot struct {
	Events     []jsonEvent    `json:"events"`
	Duplicates map[string]int `json:"duplicates"`
	Violations []Violation    `json:"violations"`
	Requests   []Request      `json:"requests"`
}

type jsonEvent struct {
	Received
	Body json.RawMessage `json:"body"`
}

func (r *Receiver) snapshot(ticket string) snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := snapshot{Duplicates: map[string]int{}, Violations: []Violation{}, Requests: []Request{}, Events: []jsonEvent{}}
	for _, e := range r.events {
		if ticket == "" || e.Event.Ticket.ID == ticket {
			s.Events = append(s.Events, jsonEvent{Received: e, Body: json.RawMessage(e.Body)})
		}
	}
	for k, v := range r.duplicates {
		s.Duplicates[k] = v
	}
	s.Violations = append(s.Violations, r.violations...)
	s.Requests = append(s.Requests, r.requests...)
	return s
}

// serveJSON lists everything; ?ticket=<id> filters events.
func (r *Receiver) serveJSON(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r.snapshot(req.URL.Query().Get("ticket")))
}

var page = template.Must(template.New("sim").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Portal simulator</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;font-size:90%}</style>
</head><body>
<h1>Portal simulator</h1>
<p>{{len .Events}} events accepted, {{len .Requests}} requests, {{len .Violations}} ordering violations. JSON: <a href="/_sim/events">/_sim/events</a></p>
<table><tr><th>at</th><th>ticket</th><th>type</th><th>status</th><th>id</th><th>attempt</th></tr>
{{range .Events}}<tr><td>{{.At.Format "15:04:05.000"}}</td><td>{{.Event.Ticket.ID}}</td><td>{{.Type}}</td><td>{{.Event.Ticket.PreviousStatus}} → {{.Event.Ticket.Status}}</td><td>{{.ID}}{{if .Duplicate}} (dup){{end}}</td><td>{{.Attempt}}</td></tr>
{{end}}</table>
{{if .Violations}}<h2>Ordering violations</h2><ul>{{range .Violations}}<li>{{.TicketID}} {{.EventID}}: {{.Message}}</li>{{end}}</ul>{{end}}
<h2>Requests</h2><table><tr><th>at</th><th>id</th><th>attempt</th><th>status</th><th>reason</th></tr>
{{range .Requests}}<tr><td>{{.At.Format "15:04:05.000"}}</td><td>{{.ID}}</td><td>{{.Attempt}}</td><td>{{.Status}}</td><td>{{.Reason}}</td></tr>
{{end}}</table></body></html>`))

func (r *Receiver) serveHTML(w http.ResponseWriter) {
	s := r.snapshot("")
	sort.SliceStable(s.Requests, func(i, j int) bool { return s.Requests[i].At.After(s.Requests[j].At) })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, s)
}
