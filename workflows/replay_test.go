package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/ticketsync/ticketsync/workers"
)

// TestReplayRecordedHistories replays every recorded history in testdata/ against the current
// workflow code: a non-deterministic change to a deployed workflow fails here (guard such
// changes with workflow.GetVersion). Record new ones with
// TICKETSYNC_RECORD_HISTORY=1 go test ./e2e -run TestRecordTicketHistory.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			workers.RegisterWorkflows(replayer)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
