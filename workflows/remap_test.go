package workflows_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workflows"
)

// remapTarget is a TheWorxHub mapping that also knows "Escalated": v1's table plus one row,
// so registering it changes nothing for tests that pin v1. A high version number so a real
// theworxhub-v2 published later never collides with it.
const remapTarget = "theworxhub-v900"

var registerRemapMappings = sync.OnceValue(func() error {
	v1, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return err
	}
	table := maps.Clone(v1.Table)
	table["Escalated"] = ticket.InProgress
	if err := mapping.Register(mapping.Mapping{Name: remapTarget, WorkKind: "theworxhub", Table: table}); err != nil {
		return err
	}
	return mapping.Register(mapping.Mapping{Name: "otherkind-v1", WorkKind: "otherkind", Table: map[string]string{"Open": ticket.InProgress}})
})

func remap(h *harness, name string) func() {
	return func() {
		h.env.SignalWorkflow(ticket.SignalRemap, ticket.RemapSignal{Mapping: name})
		h.poke() // what the API does: the remap is read at the ticket's next wake
	}
}

func timelineDetails(t *testing.T, h *harness, typ string) []string {
	t.Helper()
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, string(e.Payload))
		}
	}
	return out
}

// A status the pinned mapping does not know parks the ticket; remapping to a version that
// knows it un-parks the ticket at once and sends the status the new table gives. Remaps to an
// unknown version or to another work system's mapping are refused and change nothing.
func TestRemapTranslatesTheCurrentStatusWithTheNewMapping(t *testing.T) {
	if err := registerRemapMappings(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "req-remap")
	var parked, remapped, refused ticket.State
	escalate := h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, "Escalated", nil, true); return err })
	h.at(time.Minute, escalate)
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, func() { parked = h.state() })
	h.at(3*time.Minute, remap(h, remapTarget))
	h.at(4*time.Minute, func() { remapped = h.state() })
	h.at(5*time.Minute, remap(h, "theworxhub-v404"))
	h.at(6*time.Minute, remap(h, "otherkind-v1"))
	h.at(7*time.Minute, func() { refused = h.state() })
	h.at(8*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, true)
		return err
	}))
	h.at(8*time.Minute+time.Second, h.poke)
	res := h.run()

	if parked.NeedsAttention == nil || parked.Status != ticket.Requested || parked.MappingVersion != "theworxhub-v1" {
		t.Fatalf("before the remap the ticket should be parked on the unmapped status: %+v", parked)
	}
	if remapped.NeedsAttention != nil || remapped.Status != ticket.InProgress || remapped.MappingVersion != remapTarget {
		t.Fatalf("after the remap: status %s, mapping %s, attention %+v", remapped.Status, remapped.MappingVersion, remapped.NeedsAttention)
	}
	if refused.MappingVersion != remapTarget || refused.Status != ticket.InProgress || refused.NeedsAttention != nil {
		t.Fatalf("a refused remap changed the ticket: %+v", refused)
	}
	if res.Status != ticket.Done {
		t.Fatalf("result %+v", res)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.needs_attention:Requested",
		"ticket.status_changed:InProgress<Requested", "ticket.status_changed:Done<InProgress", "ticket.closed:Done<InProgress")
	if got := timelineDetails(t, h, ticket.EventRemapped); len(got) != 1 || !strings.Contains(got[0], "theworxhub-v1 → "+remapTarget) {
		t.Fatalf("remapped timeline rows: %q", got)
	}
	notes := strings.Join(timelineDetails(t, h, ticket.EventNote), "\n")
	for _, want := range []string{"remap to theworxhub-v404 refused: unknown status mapping", `remap to otherkind-v1 refused: mapping otherkind-v1 reads work system kind \"otherkind\"`} {
		if !strings.Contains(notes, want) {
			t.Errorf("timeline notes lack %q:\n%s", want, notes)
		}
	}
}

// The new mapping survives continue-as-new: the next run starts with it, so the status it
// maps stays mapped.
func TestRemapCarriesOverContinueAsNew(t *testing.T) {
	if err := registerRemapMappings(); err != nil {
		t.Fatal(err)
	}
	old := workflows.MaxPollsPerRun
	workflows.MaxPollsPerRun = 3
	t.Cleanup(func() { workflows.MaxPollsPerRun = old })
	h := newHarness(t, "req-remap-can")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.Transition(id, "Escalated", nil, true); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, remap(h, remapTarget))
	h.env.ExecuteWorkflow(ticket.WorkflowType, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next ticket.Input
	if err := decodeCANInput(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.MappingVersion != remapTarget || next.State == nil || next.State.MappingVersion != remapTarget || next.State.NeedsAttention != nil {
		t.Fatalf("carried input: mapping %s, state %+v", next.MappingVersion, next.State)
	}
	h2 := newHarnessWithKit(t, h.kit, "req-remap-can")
	h2.in = next
	var st ticket.State
	h2.at(time.Minute, h2.poke)
	h2.at(2*time.Minute, func() { st = h2.state() })
	h2.at(3*time.Minute, func() { h2.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h2.run()
	if st.NeedsAttention != nil || st.Status != ticket.InProgress || st.RemoteStatus != "Escalated" {
		t.Fatalf("second run with the carried mapping: %+v", st)
	}
}

// testdata/ticket-remap-v1.json really exercises the remap: it holds a remap signal and the
// version marker, and replays (TestReplayRecordedHistories replays every file). Recorded by
// TICKETSYNC_RECORD_HISTORY=1 go test ./engine -run TestRemapEndToEnd.
func TestRemapHistoryIsRecorded(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "ticket-remap-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var hist historypb.History
	if err := protojson.Unmarshal(raw, &hist); err != nil {
		t.Fatal(err)
	}
	var signals, markers []string
	for _, ev := range hist.Events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals = append(signals, ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName())
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if d, ok := ev.GetMarkerRecordedEventAttributes().GetDetails()["change-id"]; ok {
				markers = append(markers, string(d.GetPayloads()[0].GetData()))
			}
		}
	}
	if !slices.Contains(signals, ticket.SignalRemap) {
		t.Errorf("no remap signal in the recorded history (signals: %v)", signals)
	}
	if !slices.ContainsFunc(markers, func(m string) bool { return strings.Contains(m, "remap-signal") }) {
		t.Errorf("no remap-signal version marker (markers: %v)", markers)
	}
}
