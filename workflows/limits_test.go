package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/workflows"
)

// bulkWork is an in-memory work system for volume tests: like TheWorxHub, every read returns
// the request with all of its feedback, however much there is.
type bulkWork struct {
	mu       sync.Mutex
	req      *vendorapi.RemoteRequest
	comments []vendorapi.Comment
	down     bool // every call answers a retryable 503
	listed   int  // the most feedback items one read listed
}

func (w *bulkWork) Kind() string                      { return "bulkwork" }
func (w *bulkWork) Reference(conn, ext string) string { return "bulk:" + conn + ":" + ext }

func (w *bulkWork) unavailable() error {
	if w.down {
		return &vendorapi.Error{Vendor: "bulkwork", Op: "call", HTTPStatus: http.StatusServiceUnavailable, Retryable: true}
	}
	return nil
}

func (w *bulkWork) FindByReference(_ context.Context, ref string) (*vendorapi.RemoteRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.unavailable(); err != nil {
		return nil, err
	}
	if w.req == nil || w.req.ExternalReference != ref {
		return nil, nil
	}
	return w.copyLocked(), nil
}

func (w *bulkWork) Create(_ context.Context, req vendorapi.NewRequest) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.unavailable(); err != nil {
		return "", err
	}
	w.req = &vendorapi.RemoteRequest{ID: "B-1", ExternalReference: req.ExternalReference, Status: "Pending", ModifiedAt: time.Now()}
	return w.req.ID, nil
}

func (w *bulkWork) Get(context.Context, string) (*vendorapi.RemoteRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.unavailable(); err != nil {
		return nil, err
	}
	w.listed = max(w.listed, len(w.req.Feedback))
	return w.copyLocked(), nil
}

func (w *bulkWork) Cancel(_ context.Context, _, _ string) (*vendorapi.RemoteRequest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.unavailable(); err != nil {
		return nil, err
	}
	w.req.Status = "Cancelled"
	return w.copyLocked(), nil
}

func (w *bulkWork) AddComment(_ context.Context, _ string, c vendorapi.Comment) (vendorapi.Comment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.unavailable(); err != nil {
		return vendorapi.Comment{}, err
	}
	c.ID = fmt.Sprintf("BC-%d", len(w.comments)+1)
	w.comments = append(w.comments, c)
	return c, nil
}

func (w *bulkWork) copyLocked() *vendorapi.RemoteRequest {
	c := *w.req
	c.Feedback = append([]vendorapi.Feedback(nil), w.req.Feedback...)
	c.Comments = append([]vendorapi.Comment(nil), w.comments...)
	return &c
}

// addFeedback adds n requester-visible notes (and one hidden one per 10), each a second
// after the previous.
func (w *bulkWork) addFeedback(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range n {
		i := len(w.req.Feedback) + 1
		w.req.Feedback = append(w.req.Feedback, vendorapi.Feedback{ID: fmt.Sprintf("F-%d", i),
			Text: fmt.Sprintf("note %d <with markup & escapes>", i), Author: "Staff", VisibleToRequestor: i%10 != 0,
			CreatedAt: base.Add(time.Duration(i) * time.Second)})
	}
	w.req.ModifiedAt = time.Now()
}

func (w *bulkWork) set(fn func(w *bulkWork)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn(w)
}

var bulkOnce sync.Once

// withBulkSystems rebuilds the kit's connection with the in-memory work system and the fake
// request system on its two sides.
func withBulkSystems(t *testing.T, h *harness) (*bulkWork, *fakeRequestSystem) {
	t.Helper()
	fake := withFakeRequestSystem(t, h)
	work := &bulkWork{}
	bulkOnce.Do(func() {
		connectors.RegisterWork(connectors.WorkKind{Kind: "bulkwork", New: func(c config.Connection, _ connectors.Env) (vendorapi.WorkSystem, error) {
			w, _ := bulkWorks.Load(c.ID)
			return w.(*bulkWork), nil
		}})
		if err := mapping.Register(mapping.Mapping{Name: "bulkwork-v1", WorkKind: "bulkwork",
			Table: map[string]string{"Pending": ticket.Requested, "InProgress": ticket.InProgress, "Completed": ticket.Done, "Cancelled": ticket.Canceled}}); err != nil {
			t.Fatal(err)
		}
	})
	bulkWorks.Store(h.in.Ref.Connection, work)
	f := *h.kit.File
	f.Connections = append([]config.Connection(nil), h.kit.File.Connections...)
	f.Connections[0].RequestSystem = config.RequestSystem{Kind: "fakereq"}
	f.Connections[0].WorkSystem = config.WorkSystem{Kind: "bulkwork"}
	f.Connections[0].Mapping = "bulkwork-v1"
	reg, err := connectors.Build(&f, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h.kit.Activities.Connections = reg
	h.in.MappingVersion = "bulkwork-v1"
	return work, fake
}

var bulkWorks sync.Map // connection id → *bulkWork

// A ticket receives 5,000 requester comments (with the request system's ids, some reported
// twice) and 5,000 staff notes (a burst of 1,000 at once) over its life, across many runs:
// every carried state stays far below Temporal's blob limit, every comment reaches the work
// system exactly once and in order, every visible note reaches the request system exactly
// once and in order, and no read returns more than a bounded amount of feedback.
func TestTenThousandCommentsAndFeedbackOverATicketsLife(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 60
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	h := newHarness(t, "req-volume")
	work, fake := withBulkSystems(t, h)
	const comments, notes = 5000, 5000
	sent, added, canceled := 0, 0, false
	visible := 0
	var tick func(h *harness) func()
	tick = func(h *harness) func() {
		return func() {
			st := h.state()
			work.mu.Lock()
			forwarded := len(work.comments)
			work.mu.Unlock()
			// A client that respects 429 (it sends only while fewer than the API's soft limit
			// wait) and sends again what the ticket does not know yet: the test environment
			// drops signals sent after a run handed over, where Temporal would give them to
			// the next run.
			sent = forwarded + len(st.PendingComments)
			for room := ticket.SoftPendingComments - len(st.PendingComments); room > 0 && sent < comments; room-- {
				sent++
				h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{ID: fmt.Sprintf("c-%d", sent),
					Text: fmt.Sprintf("comment %d", sent), Author: "Ada"})
			}
			if sent > 10 { // intake reports a few old ones again: they must not cross twice
				h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{ID: fmt.Sprintf("c-%d", sent-10), Text: "again", Author: "Ada"})
			}
			if added < notes {
				n := 50
				if added == 0 {
					n = 1000
				}
				work.addFeedback(n)
				added += n
			}
			h.poke()
			if !canceled && sent == comments && forwarded == comments && added >= notes && len(fake.kinds()) >= visible+1 {
				canceled = true
				h.env.SignalWorkflow(ticket.SignalCancel, nil)
				return
			}
			h.at(2*time.Minute, tick(h))
		}
	}
	for i := 1; i <= notes; i++ {
		if i%10 != 0 {
			visible++
		}
	}
	res, carriedInputs := runs(t, h.kit, h.in, 100, func(h *harness) {
		h.env.SetTestTimeout(5 * time.Minute)
		h.at(time.Minute, tick(h))
	})
	if res.Status != ticket.Canceled {
		for i, c := range carriedInputs {
			if i < 5 || i%10 == 0 {
				t.Logf("run %d: polls %d seq %d pending %d outbox %d", i+1, c.in.State.Polls, c.in.State.Seq, len(c.in.State.PendingComments), len(c.in.State.Outbox))
			}
		}
		work.mu.Lock()
		t.Fatalf("not finished after %d runs: %d comments sent, %d forwarded, %d notes added, %d notifications: %+v",
			len(carriedInputs)+1, sent, len(work.comments), added, len(fake.kinds()), res)
	}
	if len(carriedInputs) < 3 {
		t.Fatalf("only %d continue-as-new hand-overs: the test did not exercise them", len(carriedInputs))
	}
	largest := 0
	for i, c := range carriedInputs {
		largest = max(largest, c.bytes)
		st := c.in.State
		if c.bytes > 1<<20 || len(st.PendingComments) > ticket.MaxPendingComments || len(st.Outbox) > ticket.MaxOutboxEvents+4 ||
			st.SeenFeedbackIDs.Len() > ticket.MaxSeenIDs || st.SeenCommentIDs.Len() > ticket.MaxSeenIDs || len(st.SeenFeedback) > 0 {
			t.Errorf("hand-over %d carries %d bytes: pending %d, outbox %d, seen %d/%d", i, c.bytes, len(st.PendingComments),
				len(st.Outbox), st.SeenFeedbackIDs.Len(), st.SeenCommentIDs.Len())
		}
	}
	for i, c := range carriedInputs {
		if i < 5 || i%10 == 0 {
			t.Logf("run %d: polls %d seq %d pending %d outbox %d", i+1, c.in.State.Polls, c.in.State.Seq, len(c.in.State.PendingComments), len(c.in.State.Outbox))
		}
	}
	t.Logf("%d runs; largest carried input %d bytes; largest read listed %d notes", len(carriedInputs)+1, largest, work.listed)

	work.mu.Lock()
	defer work.mu.Unlock()
	if len(work.comments) != comments {
		t.Fatalf("%d comments reached the work system, want %d", len(work.comments), comments)
	}
	for i, c := range work.comments {
		if want := fmt.Sprintf("comment %d", i+1); c.Text != want {
			t.Fatalf("comment %d is %q, want %q (order or duplicates)", i+1, c.Text, want)
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var got []string
	for _, n := range fake.accepted {
		if n.Kind == vendorapi.NotifyFeedbackAdded {
			got = append(got, n.Feedback.ID)
		}
	}
	if len(got) != visible {
		t.Fatalf("%d notes reached the request system, want %d", len(got), visible)
	}
	want := 1
	for _, id := range got {
		if want%10 == 0 {
			want++
		}
		if id != fmt.Sprintf("F-%d", want) {
			t.Fatalf("note %s arrived where F-%d was due (order or duplicates)", id, want)
		}
		want++
	}
	for id, n := range fake.attempts {
		if n != 1 {
			t.Fatalf("notification %s was sent %d times", id, n)
		}
	}
}

// While the request system is unreachable, new notes wait in the work system instead of the
// outbox: the outbox stays within its budget, and once deliveries resume every note arrives,
// in order, exactly once.
func TestNotesWaitInTheWorkSystemWhileTheOutboxIsFull(t *testing.T) {
	h := newHarness(t, "req-backpressure")
	work, fake := withBulkSystems(t, h)
	var full ticket.State
	h.at(time.Minute, func() {
		fake.set(func(f *fakeRequestSystem) { f.failNext = 1 << 30 })
		work.addFeedback(600)
		h.poke()
	})
	h.at(3*time.Hour, func() {
		full = h.state()
		fake.set(func(f *fakeRequestSystem) { f.failNext = 0 })
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(30*time.Hour, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.env.SetTestTimeout(5 * time.Minute)
	res := h.run()
	if len(full.Outbox) > ticket.MaxOutboxEvents || !full.FeedbackDeferred {
		t.Fatalf("while deliveries failed the outbox held %d events (deferred=%t)", len(full.Outbox), full.FeedbackDeferred)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	var notes []string
	for _, k := range fake.kinds() {
		if strings.HasPrefix(k, vendorapi.NotifyFeedbackAdded) {
			notes = append(notes, k)
		}
	}
	if len(notes) != 540 {
		t.Fatalf("%d notes delivered, want the 540 visible ones", len(notes))
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	accepted := map[string]int{}
	for _, n := range fake.accepted {
		if accepted[n.ID]++; accepted[n.ID] > 1 {
			t.Fatalf("notification %s accepted more than once", n.ID)
		}
	}
}

// Comments that find the queue full (the work system has been down for hours and a request
// system keeps reporting new ones) are recorded on the timeline instead of growing the state
// past its budget; the queued ones are forwarded once the work system is back.
func TestCommentsBeyondThePendingBudgetAreRecordedNotQueued(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 3
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	h := newHarness(t, "req-comment-flood")
	work, _ := withBulkSystems(t, h)
	big := strings.Repeat("<&>", 1000) // 3,000 characters, 18,000 bytes encoded
	_, carriedInputs := runs(t, h.kit, h.in, 1, func(h *harness) {
		h.at(time.Minute, func() {
			work.set(func(w *bulkWork) { w.down = true })
			for i := range ticket.MaxPendingComments + 20 {
				h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{ID: fmt.Sprintf("flood-%d", i), Text: big, Author: "Ada"})
			}
		})
	})
	if len(carriedInputs) != 1 {
		t.Fatal("want a hand-over while the work system is down")
	}
	st := carriedInputs[0].in.State
	bytes := 0
	for _, c := range st.PendingComments {
		bytes += ticket.CommentBytes(c)
	}
	if bytes > ticket.MaxPendingCommentBytes || len(st.PendingComments) == 0 || carriedInputs[0].bytes > 1<<20 {
		t.Fatalf("carried %d pending comments, %d bytes (input %d bytes)", len(st.PendingComments), bytes, carriedInputs[0].bytes)
	}
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range evs {
		if e.Type == ticket.EventNote && strings.Contains(string(e.Payload), "NOT accepted") {
			refused++
		}
	}
	if refused+len(st.PendingComments) != ticket.MaxPendingComments+20 {
		t.Fatalf("%d queued + %d recorded as refused, want %d in all", len(st.PendingComments), refused, ticket.MaxPendingComments+20)
	}

	// The work system is back: the next run forwards what was queued.
	workflows.MaxPollsPerRun = old
	work.set(func(w *bulkWork) { w.down = false })
	res, _ := runs(t, h.kit, carriedInputs[0].in, 5, func(h *harness) {
		h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalRetry, nil) })
		h.at(2*time.Hour, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	})
	if res.Status != ticket.Canceled || len(work.comments) != len(st.PendingComments) {
		t.Fatalf("result %+v; %d comments forwarded of %d queued", res, len(work.comments), len(st.PendingComments))
	}
}
