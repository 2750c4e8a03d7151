//go:build chaos

package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A short chaos run (go test -tags chaos ./cmd/ticketsync -run TestChaos): 30 tickets through
// 60 s of faults, worker kills, a Temporal restart, store outages and a portal outage. Every
// invariant must hold. TICKETSYNC_CHAOS_DATABASE_URL runs the store on that (loopback)
// PostgreSQL; TICKETSYNC_CHAOS_TICKETS and TICKETSYNC_CHAOS_DURATION change the size and
// TICKETSYNC_CHAOS_PAIRS (--pairs) the connector pairs driven.
func TestChaos(t *testing.T) {
	tickets, duration := "30", "60s"
	if v := os.Getenv("TICKETSYNC_CHAOS_TICKETS"); v != "" {
		tickets = v
	}
	if v := os.Getenv("TICKETSYNC_CHAOS_DURATION"); v != "" {
		duration = v
	}
	args := []string{"chaos", "--tickets", tickets, "--duration", duration, "--settle", "4m"}
	if v := os.Getenv("TICKETSYNC_CHAOS_PAIRS"); v != "" {
		args = append(args, "--pairs", v)
	}
	if u := os.Getenv("TICKETSYNC_CHAOS_DATABASE_URL"); u != "" {
		args = append(args, "--database-url", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 16*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := runCtx(ctx, args, &out, &errb)
	t.Logf("progress:\n%s", errb.String())
	t.Logf("report:\n%s", out.String())
	got := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			got[k] = v
		}
	}
	for _, inv := range []string{"duplicates", "lost", "order violations", "redelivery id changes", "stuck without reason", "timeline gaps"} {
		if got[inv] != "0" {
			t.Errorf("%s: %q, want 0", inv, got[inv])
		}
	}
	n, _ := strconv.Atoi(tickets)
	if want := tickets + "/" + tickets; got["converged"] != want {
		t.Errorf("converged: %q, want %s", got["converged"], want)
	}
	if k, _ := strconv.Atoi(got["worker kills survived"]); k < 2 {
		t.Errorf("worker kills survived: %q, want at least 2", got["worker kills survived"])
	}
	for _, f := range []string{"temporal restarts survived", "store outages survived", "portal outages survived"} {
		if v, _ := strconv.Atoi(got[f]); v < 1 {
			t.Errorf("%s: %q, want at least 1", f, got[f])
		}
	}
	if os.Getenv("TICKETSYNC_CHAOS_PAIRS") == "" && got["kinds not driven"] != "none" {
		t.Errorf("kinds not driven: %q, want none: every connector pair is driven", got["kinds not driven"])
	}
	if got["tickets created"] != strconv.Itoa(n) || got["result"] != "PASS" || code != 0 {
		t.Errorf("result %q, exit %d", got["result"], code)
	}
}
