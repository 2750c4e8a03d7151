package sim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

// capture is a webhook receiver that records bodies by hook path and answers before-hooks
// with answer (nil: "{}").
type capture struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
	auth   []string
	answer func(path string) (int, string)
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	seg := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	c.mu.Lock()
	if c.bodies == nil {
		c.bodies = map[string][]map[string]any{}
	}
	c.bodies[seg] = append(c.bodies[seg], m)
	c.auth = append(c.auth, r.Header.Get("Authorization"))
	answer := c.answer
	c.mu.Unlock()
	status, body := http.StatusOK, "{}"
	if answer != nil {
		status, body = answer(seg)
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (c *capture) body(t *testing.T, seg string) map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies[seg]) == 0 {
		t.Fatalf("no delivery to %s (got %v)", seg, slices.Collect(func(yield func(string) bool) {
			for k := range c.bodies {
				yield(k)
			}
		}))
	}
	return c.bodies[seg][len(c.bodies[seg])-1]
}

func newSim(t *testing.T, rc http.Handler, opts sim.Options) *sim.Server {
	t.Helper()
	if rc != nil {
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		opts.HookBaseURL = srv.URL + "/hooks/"
	}
	s := sim.New(opts)
	t.Cleanup(s.Close)
	return s
}

func check(t *testing.T) func(sim.Case, error) sim.Case {
	return func(c sim.Case, err error) sim.Case {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func TestSignContractVector(t *testing.T) {
	body, err := os.ReadFile("../testdata/afterResolve.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.Sign("cubu_test", body); got != "HMAC 85WIymFhjJA2/T1MRRxwrA8aMif+bzRhr6hncmwNJ4w=" {
		t.Fatal(got)
	}
}

// TestPayloadShapes checks each hook's key set against the contract's per-hook differences.
func TestPayloadShapes(t *testing.T) {
	ok := check(t)
	rc := &capture{}
	s := newSim(t, rc, sim.Options{HMACSecret: "k"})
	walk := ok(s.QueueUp(sim.NewCase{Agent: sim.DefaultAgentID, ContactEmail: "a@example.org", Fields: map[string]string{sim.FieldDescription: "x"}}))
	ok(s.StartWork(walk.ID, sim.DefaultAgentID))
	ok(s.Resolve(walk.ID, sim.DefaultAgentID))
	ok(s.CloseCase(walk.ID, sim.DefaultAgentID))
	appt := ok(s.BookAppointment(sim.NewCase{}))
	ok(s.CheckIn(appt.ID, ""))
	s.WaitHooks()

	common := []string{"caseId", "parentCaseId", "referenceDate", "unitId", "serviceId", "serviceCategoryId", "serviceTypeId",
		"status", "channel", "language", "ticket", "fields", "tagIds", "customerRecordId"}
	contact := []string{"useCustomerContactInfo", "contactPhoneNumber", "contactEmail", "lockedByUserId"}
	trig := []string{"triggeredByUserId", "triggeredByUserEmail"}
	join := func(parts ...[]string) []string { return slices.Concat(parts...) }
	for seg, keys := range map[string][]string{
		"beforeQueueUp":         join(common, contact, trig),
		"afterQueueUp":          join(common, contact, trig),
		"startWork":             join(common, contact, []string{"lockedByUserEmail", "appointment"}),
		"beforeResolved":        join(common, contact, trig, []string{"appointment"}),
		"afterResolve":          join(common, contact, trig, []string{"appointment"}),
		"afterClose":            join(common, contact, trig, []string{"appointment"}),
		"beforeBookAppointment": join(common, trig, []string{"appointment"}),
		"afterBookAppointment":  join(common, trig, []string{"appointment"}),
		"beforeCheckIn":         join(common, contact, trig, []string{"appointment"}),
		"afterCheckIn":          join(common, contact, trig, []string{"appointment"}),
	} {
		b := rc.body(t, seg)
		got := slices.Sorted(func(yield func(string) bool) {
			for k := range b {
				yield(k)
			}
		})
		slices.Sort(keys)
		if !slices.Equal(got, keys) {
			t.Errorf("%s keys:\n got %v\nwant %v", seg, got, keys)
		}
	}
	ar := rc.body(t, "afterResolve")
	if ar["caseId"] != walk.ID || ar["status"] != "Resolved" || ar["lockedByUserId"] != sim.DefaultAgentID ||
		ar["triggeredByUserEmail"] != sim.DefaultAgentEmail || ar["appointment"] != nil || ar["contactEmail"] != "a@example.org" {
		t.Errorf("afterResolve = %v", ar)
	}
	if tk := ar["ticket"].(map[string]any); tk["prefix"] != "A" || tk["number"] != float64(walk.Ticket.Number) || tk["suffix"] != nil {
		t.Errorf("ticket = %v", tk)
	}
	if bq := rc.body(t, "afterQueueUp"); bq["status"] != "Waiting" {
		t.Errorf("afterQueueUp status = %v", bq["status"])
	}
	a := rc.body(t, "afterBookAppointment")["appointment"].(map[string]any)
	if a["start"] != float64(570) || a["timeZoneId"] != "America/New_York" || !strings.HasSuffix(a["timeUtc"].(string), "Z") ||
		!strings.HasSuffix(a["timeLocal"].(string), "T09:30:00") {
		t.Errorf("appointment = %v", a)
	}
	for _, h := range rc.auth {
		if !strings.HasPrefix(h, "HMAC ") {
			t.Fatalf("unsigned delivery: %q", h)
		}
	}
}

func TestBeforeHookAnswers(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		answer  string
		allowed bool
		reason  string
	}{
		{"empty object", 200, `{}`, true, "allowed"},
		{"empty body", 204, ``, true, "empty answer"},
		{"cancel", 200, `{"cancel":true,"message":"Fill in the address"}`, false, "cancelled"},
		{"server error", 500, `oops`, false, "HTTP 500"},
		{"unauthorized", 401, `Invalid Signature`, false, "HTTP 401"},
		{"not JSON", 200, `<html>`, false, "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := &capture{answer: func(string) (int, string) { return tc.status, tc.answer }}
			s := newSim(t, rc, sim.Options{})
			c, err := s.QueueUp(sim.NewCase{})
			var ae *sim.ActionError
			out := c.LastBefore
			if errors.As(err, &ae) {
				out = ae.Before
			} else if err != nil {
				t.Fatal(err)
			}
			if out == nil || out.Allowed != tc.allowed || !strings.Contains(out.Reason, tc.reason) || out.Status != tc.status {
				t.Fatalf("outcome = %+v, err %v", out, err)
			}
			if !tc.allowed && (ae == nil || ae.Status != http.StatusConflict || len(s.Cases()) != 0) {
				t.Fatalf("blocked action created a case or no 409: %v", err)
			}
		})
	}
}

func TestBeforeHookChangesApplied(t *testing.T) {
	ok := check(t)
	rc := &capture{answer: func(seg string) (int, string) {
		if seg == "beforeResolved" {
			return 200, `{"fields":{"` + sim.FieldAddress + `":"Building E","` + sim.FieldPreferred + `":null},"tagIds":["t1"],` +
				`"serviceTypeId":"` + sim.DefaultServiceTypeITSupport + `","channel":"Video","customerRecordId":null,"message":"Work order WO-7 created"}`
		}
		return 200, `{}`
	}}
	s := newSim(t, rc, sim.Options{})
	c := ok(s.QueueUp(sim.NewCase{CustomerRecordID: "cr-1", Fields: map[string]string{sim.FieldPreferred: "mornings"}}))
	c = ok(s.Resolve(c.ID, sim.DefaultAgentID))
	if c.Fields[sim.FieldAddress] != "Building E" || c.Fields[sim.FieldPreferred] != "" || !slices.Equal(c.TagIDs, []string{"t1"}) ||
		c.ServiceTypeID != sim.DefaultServiceTypeITSupport || c.Channel != "Video" || c.CustomerRecordID != "" || c.Status != sim.StatusResolved {
		t.Fatalf("case = %+v", c)
	}
	if len(c.FieldUpdates) != 1 || c.FieldUpdates[0].Source != sim.HookBeforeResolve || c.FieldUpdates[0].Fields[sim.FieldAddress] != "Building E" {
		t.Errorf("field updates = %+v", c.FieldUpdates)
	}
	if len(c.Notes) != 1 || c.Notes[0].Text != "Work order WO-7 created" {
		t.Errorf("notes = %+v", c.Notes)
	}
	s.WaitHooks()
	if ar := rc.body(t, "afterResolve"); ar["fields"].(map[string]any)[sim.FieldAddress] != "Building E" || ar["channel"] != "Video" {
		t.Errorf("afterResolve does not carry the changes: %v", ar)
	}
}

func TestActionRules(t *testing.T) {
	ok := check(t)
	s := newSim(t, nil, sim.Options{})
	c := ok(s.QueueUp(sim.NewCase{}))
	code := func(err error) int {
		var ae *sim.ActionError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v", err)
		}
		return ae.Status*10000 + ae.ErrorCode
	}
	if _, err := s.CheckIn(c.ID, ""); code(err) != 409*10000+sim.ErrorInvalidStatus {
		t.Errorf("check in a walk-in: %v", err)
	}
	ok(s.StartWork(c.ID, sim.SecondAgentID))
	if _, err := s.Resolve(c.ID, sim.DefaultAgentID); code(err) != 409*10000+sim.ErrorLockedByAnotherUser {
		t.Errorf("resolve another's case: %v", err)
	}
	if _, err := s.StartWork(c.ID, sim.DefaultAgentID); code(err) != 409*10000+sim.ErrorInvalidStatus {
		t.Errorf("start work twice: %v", err)
	}
	if _, err := s.StartWork("nope", sim.DefaultAgentID); code(err) != 404*10000 {
		t.Errorf("unknown case: %v", err)
	}
	if _, err := s.StartWork(c.ID, "nobody"); code(err) != 404*10000 {
		t.Errorf("unknown agent: %v", err)
	}
	if _, err := s.QueueUp(sim.NewCase{Channel: "Fax"}); code(err) != 400*10000 {
		t.Errorf("bad channel: %v", err)
	}
	if _, err := s.BookAppointment(sim.NewCase{Appointment: &sim.Appointment{Date: "tomorrow"}}); code(err) != 422*10000 {
		t.Errorf("bad date: %v", err)
	}
	ok(s.CloseCase(c.ID, ""))
	if _, err := s.CloseCase(c.ID, ""); code(err) != 409*10000+sim.ErrorInvalidStatus {
		t.Errorf("close twice: %v", err)
	}
	got, _ := s.Case(strings.ToUpper(c.ID))
	if got.Status != sim.StatusClosed || len(got.History) != 3 || got.History[0].By != "customer" || got.History[1].By != sim.SecondAgentID {
		t.Errorf("history = %+v", got.History)
	}
}

func TestWebhooksOffAndUnsigned(t *testing.T) {
	ok := check(t)
	off := newSim(t, nil, sim.Options{})
	ok(off.QueueUp(sim.NewCase{}))
	if len(off.Deliveries()) != 0 || off.Stats().HookDeliveries != 0 {
		t.Fatal("deliveries without a Base URL")
	}
	rc := &capture{}
	none := newSim(t, rc, sim.Options{}) // Authorization "None"
	ok(none.QueueUp(sim.NewCase{}))
	none.WaitHooks()
	if len(rc.auth) != 2 || rc.auth[0] != "" || rc.auth[1] != "" || none.Deliveries()[0].Signing != "none" {
		t.Fatalf("auth headers %q", rc.auth)
	}
}

func TestDeterministicIDs(t *testing.T) {
	ids := func() []string {
		s := newSim(t, nil, sim.Options{Seed: 42})
		var out []string
		for range 3 {
			c, _ := s.QueueUp(sim.NewCase{})
			out = append(out, c.ID+c.Ticket.String())
		}
		return out
	}
	a, b := ids(), ids()
	if !slices.Equal(a, b) || a[0] == a[1] {
		t.Fatalf("%v vs %v", a, b)
	}
}

// ---- control API and page over HTTP ----

func do(t *testing.T, h http.Handler, method, path, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestControlAPI(t *testing.T) {
	s := newSim(t, &capture{}, sim.Options{HMACSecret: "k"})
	w := do(t, s, "POST", "/_sim/cases", "application/json", `{"kind":"appointment","fields":{"`+sim.FieldDescription+`":"Smoke detector"},"appointment":{"date":"2025-06-01","start":600}}`)
	var created struct {
		Case   sim.Case         `json:"case"`
		Before *sim.HookOutcome `json:"before"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &created) != nil || created.Case.Status != sim.StatusPending ||
		created.Before == nil || !created.Before.Allowed || created.Case.Appointment.Duration != 30 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	id := created.Case.ID
	for _, step := range []struct{ action, body, status string }{
		{"check-in", `{}`, sim.StatusWaiting},
		{"start-work", `{"agent":"` + sim.DefaultAgentID + `"}`, sim.StatusActive},
		{"fields", `{"fields":{"` + sim.FieldAddress + `":"Lobby"}}`, sim.StatusActive},
		{"resolve", `{"agent":"` + sim.DefaultAgentID + `"}`, sim.StatusResolved},
		{"close", ``, sim.StatusClosed},
	} {
		w := do(t, s, "POST", "/_sim/cases/"+id+"/"+step.action, "application/json", step.body)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"`+step.status+`"`) {
			t.Fatalf("%s: %d %s", step.action, w.Code, w.Body)
		}
	}
	if w := do(t, s, "POST", "/_sim/cases/"+id+"/close", "application/json", ``); w.Code != 409 || !strings.Contains(w.Body.String(), `"errorCode":1001`) {
		t.Errorf("close twice: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "POST", "/_sim/cases/"+id+"/dance", "application/json", `{}`); w.Code != 404 {
		t.Errorf("unknown action: %d", w.Code)
	}
	if w := do(t, s, "GET", "/_sim/cases/"+id, "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"Lobby"`) {
		t.Errorf("get case: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "GET", "/_sim/cases/nope", "", ""); w.Code != 404 {
		t.Errorf("get unknown case: %d", w.Code)
	}
	if w := do(t, s, "POST", "/_sim/cases", "application/json", `{"kind":"carrier pigeon"}`); w.Code != 400 {
		t.Errorf("bad kind: %d", w.Code)
	}
	if w := do(t, s, "POST", "/_sim/cases", "application/json", `{`); w.Code != 400 {
		t.Errorf("bad JSON: %d", w.Code)
	}
	s.WaitHooks()
	var ds []sim.Delivery
	if w := do(t, s, "GET", "/_sim/deliveries", "", ""); json.Unmarshal(w.Body.Bytes(), &ds) != nil || len(ds) != 8 {
		t.Errorf("deliveries: %s", w.Body)
	}
	if w := do(t, s, "POST", "/_sim/deliveries/1/replay", "application/json", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"replayOf":1`) {
		t.Errorf("replay: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "POST", "/_sim/deliveries/999/replay", "application/json", ""); w.Code != 404 {
		t.Errorf("replay unknown: %d", w.Code)
	}
	var cfg map[string]any
	if w := do(t, s, "GET", "/_sim/config", "", ""); json.Unmarshal(w.Body.Bytes(), &cfg) != nil || cfg["applicationId"] != sim.DefaultApplicationID || cfg["hmac"] != true {
		t.Errorf("config: %s", w.Body)
	}
	var st sim.Stats
	if w := do(t, s, "GET", "/_sim/stats", "", ""); json.Unmarshal(w.Body.Bytes(), &st) != nil || st.HookDeliveries != 9 || st.BeforeHooksAllowed != 3 {
		t.Errorf("stats: %s", w.Body)
	}
	if w := do(t, s, "POST", "/_sim/reset", "application/json", ""); w.Code != 200 || len(s.Cases()) != 0 || len(s.Deliveries()) != 0 {
		t.Errorf("reset: %d", w.Code)
	}
	if w := do(t, s, "GET", "/_sim/nothing", "", ""); w.Code != 404 {
		t.Errorf("unknown endpoint: %d", w.Code)
	}
}

func TestControlFaults(t *testing.T) {
	s := newSim(t, nil, sim.Options{})
	w := do(t, s, "PUT", "/_sim/faults", "application/json", `{"errorRate":0.5,"rateLimitBurst":2,"latency":"250ms","hookDuplicates":3,"revokeTokens":true}`)
	var f sim.Faults
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &f) != nil || f.Latency != 250*time.Millisecond || f.ErrorRate != 0.5 ||
		f.RateLimitBurst != 2 || f.HookDuplicates != 3 || f.RevokeTokens || !strings.Contains(w.Body.String(), `"latency":"250ms"`) {
		t.Fatalf("faults: %d %s", w.Code, w.Body)
	}
	do(t, s, "PUT", "/_sim/faults", "application/json", `{"latency":40}`)
	if got := s.Faults(); got.Latency != 40*time.Millisecond || got.ErrorRate != 0 {
		t.Fatalf("integer milliseconds: %+v", got)
	}
	if w := do(t, s, "PUT", "/_sim/faults", "application/json", `{"latency":"soon"}`); w.Code != 400 {
		t.Fatalf("bad latency: %d", w.Code)
	}
	w = do(t, s, "POST", "/_sim/faults", "application/x-www-form-urlencoded", url.Values{"hookDuplicates": {"2"}, "hookExtraFields": {"on"}}.Encode())
	if got := s.Faults(); w.Code != 303 || got.HookDuplicates != 2 || !got.HookExtraFields || got.Latency != 40*time.Millisecond {
		t.Fatalf("form faults: %d %+v", w.Code, got)
	}
}

func TestStaffPage(t *testing.T) {
	rc := &capture{answer: func(seg string) (int, string) {
		if seg == "beforeResolved" {
			return 200, `{"cancel":true,"message":"Address missing"}`
		}
		return 200, `{}`
	}}
	s := newSim(t, rc, sim.Options{})
	form := url.Values{"kind": {"walkIn"}, "agent": {sim.DefaultAgentID}, "field_" + sim.FieldDescription: {"Broken <blind>"}, "field_" + sim.FieldAddress: {""}}
	w := do(t, s, "POST", "/_sim/cases", "application/x-www-form-urlencoded", form.Encode())
	if w.Code != 303 || !strings.HasPrefix(w.Header().Get("Location"), "/_sim/?msg=created+ticket+A") {
		t.Fatalf("form create: %d %v", w.Code, w.Header())
	}
	c := s.Cases()[0]
	if len(c.Fields) != 1 || c.Fields[sim.FieldDescription] != "Broken <blind>" {
		t.Fatalf("fields = %v (empty inputs are not answers)", c.Fields)
	}
	act := url.Values{"agent": {sim.SecondAgentID}, "do": {"start-work"}}
	if w := do(t, s, "POST", "/_sim/cases/"+c.ID+"/act", "application/x-www-form-urlencoded", act.Encode()); w.Code != 303 {
		t.Fatalf("form act: %d", w.Code)
	}
	if got, _ := s.Case(c.ID); got.LockedBy != sim.SecondAgentID {
		t.Fatalf("locked by %q", got.LockedBy)
	}
	act.Set("do", "resolve")
	w = do(t, s, "POST", "/_sim/cases/"+c.ID+"/act", "application/x-www-form-urlencoded", act.Encode())
	if loc, _ := url.QueryUnescape(w.Header().Get("Location")); w.Code != 303 || !strings.Contains(loc, "Address missing") {
		t.Fatalf("blocked resolve: %d %s", w.Code, loc)
	}
	page := do(t, s, "GET", "/_sim/?msg=hello", "", "")
	body := page.Body.String()
	for _, want := range []string{"Cubu simulator", "hello", c.Ticket.String(), "Broken &lt;blind&gt;", "blocked", "Address missing",
		`action="/_sim/cases"`, "replay", "beforeResolve"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if page.Code != 200 || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Errorf("page: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
}

// ---- S2S edges the client never produces ----

func TestS2SEdges(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newSim(t, nil, sim.Options{Now: now, TokenTTL: time.Minute})
	tokenPath := "/" + sim.DefaultTenantID + "/oauth2/v2.0/token"
	if w := do(t, s, "GET", tokenPath, "", ""); w.Code != 405 || !strings.Contains(w.Body.String(), "invalid_request") {
		t.Errorf("GET token: %d %s", w.Code, w.Body)
	}
	if w := do(t, s, "POST", tokenPath, "application/x-www-form-urlencoded", "grant_type=password"); w.Code != 400 || !strings.Contains(w.Body.String(), "unsupported_grant_type") {
		t.Errorf("password grant: %d %s", w.Code, w.Body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sim.DefaultClientID}, "client_secret": {sim.DefaultClientSecret},
		"scope": {"api://" + sim.DefaultClientID + "/.default"}}
	w := do(t, s, "POST", tokenPath, "application/x-www-form-urlencoded", form.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &tok) != nil || tok.ExpiresIn != 60 || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	api := "/" + sim.DefaultApplicationID + "/agents/" + sim.DefaultAgentID + "/activeCases"
	call := func(path, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rw := httptest.NewRecorder()
		s.ServeHTTP(rw, req)
		return rw
	}
	if w := call(api, ""); w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("no token: %d %v", w.Code, w.Header())
	}
	if w := call(api, tok.AccessToken); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("active cases: %d %s", w.Code, w.Body)
	}
	if w := call("/"+sim.DefaultApplicationID+"/cases/x", tok.AccessToken); w.Code != 404 {
		t.Errorf("unknown endpoint: %d", w.Code)
	}
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	if w := call(api, tok.AccessToken); w.Code != 401 || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired token: %d %s", w.Code, w.Body)
	}
	if st := s.Stats(); st.TokenRequests != 2 || st.TokensIssued != 1 || st.TokenErrors != 1 || st.Unauthorized != 2 || st.APICalls != 2 || st.Ops["activeCases"] != 1 {
		t.Errorf("stats = %+v", st)
	}
}
