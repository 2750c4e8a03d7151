package sim

// Wire-level tests of the simulator itself (raw HTTP, no client): what the contract says the
// server does, independently of how our client uses it.

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

var cdt = time.FixedZone("CDT", -5*3600)

func fixedNow() time.Time { return time.Date(2024, 7, 1, 15, 4, 5, 0, time.UTC) }

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	if opts.Location == nil {
		opts.Location = cdt
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

type rawEnvelope struct {
	Status          int
	Message         *string
	ErrorMessages   []msg
	WarningMessages []msg
	Value           json.RawMessage
}

// post calls a method with form fields; header, when set, is the Authorization value.
func post(t *testing.T, srv *httptest.Server, path string, data any, formToken, header string) (*http.Response, rawEnvelope) {
	t.Helper()
	b, _ := json.Marshal(data)
	form := url.Values{"data": {string(b)}}
	if formToken != "" {
		form.Set("token", formToken)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, rawEnvelope) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env rawEnvelope
	if strings.Contains(strings.ToLower(req.URL.Path), "/services/") && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("bad envelope %s: %v", body, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, env
}

func login(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, env := post(t, srv, "/Services/General/Authentication/Authenticate",
		map[string]string{"LoginName": DefaultLoginName, "Password": DefaultPassword}, "", "")
	var v struct{ Token string }
	if env.Status != 0 || json.Unmarshal(env.Value, &v) != nil || v.Token == "" {
		t.Fatalf("login: %+v", env)
	}
	return v.Token
}

// 23 reads the token only from the header; 2013/15.x only from the form field.
func TestTokenPlacementPerVersion(t *testing.T) {
	for _, v := range []string{Version2013, Version2015, Version15, Version23} {
		_, srv := newTestServer(t, Options{Version: v})
		tok := login(t, srv)
		_, bodyOnly := post(t, srv, "/cityworks/Services/Ams/ServiceRequest/Statuses", struct{}{}, tok, "")
		_, headerOnly := post(t, srv, "/cityworks/Services/Ams/ServiceRequest/Statuses", struct{}{}, "", "cityworks "+tok)
		wantBody, wantHeader := 0, 2
		if v == Version23 {
			wantBody, wantHeader = 2, 0
		}
		if bodyOnly.Status != wantBody || headerOnly.Status != wantHeader {
			t.Errorf("version %s: body-only Status %d, header-only Status %d; want %d, %d", v, bodyOnly.Status, headerOnly.Status, wantBody, wantHeader)
		}
		if bodyOnly.Status == 2 && (bodyOnly.Message == nil || string(bodyOnly.Value) != "null" || len(bodyOnly.ErrorMessages) != 0) {
			t.Errorf("version %s: Status 2 envelope = %+v", v, bodyOnly)
		}
	}
}

func TestAuthenticationFailures(t *testing.T) {
	_, srv := newTestServer(t, Options{InactiveUsers: []string{"old"}, Users: map[string]string{"old": "pw", DefaultLoginName: DefaultPassword}})
	for _, tc := range []struct {
		in           map[string]string
		status, code int
	}{
		{map[string]string{"LoginName": DefaultLoginName, "Password": "nope"}, 3, codeInvalidCredentials},
		{map[string]string{"LoginName": "nobody", "Password": "x"}, 3, codeInvalidCredentials},
		{map[string]string{"LoginName": "old", "Password": "pw"}, 3, codeInactiveUser},
		{map[string]string{"LoginName": ""}, 1, codeInvalidField},
	} {
		resp, env := post(t, srv, "/Services/General/Authentication/Authenticate", tc.in, "", "")
		if resp.StatusCode != 200 || env.Status != tc.status || len(env.ErrorMessages) != 1 || env.ErrorMessages[0].Code != tc.code {
			t.Errorf("%v: HTTP %d %+v", tc.in, resp.StatusCode, env)
		}
	}
}

func TestPathsAreCaseInsensitiveAndGETWorks(t *testing.T) {
	_, srv := newTestServer(t, Options{Version: Version15})
	tok := login(t, srv)
	q := url.Values{"data": {"{}"}, "token": {tok}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/CW/services/AMS/servicerequest/STATUSES?"+q.Encode(), nil)
	if _, env := do(t, req); env.Status != 0 || !strings.Contains(string(env.Value), `"INITIATE"`) {
		t.Fatalf("GET lower-case path: %+v", env)
	}
	resp, _ := post(t, srv, "/Services/Ams/NoSuch/Method", struct{}{}, tok, "")
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown method: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestVersion2013HasNoCommentService(t *testing.T) {
	_, srv := newTestServer(t, Options{Version: Version2013})
	tok := login(t, srv)
	resp, _ := post(t, srv, "/Services/Ams/Comment/ByActivitySids", map[string]any{"ActivityType": 1, "ActivitySids": []int{1}}, tok, "")
	if resp.StatusCode != 404 {
		t.Fatalf("Comment service on 2013: HTTP %d", resp.StatusCode)
	}
}

// Dates are offset-less site-local wall clock (or ISO with Z); null dates are 0001-01-01.
func TestWireDates(t *testing.T) {
	for iso, want := range map[bool]string{false: "2024-07-01T10:04:05", true: "2024-07-01T15:04:05Z"} {
		s, srv := newTestServer(t, Options{ISODates: iso})
		tok := login(t, srv)
		sid := s.Problems()[0].ProblemSid
		_, env := post(t, srv, "/Services/Ams/ServiceRequest/Create", map[string]any{"ProblemSid": sid}, "", "cityworks "+tok)
		var sr map[string]any
		if env.Status != 0 || json.Unmarshal(env.Value, &sr) != nil {
			t.Fatalf("create: %+v", env)
		}
		if sr["DateTimeInit"] != want || sr["DateTimeClosed"] != "0001-01-01T00:00:00" || sr["DateCancelled"] != "0001-01-01T00:00:00" {
			t.Errorf("iso=%t: dates %v / %v / %v", iso, sr["DateTimeInit"], sr["DateTimeClosed"], sr["DateCancelled"])
		}
		// An offset-less search bound is site-local: 10:04:05 CDT matches, 10:04:06 does not.
		for bound, n := range map[string]int{"2024-07-01T10:04:05": 1, "2024-07-01T10:04:06": 0, "2024-07-01T15:04:05Z": 1} {
			_, env := post(t, srv, "/Services/Ams/ServiceRequest/Search", map[string]any{"DateTimeInitBegin": bound}, "", "cityworks "+tok)
			var ids []int
			if json.Unmarshal(env.Value, &ids) != nil || len(ids) != n {
				t.Errorf("iso=%t: begin %s → %s, want %d ids", iso, bound, env.Value, n)
			}
		}
	}
}

func TestNotFoundShapes(t *testing.T) {
	_, srv := newTestServer(t, Options{MaxBatch: 3})
	h := "cityworks " + login(t, srv)
	_, env := post(t, srv, "/Services/Ams/ServiceRequest/ByOtherSystemId", map[string]string{"OtherSystemId": "x"}, "", h)
	if env.Status != 0 || string(env.Value) != "null" || len(env.WarningMessages) != 1 || env.WarningMessages[0].Code != 60 {
		t.Fatalf("ByOtherSystemId none: %+v", env)
	}
	_, env = post(t, srv, "/Services/Ams/ServiceRequest/ById", map[string]int{"RequestId": 1}, "", h)
	if env.Status != 1 || env.ErrorMessages[0].Code != 35 || env.ErrorMessages[0].Name != "ErrorItemNotFound" || string(env.Value) != "null" {
		t.Fatalf("ById none: %+v", env)
	}
	_, env = post(t, srv, "/Services/Ams/ServiceRequest/ByIds", map[string][]int{"RequestIds": {1, 2, 3, 4}}, "", h)
	if env.Status != 1 || env.ErrorMessages[0].Code != 30 {
		t.Fatalf("ByIds above MaxBatch: %+v", env)
	}
	_, env = post(t, srv, "/Services/Ams/Comment/Add", map[string]any{"ActivityType": 3, "ActivitySid": 1, "Comments": "x"}, "", h)
	if env.Status != 1 || env.ErrorMessages[0].Code != codeInvalidActivityID {
		t.Fatalf("bad ActivityType: %+v", env)
	}
	_, env = post(t, srv, "/Services/Ams/ServiceRequest/Create", "not an object", "", h)
	if env.Status != 1 || env.ErrorMessages[0].Code != 30 {
		t.Fatalf("bad data: %+v", env)
	}
}

func TestStaffControlAPI(t *testing.T) {
	s, srv := newTestServer(t, Options{})
	jsonReq := func(method, path string, body any) (*http.Response, []byte) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, _ := do(t, req)
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	sid := s.Problems()[1].ProblemSid
	resp, body := jsonReq(http.MethodPost, "/_sim/requests", map[string]any{"ProblemSid": sid, "X": -87.6, "Y": 41.9, "Details": "Light flickers"})
	var created RequestView
	if resp.StatusCode != 200 || json.Unmarshal(body, &created) != nil || created.InitiatedByApp != StaffApp || created.SRX != -87.6 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	id := itoa(created.RequestId)

	// Form posts from the page redirect back to it.
	form := url.Values{"status": {"dispatch"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/_sim/requests/"+id+"/status", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form status: %d", resp.StatusCode)
	}
	if v, _ := s.Request(created.RequestId); v.Status != SRDispatch || v.DispatchToSid != staffSid {
		t.Fatalf("after dispatch: %+v", v.Request)
	}
	if resp, body := jsonReq(http.MethodPost, "/_sim/requests/"+id+"/comments", map[string]string{"text": "To SCF: on our list"}); resp.StatusCode != 200 {
		t.Fatalf("comment: %d %s", resp.StatusCode, body)
	}
	if resp, body := jsonReq(http.MethodPost, "/_sim/requests/"+id+"/attachments",
		map[string]any{"filename": "site.jpg", "contentType": "image/jpeg", "content": []byte{1, 2, 3}}); resp.StatusCode != 200 {
		t.Fatalf("JSON attachment: %d %s", resp.StatusCode, body)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "after.png")
	fw.Write([]byte("png-bytes"))
	mw.Close()
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/_sim/requests/"+id+"/attachments", &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, _ := do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("multipart attachment: %d", resp.StatusCode)
	}
	if resp, body := jsonReq(http.MethodPost, "/_sim/requests/"+id+"/status", map[string]string{"status": "close"}); resp.StatusCode != 200 {
		t.Fatalf("close: %d %s", resp.StatusCode, body)
	}
	if resp, _ := jsonReq(http.MethodPost, "/_sim/requests/"+id+"/status", map[string]string{"status": "cancel"}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("cancel closed: %d", resp.StatusCode)
	}
	if resp, _ := jsonReq(http.MethodPost, "/_sim/requests/"+id+"/status", map[string]string{"status": "BOGUS"}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown status: %d", resp.StatusCode)
	}
	v, _ := s.Request(created.RequestId)
	if !v.IsClosed || len(v.Comments) != 1 || v.Comments[0].AuthorName != "Cityworks Staff" || len(v.Attachments) != 2 ||
		string(v.Attachments[1].Content) != "png-bytes" || v.Attachments[1].ContentType != "image/png" {
		t.Fatalf("request view = %+v", v)
	}
	if resp, body := jsonReq(http.MethodGet, "/_sim/requests/"+id, nil); resp.StatusCode != 200 || !strings.Contains(string(body), "To SCF: on our list") {
		t.Fatalf("GET request: %d %s", resp.StatusCode, body)
	}

	// Templates: a new problem, a question, its deletion; a WO template.
	resp, body = jsonReq(http.MethodPut, "/_sim/problems", map[string]any{"ProblemCode": "tree", "Description": "Tree Down", "ForPublicSite": true})
	var p Problem
	if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.ProblemCode != "TREE" || p.ProblemSid == 0 {
		t.Fatalf("put problem: %d %s", resp.StatusCode, body)
	}
	resp, body = jsonReq(http.MethodPost, "/_sim/problems/"+itoa(p.ProblemSid)+"/questions",
		map[string]any{"Question": "Is the road blocked?", "Format": "THISTEXT", "Answers": []string{"Yes", "No"}})
	if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || len(p.Questions) != 1 || len(p.Answers) != 2 {
		t.Fatalf("add question: %d %s", resp.StatusCode, body)
	}
	if resp, _ := jsonReq(http.MethodDelete, "/_sim/problems/"+itoa(p.ProblemSid)+"/questions/"+itoa(p.Questions[0].QuestionId), nil); resp.StatusCode != 200 {
		t.Fatalf("delete question: %d", resp.StatusCode)
	}
	if resp, _ := jsonReq(http.MethodPut, "/_sim/problems", map[string]any{"ProblemCode": "TREE", "Description": "dup"}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate code: %d", resp.StatusCode)
	}
	if resp, body := jsonReq(http.MethodPut, "/_sim/wotemplates", map[string]any{"Description": "Tree Removal", "ApplyToEntity": "tree"}); resp.StatusCode != 200 ||
		!strings.Contains(string(body), `"WOTemplateId":"1005"`) {
		t.Fatalf("put WO template: %d %s", resp.StatusCode, body)
	}

	// Faults, stats, token expiry, the page, reset.
	if resp, body := jsonReq(http.MethodPut, "/_sim/faults", map[string]any{"latency": "5ms", "statusError": 2}); resp.StatusCode != 200 ||
		!strings.Contains(string(body), `"latency":"5ms"`) || s.Faults().StatusError != 2 || s.Faults().StatusErrorCode != 30 {
		t.Fatalf("faults: %d %s", resp.StatusCode, body)
	}
	tok := login(t, srv)
	if resp, _ := jsonReq(http.MethodPost, "/_sim/expire-tokens", nil); resp.StatusCode != 200 {
		t.Fatal("expire-tokens")
	}
	if _, env := post(t, srv, "/Services/Ams/ServiceRequest/Statuses", struct{}{}, "", "cityworks "+tok); env.Status != 2 {
		t.Fatalf("after expire-tokens: %+v", env)
	}
	if resp, body := jsonReq(http.MethodGet, "/_sim/stats", nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"ServiceRequest/Statuses":1`) {
		t.Fatalf("stats: %s", body)
	}
	resp, body = jsonReq(http.MethodGet, "/_sim/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Light flickers") || !strings.Contains(string(body), "TREE") {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	if resp, _ := jsonReq(http.MethodPost, "/_sim/reset", nil); resp.StatusCode != 200 || len(s.Requests()) != 0 || len(s.Problems()) != 6 {
		t.Fatal("reset must clear requests and restore the seeded templates")
	}
}

func TestSnapshotRestore(t *testing.T) {
	s, srv := newTestServer(t, Options{})
	h := "cityworks " + login(t, srv)
	sid := s.Problems()[0].ProblemSid
	_, env := post(t, srv, "/Services/Ams/ServiceRequest/Create", map[string]any{"ProblemSid": sid, "OtherSystemId": "ref-1"}, "", h)
	var sr struct{ RequestId int }
	if json.Unmarshal(env.Value, &sr) != nil || sr.RequestId == 0 {
		t.Fatalf("create: %+v", env)
	}
	post(t, srv, "/Services/Ams/WorkOrder/Create", map[string]any{"WOTemplateId": "1001", "EntityType": "STREET", "Text20": "ref-1", "RequestIds": []int{sr.RequestId}}, "", h)
	if _, err := s.AddRequestAttachment(sr.RequestId, "a.jpg", "image/jpeg", []byte{0, 1, 2}, ""); err != nil {
		t.Fatal(err)
	}
	s.AddRequestComment(sr.RequestId, "To SCF: hi", "")
	// The staff page renders requests, work orders (with text fields) and attachments.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/_sim/", nil)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("page: %d", resp.StatusCode)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "Text20=ref-1") || !strings.Contains(string(b), "a.jpg") {
		t.Fatalf("page lacks the work order or attachment:\n%s", b)
	}
	data, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{Now: fixedNow, Location: cdt, Empty: true})
	if err := r.Restore(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Requests(), r.Requests()) || !reflect.DeepEqual(s.WorkOrders(), r.WorkOrders()) ||
		!reflect.DeepEqual(s.Problems(), r.Problems()) {
		t.Fatal("restored state differs")
	}
	if v, _ := r.Request(sr.RequestId); string(v.Attachments[0].Content) != "\x00\x01\x02" || v.Attachments[0].ContentType != "image/jpeg" {
		t.Fatalf("attachment content lost: %+v", v.Attachments)
	}
	// Counters continue: the next request does not reuse an id.
	next, err := r.CreateRequest(NewRequest{ProblemSid: sid})
	if err != nil || next.RequestId != sr.RequestId+1 {
		t.Fatalf("next id = %d, %v", next.RequestId, err)
	}
	if err := r.Restore([]byte(`{"version":99}`)); err == nil {
		t.Fatal("a foreign snapshot version must be refused")
	}
}

// The same seed gives the same fault sequence.
func TestSeededFaultsAreDeterministic(t *testing.T) {
	run := func() []int {
		_, srv := newTestServer(t, Options{Seed: 42, Faults: Faults{ErrorRate: 0.5}})
		var codes []int
		for range 20 {
			resp, _ := post(t, srv, "/Services/General/Authentication/Authenticate", map[string]string{"LoginName": "x", "Password": "y"}, "", "")
			codes = append(codes, resp.StatusCode)
		}
		return codes
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("runs differ: %v vs %v", a, b)
	}
	seen := map[int]bool{}
	for _, c := range a {
		seen[c] = true
	}
	if !seen[200] || (!seen[500] && !seen[503]) {
		t.Fatalf("ErrorRate 0.5 over 20 calls = %v", a)
	}
}
