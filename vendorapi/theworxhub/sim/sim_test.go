package sim

// Wire-level checks of the simulator itself (the client's view is in ../contract_test.go).

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

type harness struct {
	t   *testing.T
	s   *Server
	srv *httptest.Server
}

func newHarness(t *testing.T, opts Options) *harness {
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	return &harness{t, s, srv}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (r reply) errCode() string {
	var m struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &m)
	return m.Error.Code
}

func (h *harness) do(method, path, token, contentType, body string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func (h *harness) token(id, secret string) string {
	h.t.Helper()
	r := h.do("POST", "/oauth/token", "", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode())
	if r.status != 200 {
		h.t.Fatalf("token: %d %s", r.status, r.body)
	}
	m := r.json(h.t)
	if m["token_type"] != "Bearer" || m["expires_in"].(float64) != 3600 {
		h.t.Fatalf("token response %v", m)
	}
	return m["access_token"].(string)
}

const createBody = `{"requestType":"Housekeeping","title":"Towels","description":"Fresh towels please",
"location":"B 4","requestedFor":{"name":"Ada","email":null,"phone":"555"},"externalReference":"ref-1"}`

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t, Options{})
	form := "application/x-www-form-urlencoded"
	r := h.do("POST", "/oauth/token", "", form, "grant_type=password&client_id=ticketsync&client_secret=ticketsync-secret")
	if r.status != 400 || r.json(t)["error"] != "unsupported_grant_type" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = h.do("POST", "/oauth/token", "", form, "grant_type=client_credentials&client_id=ticketsync&client_secret=nope")
	if r.status != 401 || r.json(t)["error"] != "invalid_client" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tok := h.token(DefaultClientID, DefaultClientSecret)
	if r := h.do("GET", "/api/v1/workrequests", tok, "", ""); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, bad := range []string{"", "not-a-token"} {
		r := h.do("GET", "/api/v1/workrequests", bad, "", "")
		if r.status != 401 || r.errCode() != "invalid_token" || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Fatalf("token %q: %d %v %s", bad, r.status, r.header, r.body)
		}
	}
	h.s.RevokeAll()
	if r := h.do("GET", "/api/v1/workrequests", tok, "", ""); r.status != 401 || r.errCode() != "token_expired" {
		t.Fatalf("revoked: %d %s", r.status, r.body)
	}
}

func TestWireFormat(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(DefaultClientID, DefaultClientSecret)
	r := h.do("POST", "/api/v1/workrequests", tok, "application/json", createBody)
	m := r.json(t)
	id, _ := m["id"].(string)
	if r.status != 201 || m["status"] != "Pending" || r.header.Get("Location") != "/api/v1/workrequests/"+id || !regexp.MustCompile(`^\d+$`).MatchString(id) {
		t.Fatalf("create: %d %v %s", r.status, r.header, r.body)
	}
	for _, k := range []string{"Limit", "Remaining", "Reset"} {
		if r.header.Get("X-RateLimit-"+k) == "" {
			t.Fatalf("missing X-RateLimit-%s", k)
		}
	}
	if r.header.Get("X-RateLimit-Limit") != "120" || r.header.Get("X-RateLimit-Remaining") != "119" {
		t.Fatalf("rate headers %v", r.header)
	}
	r = h.do("GET", "/api/v1/workrequests/"+id, tok, "", "")
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	obj := r.json(t)
	msTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	rf := obj["requestedFor"].(map[string]any)
	if obj["category"] != nil || obj["workOrderId"] != nil || rf["email"] != nil || rf["phone"] != "555" ||
		!msTime.MatchString(obj["createdAt"].(string)) || !msTime.MatchString(obj["modifiedAt"].(string)) ||
		obj["feedback"] == nil || obj["comments"] == nil || obj["externalReference"] != "ref-1" {
		t.Fatalf("object: %s", r.body)
	}
	r = h.do("POST", "/api/v1/workrequests/"+id+"/comments", tok, "application/json", `{"text":"hi","author":"Ada"}`)
	if c := r.json(t); r.status != 201 || c["id"] == "" || c["text"] != "hi" || !msTime.MatchString(c["createdAt"].(string)) {
		t.Fatalf("comment: %d %s", r.status, r.body)
	}
	r = h.do("GET", "/api/v1/workrequests?externalReference=ref-1", tok, "", "")
	if m := r.json(t); len(m["items"].([]any)) != 1 || m["nextCursor"] != nil {
		t.Fatalf("lookup: %s", r.body)
	}
	r = h.do("GET", "/api/v1/workrequests?externalReference=nope", tok, "", "")
	if m := r.json(t); len(m["items"].([]any)) != 0 {
		t.Fatalf("lookup miss: %s", r.body)
	}
}

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(DefaultClientID, DefaultClientSecret)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/api/v1/workrequests", `{"title":`, 400, "bad_request"},
		{"POST", "/api/v1/workrequests", `{"title":5}`, 400, "bad_request"},
		{"POST", "/api/v1/workrequests", `{}`, 422, "validation_failed"},
		{"GET", "/api/v1/workrequests?limit=0", "", 400, "invalid_limit"},
		{"GET", "/api/v1/workrequests?limit=abc", "", 400, "invalid_limit"},
		{"GET", "/api/v1/workrequests?limit=501", "", 400, "invalid_limit"},
		{"GET", "/api/v1/workrequests?modifiedSince=yesterday", "", 400, "bad_request"},
		{"GET", "/api/v1/workrequests?cursor=garbage", "", 400, "invalid_cursor"},
		{"GET", "/api/v1/workrequests/424242", "", 404, "not_found"},
		{"POST", "/api/v1/workrequests/424242/cancel", `{}`, 404, "not_found"},
		{"DELETE", "/api/v1/workrequests/424242", "", 405, "method_not_allowed"},
		{"GET", "/api/v1/elsewhere", "", 404, "not_found"},
	} {
		r := h.do(tc.method, tc.path, tok, "application/json", tc.body)
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s %s: %d %s; want %d %s", tc.method, tc.path, r.status, r.body, tc.status, tc.code)
		}
	}
	r := h.do("POST", "/api/v1/workrequests", tok, "application/json", `{}`)
	var e struct {
		Error Error `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &e)
	for _, f := range []string{"requestType", "title", "description", "location", "requestedFor", "externalReference"} {
		if e.Error.Fields[f] == "" {
			t.Errorf("422 lacks field %s: %s", f, r.body)
		}
	}
	h.do("POST", "/api/v1/workrequests", tok, "application/json", createBody)
	r = h.do("POST", "/api/v1/workrequests", tok, "application/json", createBody)
	json.Unmarshal([]byte(r.body), &e)
	if r.status != 409 || e.Error.Code != "duplicate_external_reference" || e.Error.ExistingID != h.s.Requests()[0].ID {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	h := newHarness(t, Options{
		Clients: map[string]string{"a": "sa", "b": "sb"},
		Tenants: map[string]string{"a": "acme", "b": "globex"},
	})
	ta, tb := h.token("a", "sa"), h.token("b", "sb")
	ra := h.do("POST", "/api/v1/workrequests", ta, "application/json", createBody)
	rb := h.do("POST", "/api/v1/workrequests", tb, "application/json", createBody)
	if ra.status != 201 || rb.status != 201 {
		t.Fatalf("same reference in two tenants: %d %d", ra.status, rb.status)
	}
	idA := ra.json(t)["id"].(string)
	if r := h.do("GET", "/api/v1/workrequests/"+idA, tb, "", ""); r.status != 404 {
		t.Fatalf("cross-tenant read: %d", r.status)
	}
	page := h.do("GET", "/api/v1/workrequests?limit=1", ta, "", "")
	if items := page.json(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != idA {
		t.Fatalf("tenant feed: %s", page.body)
	}
	// A second request in tenant A gives a cursor that tenant B cannot use.
	body := strings.Replace(createBody, "ref-1", "ref-2", 1)
	h.do("POST", "/api/v1/workrequests", ta, "application/json", body)
	cur := h.do("GET", "/api/v1/workrequests?limit=1", ta, "", "").json(t)["nextCursor"].(string)
	if r := h.do("GET", "/api/v1/workrequests?cursor="+url.QueryEscape(cur), tb, "", ""); r.errCode() != "invalid_cursor" {
		t.Fatalf("foreign cursor: %s", r.body)
	}
	if r := h.do("GET", "/api/v1/workrequests?cursor="+url.QueryEscape(cur), ta, "", ""); r.status != 200 {
		t.Fatalf("own cursor: %s", r.body)
	}
}

func TestStaffAPI(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(DefaultClientID, DefaultClientSecret)
	id := h.do("POST", "/api/v1/workrequests", tok, "application/json", createBody).json(t)["id"].(string)
	base := "/_sim/workrequests/" + id

	if r := h.do("POST", base+"/status", "", "application/json", `{"status":"InProgress"}`); r.status != 409 {
		t.Fatalf("pending → InProgress without category: %d %s", r.status, r.body)
	}
	if r := h.do("POST", base+"/status", "", "application/json", `{"status":"Rejected"}`); r.status != 422 {
		t.Fatalf("reject without reason: %d %s", r.status, r.body)
	}
	r := h.do("POST", base+"/category", "", "application/json", `{"category":"Linen"}`)
	if m := r.json(t); r.status != 200 || m["status"] != "InProgress" || m["category"] != "Linen" || m["workOrderId"] == nil {
		t.Fatalf("category: %d %s", r.status, r.body)
	}
	r = h.do("POST", base+"/status", "", "application/json",
		`{"status":"OnHold","feedback":{"text":"Which size?","author":"Bob","visibleToRequestor":true}}`)
	fb := r.json(t)["feedback"].([]any)
	if r.status != 200 || len(fb) != 1 || fb[0].(map[string]any)["status"] != "OnHold" {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	r = h.do("POST", base+"/feedback", "", "application/json", `{"text":"internal note","author":"Bob"}`)
	if fb := r.json(t)["feedback"].([]any); len(fb) != 2 || fb[1].(map[string]any)["visibleToRequestor"] != false {
		t.Fatalf("feedback: %s", r.body)
	}
	// The HTML page's forms post form fields and get redirected back.
	r = h.do("POST", base+"/status", "", "application/x-www-form-urlencoded", "status=InProgress&text=&visible=on")
	if r.status != 303 || r.header.Get("Location") != "/_sim/" {
		t.Fatalf("form post: %d %s", r.status, r.body)
	}
	r = h.do("POST", base+"/status", "", "application/json", `{"status":"Escalated","force":true}`)
	if r.json(t)["status"] != "Escalated" {
		t.Fatalf("forced: %s", r.body)
	}
	var all []WorkRequest
	r = h.do("GET", "/_sim/workrequests", "", "", "")
	if err := json.Unmarshal([]byte(r.body), &all); err != nil || len(all) != 1 || all[0].Status != "Escalated" ||
		all[0].Category != "Linen" || len(all[0].Feedback) != 2 || all[0].ModifiedAt.IsZero() {
		t.Fatalf("list: %v %s", err, r.body)
	}
	page := h.do("GET", "/_sim/", "", "", "")
	if page.status != 200 || !strings.Contains(page.body, "Towels") || !strings.Contains(page.body, base+"/category") {
		t.Fatalf("html page: %d %s", page.status, page.body)
	}

	r = h.do("PUT", "/_sim/faults", "", "application/json", `{"maintenance":2,"latency":"5ms","slowCreateDelay":1500,"errorRate":0.25}`)
	f := h.s.Faults()
	if r.status != 200 || f.Maintenance != 2 || f.Latency != 5*time.Millisecond || f.SlowCreateDelay != 1500*time.Millisecond || f.ErrorRate != 0.25 {
		t.Fatalf("faults: %+v %s", f, r.body)
	}
	if m := h.do("GET", "/_sim/faults", "", "", "").json(t); m["latency"] != "5ms" || m["maintenance"] != float64(2) {
		t.Fatalf("faults JSON: %v", m)
	}
	if r := h.do("GET", "/api/v1/workrequests", tok, "", ""); r.status != 503 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(r.body, "Scheduled maintenance") {
		t.Fatalf("maintenance: %d %s", r.status, r.body)
	}
	if h.s.Faults().Maintenance != 1 {
		t.Fatal("maintenance counter did not count down")
	}
	h.do("POST", "/_sim/reset", "", "", "")
	if len(h.s.Requests()) != 0 || h.s.Faults().Maintenance != 0 {
		t.Fatal("reset")
	}
	if r := h.do("GET", "/api/v1/workrequests", tok, "", ""); r.status != 200 {
		t.Fatalf("tokens should survive a reset: %d", r.status)
	}
}

func TestSlidingRateLimitHeaders(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := newHarness(t, Options{RateLimit: 2, Now: func() time.Time { return now }})
	tok := h.token(DefaultClientID, DefaultClientSecret)
	h.do("GET", "/api/v1/workrequests", tok, "", "")
	if r := h.do("GET", "/api/v1/workrequests", tok, "", ""); r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	r := h.do("GET", "/api/v1/workrequests", tok, "", "")
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") != "60" ||
		r.header.Get("X-RateLimit-Reset") != "1700000060" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	h2 := newHarness(t, Options{RateLimit: 1, DisableRateLimit: true})
	tok2 := h2.token(DefaultClientID, DefaultClientSecret)
	for range 3 {
		if r := h2.do("GET", "/api/v1/workrequests", tok2, "", ""); r.status != 200 {
			t.Fatalf("disabled limiter: %d", r.status)
		}
	}
}

func TestSeededFaultsAreDeterministic(t *testing.T) {
	run := func() string {
		h := newHarness(t, Options{Seed: 42, Faults: Faults{ErrorRate: 0.5}})
		tok := h.token(DefaultClientID, DefaultClientSecret)
		var b strings.Builder
		for range 20 {
			b.WriteString(http.StatusText(h.do("GET", "/api/v1/workrequests", tok, "", "").status)[:1])
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "O") || strings.Count(a, "O") == len(a) {
		t.Fatalf("runs differ or are degenerate: %s vs %s", a, b)
	}
}

func TestWebhookSignatureMatchesContractVector(t *testing.T) {
	body := []byte(`{"event":"workrequest.updated","id":"wr_1001","modifiedAt":"2023-11-14T22:13:20Z"}`)
	if got := Sign("twh_test", body); got != "sha256=0b1ec2e14ac8b92ce4af3f9acd1560754fd52b7b859c6e7ac89a83ca5334cfc3" {
		t.Fatalf("Sign = %s", got)
	}
}
