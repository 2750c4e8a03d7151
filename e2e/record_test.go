package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// TestRecordTicketHistory records a whole ticket life into workflows/testdata for the replay
// test (go test ./e2e -run TestRecordTicketHistory with TICKETSYNC_RECORD_HISTORY=1). Without
// the variable it still runs the scenario and checks the history is complete, so the recorder
// itself stays tested.
func TestRecordTicketHistory(t *testing.T) {
	w := newWorld(t)
	key := w.kit.APIKey
	code, created := w.call("POST", "/v1/tickets", key, ticketBody("replay-1"))
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id, wfID := created["id"].(string), created["workflowId"].(string)
	remote := w.oneRemote()
	staff := func(status, feedback string, visible bool) {
		t.Helper()
		var fb *twhsim.FeedbackInput
		if feedback != "" {
			fb = &twhsim.FeedbackInput{Text: feedback, Author: "J. Rivera", VisibleToRequestor: visible}
		}
		if _, err := w.kit.TWH.Transition(remote.ID, status, fb, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.kit.TWH.SetCategory(remote.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	if err := waitPortal(w, id, "InProgress"); err != nil {
		t.Fatal(err)
	}
	staff(twhsim.StatusOnHold, "Which bathroom sink is leaking?", true)
	if err := waitPortal(w, id, "OnHold"); err != nil {
		t.Fatal(err)
	}
	if code, _ := w.call("POST", "/v1/tickets/"+id+"/comments", key, map[string]any{"text": "Guest bathroom", "author": "Ada"}); code != 202 {
		t.Fatalf("comment: %d", code)
	}
	waitFor(t, 10*time.Second, "comment forwarded", func() bool {
		wr, _ := w.kit.TWH.Request(remote.ID)
		return len(wr.Comments) == 1
	})
	staff(twhsim.StatusInProgress, "", false)
	staff(twhsim.StatusCompleted, "internal: replaced trap", false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := w.ts.GetDefaultClient()
	if err := c.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	iter := c.GetWorkflowHistory(ctx, wfID, "", false, 0)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	last := hist.Events[len(hist.Events)-1]
	if last.GetWorkflowExecutionCompletedEventAttributes() == nil {
		t.Fatalf("history does not end with completion: %v", last.GetEventType())
	}
	t.Logf("history of one full ticket life: %d events", len(hist.Events))
	// As in workflows/record_test.go: a file already recorded is kept unless =overwrite (it
	// predates ticket.Generation and takes the versioned branches).
	out := filepath.Join("..", "workflows", "testdata", "ticket-full-life-v2.json")
	mode := os.Getenv("TICKETSYNC_RECORD_HISTORY")
	if _, err := os.Stat(out); mode == "" || (err == nil && mode != "overwrite") {
		return
	}
	data, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}
