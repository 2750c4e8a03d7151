package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConnectionsReadVerbs(t *testing.T) {
	api := newFakeAPI(t)
	api.on("GET /v1/connections", 200, `{"items":[`+connectionJSON+`,`+connection2JSON+`]}`)
	code, out, errOut := runCLI("connections", "list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/connections", "", "")
	columnsAligned(t, out, "ID", "TENANT", "REQUEST SYSTEM", "WORK SYSTEM", "MAPPING", "POLL")
	if !strings.Contains(out, "seeclickfix") || !strings.Contains(out, "theworxhub-v1") {
		t.Errorf("list:\n%s", out)
	}

	code, out, errOut = runCLI("connections", "status")
	if code != 0 {
		t.Fatalf("status: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/connections", "", "")
	columnsAligned(t, out, "ID", "WORK SYSTEM", "FEED LAG", "REQUEST SYSTEM", "INTAKE LAG", "LAST ERROR")
	if !strings.Contains(out, "42s") || !strings.Contains(out, "HTTP 503 from TheWorxHub") || !strings.Contains(out, "7s") {
		t.Errorf("status:\n%s", out)
	}

	api.on("GET /v1/connections/demo-twh", 200, connectionJSON)
	code, out, errOut = runCLI("connections", "status", "demo-twh", "-o", "json")
	var one map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || one["id"] != "demo-twh" {
		t.Fatalf("status <id> -o json: %d %s %s", code, out, errOut)
	}
	api.expectSent("GET", "/v1/connections/demo-twh", "", "")

	code, out, errOut = runCLI("connections", "show", "demo-twh")
	if code != 0 {
		t.Fatalf("show: %d %s", code, errOut)
	}
	for _, want := range []string{"Work system:", "theworxhub", "Request types:", "Maintenance, Housekeeping", "Feed lag:", "42s",
		"Feed last error:", "HTTP 503 from TheWorxHub", "Capabilities:", "changeFeed, workHooks", "Intake:", "none (requests arrive"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	api.on("GET /v1/connections/nope", 404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"connection \"nope\" not found"}`)
	if code, _, errOut := runCLI("connections", "show", "nope"); code != 1 || errOut != "error: Not Found: connection \"nope\" not found\n" {
		t.Fatalf("show 404: %d %q", code, errOut)
	}
}

func TestConnectionsValidateRemote(t *testing.T) {
	api := newFakeAPI(t)
	api.on("POST /v1/connections/demo-twh/validate", 200, `{"connection":"demo-twh","ok":false,"checks":[
		{"name":"request system: portal endpoint","ok":true,"detail":"HTTP 204 in 12ms"},
		{"name":"work system: OAuth token","ok":false,"detail":"401 invalid_client","fix":"check workSystem.clientSecret (TWH_SECRET)"}]}`)
	code, out, errOut := runCLI("connections", "validate", "demo-twh")
	if code != 1 {
		t.Fatalf("a failed check exits 1: %d %s %s", code, out, errOut)
	}
	api.expectSent("POST", "/v1/connections/demo-twh/validate", "", "")
	columnsAligned(t, out, "CHECK", "RESULT", "DETAIL", "FIX")
	if !strings.Contains(out, "FAILED") || !strings.Contains(out, "check workSystem.clientSecret (TWH_SECRET)") {
		t.Errorf("report:\n%s", out)
	}
	if !strings.Contains(errOut, "validating connection demo-twh …") || !strings.Contains(errOut, "2 checks, 1 failed") {
		t.Errorf("progress and summary on stderr: %q", errOut)
	}
	api.on("POST /v1/connections/demo-twh/validate", 200, `{"connection":"demo-twh","ok":true,"checks":[{"name":"work system: OAuth token","ok":true}]}`)
	if code, _, errOut := runCLI("connections", "validate", "demo-twh"); code != 0 || !strings.Contains(errOut, "1 checks, 0 failed") {
		t.Fatalf("all checks ok: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("connections", "validate", "demo-twh", "-f", "x.yaml"); code != 2 {
		t.Fatalf("id and -f: %d %s", code, errOut)
	}
	t.Setenv("TICKETSYNC_CONNECTIONS_FILE", "")
	if code, _, errOut := runCLI("connections", "validate"); code != 2 || !strings.Contains(errOut, "-f FILE") {
		t.Fatalf("nothing to validate: %d %s", code, errOut)
	}
}

func TestConnectionsLongRunningVerbs(t *testing.T) {
	api := newFakeAPI(t)
	api.on("POST /v1/connections/scf/refresh", 200, `{"connection":"scf","full":true,"new":3,"updated":1,"unchanged":40,"failed":2,"durationMs":1530}`)
	code, out, errOut := runCLI("connections", "refresh", "scf", "--full")
	if code != 0 {
		t.Fatalf("refresh: %d %s", code, errOut)
	}
	api.expectSent("POST", "/v1/connections/scf/refresh", "full=true", "")
	if !strings.Contains(errOut, "refreshing connection scf (full) …") || !strings.Contains(errOut, "refreshing connection scf (full): done in") {
		t.Errorf("progress: %q", errOut)
	}
	for _, want := range []string{"new        3", "updated    1", "unchanged  40", "failed     2"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCLI("connections", "refresh", "scf"); code != 0 {
		t.Fatal("refresh without --full")
	}
	api.expectSent("POST", "/v1/connections/scf/refresh", "", "")

	api.on("POST /v1/connections/scf/sync-catalog", 200, `{"connection":"scf","categories":12,"created":3,"updated":1,"unchanged":8,"failed":0}`)
	code, out, errOut = runCLI("connections", "sync-catalog", "scf")
	if code != 0 || out != "categories read  12\ncreated          3\nupdated          1\nunchanged        8\nfailed           0\n" ||
		!strings.Contains(errOut, "syncing the catalog of connection scf") {
		t.Fatalf("sync-catalog: %d %q %q", code, out, errOut)
	}
	api.expectSent("POST", "/v1/connections/scf/sync-catalog", "", "")

	api.on("POST /v1/connections/scf/refresh", 502, `{"type":"about:blank","title":"Bad Gateway","status":502,"detail":"refresh stopped after new=1 updated=0 unchanged=3 failed=0: SeeClickFix: HTTP 503"}`)
	code, _, errOut = runCLI("connections", "refresh", "scf")
	if code != 1 || !strings.Contains(errOut, "refreshing connection scf: failed in") ||
		!strings.Contains(errOut, "error: Bad Gateway: refresh stopped after new=1 updated=0 unchanged=3 failed=0: SeeClickFix: HTTP 503\n") {
		t.Fatalf("refresh 503: %d %q", code, errOut)
	}

	api.on("POST /v1/connections/demo-twh/enable-endpoint", 200, connectionJSON)
	code, out, errOut = runCLI("connections", "enable-endpoint", "demo-twh")
	if code != 0 || !strings.Contains(out, "endpoint of connection demo-twh enabled") {
		t.Fatalf("enable-endpoint: %d %s %s", code, out, errOut)
	}
	api.expectSent("POST", "/v1/connections/demo-twh/enable-endpoint", "", "")
}

func TestEventsReplay(t *testing.T) {
	api := newFakeAPI(t)
	api.on("POST /v1/events/evt_1/replay", 202, `{"count":1,"dryRun":false,"events":[{"id":"evt_1","ticket":"tkt_1","type":"ticket.status_changed","occurredAt":"2026-01-02T03:04:05Z"}]}`)
	code, out, errOut := runCLI("events", "replay", "evt_1")
	if code != 0 || !strings.Contains(out, "1 events queued for redelivery with their original ids") {
		t.Fatalf("replay one: %d %s %s", code, out, errOut)
	}
	api.expectSent("POST", "/v1/events/evt_1/replay", "", "")

	api.on("POST /v1/events/replay", 200, `{"count":2,"dryRun":true,"events":[
		{"id":"evt_1","ticket":"tkt_1","type":"ticket.status_changed","occurredAt":"2026-01-02T03:04:05Z"},
		{"id":"evt_22","ticket":"tkt_22222","type":"ticket.feedback_added","occurredAt":"2026-01-02T04:04:05Z"}]}`)
	code, out, errOut = runCLI("events", "replay", "--connection", "demo-twh", "--since", "2026-01-02T00:00:00Z", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: %d %s", code, errOut)
	}
	api.expectSent("POST", "/v1/events/replay", "", `{"connection":"demo-twh","since":"2026-01-02T00:00:00Z","dryRun":true}`)
	columnsAligned(t, strings.SplitN(out, "dry run", 2)[0], "EVENT", "TICKET", "TYPE", "OCCURRED")
	if !strings.Contains(out, "dry run: 2 events would be sent again") {
		t.Errorf("dry run summary:\n%s", out)
	}
	if code, _, _ := runCLI("events", "replay", "--tenant", "demo", "--since", "2026-01-02T00:00:00+01:00"); code != 0 {
		t.Fatal("replay by tenant")
	}
	api.expectSent("POST", "/v1/events/replay", "", `{"tenant":"demo","since":"2026-01-02T00:00:00+01:00"}`)

	n := api.count()
	for _, args := range [][]string{{}, {"--connection", "c"}, {"--connection", "c", "--since", "yesterday"},
		{"--connection", "c", "--tenant", "t", "--since", "2026-01-02T00:00:00Z"}, {"evt_1", "--dry-run"}, {"evt_1", "evt_2"}} {
		if code, _, errOut := runCLI(append([]string{"events", "replay"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	if api.count() != n {
		t.Error("a usage error reached the API")
	}
}
