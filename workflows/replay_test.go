package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/ticketsync/ticketsync/workers"
	"github.com/ticketsync/ticketsync/workflows"
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
	// Histories recorded with a smaller MaxPollsPerRun (to hand over after a few polls) replay
	// with the same setting: the run's decision to continue as new depends on it.
	maxPolls := map[string]int{"ticket-handover-v3-run1.json": 2}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if n, ok := maxPolls[filepath.Base(f)]; ok {
				old := workflows.MaxPollsPerRun
				workflows.MaxPollsPerRun = n
				t.Cleanup(func() { workflows.MaxPollsPerRun = old })
			}
			replayer := worker.NewWorkflowReplayer()
			workers.RegisterWorkflows(replayer)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// Every workflow.GetVersion change id has a recorded history that reaches it (its marker is
// in the history), so TestReplayRecordedHistories covers each new branch.
func TestEveryChangeIDHasARecordedHistory(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Events []struct {
				Marker *struct {
					Name    string `json:"markerName"`
					Details map[string]struct {
						Payloads []struct {
							Data []byte `json:"data"`
						} `json:"payloads"`
					} `json:"details"`
				} `json:"markerRecordedEventAttributes"`
			} `json:"events"`
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ev := range h.Events {
			if ev.Marker == nil || ev.Marker.Name != "Version" || len(ev.Marker.Details["change-id"].Payloads) == 0 {
				continue
			}
			var id string
			if err := json.Unmarshal(ev.Marker.Details["change-id"].Payloads[0].Data, &id); err == nil {
				recorded[id] = true
			}
		}
	}
	for _, id := range workflows.ChangeIDs() {
		if !recorded[id] {
			t.Errorf("change id %q has no recorded history in testdata/", id)
		}
	}
}

// Every change id the workflow code declares has its generation (workflows.ChangeIDs): one
// left out would still work, through GetVersion, but would escape the check above.
func TestEveryChangeIDHasAGeneration(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^\s*(?:const\s+)?change[A-Z]\w*\s*=\s*"([^"]+)"`)
	ids := workflows.ChangeIDs()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			found++
			if !slices.Contains(ids, m[1]) {
				t.Errorf("%s declares change id %q, which has no generation in changeGenerations", f, m[1])
			}
		}
	}
	if found != len(ids) {
		t.Errorf("%d change ids declared, %d with a generation", found, len(ids))
	}
}
