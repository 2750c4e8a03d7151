//go:build recordhistory

package workflows_test

// Records the histories TestReplayRecordedHistories replays for the change ids, on a real
// Temporal server (temporaltest), so that `go test ./workflows` need not build one:
//
//	TICKETSYNC_RECORD_HISTORY=1 go test -tags recordhistory -run TestRecord ./workflows/
//
// Without the variable the scenarios still run and each history is replayed. With it, only
// files not in testdata/ yet are written (=overwrite rewrites them all): the engine starts
// tickets at the current ticket.Generation, which takes the change ids of its generation
// without GetVersion, so the histories recorded before generation 1 are the only ones that
// still take their versioned branches and must stay as recorded.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.temporal.io/api/operatorservice/v1"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
	"github.com/ticketsync/ticketsync/workflows"
)

type recorder struct {
	t    *testing.T
	kit  *testkit.Kit
	c    client.Client
	eng  *engine.Engine
	conn *connectors.Conn
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: ticket.SearchAttributeTypes(), Namespace: ts.GetDefaultNamespace()}); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	kit := testkit.New(t, testkit.Options{})
	eng := kit.UseTemporal(c)
	w := workers.New(c, kit.Activities, workers.Options{TaskQueue: "ticketsync"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	conn, err := kit.Registry.Get(testkit.Connection)
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{t: t, kit: kit, c: c, eng: eng, conn: conn}
}

func (r *recorder) request() vendorapi.NewRequest {
	return vendorapi.NewRequest{RequestType: "Maintenance", Title: "Leaking sink", Description: "The bathroom sink leaks.",
		Location: vendorapi.Location{Address: "Building A, apt 12"}, Requester: vendorapi.Person{Name: "Ada Resident"}}
}

func (r *recorder) create(ext string, nr vendorapi.NewRequest) ticket.Ref {
	r.t.Helper()
	if _, _, err := r.eng.CreateTicket(context.Background(), r.conn, ext, nr); err != nil {
		r.t.Fatal(err)
	}
	return ticket.NewRef(testkit.Tenant, testkit.Connection, ext)
}

func (r *recorder) signal(ref ticket.Ref, name string, arg any) {
	r.t.Helper()
	if err := r.eng.Signal(context.Background(), ref.WorkflowID, name, arg); err != nil {
		r.t.Fatal(err)
	}
}

func (r *recorder) state(ref ticket.Ref) ticket.State {
	st, _ := r.eng.State(context.Background(), ref.WorkflowID)
	return st
}

func (r *recorder) waitState(ref ticket.Ref, what string, cond func(ticket.State) bool) {
	r.t.Helper()
	testkit.WaitFor(r.t, 20*time.Second, what, func() bool { return cond(r.state(ref)) })
}

func (r *recorder) remote() twhsim.WorkRequest {
	r.t.Helper()
	var wr twhsim.WorkRequest
	testkit.WaitFor(r.t, 10*time.Second, "the remote request", func() bool {
		reqs := r.kit.TWH.Requests()
		if len(reqs) > 0 {
			wr = reqs[len(reqs)-1]
		}
		return len(reqs) > 0
	})
	return wr
}

// created creates a ticket and waits until its request is in the work system.
func (r *recorder) created(ext string) (ticket.Ref, twhsim.WorkRequest) {
	r.t.Helper()
	ref := r.create(ext, r.request())
	wr := r.remote()
	r.waitState(ref, "the request created", func(s ticket.State) bool { return s.RemoteID != "" })
	return ref, wr
}

// history waits for the run runID (latest when "") to close and returns its history.
func (r *recorder) history(ref ticket.Ref, runID string) *historypb.History {
	r.t.Helper()
	ctx := context.Background()
	testkit.WaitFor(r.t, 30*time.Second, "the run to close", func() bool {
		d, err := r.c.DescribeWorkflowExecution(ctx, ref.WorkflowID, runID)
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	hist := &historypb.History{}
	iter := r.c.GetWorkflowHistory(ctx, ref.WorkflowID, runID, false, 0)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			r.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}

// keep replays the history with this build and, when recording, writes it to testdata/.
func (r *recorder) keep(name string, hist *historypb.History) {
	r.t.Helper()
	// Marshalled before the replay: the replayer merges upserted search attributes into the
	// started event it was given, and a file with those would start with the final values.
	data, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		r.t.Fatal(err)
	}
	replayer := worker.NewWorkflowReplayer()
	workers.RegisterWorkflows(replayer)
	if err := replayer.ReplayWorkflowHistory(nil, proto.Clone(hist).(*historypb.History)); err != nil {
		r.t.Fatalf("%s does not replay: %v", name, err)
	}
	r.t.Logf("%s: %d events", name, len(hist.Events))
	mode := os.Getenv("TICKETSYNC_RECORD_HISTORY")
	if _, err := os.Stat(filepath.Join("testdata", name)); mode == "" || (err == nil && mode != "overwrite") {
		return
	}
	if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// request-patch, finish-clean and bounded-state: a create refused for a missing location,
// corrected and retried; a comment; the work system completes the request and the requester's
// cancel comes too late.
func TestRecordPatchAndLateCancel(t *testing.T) {
	r := newRecorder(t)
	r.keep("ticket-patch-v3.json", r.patchAndLateCancel("record-patch"))
}

// The current generation (ticket.Generation): the same life from a ticket the engine started
// now takes every change id's new branch without a single version marker.
func TestRecordCurrentGeneration(t *testing.T) {
	r := newRecorder(t)
	hist := r.patchAndLateCancel("record-generation")
	for _, ev := range hist.Events {
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "Version" {
			t.Fatalf("event %d: a version marker in a generation-%d history", ev.GetEventId(), ticket.Generation)
		}
	}
	r.keep(fmt.Sprintf("ticket-generation%d-patch.json", ticket.Generation), hist)
}

func (r *recorder) patchAndLateCancel(ext string) *historypb.History {
	t := r.t
	nr := r.request()
	nr.Location = vendorapi.Location{}
	ref := r.create(ext, nr)
	r.waitState(ref, "the create parked", func(s ticket.State) bool {
		return s.NeedsAttention != nil && s.NeedsAttention.Step == ticket.StepCreate
	})
	fixed := r.request()
	r.signal(ref, ticket.SignalPatch, ticket.PatchSignal{Request: fixed, Fields: []string{"location"}})
	r.signal(ref, ticket.SignalRetry, nil)
	r.waitState(ref, "the request created", func(s ticket.State) bool { return s.RemoteID != "" && s.NeedsAttention == nil })
	r.signal(ref, ticket.SignalComment, ticket.CommentSignal{ID: "c-1", Text: "Guest bathroom", Author: "Ada"})
	testkit.WaitFor(t, 20*time.Second, "the comment forwarded", func() bool {
		wr, _ := r.kit.TWH.Request(r.remote().ID)
		return len(wr.Comments) == 1
	})
	if _, err := r.kit.TWH.SetCategory(r.remote().ID, "Plumbing"); err != nil { // accepted: InProgress
		t.Fatal(err)
	}
	if _, err := r.kit.TWH.Transition(r.remote().ID, twhsim.StatusCompleted, nil, false); err != nil {
		t.Fatal(err)
	}
	r.signal(ref, ticket.SignalCancel, ticket.CancelSignal{Reason: "fixed it myself"})
	return r.history(ref, "")
}

// endpoint-wait: the portal answers 410, deliveries wait until the endpoint is re-enabled and
// the operator's retry arrives.
func TestRecordEndpointWait(t *testing.T) {
	r := newRecorder(t)
	r.kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	ref := r.create("record-endpoint", r.request())
	r.waitState(ref, "deliveries waiting for the endpoint", func(s ticket.State) bool { return s.EndpointWait })
	r.kit.Portal.SetFaults(portalsim.Faults{})
	if _, err := r.kit.Store.EnableEndpoint(context.Background(), testkit.Tenant, testkit.Connection); err != nil {
		t.Fatal(err)
	}
	r.signal(ref, ticket.SignalRetry, nil)
	r.waitState(ref, "the first event delivered", func(s ticket.State) bool { return s.Events.Delivered > 0 && !s.EndpointWait })
	r.signal(ref, ticket.SignalCancel, nil)
	r.keep("ticket-endpoint-v3.json", r.history(ref, ""))
}

// lossless-handover: a run continues as new after two polls; the next run is paused, resumed
// and canceled. Both runs are recorded.
func TestRecordHandover(t *testing.T) {
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 2
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	r := newRecorder(t)
	ref := r.create("record-handover", r.request())
	r.waitState(ref, "the request created", func(s ticket.State) bool { return s.RemoteID != "" })
	ctx := context.Background()
	d, err := r.c.DescribeWorkflowExecution(ctx, ref.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	first := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	r.signal(ref, ticket.SignalPoke, nil)
	r.waitState(ref, "one poll", func(s ticket.State) bool { return s.Polls >= 1 })
	r.signal(ref, ticket.SignalPoke, nil)
	r.waitState(ref, "the next run", func(s ticket.State) bool { return s.Runs == 2 })
	r.signal(ref, ticket.SignalHold, ticket.HoldSignal{Reason: "audit"})
	r.waitState(ref, "paused", func(s ticket.State) bool { return s.Paused != nil })
	r.signal(ref, ticket.SignalResume, nil)
	r.waitState(ref, "resumed", func(s ticket.State) bool { return s.Paused == nil })
	r.signal(ref, ticket.SignalCancel, nil)
	r.keep("ticket-handover-v3-run1.json", r.history(ref, first))
	r.keep("ticket-handover-v3-run2.json", r.history(ref, ""))
}

// feedback-after-requested: the create's answer is lost after it was committed; before the
// retry adopts the request by our reference, staff finish it with a note for the resident.
func TestRecordAdoptedFinished(t *testing.T) {
	r := newRecorder(t)
	r.kit.TWH.SetFaults(twhsim.Faults{DropAfterCreate: 1})
	ref := r.create("record-adopted", r.request())
	wr := r.remote()
	if _, err := r.kit.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Replaced the washer.", Author: "J. Rivera", VisibleToRequestor: true}, true); err != nil {
		t.Fatal(err)
	}
	r.waitState(ref, "the ticket finished", func(s ticket.State) bool { return s.Status == ticket.Done && s.Events.Delivered == 4 })
	r.keep("ticket-adopted-finished-v1.json", r.history(ref, ""))
}

// cancel-reads-on: staff leave 120 notes for the resident, who cancels before the ticket read
// any: the cancel's answer holds 100 of them, the ticket reads the rest, then ends Canceled.
func TestRecordCancelReadsOn(t *testing.T) {
	r := newRecorder(t)
	ref, wr := r.created("record-cancel-notes")
	for i := range 120 {
		if _, err := r.kit.TWH.AddFeedback(wr.ID, twhsim.FeedbackInput{Text: fmt.Sprintf("Note %d for the resident.", i+1), Author: "Front desk", VisibleToRequestor: true}); err != nil {
			t.Fatal(err)
		}
	}
	r.signal(ref, ticket.SignalCancel, ticket.CancelSignal{Reason: "moved out"})
	r.waitState(ref, "the ticket canceled after every note", func(s ticket.State) bool {
		return s.Status == ticket.Canceled && s.Events.Delivered == 123
	})
	r.keep("ticket-cancel-reads-on-v1.json", r.history(ref, ""))
}

// final-sync (recorded at generation 1, before ticket.Generation had it): the request is
// completed; the finished ticket's last write is forced past any lost task's version.
func TestRecordFinalSync(t *testing.T) {
	r := newRecorder(t)
	ref, wr := r.created("record-final-sync")
	if _, err := r.kit.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Done.", Author: "J. Rivera", VisibleToRequestor: true}, true); err != nil {
		t.Fatal(err)
	}
	r.signal(ref, ticket.SignalPoke, nil)
	r.keep("ticket-final-sync-v1.json", r.history(ref, ""))
}
