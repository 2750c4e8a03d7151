package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTicketsCreate(t *testing.T) {
	api := newFakeAPI(t)
	api.on("POST /v1/tickets", 201, ticketJSON)
	code, out, errOut := runCLI("tickets", "create", "--connection", "demo-twh", "--external-id", "x1", "--type", "Maintenance",
		"--title", "Leak", "--description", "Drip.", "--address", "apt 4", "--requester-name", "Ada", "--requester-email", "ada@example.org")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	api.expectSent("POST", "/v1/tickets", "", `{"connection":"demo-twh","externalId":"x1","requestType":"Maintenance","title":"Leak",
		"description":"Drip.","location":{"address":"apt 4"},"requester":{"name":"Ada","email":"ada@example.org"}}`)
	if got := api.last().Auth; got != "Bearer key-from-env" {
		t.Errorf("Authorization %q", got)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil || v["id"] != "tkt_1" {
		t.Fatalf("create prints the ticket as JSON by default: %v\n%s", err, out)
	}

	// From a file (and from stdin), the body goes as written; 200 means it already existed.
	api.on("POST /v1/tickets", 200, ticketJSON)
	file := filepath.Join(t.TempDir(), "t.json")
	body := `{"connection":"demo-twh","externalId":"x1","requestType":"Maintenance","title":"Leak","description":"Drip.","requester":{"name":"Ada"}}`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("tickets", "create", "-f", file, "-o", "table")
	if code != 0 || !strings.Contains(errOut, "already existed") || !strings.Contains(out, "ID:") || !strings.Contains(out, "tkt_1") {
		t.Fatalf("create -f: %d %s %s", code, out, errOut)
	}
	api.expectSent("POST", "/v1/tickets", "", body)
	code, _, errOut = runCLIStdin(body, "tickets", "create", "-f", "-")
	if code != 0 {
		t.Fatalf("create -f -: %d %s", code, errOut)
	}
	api.expectSent("POST", "/v1/tickets", "", body)

	// The API's validation problem: title, detail and every field; exit 1.
	api.on("POST /v1/tickets", 422, problem422)
	code, _, errOut = runCLI("tickets", "create", "--connection", "demo-twh", "--external-id", "x2", "--type", "M",
		"--title", "T", "--description", "D", "--requester-name", "N")
	want := "error: Unprocessable Entity: the request has invalid or missing values\n  title: is required\n  requester.name: is required\n"
	if code != 1 || errOut != want {
		t.Fatalf("422: %d %q", code, errOut)
	}
	n := api.count()
	if code, _, errOut := runCLI("tickets", "create", "-f", file, "--title", "x"); code != 2 || !strings.Contains(errOut, "cannot be combined") {
		t.Fatalf("-f with flags: %d %s", code, errOut)
	}
	if code, _, _ := runCLI("tickets", "create", "-f", filepath.Join(t.TempDir(), "missing.json")); code != 1 {
		t.Fatalf("missing file: %d", code)
	}
	if api.count() != n {
		t.Fatal("a usage error reached the API")
	}
}

func runCLIStdin(stdin string, args ...string) (int, string, string) {
	r, w, _ := os.Pipe()
	_, _ = w.WriteString(stdin)
	w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	return runCLI(args...)
}

func TestTicketsListAndShow(t *testing.T) {
	api := newFakeAPI(t)
	api.on("GET /v1/tickets", 200, `{"items":[`+ticketJSON+`,`+ticket2JSON+`],"nextCursor":"c2"}`)
	code, out, errOut := runCLI("tickets", "list", "--connection", "demo-twh", "--status", "OnHold", "--needs-attention", "true", "--limit", "2", "--cursor", "c1")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/tickets", "connection=demo-twh&cursor=c1&limit=2&needsAttention=true&status=OnHold", "")
	columnsAligned(t, out, "ID", "CONNECTION", "EXTERNAL ID", "STATUS", "REMOTE", "ATTENTION", "UPDATED")
	for _, want := range []string{"tkt_22222", "longer-external-id", "Submitted", "paused", "104201", "the work system answered an unmapped st…"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "more: --cursor c2") {
		t.Errorf("no next-page hint: %q", errOut)
	}
	code, out, _ = runCLI("tickets", "list", "-o", "json")
	var page map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || page["nextCursor"] != "c2" || len(page["items"].([]any)) != 2 {
		t.Fatalf("list -o json: %d %s", code, out)
	}
	api.expectSent("GET", "/v1/tickets", "", "")
	if code, _, errOut := runCLI("tickets", "list", "--needs-attention", "maybe"); code != 2 || !strings.Contains(errOut, "true or false") {
		t.Fatalf("bad --needs-attention: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("tickets", "list", "-o", "yaml"); code != 2 || !strings.Contains(errOut, "table or json") {
		t.Fatalf("bad -o: %d %s", code, errOut)
	}

	api.on("GET /v1/tickets/tkt_1", 200, ticketJSON)
	code, out, errOut = runCLI("tickets", "show", "tkt_1")
	if code != 0 {
		t.Fatalf("show: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/tickets/tkt_1", "", "")
	for _, want := range []string{"Status:", "OnHold", "104201 (OnHold)", "Needs attention:", "since 2026-01-02T03:04:05Z",
		"Temporal Web:", "http://127.0.0.1:8233/namespaces/default/workflows/ticket%2Fdemo-twh%2Fx1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// By the request system's id.
	api.on("GET /v1/tickets", 200, `{"items":[`+ticketJSON+`],"nextCursor":null}`)
	code, out, errOut = runCLI("tickets", "show", "--external-id", "x1", "--connection", "demo-twh", "-o", "json")
	if code != 0 || !strings.Contains(out, `"temporalWeb"`) {
		t.Fatalf("show --external-id: %d %s %s", code, out, errOut)
	}
	api.expectSent("GET", "/v1/tickets", "connection=demo-twh&externalId=x1", "")
	api.on("GET /v1/tickets", 200, `{"items":[],"nextCursor":null}`)
	if code, _, errOut := runCLI("tickets", "show", "--external-id", "nope", "--connection", "demo-twh"); code != 1 ||
		!strings.Contains(errOut, `error: Not Found: no ticket with externalId "nope" on connection "demo-twh"`) {
		t.Fatalf("show unknown external id: %d %s", code, errOut)
	}
	for _, args := range [][]string{{"show"}, {"show", "--external-id", "x1"}, {"show", "tkt_1", "--external-id", "x1", "--connection", "c"}, {"show", "a", "b"}} {
		if code, _, errOut := runCLI(append([]string{"tickets"}, args...)...); code != 2 {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
	api.on("GET /v1/tickets/tkt_nope", 404, problem404)
	if code, _, errOut := runCLI("tickets", "show", "tkt_nope"); code != 1 || errOut != "error: Not Found: ticket \"tkt_nope\" not found\n" {
		t.Fatalf("show 404: %d %q", code, errOut)
	}
}

func TestTicketsEventsAndStuck(t *testing.T) {
	api := newFakeAPI(t)
	api.on("GET /v1/tickets/tkt_1/events", 200, `{"items":[
		{"id":"evt_a","seq":1,"type":"ticket.status_changed","occurredAt":"2026-01-02T03:04:05Z","delivery":{"state":"delivered","attempts":1,"deliveredAt":"2026-01-02T03:04:06Z"},"data":{"status":"Requested"}},
		{"id":"evt_bbbbbb","seq":2,"type":"ticket.feedback_added","occurredAt":"2026-01-02T03:05:05Z","delivery":{"state":"pending","attempts":3,"lastError":"HTTP 503","deliveredAt":null},"data":{"text":"Which\nsink?"}},
		{"id":"evt_c","seq":3,"type":"comment","occurredAt":"2026-01-02T03:06:05Z","delivery":null,"data":null}]}`)
	code, out, errOut := runCLI("tickets", "events", "tkt_1")
	if code != 0 {
		t.Fatalf("events: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/tickets/tkt_1/events", "", "")
	columnsAligned(t, out, "SEQ", "OCCURRED", "TYPE", "DELIVERY", "EVENT ID", "DATA")
	for _, want := range []string{"pending (3 attempts)", `{"text":"Which\nsink?"}`, "evt_bbbbbb"} {
		if !strings.Contains(out, want) {
			t.Errorf("events lacks %q:\n%s", want, out)
		}
	}

	api.on("GET /v1/tickets/stuck", 200, `{"items":[
		{"ticket":`+ticketJSON+`,"kind":"parked","reason":"unmapped status","since":"2026-01-01T00:00:00Z"},
		{"ticket":`+ticket2JSON+`,"kind":"overdue","reason":"safety-net poll 2h late","since":"2026-01-02T00:00:00Z"}]}`)
	code, out, errOut = runCLI("tickets", "stuck")
	if code != 0 {
		t.Fatalf("stuck: %d %s", code, errOut)
	}
	api.expectSent("GET", "/v1/tickets/stuck", "", "")
	columnsAligned(t, out, "AGE", "TICKET", "CONNECTION", "EXTERNAL ID", "STATUS", "KIND", "REASON")
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[1], "tkt_1") || !strings.Contains(lines[1], "parked") || !strings.Contains(lines[2], "safety-net poll 2h late") {
		t.Errorf("stuck rows (oldest first, as the API sorts them):\n%s", out)
	}
	code, out, _ = runCLI("tickets", "stuck", "-o", "json")
	if code != 0 || !strings.Contains(out, `"kind": "overdue"`) {
		t.Fatalf("stuck -o json: %d %s", code, out)
	}
}

func TestTicketsOperatorVerbs(t *testing.T) {
	api := newFakeAPI(t)
	for _, tc := range []struct {
		args               []string
		route, body, shown string
	}{
		{[]string{"cancel", "tkt_1", "--reason", "resident fixed it"}, "POST /v1/tickets/tkt_1/cancel", `{"reason":"resident fixed it"}`, "cancel sent to ticket tkt_1"},
		{[]string{"cancel", "tkt_1"}, "POST /v1/tickets/tkt_1/cancel", `{}`, "cancel sent"},
		{[]string{"hold", "tkt_1", "--reason", "migration"}, "POST /v1/tickets/tkt_1/hold", `{"reason":"migration"}`, "hold sent"},
		{[]string{"resume", "tkt_1"}, "POST /v1/tickets/tkt_1/resume", ``, "resume sent"},
		{[]string{"retry", "tkt_1"}, "POST /v1/tickets/tkt_1/retry", ``, "retry sent"},
		{[]string{"skip", "tkt_1"}, "POST /v1/tickets/tkt_1/skip", ``, "skip sent"},
		{[]string{"comment", "tkt_1", "--text", "Any news?", "--author", "Ada"}, "POST /v1/tickets/tkt_1/comments", `{"text":"Any news?","author":"Ada"}`, "comment sent"},
		{[]string{"remap", "tkt_1", "--mapping", "theworxhub-v2"}, "POST /v1/tickets/tkt_1/remap", `{"mapping":"theworxhub-v2"}`, "remap sent"},
		{[]string{"patch", "tkt_1", "--address", "12 Main St", "--title", "Leak in kitchen"}, "PATCH /v1/tickets/tkt_1", `{"title":"Leak in kitchen","location":{"address":"12 Main St"}}`, "Status:"},
		{[]string{"patch", "tkt_1", "--request-type", "Housekeeping", "--lat", "52.1", "--lng", "4.3", "--requester-email", "a@b.example"}, "PATCH /v1/tickets/tkt_1",
			`{"requestType":"Housekeeping","location":{"lat":52.1,"lng":4.3},"requester":{"email":"a@b.example"}}`, "Temporal Web:"},
		{[]string{"erase", "tkt_1"}, "DELETE /v1/tickets/tkt_1/personal-data", ``, "personal data of ticket tkt_1 erased at 2026-01-03T00:00:00Z"},
	} {
		method, path, _ := strings.Cut(tc.route, " ")
		signal := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/tickets/tkt_1/"), "s")
		switch {
		case method == "PATCH":
			api.on(tc.route, 200, ticketJSON)
		case method == "DELETE":
			api.on(tc.route, 200, `{"ticket":`+ticketJSON+`,"erasedAt":"2026-01-03T00:00:00Z"}`)
		default:
			api.on(tc.route, 202, accepted(signal))
		}
		code, out, errOut := runCLI(append([]string{"tickets"}, tc.args...)...)
		if code != 0 {
			t.Errorf("%v: %d %s", tc.args, code, errOut)
			continue
		}
		api.expectSent(method, path, "", tc.body)
		if !strings.Contains(out, tc.shown) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.shown, out)
		}
	}
	api.on("POST /v1/tickets/tkt_1/resume", 409, `{"type":"about:blank","title":"Conflict","status":409,"detail":"ticket tkt_1 is not paused"}`)
	if code, _, errOut := runCLI("tickets", "resume", "tkt_1"); code != 1 || errOut != "error: Conflict: ticket tkt_1 is not paused\n" {
		t.Fatalf("409: %d %q", code, errOut)
	}
	n := api.count()
	for _, args := range [][]string{{"comment", "tkt_1"}, {"remap", "tkt_1"}, {"patch", "tkt_1"}, {"patch", "tkt_1", "--lat", "1"},
		{"cancel"}, {"retry", "a", "b"}, {"erase"}} {
		if code, _, errOut := runCLI(append([]string{"tickets"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	if api.count() != n {
		t.Error("a usage error reached the API")
	}
}

// --key and --api win over the environment; without a key nothing is sent.
func TestAPIKeyAndURL(t *testing.T) {
	api := newFakeAPI(t)
	api.on("GET /v1/tickets/tkt_1", 200, ticketJSON)
	if code, _, errOut := runCLI("tickets", "show", "tkt_1", "--key", "key-from-flag"); code != 0 || api.last().Auth != "Bearer key-from-flag" {
		t.Fatalf("--key: %d %s %q", code, errOut, api.last().Auth)
	}
	url := os.Getenv("TICKETSYNC_API_URL")
	t.Setenv("TICKETSYNC_API_URL", "http://127.0.0.1:1")
	if code, _, errOut := runCLI("tickets", "show", "tkt_1", "--api", url); code != 0 {
		t.Fatalf("--api: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("tickets", "show", "tkt_1"); code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("unreachable API: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("tickets", "show", "tkt_1", "--api", "http://api.example.org"); code != 2 || !strings.Contains(errOut, "https") {
		t.Fatalf("plain http to a remote host: %d %s", code, errOut)
	}
	t.Setenv("TICKETSYNC_API_KEY", "")
	if code, _, errOut := runCLI("tickets", "show", "tkt_1", "--api", url); code != 2 || !strings.Contains(errOut, "TICKETSYNC_API_KEY") {
		t.Fatalf("no key: %d %s", code, errOut)
	}
}
