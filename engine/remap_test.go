package engine_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
)

// remapTarget knows TheWorxHub's "Escalated" (v1 plus one row). A high version so a real
// theworxhub-v2 never collides with it; the recorded history keeps the table it used (the
// workflow records its lookup), so replaying it needs no registration.
const remapTarget = "theworxhub-v900"

var registerRemapTarget = sync.OnceValue(func() error {
	v1, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return err
	}
	table := maps.Clone(v1.Table)
	table["Escalated"] = ticket.InProgress
	return mapping.Register(mapping.Mapping{Name: remapTarget, WorkKind: "theworxhub", Table: table})
})

// An operator moves a ticket parked on a status its mapping does not know to a mapping that
// knows it: through the API, the workflow un-parks and the portal hears the new status. The
// history is recorded for the replay test (TICKETSYNC_RECORD_HISTORY=1) and replayed here.
func TestRemapEndToEnd(t *testing.T) {
	if err := registerRemapTarget(); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, 15*time.Minute)
	ctx := context.Background()
	id, remote := s.create("remap-e2e-1")
	wfID := ticket.WorkflowID(testkit.Connection, "remap-e2e-1")
	s.waitStatus(id, ticket.Requested)
	if _, err := s.kit.TWH.Transition(remote.ID, "Escalated", nil, true); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 15*time.Second, "the ticket parked on the unmapped status", func() bool {
		tk, _ := s.kit.Store.GetTicketAnyTenant(ctx, id)
		return tk.NeedsAttention && strings.Contains(tk.AttentionReason, "Escalated")
	})
	if code, got := s.call("POST", "/v1/tickets/"+id+"/remap", map[string]any{"mapping": "theworxhub-v404"}); code != 422 {
		t.Fatalf("remap to an unknown mapping: %d %v", code, got)
	}
	code, got := s.call("POST", "/v1/tickets/"+id+"/remap", map[string]any{"mapping": remapTarget})
	if code != 202 {
		t.Fatalf("remap: %d %v", code, got)
	}
	testkit.WaitFor(t, 15*time.Second, "the ticket un-parked with the new mapping", func() bool {
		tk, _ := s.kit.Store.GetTicketAnyTenant(ctx, id)
		return !tk.NeedsAttention && tk.Status == ticket.InProgress && tk.MappingVersion == remapTarget
	})
	const want = "ticket.status_changed:Requested,ticket.needs_attention:Requested,ticket.status_changed:InProgress"
	var sent []string
	testkit.WaitFor(t, 15*time.Second, "the portal told "+want, func() bool {
		sent = sent[:0]
		for _, r := range s.kit.Portal.EventsFor(id) {
			sent = append(sent, r.Event.Type+":"+r.Event.Ticket.Status)
		}
		return len(sent) >= 3
	})
	if strings.Join(sent, ",") != want {
		t.Fatalf("portal heard %v", sent)
	}
	if _, err := s.kit.TWH.Transition(remote.ID, twhsim.StatusCompleted, nil, true); err != nil {
		t.Fatal(err)
	}
	s.waitClosed(wfID)

	hist := &historypb.History{}
	iter := s.c.GetWorkflowHistory(ctx, wfID, "", false, 0)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	replayer := worker.NewWorkflowReplayer()
	workers.RegisterWorkflows(replayer)
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("the remap history does not replay: %v", err)
	}
	if os.Getenv("TICKETSYNC_RECORD_HISTORY") == "" {
		return
	}
	data, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "workflows", "testdata", "ticket-remap-v1.json")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", out, len(hist.Events))
}
