package sim

// Wire-level checks of the simulator itself (the client's view is in ../contract_test.go).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     *testing.T
	s     *Server
	srv   *httptest.Server
	clock *clock
}

func newHarness(t *testing.T, opts Options) *harness {
	clk := &clock{t: time.Date(2026, 2, 10, 13, 15, 19, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &harness{t, s, srv, clk}
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

const basicAuth = "Basic dGlja2V0c3luYzp0aWNrZXRzeW5jLXNlY3JldA==" // ticketsync:ticketsync-secret

// do sends a request with a User-Agent; headers are "Name: value" strings.
func (h *harness) do(method, path, contentType, body string, headers ...string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("User-Agent", "sim-test")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ": ")
		req.Header.Set(k, v) // an empty User-Agent makes net/http send none

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

func (h *harness) api(method, path, contentType, body string, headers ...string) reply {
	h.t.Helper()
	return h.do(method, "/api/v2/organizations/1"+path, contentType, body, append([]string{"Authorization: " + basicAuth}, headers...)...)
}

var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func TestUserAgentIsRequired(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.api("GET", "/issues", "", "", "User-Agent: ")
	if r.status != 403 || !strings.Contains(r.json(t)["message"].(string), "User-Agent") {
		t.Fatalf("no User-Agent: %d %s", r.status, r.body)
	}
}

func TestWireShape(t *testing.T) {
	h := newHarness(t, Options{})
	is, err := h.s.Report(ReportInput{Summary: "Hole", Lat: 41.5, Lng: -72.5, RequestTypeID: 1001, Reporter: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := h.s.AddComment(is.ID, CommentInput{Comment: "deep", Name: "Ann"})
	r := h.api("GET", "/issues/"+itoa(is.ID)+"?details=true", "", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	for _, k := range []string{"description", "address", "acknowledged_at", "closed_at", "reopened_at"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if m["updated_at"] != "2026-02-10T08:15:19-05:00" || m["status"] != "Open" || m["private_visibility"] != false {
		t.Errorf("updated_at %v status %v", m["updated_at"], m["status"])
	}
	pt := m["point"].(map[string]any)["coordinates"].([]any)
	if pt[0] != -72.5 || pt[1] != 41.5 {
		t.Errorf("point = %v", pt)
	}
	if tr := m["transitions"].(map[string]any); tr["close_url"] == nil || tr["open_url"] != nil {
		t.Errorf("transitions = %v", tr)
	}
	media := m["media"].(map[string]any)
	if v, ok := media["image_full"]; !ok || v != nil {
		t.Errorf("media = %v", media)
	}
	cm := m["comments"].([]any)[0].(map[string]any)
	if _, hasID := cm["id"]; hasID || !strings.HasSuffix(cm["flag_url"].(string), "/comments/"+itoa(c.ID)+"/flag") ||
		cm["last_edited_at"] != nil || cm["commenter"].(map[string]any)["role"] != RoleCitizen {
		t.Errorf("comment = %v", cm)
	}
	if m["comment_count"] != 1.0 || m["questions"] == nil {
		t.Errorf("details: %v", m)
	}
	// Collections carry errors and pagination metadata; per_page is capped.
	r = h.api("GET", "/issues?per_page=500", "", "")
	col := r.json(t)
	pg := col["metadata"].(map[string]any)["pagination"].(map[string]any)
	if pg["per_page"] != 100.0 || pg["next_page"] != nil || pg["page"] != 1.0 || col["errors"] == nil {
		t.Errorf("collection = %v", col)
	}
	if r = h.api("GET", "/issues?per_page=50&details=true", "", ""); r.json(t)["metadata"].(map[string]any)["pagination"].(map[string]any)["per_page"] != 20.0 {
		t.Errorf("details per_page not capped: %s", r.body)
	}
	if r = h.api("GET", "/issues?updated_at_after=yesterday", "", ""); r.status != 422 {
		t.Errorf("bad time filter: %d", r.status)
	}
}

func TestConditionalGet(t *testing.T) {
	h := newHarness(t, Options{})
	is, _ := h.s.Report(ReportInput{Summary: "x"})
	path := "/issues/" + itoa(is.ID)
	r := h.api("GET", path, "", "")
	etag, lm := r.header.Get("ETag"), r.header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("no validators: %v", r.header)
	}
	if r2 := h.api("GET", path, "", "", "If-None-Match: "+etag); r2.status != 304 || r2.body != "" {
		t.Errorf("If-None-Match: %d", r2.status)
	}
	if r2 := h.api("GET", path, "", "", "If-Modified-Since: "+lm); r2.status != 304 {
		t.Errorf("If-Modified-Since: %d", r2.status)
	}
	h.clock.Advance(time.Second)
	h.s.AddComment(is.ID, CommentInput{Comment: "changed"})
	if r2 := h.api("GET", path, "", "", "If-None-Match: "+etag); r2.status != 200 {
		t.Errorf("after a change: %d", r2.status)
	}
	if r2 := h.api("GET", "/issues", "", "", "If-None-Match: "+h.api("GET", "/issues", "", "").header.Get("ETag")); r2.status != 304 {
		t.Errorf("collection: %d", r2.status)
	}
	if h.s.Stats().NotModified != 3 {
		t.Errorf("stats = %+v", h.s.Stats())
	}
}

func TestScopesAndVisibility(t *testing.T) {
	citizen := User{ID: 5, Name: "Cit", Username: "cit", Password: "pw"}
	h := newHarness(t, Options{Users: []User{DefaultUser(), citizen}})
	pub, _ := h.s.Report(ReportInput{Summary: "public"})
	priv, _ := h.s.Report(ReportInput{Summary: "private", Private: true})
	anonGet := func(path string) int { return h.do("GET", "/api/v2"+path, "", "").status }
	if anonGet("/issues/"+itoa(pub.ID)) != 200 || anonGet("/issues/"+itoa(priv.ID)) != 404 {
		t.Error("public API visibility")
	}
	if anonGet("/organizations/1/issues") != 401 || anonGet("/organizations/2/issues") != 404 {
		t.Error("organization API without credentials")
	}
	if r := h.api("GET", "/issues/"+itoa(priv.ID), "", ""); r.status != 200 || r.json(t)["private_visibility"] != true {
		t.Errorf("member sees private issue: %d", r.status)
	}
	if r := h.do("POST", "/api/v2/issues/"+itoa(pub.ID)+"/comments", "application/json", `{"comment":"x"}`); r.status != 401 {
		t.Errorf("anonymous POST: %d", r.status)
	}
	citAuth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("cit:pw"))
	if r := h.do("GET", "/api/v2/organizations/1/issues", "", "", citAuth); r.status != 403 {
		t.Errorf("non-member on the organization API: %d", r.status)
	}
	if r := h.do("GET", "/api/v2/issues", "", "", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("cit:bad"))); r.status != 401 {
		t.Errorf("bad password: %d", r.status)
	}
	// Citizens may close and reopen, not acknowledge.
	post := func(action, body string) reply {
		return h.do("POST", "/api/v2/issues/"+itoa(pub.ID)+"/"+action, "application/json", body, citAuth)
	}
	if r := post("acknowledge", `{"comment":"ack"}`); r.status != 422 || !strings.Contains(r.json(t)["status"].(string), "only organization members") {
		t.Errorf("citizen acknowledge: %d %s", r.status, r.body)
	}
	if r := post("close", `{}`); r.status != 422 || r.json(t)["comment"] != "can't be blank" {
		t.Errorf("close without comment: %d %s", r.status, r.body)
	}
	if r := post("close", `{"comment":"fixed it myself"}`); r.status != 201 || r.json(t)["issue"].(map[string]any)["status"] != "Closed" {
		t.Errorf("citizen close: %d %s", r.status, r.body)
	}
	if r := post("close", `{"comment":"again"}`); r.status != 422 {
		t.Errorf("close closed: %d", r.status)
	}
	if r := post("open", `{"comment":"no it's back"}`); r.status != 201 {
		t.Errorf("citizen reopen: %d %s", r.status, r.body)
	}
	if _, err := h.s.Transition(pub.ID, ActionAcknowledge, CommentInput{Comment: "seen"}); err != nil {
		t.Fatal(err)
	}
	if r := post("close", `{"comment":"x"}`); r.status != 422 {
		t.Errorf("citizen closes an acknowledged issue: %d", r.status)
	}
	if r := post("close", `not json`); r.status != 400 || r.json(t)["request"] != "Unable to parse JSON" {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
}

func TestReportFormsAndEncodings(t *testing.T) {
	types := append(DefaultRequestTypes(), RequestType{ID: 1200, Title: "Lost cat", Community: true, Active: true, Questions: builtinQuestions()},
		RequestType{ID: 1201, Title: "Park bench", Active: true, AgencyID: 3, Questions: builtinQuestions()})
	area := json.RawMessage(`{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[10,10],[11,10],[11,11],[10,11],[10,10]]]]}}`)
	h := newHarness(t, Options{RequestTypes: types, Agencies: []Agency{{ID: 3, Name: "Parks", Geometry: area}}})
	titles := func(lat, lng string) string {
		r := h.api("GET", "/issues/new?lat="+lat+"&lng="+lng, "", "")
		var out []string
		for _, rt := range r.json(t)["request_types"].([]any) {
			m := rt.(map[string]any)
			org, _ := m["organization"].(string)
			out = append(out, m["title"].(string)+"@"+org)
		}
		return strings.Join(out, ",")
	}
	if got := titles("10.5", "10.5"); !strings.Contains(got, "Park bench@City of Simville") || !strings.Contains(got, "Lost cat@,") {
		t.Errorf("in the park: %s", got)
	}
	if got := titles("5", "5"); strings.Contains(got, "Park bench") {
		t.Errorf("outside the park: %s", got)
	}
	// Form-encoded report with Rails-nested answers.
	form := url.Values{"lat": {"1"}, "lng": {"2"}, "request_type_id": {"1002"}, "address": {"3 Oak"},
		"answers[summary]": {"Tags"}, "answers[5004][]": {"wall", "sign"}, "answers[5003]": {"false"}}
	r := h.api("POST", "/issues", "application/x-www-form-urlencoded", form.Encode())
	if r.status != 201 || r.header.Get("Location") == "" {
		t.Fatalf("form report: %d %s", r.status, r.body)
	}
	id := int64(r.json(t)["id"].(float64))
	is, _ := h.s.Issue(id)
	if is.Summary != "Tags" || len(is.Answers) != 2 || strings.Join(is.Answers[1].Value.([]string), "+") != "Wall+Sign" {
		t.Errorf("stored = %+v", is)
	}
	// Multipart report with an image under answers[issue_image].
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"lat": "1", "lng": "2", "request_type_id": "1004", "answers[summary]": "pic"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("answers[issue_image]", "x.gif")
	fw.Write(gif)
	mw.Close()
	r = h.api("POST", "/issues", mw.FormDataContentType(), buf.String())
	if r.status != 201 {
		t.Fatalf("multipart report: %d %s", r.status, r.body)
	}
	full := r.json(t)["media"].(map[string]any)["image_full"].(string)
	if rr := h.do("GET", strings.TrimPrefix(full, h.srv.URL), "", ""); rr.status != 302 || !strings.HasPrefix(rr.header.Get("Location"), "/_media/") {
		t.Fatalf("image URL: %d %v", rr.status, rr.header)
	} else if img := h.do("GET", rr.header.Get("Location"), "", ""); img.body != string(gif) || img.header.Get("Content-Type") != "image/gif" {
		t.Errorf("image bytes: %q", img.body)
	}
	// Validation: errors keyed by field.
	r = h.api("POST", "/issues", "application/json", `{"lat":10.5,"lng":10.5,"request_type_id":1001,"answers":{"5001":"7"}}`)
	errs, _ := r.json(t)["errors"].(map[string]any)
	if r.status != 422 || errs["summary"] == nil || errs["5001"] == nil {
		t.Errorf("invalid report: %d %s", r.status, r.body)
	}
	r = h.api("POST", "/issues", "application/json", `{"lat":5,"lng":5,"request_type_id":1201,"answers":{"summary":"bench"}}`)
	if errs, _ := r.json(t)["errors"].(map[string]any); r.status != 422 || errs["point"] == nil {
		t.Errorf("outside the agency: %d %s", r.status, r.body)
	}
}

func TestRateLimitPerCredential(t *testing.T) {
	other := User{ID: 6, Name: "Other", Token: "other", Member: true}
	h := newHarness(t, Options{RateLimit: 2, Users: []User{DefaultUser(), other}})
	for range 2 {
		if r := h.api("GET", "/issues", "", ""); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	r := h.api("GET", "/issues", "", "")
	if r.status != 429 || r.header.Get("Retry-After") != "60" || r.json(t)["message"] != "Too Many Requests" {
		t.Fatalf("third call: %d %v %s", r.status, r.header, r.body)
	}
	if r := h.do("GET", "/api/v2/organizations/1/issues", "", "", "Authorization: Bearer other"); r.status != 200 {
		t.Errorf("another credential shares the budget: %d", r.status)
	}
	h.clock.Advance(45 * time.Second)
	if r := h.api("GET", "/issues", "", ""); r.header.Get("Retry-After") != "15" {
		t.Errorf("Retry-After after 45s = %q", r.header.Get("Retry-After"))
	}
}

func TestAutoArchive(t *testing.T) {
	h := newHarness(t, Options{})
	is, _ := h.s.Report(ReportInput{Summary: "x"})
	h.s.Transition(is.ID, ActionClose, CommentInput{Comment: "done"})
	h.clock.Advance(7*24*time.Hour - time.Second)
	if got, _ := h.s.Issue(is.ID); got.Status != StatusClosed {
		t.Fatalf("archived early: %s", got.Status)
	}
	h.clock.Advance(time.Second)
	got, _ := h.s.Issue(is.ID)
	if got.Status != StatusArchived || !got.UpdatedAt.Equal(h.clock.Now()) {
		t.Fatalf("after 7 days: %s %v", got.Status, got.UpdatedAt)
	}
	if _, err := h.s.Transition(is.ID, ActionOpen, CommentInput{Comment: "reopen"}); err == nil {
		t.Error("archived issue reopened")
	}
	if r := h.api("GET", "/issues", "", ""); len(r.json(t)["issues"].([]any)) != 0 {
		t.Error("archived issue listed by default")
	}
	if r := h.api("GET", "/issues?status=archived", "", ""); len(r.json(t)["issues"].([]any)) != 1 {
		t.Error("archived issue not listed when asked for")
	}
}

func TestControlAPIAndPage(t *testing.T) {
	h := newHarness(t, Options{})
	body, _ := json.Marshal(ReportInput{Summary: "Broken sign", Reporter: "Zed", Image: gif})
	r := h.do("POST", "/_sim/issues", "application/json", string(body))
	if r.status != 200 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	id := int64(r.json(t)["id"].(float64))
	path := "/_sim/issues/" + itoa(id)
	// The page's forms: multipart with an image, form-encoded status changes.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("comment", "here is a photo")
	mw.WriteField("name", "Zed")
	fw, _ := mw.CreateFormFile("image", "p.gif")
	fw.Write(gif)
	mw.Close()
	if r := h.do("POST", path+"/comments", mw.FormDataContentType(), buf.String()); r.status != 303 {
		t.Fatalf("form comment: %d %s", r.status, r.body)
	}
	if r := h.do("POST", path+"/acknowledge", "application/x-www-form-urlencoded", "comment=on+it"); r.status != 303 {
		t.Fatalf("form acknowledge: %d %s", r.status, r.body)
	}
	if r := h.do("POST", path+"/acknowledge", "application/json", `{"comment":"again"}`); r.status != 422 {
		t.Errorf("acknowledge twice: %d %s", r.status, r.body)
	}
	var posted []Post
	json.Unmarshal([]byte(h.do("GET", path+"/posted", "", "").body), &posted)
	if len(posted) != 2 || posted[0].Kind != "comment" || !bytes.Equal(posted[0].Image, gif) || posted[1].Kind != "acknowledge" ||
		posted[1].By.Role != RoleOfficial || posted[0].Via != "staff" {
		t.Errorf("posted = %+v", posted)
	}
	cid := posted[0].CommentID
	if r := h.do("POST", path+"/comments/"+itoa(cid)+"/edit", "application/json", `{"comment":"edited"}`); r.status != 200 {
		t.Errorf("edit: %d %s", r.status, r.body)
	}
	page := h.do("GET", "/_sim/", "", "")
	if page.status != 200 || !strings.Contains(page.body, "Broken sign") || !strings.Contains(page.body, "edited") ||
		!strings.Contains(page.body, "/_sim/issues/"+itoa(id)+"/close") {
		t.Errorf("page: %d", page.status)
	}
	// Faults round-trip with durations as strings.
	if r := h.do("PUT", "/_sim/faults", "application/json", `{"latency":"250ms","errorRate":0.5,"redirects":2}`); r.status != 200 ||
		r.json(t)["latency"] != "250ms" || h.s.Faults().Redirects != 2 {
		t.Errorf("faults: %d %s", r.status, r.body)
	}
	if r := h.do("PUT", "/_sim/faults", "application/json", `{"latency":100}`); h.s.Faults().Latency != 100*time.Millisecond {
		t.Errorf("latency in ms: %s", r.body)
	}
	h.api("GET", "/issues", "", "")
	if st := h.do("GET", "/_sim/stats", "", "").json(t); st["ops"].(map[string]any)["list_issues"] != 1.0 {
		t.Errorf("stats = %v", st)
	}
	if r := h.do("POST", "/_sim/reset", "application/json", ""); r.status != 200 || len(h.s.Issues()) != 0 || h.s.Faults().Latency != 0 {
		t.Errorf("reset: %d", r.status)
	}
}

func TestSnapshotRestore(t *testing.T) {
	h := newHarness(t, Options{})
	is, _ := h.s.Report(ReportInput{Summary: "keep me", Image: gif, Answers: map[string]any{"5004": []any{"wall"}}, RequestTypeID: 1002})
	h.s.AddComment(is.ID, CommentInput{Comment: "c", Image: gif})
	h.s.SetAgencies([]Agency{{ID: 1, Geometry: json.RawMessage(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`)}})
	snap, err := h.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	s2 := New(Options{Now: h.clock.Now})
	if err := s2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	got, ok := s2.Issue(is.ID)
	if !ok || got.Summary != "keep me" || len(got.Comments) != 1 || len(s2.Agencies()) != 1 {
		t.Fatalf("restored = %+v", got)
	}
	next, _ := s2.Report(ReportInput{Summary: "next"})
	if next.ID != is.ID+1 {
		t.Errorf("id counter not restored: %d", next.ID)
	}
	srv := httptest.NewServer(s2)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/files/" + got.Image + "/full")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, gif) {
		t.Error("restored image differs")
	}
	if err := s2.Restore([]byte(`{"version":99}`)); err == nil {
		t.Error("wrong snapshot version accepted")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
