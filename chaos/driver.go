package chaos

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// tracked is one ticket of the run and what its people did to it: the truth to check against.
type tracked struct {
	conn     string // connectionID (portal), cubuConnID or an extra pair's
	label    string // chaos-0001…, for the report
	ext      string // the external id: the label for the portal, the request side's id otherwise (once raised)
	id       string // tkt_…
	script   string
	created  atomic.Bool
	remoteID atomic.Value // string: the simulator's request id once seen
	mu       sync.Mutex
	comments []string // requester comments accepted (by the API, or the request system)
	canceled bool     // the resident's cancel was accepted
	done     bool     // the script played to its end
	err      string   // why the script stopped early
}

func (t *tracked) remote() string { s, _ := t.remoteID.Load().(string); return s }

// ident is the external id and ticket id ("" until the ticket exists).
func (t *tracked) ident() (ext, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ext, t.id
}

// ref is the reference ticketsync gives the ticket's TheWorxHub request.
func (t *tracked) ref() string {
	ext, _ := t.ident()
	return theworxhub.ExternalReference(t.conn, ext)
}

// step is one action of a script: staff on the work system, or the resident through the API.
type step func(ctx context.Context, d *driver, t *tracked) error

type script struct {
	name  string
	steps []step
}

func staff(f func(s *twhsim.Server, id string) error) step {
	return func(_ context.Context, d *driver, t *tracked) error { return f(d.st.twh, t.remote()) }
}

func categorize(cat string) step {
	return staff(func(s *twhsim.Server, id string) error { _, err := s.SetCategory(id, cat); return err })
}

func move(status, feedback string, visible bool) step {
	return staff(func(s *twhsim.Server, id string) error {
		var fb *twhsim.FeedbackInput
		if feedback != "" {
			fb = &twhsim.FeedbackInput{Text: feedback, Author: "Maintenance desk", VisibleToRequestor: visible}
		}
		_, err := s.Transition(id, status, fb, false)
		return err
	})
}

func note(text string, visible bool) step {
	return staff(func(s *twhsim.Server, id string) error {
		_, err := s.AddFeedback(id, twhsim.FeedbackInput{Text: text, Author: "Front desk", VisibleToRequestor: visible})
		return err
	})
}

// residentComment is the resident answering; the script waits until the work system has it, so the
// next staff step reads it (and a comment that never arrives shows up as lost).
func residentComment(text string) step {
	return func(ctx context.Context, d *driver, t *tracked) error {
		_, id := t.ident()
		if err := d.api(ctx, http.MethodPost, "/v1/tickets/"+id+"/comments", map[string]string{"text": text, "author": "Resident"}); err != nil {
			return err
		}
		t.mu.Lock()
		t.comments = append(t.comments, text)
		t.mu.Unlock()
		return d.waitRemote(ctx, t, "the comment", func(wr twhsim.WorkRequest) bool {
			for _, c := range wr.Comments {
				if c.Text == text {
					return true
				}
			}
			return false
		})
	}
}

// residentCancel is the resident withdrawing the request through the API.
func residentCancel(reason string) step {
	return func(ctx context.Context, d *driver, t *tracked) error {
		_, id := t.ident()
		if err := d.api(ctx, http.MethodPost, "/v1/tickets/"+id+"/cancel", map[string]string{"reason": reason}); err != nil {
			return err
		}
		t.mu.Lock()
		t.canceled = true
		t.mu.Unlock()
		return d.waitRemote(ctx, t, "the cancel", func(wr twhsim.WorkRequest) bool { return wr.Status == twhsim.StatusCancelled })
	}
}

// scripts are realistic lives of a ticket, each ending in a terminal status.
var scripts = []script{
	{"completed with visible feedback", []step{categorize("Plumbing"), note("internal: part in van 3", false),
		move(twhsim.StatusCompleted, "The leak is fixed.", true)}},
	{"on hold, resident answers, completed", []step{categorize("Plumbing"),
		move(twhsim.StatusOnHold, "Which sink is leaking?", true), residentComment("The one in the guest bathroom."),
		move(twhsim.StatusInProgress, "", false), move(twhsim.StatusCompleted, "Fixed.", true)}},
	{"rejected", []step{move(twhsim.StatusRejected, "Handled by the landlord's contractor.", true)}},
	{"canceled by the resident", []step{categorize("Housekeeping"), residentCancel("Not needed any more")}},
	{"hidden feedback only", []step{categorize("IT"), note("internal: router reset scheduled", false),
		note("We will come by on Tuesday.", true), move(twhsim.StatusCompleted, "internal note", false)}},
}

// cubuScripts are the lives of a Cubu case's ticket: Cubu only hears back when it is Done.
var cubuScripts = []script{
	{"cubu: completed", []step{categorize("Plumbing"), move(twhsim.StatusCompleted, "Fixed, thanks for waiting.", true)}},
	{"cubu: rejected", []step{move(twhsim.StatusRejected, "Not ours to fix.", true)}},
	{"cubu: on hold, then completed", []step{categorize("Electrical"), move(twhsim.StatusOnHold, "Waiting for a part.", true),
		move(twhsim.StatusInProgress, "", false), move(twhsim.StatusCompleted, "Done.", true)}},
}

// driver creates the run's tickets through the API and plays staff and residents on them.
type driver struct {
	st          *stack
	rng         *rand.Rand
	rngMu       sync.Mutex
	tickets     []*tracked
	http        *http.Client
	created     atomic.Int64
	done        atomic.Int64
	hookReplays atomic.Int64 // Cubu webhooks sent again after the API refused them
}

// newDriver deals the n tickets to the selected pairs in turn (every pair when names is empty),
// each pair's tickets cycling through its scripts.
func newDriver(st *stack, n int, seed uint64, names []string) *driver {
	d := &driver{st: st, rng: rand.New(rand.NewPCG(seed, 11)), http: &http.Client{Timeout: 15 * time.Second}}
	type slot struct {
		conn    string
		scripts []script
	}
	var slots []slot
	if len(names) == 0 || slices.Contains(names, portalPair) {
		slots = append(slots, slot{connectionID, scripts})
	}
	if len(names) == 0 || slices.Contains(names, cubuPair) {
		slots = append(slots, slot{cubuConnID, cubuScripts})
	}
	for _, p := range st.pairs {
		slots = append(slots, slot{p.conn(), p.scripts()})
	}
	for i := range n {
		label := fmt.Sprintf("chaos-%04d", i+1)
		sl := slots[i%len(slots)]
		t := &tracked{conn: sl.conn, label: label, script: sl.scripts[(i/len(slots))%len(sl.scripts)].name}
		if sl.conn == connectionID { // the portal's external id is ours to choose
			t.ext = label
		}
		d.tickets = append(d.tickets, t)
	}
	return d
}

// scriptOf is the script a ticket plays.
func (d *driver) scriptOf(t *tracked) script {
	all := append(slices.Clone(scripts), cubuScripts...)
	if p := d.st.pairFor(t.conn); p != nil {
		all = p.scripts()
	}
	for _, sc := range all {
		if sc.name == t.script {
			return sc
		}
	}
	return script{name: t.script}
}

func (d *driver) jitter(max time.Duration) time.Duration {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return time.Duration(d.rng.Int64N(int64(max) + 1))
}

// run creates the tickets spread over spread, and plays every script to its end (or until
// ctx ends).
func (d *driver) run(ctx context.Context, spread time.Duration) {
	var wg sync.WaitGroup
	gap := spread / time.Duration(max(1, len(d.tickets)))
	for i, t := range d.tickets {
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-time.After(gap):
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.play(ctx, t, d.scriptOf(t))
		}()
	}
	wg.Wait()
}

func (d *driver) play(ctx context.Context, t *tracked, sc script) {
	fail := func(err error) {
		t.mu.Lock()
		t.err = err.Error()
		t.mu.Unlock()
	}
	raise, waitRemote := d.create, func(ctx context.Context, t *tracked) error {
		return d.waitRemote(ctx, t, "the remote request", nil)
	}
	switch p := d.st.pairFor(t.conn); {
	case p != nil:
		raise = func(ctx context.Context, t *tracked) error { return p.raise(ctx, d, t) }
		waitRemote = func(ctx context.Context, t *tracked) error { return p.waitRemote(ctx, d, t) }
	case t.conn == cubuConnID:
		raise = d.queueUp
	}
	if err := raise(ctx, t); err != nil {
		fail(err)
		return
	}
	if err := waitRemote(ctx, t); err != nil {
		fail(err)
		return
	}
	for i, s := range sc.steps {
		select {
		case <-ctx.Done():
			fail(ctx.Err())
			return
		case <-time.After(time.Second + d.jitter(4*time.Second)):
		}
		if err := s(ctx, d, t); err != nil {
			fail(fmt.Errorf("step %d of %q: %w", i+1, sc.name, err))
			return
		}
	}
	t.mu.Lock()
	t.done = true
	t.mu.Unlock()
	d.done.Add(1)
}

// create posts the ticket until the API accepts it: a retry carries the same external id and
// body, so it can only ever find the same ticket.
func (d *driver) create(ctx context.Context, t *tracked) error {
	body := map[string]any{"connection": connectionID, "externalId": t.ext, "requestType": "Maintenance",
		"title": "Chaos " + t.ext, "description": "A ticket of the chaos run (" + t.script + ").",
		"location":  map[string]any{"address": "Building C, apt " + t.ext[len(t.ext)-3:]},
		"requester": map[string]any{"name": "Resident " + t.ext, "email": t.ext + "@example.org", "phone": "+1 555 0100"}}
	var out struct {
		ID string `json:"id"`
	}
	if err := d.call(ctx, http.MethodPost, "/v1/tickets", body, &out); err != nil {
		return err
	}
	if out.ID != ticket.ID(connectionID, t.ext) {
		return fmt.Errorf("create answered id %q", out.ID)
	}
	t.mu.Lock()
	t.id = out.ID
	t.mu.Unlock()
	t.created.Store(true)
	d.created.Add(1)
	return nil
}

// queueUp is a resident walking in at the Cubu desk: the case is queued (retried while
// ticketsync's before-hook cannot answer, which blocks the desk), and its afterQueueUp webhook
// creates the ticket. A webhook the API refused (it was down, or its store was) is sent again,
// as a webhook sender retries.
func (d *driver) queueUp(ctx context.Context, t *tracked) error {
	nc := cubusim.NewCase{Agent: cubusim.DefaultAgentID, ServiceTypeID: cubusim.DefaultServiceTypeMaintenance,
		ContactEmail: t.label + "@example.org", Fields: map[string]string{
			cubusim.FieldDescription: "Chaos case " + t.label + " (" + t.script + ")",
			cubusim.FieldAddress:     "Building D, apt " + t.label[len(t.label)-3:], cubusim.FieldName: "Resident " + t.label}}
	var c cubusim.Case
	for {
		var err error
		if c, err = d.st.cubu.QueueUp(nc); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue up (last: %v): %w", err, ctx.Err())
		case <-time.After(time.Second + d.jitter(time.Second)):
		}
	}
	t.mu.Lock()
	t.ext, t.id = c.ID, ticket.ID(cubuConnID, c.ID)
	t.mu.Unlock()
	for {
		var last *cubusim.Delivery
		inFlight := false
		for _, dl := range d.st.cubu.Deliveries() {
			if dl.CaseID != c.ID || dl.Hook != cubusim.HookAfterQueueUp {
				continue
			}
			if dl.Status >= 200 && dl.Status < 300 { // ticketsync has it: from now on it is its to keep
				t.created.Store(true)
				d.created.Add(1)
				return nil
			}
			if dl.Status != 0 || dl.Error != "" {
				last = &dl
			} else {
				inFlight = true
			}
		}
		if last != nil && !inFlight {
			if _, ok := d.st.cubu.Replay(last.Seq); ok {
				d.hookReplays.Add(1)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("afterQueueUp never accepted: %w", ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// waitRemote waits until the simulator holds the ticket's request (and cond holds for it).
func (d *driver) waitRemote(ctx context.Context, t *tracked, what string, cond func(twhsim.WorkRequest) bool) error {
	ref := t.ref()
	for {
		for _, wr := range d.st.twh.Requests() {
			if wr.ExternalReference != ref {
				continue
			}
			t.remoteID.Store(wr.ID)
			if cond == nil || cond(wr) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (d *driver) api(ctx context.Context, method, path string, body any) error {
	return d.call(ctx, method, path, body, nil)
}

// call sends one API request, retrying while the API or Temporal behind it is unavailable.
// A client error (4xx) is final.
func (d *driver) call(ctx context.Context, method, path string, body any, out any) error {
	data, _ := json.Marshal(body)
	for attempt := 1; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, method, d.st.apiURL+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+d.st.apiKey)
		resp, err := d.http.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode < 300:
				if out != nil {
					return json.Unmarshal(msg, out)
				}
				return nil
			case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
				return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, msg)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(min(time.Duration(attempt)*250*time.Millisecond, 3*time.Second)):
		}
	}
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

func mustPortalSecret() string {
	b := make([]byte, 32)
	_, _ = crand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
