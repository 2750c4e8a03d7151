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
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
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
		Generation:     ticket.Generation, // as the engine starts tickets; testdata/ replays the older ones
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
func (h *harness) portalEvents() []string { return portalEventsOf(h.kit, h.in.Ref.TicketID) }

// portalEventsOf is what the fake portal accepted for a ticket, as (type, status, prev).
func portalEventsOf(kit *testkit.Kit, ticketID string) []string {
	var out []string
	for _, r := range kit.Portal.EventsFor(ticketID) {
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

// enableEndpoint is the operator's enable-endpoint after a 410 Gone disabled the connection's
// endpoint.
func enableEndpoint(t *testing.T, h *harness) {
	t.Helper()
	if _, err := h.kit.Store.EnableEndpoint(context.Background(), h.in.Ref.Tenant, h.in.Ref.Connection); err != nil {
		t.Errorf("enable endpoint: %v", err)
	}
}

// runs executes a ticket run after run (continue-as-new) until it completes or maxRuns ran,
// calling each for every run before it starts (to register callbacks), and returns the result
// (zero when it did not complete) and every carried input with its encoded size.
func runs(t *testing.T, kit *testkit.Kit, in ticket.Input, maxRuns int, each func(h *harness)) (ticket.Result, []carried) {
	t.Helper()
	var out []carried
	for run := 1; run <= maxRuns; run++ {
		h := newHarnessWithKit(t, kit, in.Ref.ExternalID)
		h.in = in
		each(h)
		h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
		if !h.env.IsWorkflowCompleted() {
			t.Fatalf("run %d did not complete", run)
		}
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); errors.As(err, &can) {
			var next ticket.Input
			if err := decodeCANInput(can, &next); err != nil {
				t.Fatal(err)
			}
			size := 0
			for _, p := range can.Input.GetPayloads() {
				size += len(p.GetData())
			}
			out = append(out, carried{in: next, bytes: size})
			in = next
			continue
		} else if err != nil {
			t.Fatalf("run %d failed: %v", run, err)
		}
		var res ticket.Result
		if err := h.env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		return res, out
	}
	return ticket.Result{}, out
}

// carried is one continue-as-new input and its encoded size.
type carried struct {
	in    ticket.Input
	bytes int
}
