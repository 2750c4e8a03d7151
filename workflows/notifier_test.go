package workflows_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// fakeRequestSystem is a native request system (like a SeeClickFix comment/close): it records
// every notification it accepts and fails on demand, so the workflow's delivery semantics can
// be checked without the portal.
type fakeRequestSystem struct {
	mu       sync.Mutex
	accepted []vendorapi.Notification
	attempts map[string]int
	// failNext answers a retryable 503 to the next N calls; refuse answers a non-retryable
	// 422 to every call while set; gone answers 410.
	failNext int
	refuse   bool
	gone     bool
}

func (f *fakeRequestSystem) Kind() string { return "fakereq" }

func (f *fakeRequestSystem) Notify(_ context.Context, n vendorapi.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[n.ID]++
	switch {
	case f.gone:
		return &vendorapi.Error{Vendor: "fakereq", Op: "notify", HTTPStatus: http.StatusGone}
	case f.refuse:
		return &vendorapi.Error{Vendor: "fakereq", Op: "notify", HTTPStatus: http.StatusUnprocessableEntity, Message: "issue is locked"}
	case f.failNext > 0:
		f.failNext--
		return &vendorapi.Error{Vendor: "fakereq", Op: "notify", HTTPStatus: http.StatusServiceUnavailable, Retryable: true}
	}
	f.accepted = append(f.accepted, n)
	return nil
}

func (f *fakeRequestSystem) set(fn func(*fakeRequestSystem)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// kinds is what the fake accepted, as "kind:status<previous".
func (f *fakeRequestSystem) kinds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.accepted {
		s := n.Kind + ":" + n.Status
		if n.PreviousStatus != "" {
			s += "<" + n.PreviousStatus
		}
		out = append(out, s)
	}
	return out
}

var (
	fakeOnce sync.Once
	fakes    sync.Map // connection id → *fakeRequestSystem
)

// withFakeRequestSystem rebuilds the kit's connection with the fake as its request side.
func withFakeRequestSystem(t *testing.T, h *harness) *fakeRequestSystem {
	fakeOnce.Do(func() {
		connectors.RegisterRequest(connectors.RequestKind{Kind: "fakereq", New: func(c config.Connection, _ connectors.Env) (vendorapi.RequestSystem, error) {
			f, _ := fakes.Load(c.ID)
			return f.(*fakeRequestSystem), nil
		}})
	})
	fake := &fakeRequestSystem{attempts: map[string]int{}}
	fakes.Store(testkit.Connection, fake)
	f := *h.kit.File
	f.Connections = append([]config.Connection(nil), h.kit.File.Connections...)
	f.Connections[0].RequestSystem = config.RequestSystem{Kind: "fakereq"}
	if err := f.Validate(); err != nil {
		t.Fatalf("a registered kind must be accepted by the connections file: %v", err)
	}
	reg, err := connectors.Build(&f, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h.kit.Activities.Connections = reg
	return fake
}

func TestNativeNotifierDeliversInOrderWithRetries(t *testing.T) {
	h := newHarness(t, "native-order")
	fake := withFakeRequestSystem(t, h)
	fake.set(func(f *fakeRequestSystem) { f.failNext = 3 })
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(30*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	assertEvents(t, fake.kinds(), "status_changed:Requested", "status_changed:InProgress<Requested",
		"status_changed:Canceled<InProgress", "closed:Canceled<InProgress")
	fake.mu.Lock()
	defer fake.mu.Unlock()
	first := fake.accepted[0]
	if fake.attempts[first.ID] != 4 || first.Attempt != 4 {
		t.Fatalf("the first notification should have been retried 3 times with its id kept: attempts=%d attempt=%d", fake.attempts[first.ID], first.Attempt)
	}
	var prev int64
	for i, n := range fake.accepted {
		seq := eventSeq(t, h, n.ID)
		if seq <= prev || n.TicketID != h.in.Ref.TicketID || n.ExternalID != h.in.Ref.ExternalID || n.Tenant != testkit.Tenant {
			t.Fatalf("notification %d is out of order or carries the wrong identity: %+v", i, n)
		}
		prev = seq
	}
}

// eventSeq finds the sequence number whose event id is id (ids derive from workflow id + seq).
func eventSeq(t *testing.T, h *harness, id string) int64 {
	for seq := int64(1); seq < 100; seq++ {
		if ticket.EventID(h.in.Ref.WorkflowID, seq) == id {
			return seq
		}
	}
	t.Fatalf("event id %s is not derived from the workflow id", id)
	return 0
}

func TestNativeNotifierRefusalParksUntilSkip(t *testing.T) {
	h := newHarness(t, "native-skip")
	fake := withFakeRequestSystem(t, h)
	fake.set(func(f *fakeRequestSystem) { f.refuse = true })
	var blocked ticket.State
	h.at(time.Minute, func() { blocked = h.state() })
	h.at(2*time.Minute, func() {
		fake.set(func(f *fakeRequestSystem) { f.refuse = false })
		h.env.SignalWorkflow(ticket.SignalSkip, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != ticket.StepDelivery || !blocked.DeliveryBlocked || blocked.Events.Pending == 0 {
		t.Fatalf("a refused notification must park the ticket on delivery: %+v", blocked)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	// The refused first event was skipped by the operator; the rest flowed in order.
	assertEvents(t, fake.kinds(), "status_changed:Canceled<Requested", "closed:Canceled<Requested")
}

func TestNativeNotifierRetryResendsTheParkedEvent(t *testing.T) {
	h := newHarness(t, "native-retry")
	fake := withFakeRequestSystem(t, h)
	fake.set(func(f *fakeRequestSystem) { f.gone = true })
	var blocked ticket.State
	h.at(time.Minute, func() { blocked = h.state() })
	h.at(2*time.Minute, func() {
		fake.set(func(f *fakeRequestSystem) { f.gone = false })
		enableEndpoint(t, h) // a 410 disabled the endpoint: the operator re-enables it
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != ticket.StepDelivery {
		t.Fatalf("410 from a native request system must park on delivery: %+v", blocked.NeedsAttention)
	}
	// After the operator's retry every event arrives, in order, the first one included.
	assertEvents(t, fake.kinds(), "status_changed:Requested", "status_changed:Canceled<Requested", "closed:Canceled<Requested")
}
