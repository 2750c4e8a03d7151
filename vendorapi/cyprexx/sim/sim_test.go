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
	"sync"
	"testing"
	"time"
)

type harness struct {
	t   *testing.T
	s   *Server
	srv *httptest.Server
}

func newHarness(t *testing.T, opts Options) *harness {
	opts.DisableRateLimit = true
	if opts.PushRetryDelay == 0 {
		opts.PushRetryDelay = time.Millisecond
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	return &harness{t, s, srv}
}

func (h *harness) do(method, path, ctype, body string, auth bool) (int, string, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+DefaultToken)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (h *harness) issue() WorkOrder {
	h.t.Helper()
	wo, err := h.s.Issue("", WorkOrder{Service: "Grass Cut", Address1: "1 Main", City: "Doral", State: "FL", Zip: "33166"})
	if err != nil {
		h.t.Fatal(err)
	}
	return wo
}

func TestWireFormOfAWorkOrder(t *testing.T) {
	h := newHarness(t, Options{})
	wo := h.issue()
	st, body, hd := h.do("GET", "/api/v1/workorders/"+wo.WorkOrderID, "", "", true)
	if st != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", st, body)
	}
	for _, want := range []string{`"lockboxCode":null`, `"keyCode":null`, `"tasks":[]`, `"forms":[]`, `"status":"Assigned"`, `"address2":""`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	if !regexp.MustCompile(`"updatedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`).MatchString(body) || strings.Contains(body, "vendor") {
		t.Errorf("updatedAt / vendor: %s", body)
	}
	if st, body, hd := h.do("GET", "/api/v1/workorders", "", "", false); st != 401 || !strings.Contains(body, `"invalid_token"`) || hd.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %s", st, body)
	}
	if st, body, _ := h.do("GET", "/api/v1/workorders?limit=201", "", "", true); st != 400 || !strings.Contains(body, "invalid_limit") {
		t.Fatalf("limit: %d %s", st, body)
	}
	if st, _, _ := h.do("GET", "/api/v1/workorders?updatedSince=yesterday", "", "", true); st != 400 {
		t.Fatalf("updatedSince: %d", st)
	}
}

func TestPushWireForm(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
	}))
	defer cb.Close()
	h := newHarness(t, Options{})
	st, body, _ := h.do("POST", "/api/v1/pushkeys", "application/json", `{"pushKey":"pk-1","callbackUrl":"`+cb.URL+`/hook"}`, true)
	if st != 201 || !strings.Contains(body, `"status":"active"`) || !strings.Contains(body, `"validatedAt"`) {
		t.Fatalf("%d %s", st, body)
	}
	wo := h.issue()
	h.s.WaitPushes()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || bodies[0] != `{"event":"ping"}` {
		t.Fatalf("pushes %v", bodies)
	}
	var ev map[string]string
	json.Unmarshal([]byte(bodies[1]), &ev)
	r := got[1]
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if r.Header.Get("X-Cyprexx-Push-Key") != "pk-1" || !uuidRE.MatchString(r.Header.Get("X-Cyprexx-Delivery")) || r.URL.Path != "/hook" ||
		ev["event"] != "workorder.created" || ev["workOrderId"] != wo.WorkOrderID || ev["updatedAt"] != ts(wo.UpdatedAt) {
		t.Fatalf("push %v %v", r.Header, ev)
	}
	if st, body, _ := h.do("POST", "/api/v1/pushkeys", "application/json", `{"pushKey":"pk-2","callbackUrl":"http://example.com/hook"}`, true); st != 422 || !strings.Contains(body, "callbackUrl") {
		t.Fatalf("plain http callback: %d %s", st, body)
	}
	if st, _, _ := h.do("DELETE", "/api/v1/pushkeys/pk-1", "", "", true); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ := h.do("DELETE", "/api/v1/pushkeys/pk-1", "", "", true); st != 404 {
		t.Fatalf("delete again: %d", st)
	}
}

func TestPushRetriesThenGivesUp(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			return // the ping succeeds
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer cb.Close()
	h := newHarness(t, Options{})
	if st, body, _ := h.do("POST", "/api/v1/pushkeys", "application/json", `{"pushKey":"k","callbackUrl":"`+cb.URL+`"}`, true); st != 201 {
		t.Fatalf("%d %s", st, body)
	}
	h.issue()
	h.s.WaitPushes()
	d := h.s.Deliveries()
	if attempts != 4 || len(d) != 1 || d[0].Attempts != 3 || d[0].Delivered || d[0].LastStatus != 500 || h.s.Stats().PushesDropped != 1 {
		t.Fatalf("attempts %d deliveries %+v", attempts, d)
	}
}

func TestStaffAPI(t *testing.T) {
	h := newHarness(t, Options{})
	st, body, _ := h.do("POST", "/_sim/workorders", "application/json",
		`{"vendor":"vendor-2","service":"Winterization","address1":"1 A St","city":"Dallas","state":"TX","zip":"75001","lockboxCode":"9999",
		  "tasks":[{"name":"Drain pipes","photoCategories":["After"],"minPhotos":1}],"forms":[{"name":"F","questions":[{"text":"ok?","answerType":"yesNo"}]}]}`, false)
	var wo WorkOrder
	json.Unmarshal([]byte(body), &wo)
	if st != 200 || wo.Tasks[0].TaskID != "T1" || wo.Forms[0].FormID != "F1" || wo.Forms[0].Version != 1 || wo.Forms[0].Questions[0].QuestionID != "q1" {
		t.Fatalf("issue: %d %s", st, body)
	}
	if stored, _ := h.s.WorkOrder(wo.WorkOrderID); stored.Vendor != "vendor-2" || stored.LockboxCode != "9999" {
		t.Fatalf("stored %+v", stored)
	}
	if st, _, _ := h.do("POST", "/_sim/workorders", "application/json", `{"service":"x"}`, false); st != 422 {
		t.Fatalf("incomplete issue: %d", st)
	}
	// Changing a form's questions bumps its version; read-only fields are refused.
	st, body, _ = h.do("POST", "/_sim/workorders/"+wo.WorkOrderID, "application/json",
		`{"status":"Needs Review","forms":[{"formId":"F1","name":"F","version":1,"questions":[{"questionId":"q9","text":"new","answerType":"text"}]}]}`, false)
	json.Unmarshal([]byte(body), &wo)
	if st != 200 || wo.Status != "Needs Review" || wo.Forms[0].Version != 2 {
		t.Fatalf("update: %d %s", st, body)
	}
	if st, _, _ := h.do("POST", "/_sim/workorders/"+wo.WorkOrderID, "application/json", `{"workOrderId":"1"}`, false); st != 422 {
		t.Fatalf("read-only field: %d", st)
	}
	// The HTML forms: issue, update, change tasks, cancel — each redirects back to the page.
	form := url.Values{"service": {"Grass Cut"}, "address1": {"2 B St"}, "city": {"Doral"}, "state": {"FL"}, "zip": {"33166"},
		"tasks": {"Cut grass | Before,After | 2\nTrim | After | 1"}, "withForm": {"on"}}
	if st, _, hd := h.do("POST", "/_sim/workorders", "application/x-www-form-urlencoded", form.Encode(), false); st != 303 || hd.Get("Location") != "/_sim/" {
		t.Fatalf("form issue: %d", st)
	}
	all := h.s.WorkOrders()
	fw := all[len(all)-1]
	if len(fw.Tasks) != 2 || fw.Tasks[0].MinPhotos != 2 || fw.Tasks[1].PhotoCategories[0] != "After" || fw.Forms[0].FormID != "PCR" || fw.Vendor != DefaultVendor {
		t.Fatalf("form-issued %+v", fw)
	}
	h.do("POST", "/_sim/workorders/"+fw.WorkOrderID, "application/x-www-form-urlencoded", url.Values{"status": {"On Hold"}, "note": {"call first"}}.Encode(), false)
	h.do("POST", "/_sim/workorders/"+fw.WorkOrderID+"/tasks", "application/x-www-form-urlencoded", url.Values{"tasks": {"Haul debris"}}.Encode(), false)
	if got, _ := h.s.WorkOrder(fw.WorkOrderID); got.Status != "On Hold" || got.Note != "call first" || len(got.Tasks) != 1 || got.Tasks[0].Name != "Haul debris" {
		t.Fatalf("after form updates %+v", got)
	}
	h.do("POST", "/_sim/workorders/"+fw.WorkOrderID+"/cancel", "application/x-www-form-urlencoded", "", false)
	if got, _ := h.s.WorkOrder(fw.WorkOrderID); got.Status != StatusCancelled {
		t.Fatalf("cancel: %s", got.Status)
	}
	st, page, _ := h.do("GET", "/_sim/", "", "", false)
	for _, want := range []string{"Issue a work order", "change tasks", "cancel", "revoke token", fw.WorkOrderID, "Haul debris"} {
		if st != 200 || !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "9999") {
		t.Error("the staff page shows a lockbox code")
	}
}

func TestStaffFaultsStatsReset(t *testing.T) {
	h := newHarness(t, Options{})
	st, body, _ := h.do("PUT", "/_sim/faults", "application/json", `{"latency":"5ms","slowUploadDelay":2000,"resetAfterUpload":2,"expireCursors":true}`, false)
	var f Faults
	json.Unmarshal([]byte(body), &f)
	if st != 200 || f.Latency != 5*time.Millisecond || f.SlowUploadDelay != 2*time.Second || f.ResetAfterUpload != 2 || f.ExpireCursors ||
		f.SlowBodyDelay != DefaultSlowBodyDelay {
		t.Fatalf("%d %s", st, body)
	}
	h.issue()
	h.do("GET", "/api/v1/workorders", "", "", true)
	_, body, _ = h.do("GET", "/_sim/stats", "", "", false)
	if !strings.Contains(body, `"apiCalls":1`) || !strings.Contains(body, `"list":1`) {
		t.Fatalf("stats %s", body)
	}
	h.do("POST", "/_sim/tokens/revoke", "application/json", `{"token":"`+DefaultToken+`"}`, false)
	if st, _, _ := h.do("GET", "/api/v1/workorders", "", "", true); st != 401 {
		t.Fatalf("revoked: %d", st)
	}
	h.do("POST", "/_sim/reset", "application/json", "", false)
	if len(h.s.WorkOrders()) != 0 || h.s.Faults().ResetAfterUpload != 0 || h.s.Stats().APICalls != 0 {
		t.Fatal("reset left state behind")
	}
	if st, _, _ := h.do("GET", "/api/v1/workorders", "", "", true); st != 200 {
		t.Fatalf("token after reset: %d", st)
	}
}

func TestSnapshotRestore(t *testing.T) {
	h := newHarness(t, Options{})
	wo, _ := h.s.Issue("vendor-2", WorkOrder{Service: "Grass Cut", Address1: "1 Main", City: "Doral", State: "FL", Zip: "33166",
		LockboxCode: "1234", Tasks: []Task{{Name: "Cut", PhotoCategories: []string{"After"}}}})
	h.s.mu.Lock()
	h.s.pushKeys["k"] = &PushKey{PushKey: "k", CallbackURL: "http://127.0.0.1:1/x", Status: "active", Vendor: "vendor-2"}
	h.s.photos[wo.WorkOrderID] = []*Photo{{PhotoID: "P1", SourceID: "u-1", TaskID: "T1", SHA256: "abc", Uploads: 1}}
	h.s.mu.Unlock()
	h.s.RevokeToken("old")
	data, err := h.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	fresh := New(Options{})
	defer fresh.Close()
	if err := fresh.Restore(data); err != nil {
		t.Fatal(err)
	}
	got, ok := fresh.WorkOrder(wo.WorkOrderID)
	if !ok || got.Vendor != "vendor-2" || got.LockboxCode != "1234" || !got.UpdatedAt.Equal(wo.UpdatedAt) || got.Tasks[0].TaskID != "T1" {
		t.Fatalf("restored %+v", got)
	}
	if ps := fresh.Photos(wo.WorkOrderID); len(ps) != 1 || ps[0].SourceID != "u-1" || len(fresh.PushKeys()) != 1 || !fresh.revoked["old"] {
		t.Fatalf("photos %+v push keys %+v", ps, fresh.PushKeys())
	}
	next, _ := fresh.Issue("", WorkOrder{Service: "X", Address1: "1", City: "C", State: "FL", Zip: "1"})
	if idLess(next.WorkOrderID, wo.WorkOrderID) || next.WorkOrderID == wo.WorkOrderID {
		t.Fatalf("id counter not restored: %s after %s", next.WorkOrderID, wo.WorkOrderID)
	}
}
