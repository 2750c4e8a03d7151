//go:build benchsmoke

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/bench"
)

// `ticketsync bench --worker-process` runs the worker as a child process (this test binary,
// in its `worker` mode: TestMain) and reports the worker's own resources apart from the
// stack's. A tiny run: it proves the wiring and the figures, not their size.
func TestBenchWorkerProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := runCtx(ctx, []string{"bench", "--tickets", "20", "--phases", "create,quiet", "--poll-interval", "2s",
		"--quiet-window", "5s", "--worker-process", "--json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	w := r.Resources.Worker
	if w == nil {
		t.Fatalf("no worker figures: %s", data)
	}
	if w.Idle.RSSBytes <= 0 || w.End.RSSBytes <= 0 || w.End.PeakRSSBytes < w.End.RSSBytes || w.End.CPUSeconds <= 0 || w.Restarts != 0 {
		t.Errorf("worker: %+v", *w)
	}
	if r.Create.Tickets != 20 || r.Quiet == nil {
		t.Errorf("create %+v, quiet %+v", r.Create, r.Quiet)
	}
	if !strings.Contains(stdout.String(), "| Worker process") {
		t.Errorf("the Markdown lacks the worker's table:\n%s", stdout.String())
	}
}
