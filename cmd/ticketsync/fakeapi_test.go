package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ticketsync/ticketsync/apiclient/apitest"
)

// fakeAPI is an HTTP API with canned answers for the CLI's tests. Every exchange is checked
// against starter/openapi.json (the CLI sends only documented requests, the canned answers
// are documented ones) and recorded, so tests assert what the CLI sent.
type fakeAPI struct {
	t       *testing.T
	checker *apitest.Checker

	mu      sync.Mutex
	answers map[string]cannedAnswer
	calls   []sentRequest
}

type cannedAnswer struct {
	status int
	body   string
}

type sentRequest struct {
	Method, Path, Query, Body, Auth string
}

// newFakeAPI starts the fake and points the CLI at it through the environment.
func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	doc, err := os.ReadFile("../../starter/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{t: t, answers: map[string]cannedAnswer{}}
	f.checker = apitest.MustLoad(t, doc).Wrap(t, http.HandlerFunc(f.serve))
	srv := httptest.NewServer(f.checker)
	t.Cleanup(srv.Close)
	t.Setenv("TICKETSYNC_API_URL", srv.URL)
	t.Setenv("TICKETSYNC_API_KEY", "key-from-env")
	return f
}

// on sets the answer to "METHOD /escaped/path".
func (f *fakeAPI) on(route string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[route] = cannedAnswer{status, body}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, sentRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Get("Authorization")})
	a, ok := f.answers[r.Method+" "+r.URL.EscapedPath()]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake API: no answer for %s %s", r.Method, r.URL.EscapedPath())
		a = cannedAnswer{404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such endpoint"}`}
	}
	ct := "application/json"
	if a.status >= 400 {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

// last returns the last request sent, failing the test if there was none.
func (f *fakeAPI) last() sentRequest {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		f.t.Fatal("the CLI sent no request")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// expectSent checks the last request.
func (f *fakeAPI) expectSent(method, path, query, body string) {
	f.t.Helper()
	got := f.last()
	if got.Method != method || got.Path != path || got.Query != query {
		f.t.Errorf("sent %s %s?%s, want %s %s?%s", got.Method, got.Path, got.Query, method, path, query)
	}
	if !jsonEqual(got.Body, body) {
		f.t.Errorf("%s %s: body %s, want %s", method, path, got.Body, body)
	}
}

// columnsAligned checks that a tabwriter table's columns start at the same offset on every
// line: each header word's offset holds the start of a cell on the other lines.
func columnsAligned(t *testing.T, out string, headers ...string) {
	t.Helper()
	// Offsets in runes: tabwriter pads by characters, and cells may hold "…".
	var lines [][]rune
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		lines = append(lines, []rune(l))
	}
	if len(lines) < 2 {
		t.Fatalf("table has no rows:\n%s", out)
	}
	for _, h := range headers[1:] {
		col := strings.Index(string(lines[0]), h)
		if col < 0 {
			t.Fatalf("header %q missing:\n%s", h, out)
		}
		col = len([]rune(string(lines[0])[:col]))
		for _, l := range lines[1:] {
			if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
				t.Errorf("column %q (offset %d) not aligned in %q", h, col, string(l))
			}
		}
	}
}

// Canned answers the document accepts.
const (
	ticketJSON = `{"id":"tkt_1","workflowId":"ticket/demo-twh/x1","tenant":"demo","connection":"demo-twh","externalId":"x1",
		"status":"OnHold","remoteId":"104201","remoteStatus":"OnHold","category":"Plumbing","mappingVersion":"theworxhub-v1",
		"needsAttention":{"since":"2026-01-02T03:04:05Z","reason":"the work system answered an unmapped status \"Weird\""},"paused":null,
		"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:06Z",
		"links":{"temporalWeb":"http://127.0.0.1:8233/namespaces/default/workflows/ticket%2Fdemo-twh%2Fx1"}}`
	ticket2JSON = `{"id":"tkt_22222","workflowId":"ticket/demo-twh/longer-external-id","tenant":"demo","connection":"demo-twh",
		"externalId":"longer-external-id","status":"Submitted","remoteId":null,"remoteStatus":null,"category":null,
		"mappingVersion":"theworxhub-v1","needsAttention":null,"paused":{"since":"2026-01-02T03:04:05Z","reason":"migration"},
		"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}`
	connectionJSON = `{"id":"demo-twh","tenant":"demo","requestSystem":"portal","workSystem":"theworxhub","mapping":"theworxhub-v1",
		"pollInterval":"15m0s","requestTypes":["Maintenance","Housekeeping"],"capabilities":["changeFeed","workHooks"],
		"feed":{"cursor":"2026-01-02T03:04:00Z","lastRead":"2026-01-02T03:04:05Z","lagSeconds":42,"lastError":"HTTP 503 from TheWorxHub"},"intake":null}`
	connection2JSON = `{"id":"other","tenant":"demo","requestSystem":"seeclickfix","workSystem":"cityworks","mapping":"",
		"pollInterval":"5m0s","requestTypes":[],"capabilities":["intake"],"feed":null,
		"intake":{"cursor":"c-88","lastRead":"2026-01-02T03:04:05Z","lagSeconds":7,"lastError":null}}`
	problem404 = `{"type":"about:blank","title":"Not Found","status":404,"detail":"ticket \"tkt_nope\" not found"}`
	problem422 = `{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"the request has invalid or missing values",
		"errors":[{"field":"title","message":"is required"},{"field":"requester.name","message":"is required"}]}`
)

func accepted(signal string) string {
	return `{"accepted":true,"signal":"` + signal + `","ticket":` + ticketJSON + `}`
}

func jsonEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
