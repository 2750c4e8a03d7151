package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
	"github.com/ticketsync/ticketsync/workflows"
)

// harness runs one Ticket workflow in the SDK test environment (time skipping) with the real
// activities, talking over HTTP to the TheWorxHub simulator and the fake portal.
type harness struct {
	t   *testing.T
	kit *testkit.Kit
	env *testsuite.TestWorkflowEnvironment
	in  ticket.Input
}

func newHarness(t *testing.T, externalID string) *harness {
	t.Helper()
	kit := testkit.New(t, testkit.Options{})
	return newHarnessWithKit(t, kit, externalID)
}

func newHarnessWithKit(t *testing.T, kit *testkit.Kit, externalID string) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(testLogOutput(), &slog.HandlerOptions{Level: slog.LevelInfo}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	workers.Register(env, kit.Activities)
	h := &harness{t: t, kit: kit, env: env}
	h.in = ticket.Input{
		Ref: ticket.NewRef(testkit.Tenant, testkit.Connection, externalID),
		Request: vendorapi.NewRequest{RequestType: "Maintenance", Title: "Leaking sink",
			Description: "The bathroom sink leaks.", Location: vendorapi.Location{Address: "Building A, apt 12"},
			Requester: vendorapi.Person{Name: "Ada Resident", Email: "ada@example.org"}},
		MappingVersion: "theworxhub-v1",
		PollInterval:   15 * time.Minute,
	}
	return h
}

// at runs fn at workflow time d after start.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// remote returns the one simulator request (failing if there is not exactly one).
func (h *harness) remote() twhsim.WorkRequest {
	h.t.Helper()
	reqs := h.kit.TWH.Requests()
	if len(reqs) != 1 {
		h.t.Fatalf("simulator has %d requests, want exactly 1", len(reqs))
	}
	return reqs[0]
}

func (h *harness) staff(fn func(id string) error) func() {
	return func() {
		if err := fn(h.remote().ID); err != nil {
			h.t.Errorf("staff action: %v", err)
		}
	}
}

func (h *harness) poke() { h.env.SignalWorkflow(ticket.SignalPoke, nil) }

func (h *harness) state() ticket.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(ticket.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var st ticket.State
	if err := v.Get(&st); err != nil {
		h.t.Fatalf("decode state: %v", err)
	}
	return st
}

func (h *harness) run() ticket.Result {
	h.t.Helper()
	h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res ticket.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatalf("result: %v", err)
	}
	return res
}

// portalEvents is what the fake portal accepted for this ticket, as (type, status, prev).
func (h *harness) portalEvents() []string {
	var out []string
	for _, r := range h.kit.Portal.EventsFor(h.in.Ref.TicketID) {
		s := r.Event.Type + ":" + r.Event.Ticket.Status
		if r.Event.Ticket.PreviousStatus != "" {
			s += "<" + r.Event.Ticket.PreviousStatus
		}
		if r.Event.Feedback != nil {
			s += ":" + r.Event.Feedback.Text
		}
		out = append(out, s)
	}
	return out
}

func assertEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("portal events:\n got: %q\nwant: %q", got, want)
	}
}

func TestStatusTable(t *testing.T) {
	cases := []struct {
		name     string
		steps    func(h *harness)
		want     []string
		final    string
		remoteSt string
	}{
		{
			name: "Pending-InProgress-Completed",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
				h.at(time.Minute+time.Second, h.poke)
				h.at(20*time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed the trap.", Author: "J. Rivera", VisibleToRequestor: true}, false)
					return err
				}))
			},
			want: []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
				"ticket.feedback_added:InProgress<Requested:Fixed the trap.", "ticket.status_changed:Done<InProgress", "ticket.closed:Done<InProgress"},
			final: ticket.Done, remoteSt: "Completed",
		},
		{
			name: "Rejected",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusRejected, &twhsim.FeedbackInput{Text: "Duplicate of another request.", Author: "Desk", VisibleToRequestor: true}, false)
					return err
				}))
				h.at(time.Minute+time.Second, h.poke)
			},
			want: []string{"ticket.status_changed:Requested", "ticket.feedback_added:Requested:Duplicate of another request.",
				"ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested"},
			final: ticket.Canceled, remoteSt: "Rejected",
		},
		{
			name: "Cancelled-by-staff",
			steps: func(h *harness) {
				h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Electrical"); return err }))
				// No poke: the 15-minute timer is the safety net.
				h.at(40*time.Minute, h.staff(func(id string) error {
					_, err := h.kit.TWH.Transition(id, twhsim.StatusCancelled, nil, false)
					return err
				}))
			},
			want: []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
				"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress"},
			final: ticket.Canceled, remoteSt: "Cancelled",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "req-"+tc.name)
			tc.steps(h)
			res := h.run()
			if res.Status != tc.final || res.RemoteStatus != tc.remoteSt {
				t.Fatalf("result %+v, want status %s remote %s", res, tc.final, tc.remoteSt)
			}
			assertEvents(t, h.portalEvents(), tc.want...)
			if v := h.kit.Portal.Violations(); len(v) > 0 {
				t.Fatalf("portal saw ordering violations: %+v", v)
			}
			row, err := h.kit.Store.GetTicketAnyTenant(context.Background(), h.in.Ref.TicketID)
			if err != nil {
				t.Fatal(err)
			}
			if row.Status != tc.final || row.RemoteID != h.remote().ID {
				t.Fatalf("read model %+v", row)
			}
		})
	}
}

func TestFirstEventIsRequestedWithNullPrevious(t *testing.T) {
	h := newHarness(t, "req-first")
	var st ticket.State
	h.at(30*time.Second, func() { st = h.state() })
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "end test"}) })
	h.run()
	evs := h.kit.Portal.EventsFor(h.in.Ref.TicketID)
	if len(evs) == 0 || evs[0].Event.Type != ticket.EventStatusChanged || evs[0].Event.Ticket.Status != ticket.Requested || evs[0].Event.Ticket.PreviousStatus != "" {
		t.Fatalf("first event %+v", evs)
	}
	if !strings.Contains(string(evs[0].Body), `"previousStatus":null`) {
		t.Fatalf("first event body lacks previousStatus:null: %s", evs[0].Body)
	}
	if st.Status != ticket.Requested || st.RemoteStatus != "Pending" || st.RemoteID == "" || st.NextPoll == nil || st.MappingVersion != "theworxhub-v1" {
		t.Fatalf("state after create: %+v", st)
	}
}

func TestFeedbackVisibleVsHidden(t *testing.T) {
	h := newHarness(t, "req-feedback")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.AddFeedback(id, twhsim.FeedbackInput{Text: "internal: order part #44", Author: "Tech", VisibleToRequestor: false})
		return err
	}))
	h.at(3*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.AddFeedback(id, twhsim.FeedbackInput{Text: "A part is on order.", Author: "Tech", VisibleToRequestor: true})
		return err
	}))
	h.at(4*time.Minute, h.poke)
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	got := h.portalEvents()
	for _, e := range got {
		if strings.Contains(e, "internal") {
			t.Fatalf("hidden feedback reached the portal: %q", got)
		}
	}
	assertEvents(t, got, "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.feedback_added:InProgress<Requested:A part is on order.", "ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

func TestOnHoldCommentForwardedThenInProgress(t *testing.T) {
	h := newHarness(t, "req-onhold")
	var onHold ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusOnHold, &twhsim.FeedbackInput{Text: "Which bathroom sink is leaking?", Author: "J. Rivera", VisibleToRequestor: true}, false)
		return err
	}))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() {
		onHold = h.state()
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "The one in the guest bathroom.", Author: "Ada Resident"})
	})
	h.at(5*time.Minute, h.staff(func(id string) error {
		wr, _ := h.kit.TWH.Request(id)
		if len(wr.Comments) != 1 || wr.Comments[0].Text != "The one in the guest bathroom." || wr.Comments[0].Author != "Ada Resident" {
			t.Errorf("comments at TheWorxHub: %+v", wr.Comments)
		}
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, false)
		return err
	}))
	h.at(5*time.Minute+time.Second, h.poke)
	h.at(6*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	h.at(6*time.Minute+time.Second, h.poke)
	h.run()
	if onHold.Status != ticket.OnHold || onHold.RemoteStatus != "OnHold" || onHold.Category != "Plumbing" {
		t.Fatalf("state while on hold: %+v", onHold)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:OnHold<InProgress", "ticket.feedback_added:OnHold<InProgress:Which bathroom sink is leaking?",
		"ticket.status_changed:InProgress<OnHold", "ticket.status_changed:Done<InProgress", "ticket.closed:Done<InProgress")
}

func TestCancelFromPortalCancelsRemoteFirst(t *testing.T) {
	h := newHarness(t, "req-cancel")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "resident fixed it"})
	})
	res := h.run()
	wr := h.remote()
	if wr.Status != twhsim.StatusCancelled || wr.CancelReason != "resident fixed it" {
		t.Fatalf("remote after cancel: status %s reason %q", wr.Status, wr.CancelReason)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

func TestCancelAfterRemoteCompletedEndsDone(t *testing.T) {
	h := newHarness(t, "req-cancel-late")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	// The portal cancels before we polled the completion: the vendor answers 409; we read back.
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if res.Status != ticket.Done || res.RemoteStatus != "Completed" {
		t.Fatalf("result %+v", res)
	}
}

func TestUnmappedStatusParksAndRecoversOnRetry(t *testing.T) {
	h := newHarness(t, "req-unmapped")
	var parked, recovered ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, "Escalated", nil, true); return err }))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() { parked = h.state() })
	h.at(4*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, true)
		return err
	}))
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalRetry, nil) })
	h.at(6*time.Minute, func() {
		recovered = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if parked.NeedsAttention == nil || !strings.Contains(parked.NeedsAttention.Reason, `"Escalated"`) || parked.NeedsAttention.Since.IsZero() {
		t.Fatalf("parked state: %+v", parked.NeedsAttention)
	}
	if parked.Status != ticket.InProgress || parked.RemoteStatus != "Escalated" {
		t.Fatalf("an unmapped status must never be guessed: %+v", parked)
	}
	if recovered.NeedsAttention != nil || recovered.RemoteStatus != "InProgress" {
		t.Fatalf("after retry: %+v", recovered)
	}
	got := h.portalEvents()
	want := []string{"ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested", "ticket.needs_attention:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress"}
	assertEvents(t, got, want...)
	att := h.kit.Portal.EventsFor(h.in.Ref.TicketID)[2].Event.Attention
	if att == nil || !strings.Contains(att.Reason, "Escalated") {
		t.Fatalf("needs_attention event lacks the raw status: %+v", att)
	}
}

func TestCreateCommittedButResponseLostStillOneRemoteRequest(t *testing.T) {
	for _, fault := range []twhsim.Faults{{DropAfterCreate: 1}, {SlowCreate: 1, SlowCreateDelay: 8 * time.Second}} {
		h := newHarness(t, "req-drop")
		h.kit.TWH.SetFaults(fault)
		h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
		h.run()
		if n := len(h.kit.TWH.Requests()); n != 1 {
			t.Fatalf("fault %+v: %d remote requests, want exactly 1", fault, n)
		}
		if st := h.kit.TWH.Stats(); st.Creates != 1 {
			t.Fatalf("fault %+v: %d committed creates", fault, st.Creates)
		}
		evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		adopted := false
		for _, e := range evs {
			if e.Type == ticket.EventRemoteCreated && strings.Contains(string(e.Payload), "adopted=true") {
				adopted = true
			}
		}
		if !adopted {
			t.Fatalf("fault %+v: the retry should have adopted the committed request; timeline %+v", fault, evs)
		}
	}
}

func TestTransientVendorErrorsAreRetried(t *testing.T) {
	h := newHarness(t, "req-flaky")
	h.kit.TWH.SetFaults(twhsim.Faults{Maintenance: 2, RateLimitBurst: 2, RetryAfterSeconds: 1, HTMLOn200: 1})
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if n := len(h.kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests", n)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}

// brokenRegistry is the kit's configuration with a wrong TheWorxHub secret (auth misconfig).
func brokenRegistry(t *testing.T, k *testkit.Kit) *connectors.Registry {
	f := *k.File
	f.Connections = append([]config.Connection(nil), k.File.Connections...)
	f.Connections[0].WorkSystem.ClientSecret = "wrong-secret"
	reg, err := connectors.Build(&f, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestNonRetryableCreateParksThenRetryAfterFix(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	good := kit.Registry
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-authfail")
	var parked ticket.State
	h.at(time.Minute, func() { parked = h.state() })
	h.at(2*time.Minute, func() {
		kit.Activities.Connections = good // the operator fixed the configuration
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != "create" || parked.Status != ticket.Submitted {
		t.Fatalf("parked state: %+v", parked)
	}
	if !strings.Contains(parked.NeedsAttention.Reason, "invalid_client") {
		t.Fatalf("reason should name the vendor error: %q", parked.NeedsAttention.Reason)
	}
	if n := len(kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests after retry", n)
	}
	evs := kit.Portal.EventsFor(h.in.Ref.TicketID)
	if len(evs) == 0 || evs[0].Event.Type != ticket.EventNeedsAttention || evs[0].Event.Attention == nil {
		t.Fatalf("the request system must hear about the parked create first: %+v", h.portalEvents())
	}
	if body := string(evs[0].Body); !strings.Contains(body, `"status":null`) || !strings.Contains(body, `"previousStatus":null`) || !strings.Contains(body, `"attention":{"reason":`) {
		t.Fatalf("a needs_attention before any portal status carries status null: %s", body)
	}
}

func TestCancelWhileCreateParkedEndsCanceled(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-parked-cancel")
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "never mind"}) })
	res := h.run()
	if res.Status != ticket.Canceled || res.RemoteID != "" {
		t.Fatalf("result %+v", res)
	}
}

func TestHoldPausesPollingAndResumePollsAtOnce(t *testing.T) {
	h := newHarness(t, "req-hold")
	var paused, resumed ticket.State
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "vendor migration"}) })
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(3*time.Minute, h.poke) // ignored while paused
	h.at(50*time.Minute, func() { paused = h.state() })
	h.at(51*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalResume, nil) })
	h.at(52*time.Minute, func() {
		resumed = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if paused.Paused == nil || paused.Paused.Reason != "vendor migration" || paused.Status != ticket.Requested || paused.NextPoll != nil {
		t.Fatalf("paused state: %+v", paused)
	}
	if resumed.Paused != nil || resumed.Status != ticket.InProgress {
		t.Fatalf("resumed state: %+v", resumed)
	}
}

func TestContinueAsNewCarriesStateAndPendingSignals(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })

	kit := testkit.New(t, testkit.Options{})
	good := kit.Registry
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-can")
	// A comment arrives while the create is parked: it must survive continue-as-new.
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "Please hurry", Author: "Ada"})
	})
	h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next ticket.Input
	if err := decodeCANInput(can, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.NeedsAttention == nil || len(st.PendingComments) != 1 || st.PendingComments[0].Text != "Please hurry" || st.Seq == 0 {
		t.Fatalf("carried state: %+v", st)
	}

	// Second run, configuration fixed: the carried comment is forwarded, sequence continues.
	kit.Activities.Connections = good
	h2 := newHarnessWithKit(t, kit, "req-can")
	h2.in = next
	h2.at(time.Minute, func() { h2.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h2.run()
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	wr := h2.remote()
	if len(wr.Comments) != 1 || wr.Comments[0].Text != "Please hurry" {
		t.Fatalf("carried comment not forwarded: %+v", wr.Comments)
	}
	seen := map[string]bool{}
	for _, r := range kit.Portal.EventsFor(h.in.Ref.TicketID) {
		if seen[r.ID] {
			t.Fatalf("event id %s reused across runs", r.ID)
		}
		seen[r.ID] = true
	}
}

func TestDeliveryDoesNotBlockPolling(t *testing.T) {
	h := newHarness(t, "req-slowportal")
	h.kit.Portal.SetFaults(portalsim.Faults{FailNext: 3})
	var st ticket.State
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, func() { st = h.state() })
	h.at(30*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if st.Status != ticket.InProgress {
		t.Fatalf("polling should proceed while deliveries retry: %+v", st)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

func TestPortalGoneParksDeliveryUntilSkip(t *testing.T) {
	h := newHarness(t, "req-gone")
	h.kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	var blocked ticket.State
	h.at(time.Minute, func() { blocked = h.state() })
	h.at(2*time.Minute, func() {
		h.kit.Portal.SetFaults(portalsim.Faults{})
		h.env.SignalWorkflow(ticket.SignalSkip, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != "delivery" || blocked.Events.Pending == 0 {
		t.Fatalf("blocked state: %+v", blocked)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	// The first event was skipped; the rest flowed in order.
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}

func decodeCANInput(can *workflow.ContinueAsNewError, into *ticket.Input) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, into)
}

// testLogOutput is stderr with TICKETSYNC_TEST_LOG=1, else discarded.
func testLogOutput() io.Writer {
	if os.Getenv("TICKETSYNC_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

func TestDeliveryAbandonedAfterEventMaxAgeThenRetried(t *testing.T) {
	h := newHarness(t, "req-maxage")
	h.in.EventMaxAge = 3 * time.Minute
	h.kit.Portal.SetFaults(portalsim.Faults{FailNext: 1000})
	var blocked ticket.State
	h.at(10*time.Minute, func() { blocked = h.state() })
	h.at(11*time.Minute, func() {
		h.kit.Portal.SetFaults(portalsim.Faults{})
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(12*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if blocked.NeedsAttention == nil || blocked.NeedsAttention.Step != "delivery" || !blocked.DeliveryBlocked {
		t.Fatalf("after the max age the ticket must be parked on delivery: %+v", blocked.NeedsAttention)
	}
	// After the operator's retry every event arrives, in order, the first one included.
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}

func TestStateQueryAtEachStage(t *testing.T) {
	h := newHarness(t, "req-stages")
	type stage struct {
		at                     time.Duration
		status, remote, paused string
	}
	stages := []stage{
		{30 * time.Second, ticket.Requested, "Pending", ""},
		{90 * time.Second, ticket.InProgress, "InProgress", ""},
		{150 * time.Second, ticket.OnHold, "OnHold", ""},
		{210 * time.Second, ticket.OnHold, "OnHold", "audit"},
		{270 * time.Second, ticket.InProgress, "InProgress", ""},
	}
	got := make([]ticket.State, len(stages))
	for i, st := range stages {
		i := i
		h.at(st.at, func() { got[i] = h.state() })
	}
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, twhsim.StatusOnHold, nil, false); return err }))
	h.at(2*time.Minute+time.Second, h.poke)
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalHold, ticket.HoldSignal{Reason: "audit"}) })
	h.at(4*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusInProgress, nil, false)
		return err
	}))
	h.at(4*time.Minute+time.Second, func() { h.env.SignalWorkflow(ticket.SignalResume, nil) })
	h.at(5*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	h.at(5*time.Minute+time.Second, h.poke)
	res := h.run()
	for i, want := range stages {
		st := got[i]
		paused := ""
		if st.Paused != nil {
			paused = st.Paused.Reason
		}
		if st.Status != want.status || st.RemoteStatus != want.remote || paused != want.paused || st.RemoteID == "" ||
			st.TicketID != h.in.Ref.TicketID || st.WorkflowID != h.in.Ref.WorkflowID || st.MappingVersion != "theworxhub-v1" {
			t.Errorf("stage %d (%s): %+v", i, want.at, st)
		}
		if (want.paused == "") != (st.NextPoll != nil) {
			t.Errorf("stage %d: nextPoll %v with paused %q", i, st.NextPoll, paused)
		}
	}
	if got[2].PreviousStatus != ticket.InProgress || got[2].Events.Delivered < 3 {
		t.Errorf("OnHold stage: previous %q delivered %d", got[2].PreviousStatus, got[2].Events.Delivered)
	}
	if res.Status != ticket.Done {
		t.Fatalf("result %+v", res)
	}
}

func TestLongTextTruncatedForTheWorxHubAndKeptOnTimeline(t *testing.T) {
	h := newHarness(t, "req-long")
	h.in.Request.Title = strings.Repeat("T", 250)
	h.in.Request.Answers = map[string]string{"floor": "2", "pets": "cat"}
	h.in.Request.Attachments = []vendorapi.Attachment{{Name: "sink.jpg", URL: "https://files.example/sink.jpg"}}
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	wr := h.remote()
	if n := len([]rune(wr.Title)); n != 200 || !strings.HasSuffix(wr.Title, "…") {
		t.Fatalf("title %d runes: %q", n, wr.Title)
	}
	if !strings.Contains(wr.Description, "- floor: 2\n- pets: cat") || !strings.Contains(wr.Description, "- sink.jpg: https://files.example/sink.jpg") {
		t.Fatalf("answers and attachments should follow the description: %q", wr.Description)
	}
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, e := range evs {
		if e.Type == ticket.EventTruncated && strings.Contains(string(e.Payload), strings.Repeat("T", 250)) {
			kept = true
		}
	}
	if !kept {
		t.Fatal("the full title must be kept on the timeline")
	}
}

func TestCommentKeptAndParkedWhileWorkSystemIsDown(t *testing.T) {
	h := newHarness(t, "req-comment-down")
	var parked, recovered ticket.State
	h.at(time.Minute, func() {
		h.kit.TWH.SetFaults(twhsim.Faults{Maintenance: 1 << 30})
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "Still leaking", Author: "Ada"})
	})
	h.at(3*time.Hour, func() {
		parked = h.state()
		h.kit.TWH.SetFaults(twhsim.Faults{})
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Hour+time.Minute, func() {
		recovered = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != "comment" || len(parked.PendingComments) != 1 {
		t.Fatalf("while the work system is down the comment must be kept and the ticket parked: %+v %+v", parked.NeedsAttention, parked.PendingComments)
	}
	if recovered.NeedsAttention != nil || len(recovered.PendingComments) != 0 {
		t.Fatalf("after retry: %+v %+v", recovered.NeedsAttention, recovered.PendingComments)
	}
	wr := h.remote()
	if len(wr.Comments) != 1 || wr.Comments[0].Text != "Still leaking" {
		t.Fatalf("comments at TheWorxHub: %+v", wr.Comments)
	}
}

func TestContinueAsNewRepeatsInLaterRuns(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	kit := testkit.New(t, testkit.Options{})
	in := newHarnessWithKit(t, kit, "req-can-twice").in
	for run := 1; run <= 3; run++ {
		h := newHarnessWithKit(t, kit, "req-can-twice")
		h.in = in
		// Guard: a run that never continues-as-new is cancelled after 5 h (20 polls).
		h.at(5*time.Hour, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
		h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("run %d: want continue-as-new after %d polls, got %v", run, workflows.MaxPollsPerRun, err)
		}
		var next ticket.Input
		if err := decodeCANInput(can, &next); err != nil {
			t.Fatal(err)
		}
		if next.State == nil || next.State.Runs != run || next.State.Polls < run*workflows.MaxPollsPerRun {
			t.Fatalf("run %d carried %+v", run, next.State)
		}
		in = next
	}
	if n := len(kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests across runs", n)
	}
}
