package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// raw sends a request with full control of headers and body bytes.
func (w *world) raw(method, path, key, contentType string, body []byte, hdr map[string]string) (int, http.Header, map[string]any) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.apiURL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func TestAPIRejectsBadInputClearly(t *testing.T) {
	w := newWorld(t)
	key := w.kit.APIKey
	good, _ := json.Marshal(ticketBody("bad-input-1"))
	withField := func(k string, v any) []byte {
		b := ticketBody("bad-input-1")
		b[k] = v
		out, _ := json.Marshal(b)
		return out
	}
	without := func(k string) []byte {
		b := ticketBody("bad-input-1")
		delete(b, k)
		out, _ := json.Marshal(b)
		return out
	}
	cases := []struct {
		name        string
		key, ctype  string
		body        []byte
		code        int
		detail      string
		errorsField string
	}{
		{"no auth", "", "application/json", good, 401, "Authorization", ""},
		{"unknown key", "nope-nope-nope-nope", "application/json", good, 401, "unknown API key", ""},
		{"not json content type", key, "text/plain", good, 415, "Content-Type", ""},
		{"no content type", key, "", good, 415, "Content-Type", ""},
		{"malformed json", key, "application/json", []byte(`{"connection":`), 400, "malformed JSON", ""},
		{"trailing data", key, "application/json", append(append([]byte{}, good...), []byte(`{}`)...), 400, "after the JSON object", ""},
		{"unknown field", key, "application/json", withField("priority", "high"), 400, "unknown field", ""},
		{"wrong type", key, "application/json", withField("title", 42), 400, "title", ""},
		{"array body", key, "application/json", []byte(`[1,2]`), 400, "expected", ""},
		{"too large", key, "application/json", bytes.Repeat([]byte("x"), 2<<20), 413, "exceeds", ""},
		{"missing title", key, "application/json", without("title"), 422, "title", "title"},
		{"missing requester", key, "application/json", without("requester"), 422, "requester.name", "requester.name"},
		{"bad request type", key, "application/json", withField("requestType", "Gardening"), 422, "Maintenance", "requestType"},
		{"external id too long", key, "application/json", withField("externalId", strings.Repeat("a", 201)), 422, "200", "externalId"},
		{"external id with spaces", key, "application/json", withField("externalId", "a b"), 422, "visible ASCII", "externalId"},
		{"NUL in title", key, "application/json", withField("title", "a\u0000b"), 422, "control character", "title"},
		{"bad email", key, "application/json", withField("requester", map[string]any{"name": "A", "email": "not-an-email"}), 422, "email", "requester.email"},
		{"bad lat", key, "application/json", withField("location", map[string]any{"lat": 91.0, "lng": 0.0}), 422, "-90", "location.lat"},
		{"bad attachment", key, "application/json", withField("attachments", []any{map[string]any{"url": "ftp://x"}}), 422, "http", "attachments[0].url"},
		{"nested answer", key, "application/json", withField("answers", map[string]any{"q1": map[string]any{"x": 1}}), 422, "string, number or boolean", "answers.q1"},
		{"unknown connection", key, "application/json", withField("connection", "nope"), 404, "not found", ""},
		{"other tenant's connection", key, "application/json", withField("connection", testkit.OtherConn), 404, "not found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, p := w.raw("POST", "/v1/tickets", tc.key, tc.ctype, tc.body, nil)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, p)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if int(p["status"].(float64)) != tc.code || p["title"] == "" {
				t.Fatalf("problem body %v", p)
			}
			detail, _ := p["detail"].(string)
			if !strings.Contains(detail+" "+errorsText(p), tc.detail) {
				t.Fatalf("detail %q (errors %s) lacks %q", detail, errorsText(p), tc.detail)
			}
			if tc.errorsField != "" && !strings.Contains(errorsText(p), `"field":"`+tc.errorsField+`"`) {
				t.Fatalf("errors %s lack field %s", errorsText(p), tc.errorsField)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// Nothing above created anything, anywhere.
	if n := len(w.kit.TWH.Requests()); n != 0 {
		t.Fatalf("bad input reached the work system: %d requests", n)
	}
	code, list := w.call("GET", "/v1/tickets", key, nil)
	if items, _ := list["items"].([]any); code != 200 || len(items) != 0 {
		t.Fatalf("bad input left tickets behind: %v", list)
	}
	// Lists reject bad parameters with 422, unknown routes are RFC 9457 404s.
	if code, _, p := w.raw("GET", "/v1/tickets?cursor=%%%", key, "", nil, nil); code != 400 {
		t.Fatalf("malformed query: %d %v", code, p)
	}
	for _, q := range []string{"status=Nope", "limit=0", "limit=abc", "needsAttention=maybe", "cursor=garbage", "bogus=1"} {
		if code, _, p := w.raw("GET", "/v1/tickets?"+q, key, "", nil, nil); code != 422 {
			t.Fatalf("GET ?%s: %d %v", q, code, p)
		}
	}
	if code, hdr, _ := w.raw("GET", "/v1/nothing", key, "", nil, nil); code != 404 || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route: %d %s", code, hdr.Get("Content-Type"))
	}
	if code, _, _ := w.raw("DELETE", "/v1/tickets", key, "", nil, nil); code != 405 {
		t.Fatalf("DELETE /v1/tickets: %d", code)
	}
	if code, _, _ := w.raw("GET", "/v1/tickets/tkt_doesnotexist", key, "", nil, nil); code != 404 {
		t.Fatalf("unknown ticket: %d", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if code, _, _ := w.raw("GET", path, "", "", nil, nil); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
	}
}

func errorsText(p map[string]any) string {
	b, _ := json.Marshal(p["errors"])
	return string(b)
}

func TestSignalEndpointsValidateAndReachTheWorkflow(t *testing.T) {
	w := newWorld(t)
	key := w.kit.APIKey
	code, created := w.call("POST", "/v1/tickets", key, ticketBody("signals-1"))
	if code != 201 {
		t.Fatalf("create %d %v", code, created)
	}
	id := created["id"].(string)
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/comments", key, "application/json", []byte(`{"text":""}`), nil); code != 422 {
		t.Fatalf("empty comment: %d %v", code, p)
	}
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/comments", key, "application/json", []byte(`{"text":"x","extra":1}`), nil); code != 400 {
		t.Fatalf("unknown field: %d %v", code, p)
	}
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/hold", w.kit.OtherAPIKey, "application/json", []byte(`{}`), nil); code != 404 {
		t.Fatalf("other tenant hold: %d %v", code, p)
	}
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/hold", key, "application/json", []byte(`{"reason":"vendor migration"}`), nil); code != 202 {
		t.Fatalf("hold: %d %v", code, p)
	}
	waitFor(t, 10*time.Second, "paused in the read model", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, key, nil)
		p, _ := v["paused"].(map[string]any)
		return p != nil && p["reason"] == "vendor migration"
	})
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/resume", key, "", nil, nil); code != 202 {
		t.Fatalf("resume without body: %d %v", code, p)
	}
	if code, _, p := w.raw("POST", "/v1/tickets/"+id+"/retry", key, "application/json", []byte(`{}`), nil); code != 202 {
		t.Fatalf("retry: %d %v", code, p)
	}
	waitFor(t, 10*time.Second, "resumed", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, key, nil)
		return v["paused"] == nil && v["status"] == "Requested"
	})
}

func TestTheWorxHubWebhookSignatureAndPoke(t *testing.T) {
	w := newWorld(t)
	id, remote := w.createRecorded("hook-1")
	body := []byte(`{"event":"workrequest.updated","id":"` + remote.ID + `","modifiedAt":"2026-01-01T00:00:00.000Z"}`)
	path := "/v1/hooks/theworxhub/" + testkit.Connection
	if code, _, p := w.raw("POST", path, "", "application/json", body, map[string]string{"X-TWH-Signature": "sha256=00"}); code != 401 {
		t.Fatalf("bad signature: %d %v", code, p)
	}
	// An unknown connection answers exactly like a bad signature: no connection enumeration.
	if code, _, _ := w.raw("POST", "/v1/hooks/theworxhub/nope", "", "application/json", body, nil); code != 401 {
		t.Fatalf("unknown connection: %d", code)
	}
	// A correctly signed push pokes the ticket (the simulator pushes too; either is enough,
	// and a second poke is harmless).
	if _, err := w.kit.TWH.SetCategory(remote.ID, "Electrical"); err != nil {
		t.Fatal(err)
	}
	sig := twhsim.Sign(testkit.WebhookSecret, body)
	code, _, p := w.raw("POST", path, "", "application/json", body, map[string]string{"X-TWH-Signature": sig, "X-TWH-Delivery": "d-1"})
	if code != 202 && code != 200 {
		t.Fatalf("signed push: %d %v", code, p)
	}
	err := waitPortal(w, id, "InProgress")
	if err != nil {
		t.Fatal(err)
	}
	// The same delivery again is acknowledged as a duplicate.
	if code, _, p := w.raw("POST", path, "", "application/json", body, map[string]string{"X-TWH-Signature": sig, "X-TWH-Delivery": "d-1"}); code != 200 || p["duplicate"] != true {
		t.Fatalf("duplicate delivery: %d %v", code, p)
	}
}

func waitPortal(w *world, ticketID, status string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range w.kit.Portal.EventsFor(ticketID) {
			if e.Event.Type == "ticket.status_changed" && e.Event.Ticket.Status == status {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &waitError{what: status, got: len(w.kit.Portal.EventsFor(ticketID))}
}

type waitError struct {
	what string
	got  int
}

func (e *waitError) Error() string {
	return "portal never received " + e.what + " (" + strings.Repeat("*", e.got) + " events)"
}

// Concurrent duplicate creates (a portal retrying aggressively) yield one ticket, one 201 and
// one remote request.
func TestConcurrentDuplicateCreates(t *testing.T) {
	w := newWorld(t)
	const n = 12
	codes := make(chan int, n)
	ids := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			code, v := w.call("POST", "/v1/tickets", w.kit.APIKey, ticketBody("race-1"))
			codes <- code
			id, _ := v["id"].(string)
			ids <- id
		}()
	}
	created, replayed := 0, 0
	first := ""
	for i := 0; i < n; i++ {
		switch <-codes {
		case 201:
			created++
		case 200:
			replayed++
		}
		id := <-ids
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("two ticket ids for one externalId: %s %s", first, id)
		}
	}
	if created != 1 || replayed != n-1 {
		t.Fatalf("created %d replayed %d", created, replayed)
	}
	waitFor(t, 10*time.Second, "the remote request", func() bool { return len(w.kit.TWH.Requests()) >= 1 })
	time.Sleep(500 * time.Millisecond)
	if got := len(w.kit.TWH.Requests()); got != 1 {
		t.Fatalf("%d remote requests", got)
	}
}

// A push about a request whose remote id the read model does not have yet (staff acted right
// after the create) still reaches its ticket, through the reference read back from TheWorxHub.
func TestWebhookBeforeTheReadModelHasTheRemoteID(t *testing.T) {
	w := newWorld(t)
	id, remote := w.createRecorded("early-1")
	// Forget the remote id in the read model, as if the sync had not happened yet.
	if err := w.kit.Store.UpdateTicketState(context.Background(), store.TicketState{ID: id, Status: "Requested", UpdatedAt: time.Now().UTC().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.kit.TWH.SetCategory(remote.ID, "Plumbing"); err != nil { // the simulator pushes
		t.Fatal(err)
	}
	if err := waitPortal(w, id, "InProgress"); err != nil {
		t.Fatal(err)
	}
}
