package sim

// Wire-level checks of the simulator against a hand-written order source (the pruvan
// package's view is in ../contract_test.go).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSource is a minimal order source: fixed credentials, a list of work orders, and a
// record of everything Pruvan sent.
type fakeSource struct {
	mu        sync.Mutex
	orders    []WorkOrder
	pushKey   string
	stamps    []any // getWorkOrders timestamps as received
	statuses  []map[string]any
	uploads   []fakeUpload
	partOrder []string
}

type fakeUpload struct {
	payload map[string]any
	sha     string
	size    int64
	ctype   string
}

func (f *fakeSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimSuffix(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], ".php")
	var payload map[string]any
	var up fakeUpload
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			f.mu.Lock()
			f.partOrder = append(f.partOrder, part.FormName())
			f.mu.Unlock()
			if part.FormName() == "payload" {
				b, _ := io.ReadAll(part)
				json.Unmarshal(b, &payload)
				continue
			}
			h := sha256.New()
			up.size, _ = io.Copy(h, part)
			up.sha, up.ctype = hex.EncodeToString(h.Sum(nil)), part.Header.Get("Content-Type")
		}
	} else {
		r.ParseForm()
		json.Unmarshal([]byte(r.PostForm.Get("payload")), &payload)
	}
	if payload["username"] != "u" || payload["password"] != "p" || payload["token"] != "t" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"validated":false,"status":false,"error":"invalid username or password"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "validate":
		f.pushKey, _ = payload["pushKey"].(string)
		io.WriteString(w, `{"validated":true,"error":""}`)
	case "getWorkOrders":
		f.stamps = append(f.stamps, payload["timestamp"])
		json.NewEncoder(w).Encode(map[string]any{"workOrders": f.orders, "error": ""})
	case "status":
		items, _ := payload["workOrders"].([]any)
		for _, it := range items {
			m := it.(map[string]any)
			f.statuses = append(f.statuses, m)
			if strings.HasPrefix(m["workOrderNumber"].(string), "UNKNOWN") {
				json.NewEncoder(w).Encode(map[string]any{"status": false, "error": map[string]string{"workOrderNumber": m["workOrderNumber"].(string), "error": "unknown"}})
				return
			}
		}
		io.WriteString(w, `{"status":true,"error":null}`)
	case "uploadPictures":
		up.payload = payload
		f.uploads = append(f.uploads, up)
		io.WriteString(w, `{"status":true,"error":""}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

type harness struct {
	s   *Server
	srv *httptest.Server
	src *fakeSource
}

func newHarness(t *testing.T, autoAdmin bool) *harness {
	t.Helper()
	src := &fakeSource{orders: []WorkOrder{{WorkOrderNumber: "W1-Grass Cut", Address1: "1 Main St", City: "Doral", State: "FL",
		Zip: "33166", Description: "Grass Cut", ClientStatus: "Assigned",
		Services: []Service{{ServiceName: "Cut grass", Survey: "F1:v1"}, {ServiceName: "Trim"}}}}}
	osrv := httptest.NewServer(src)
	t.Cleanup(osrv.Close)
	s := New(Options{Seed: 7, Integrations: []Integration{{ClientCode: "cyprexx", URL: osrv.URL + "/hooks", Extension: ".php",
		Username: "u", Password: "p", Token: "t", AutoAdmin: autoAdmin}}})
	srv := httptest.NewServer(s)
	s.SetBaseURL(srv.URL)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return &harness{s: s, srv: srv, src: src}
}

func TestValidateSendsPushKeyThatTriggersAnImport(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	if err := h.s.Validate(ctx, "cyprexx"); err != nil {
		t.Fatal(err)
	}
	key, _ := h.s.PushKey("cyprexx")
	if h.src.pushKey != key || !strings.HasPrefix(key, h.srv.URL+"/api/?apiKey=") {
		t.Fatalf("order source got push key %q, sim issued %q", h.src.pushKey, key)
	}
	resp, err := http.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if env["response"] != true || env["error"] != "success" {
		t.Fatalf("push key answer %v", env)
	}
	h.s.WaitIdle()
	ps := h.s.Projects()
	if len(ps) != 1 || ps[0].Key != "cyprexx::W1-Grass Cut" || ps[0].Status != StatusUnassigned || ps[0].WorkOrder.City != "Doral" {
		t.Fatalf("projects after pull: %+v", ps)
	}
	if len(h.src.stamps) != 1 || h.src.stamps[0] != nil {
		t.Fatalf("first import must be a full one (null timestamp), got %v", h.src.stamps)
	}
	// A second trigger is incremental: the timestamp of the last import's start.
	http.Get(key)
	h.s.WaitIdle()
	if len(h.src.stamps) != 2 || h.src.stamps[1] == nil {
		t.Fatalf("second import timestamp %v", h.src.stamps)
	}
	if _, err := h.s.Refresh(ctx, "cyprexx", true); err != nil || h.src.stamps[2] != nil {
		t.Fatalf("full refresh: %v, %v", err, h.src.stamps)
	}
	if st := h.s.Stats(); st.Triggers != 2 || st.GetWorkOrders != 3 || st.FullRefreshes != 2 || st.Validates != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInvalidPushKeyAnswersFalseInsideHTTP200(t *testing.T) {
	h := newHarness(t, true)
	resp, err := http.Get(h.srv.URL + "/api/?apiKey=nope")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != 200 || env["response"] != false || env["error"] != "invalid clientCode" {
		t.Fatalf("%d %v", resp.StatusCode, env)
	}
}

func TestOwnershipOnReimport(t *testing.T) {
	for _, autoAdmin := range []bool{true, false} {
		h := newHarness(t, autoAdmin)
		ctx := context.Background()
		if _, err := h.s.Refresh(ctx, "cyprexx", true); err != nil {
			t.Fatal(err)
		}
		h.src.mu.Lock()
		h.src.orders[0].Description = "Grass Cut (rush)"
		h.src.orders[0].ClientStatus = "In Progress"
		h.src.orders[0].Services = append(h.src.orders[0].Services, Service{ServiceName: "New task"})
		h.src.mu.Unlock()
		res, err := h.s.Refresh(ctx, "cyprexx", false)
		if err != nil || res.Updated != 1 {
			t.Fatalf("refresh %+v %v", res, err)
		}
		p, _ := h.s.Project("cyprexx::W1-Grass Cut")
		if p.WorkOrder.ClientStatus != "In Progress" {
			t.Errorf("autoAdmin=%v: source-owned clientStatus not updated: %q", autoAdmin, p.WorkOrder.ClientStatus)
		}
		wantDesc := map[bool]string{true: "Grass Cut (rush)", false: "Grass Cut"}[autoAdmin]
		if p.WorkOrder.Description != wantDesc {
			t.Errorf("autoAdmin=%v: description %q, want %q", autoAdmin, p.WorkOrder.Description, wantDesc)
		}
		if len(p.WorkOrder.Services) != 2 || !strings.Contains(strings.Join(p.Notes, "|"), "tasks change ignored") {
			t.Errorf("autoAdmin=%v: tasks changed after import: %+v notes %v", autoAdmin, p.WorkOrder.Services, p.Notes)
		}
	}
}

func TestCompleteAndMixedStatusBatch(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.Refresh(ctx, "cyprexx", true)
	at := time.Date(2024, 6, 1, 14, 30, 0, 0, time.UTC)
	res, err := h.s.Complete(ctx, "cyprexx::W1-Grass Cut", at)
	if err != nil || !res.OK {
		t.Fatalf("complete %+v %v", res, err)
	}
	if got := h.src.statuses[0]; got["status"] != "complete" || got["completedDate"] != "2024-06-01 14:30:00" {
		t.Fatalf("status item %v", got)
	}
	h.s.SetFaults(Faults{MixedStatusBatch: 1})
	res, err = h.s.SetStatus(ctx, "cyprexx::W1-Grass Cut", "REWORK", time.Time{})
	if err != nil || res.OK || !strings.HasPrefix(res.Error["workOrderNumber"], "UNKNOWN-") {
		t.Fatalf("mixed batch %+v %v", res, err)
	}
	if p, _ := h.s.Project("cyprexx::W1-Grass Cut"); p.Status != "REWORK" {
		t.Fatalf("the known project keeps its update when another item is refused: %q", p.Status)
	}
}

func TestPhotosStreamAndDuplicateUUID(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.Refresh(ctx, "cyprexx", true)
	h.s.SetFaults(Faults{DuplicateUploads: 1, FileBeforePayload: 1})
	sent, err := h.s.UploadPhotos(ctx, "cyprexx::W1-Grass Cut", PhotoRequest{Count: 2, Category: "After", Task: "Trim", Size: 3 << 20})
	if err != nil || len(sent) != 3 {
		t.Fatalf("sent %d items, err %v", len(sent), err)
	}
	if sent[0].UUID != sent[1].UUID || sent[0].SHA256 != sent[1].SHA256 || sent[2].UUID == sent[0].UUID {
		t.Fatalf("duplicate must repeat uuid and bytes: %+v", sent)
	}
	for i, it := range sent {
		up := h.src.uploads[i]
		if !it.Accepted || it.SHA256 != up.sha || it.Size != up.size || up.ctype != "image/jpeg" {
			t.Fatalf("item %d: sent %+v, received sha %s size %d", i, it, up.sha, up.size)
		}
		if it.Size < 3<<20-3 || it.Size > 3<<20 {
			t.Fatalf("size %d", it.Size)
		}
		p := up.payload
		if p["key2"] != "W1-Grass Cut" || p["key4"] != "Trim" || p["evidenceType"] != "After" || p["fileType"] != "picture" || p["attribute1"] != "1 Main St" {
			t.Fatalf("payload %v", p)
		}
	}
	if h.src.partOrder[0] != "file" || h.src.partOrder[1] != "payload" || h.src.partOrder[2] != "payload" {
		t.Fatalf("part order %v (first upload must put the file first)", h.src.partOrder)
	}
	if _, err := h.s.UploadPhotos(ctx, "cyprexx::W1-Grass Cut", PhotoRequest{Task: "Nope"}); err == nil {
		t.Fatal("unknown task accepted")
	}
}

func TestSurveyUsesTaskTemplateAndNewUUID(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.Refresh(ctx, "cyprexx", true)
	a, err := h.s.SubmitSurvey(ctx, "cyprexx::W1-Grass Cut", SurveyRequest{Answers: map[string]any{"q1": "yes", "q2": 3}})
	if err != nil || !a.Accepted {
		t.Fatalf("%+v %v", a, err)
	}
	b, _ := h.s.SubmitSurvey(ctx, "cyprexx::W1-Grass Cut", SurveyRequest{Answers: map[string]any{"q1": "no"}})
	if a.UUID == b.UUID {
		t.Fatal("a re-submission must have a new uuid")
	}
	p := h.src.uploads[0].payload
	if p["template"] != "cyprexx::F1:v1" || p["fileType"] != "survey" || p["key4"] != "Cut grass" {
		t.Fatalf("survey payload %v", p)
	}
	var sv struct {
		Answers []map[string]any `json:"answers"`
	}
	if err := json.Unmarshal([]byte(p["survey"].(string)), &sv); err != nil || len(sv.Answers) != 2 || sv.Answers[0]["id"] != "q1" {
		t.Fatalf("survey %v %v", p["survey"], err)
	}
}

func TestBadCredentialsFaultAndUnknownFields(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.SetFaults(Faults{BadCredentials: 1, UnknownFields: true})
	if _, err := h.s.Refresh(ctx, "cyprexx", true); err == nil || !strings.Contains(err.Error(), "invalid username or password") {
		t.Fatalf("want credential failure, got %v", err)
	}
	if res, err := h.s.Refresh(ctx, "cyprexx", true); err != nil || res.Created != 1 {
		t.Fatalf("after the fault: %+v %v", res, err)
	}
	calls := h.s.Calls()
	if len(calls) != 2 || calls[0].OK || calls[0].HTTPStatus != 401 || !calls[1].OK {
		t.Fatalf("calls %+v", calls)
	}
}

func TestPushAPIFaults(t *testing.T) {
	h := newHarness(t, true)
	key, _ := h.s.PushKey("cyprexx")
	get := func() (int, string, http.Header) {
		resp, err := http.Get(key)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	h.s.SetFaults(Faults{Maintenance: 1, RateLimitBurst: 1, HTMLOn200: 1, AppError: 1, DropPull: 1, RetryAfterSeconds: 4})
	if st, body, hd := get(); st != 503 || !strings.Contains(body, "<html>") || hd.Get("Retry-After") != "4" {
		t.Fatalf("maintenance: %d %s", st, body)
	}
	if st, _, hd := get(); st != 429 || hd.Get("Retry-After") != "4" {
		t.Fatalf("429: %d", st)
	}
	if st, body, _ := get(); st != 200 || !strings.Contains(body, "Sign in") {
		t.Fatalf("html: %d %s", st, body)
	}
	if st, body, _ := get(); st != 200 || !strings.Contains(body, `"response":false`) {
		t.Fatalf("app error: %d %s", st, body)
	}
	if st, body, _ := get(); st != 200 || !strings.Contains(body, `"response":true`) {
		t.Fatalf("dropped pull still answers true: %d %s", st, body)
	}
	h.s.WaitIdle()
	if st := h.s.Stats(); st.PullsDropped != 1 || st.GetWorkOrders != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.s.SetFaults(Faults{ErrorRate: 1})
	if st, _, _ := get(); st < 500 {
		t.Fatalf("error rate: %d", st)
	}
}

func TestPushUpsertAndStaffAPI(t *testing.T) {
	h := newHarness(t, false)
	key, _ := h.s.PushKey("cyprexx")
	post := func(orders string) map[string]any {
		resp, err := http.PostForm(key, url.Values{"workOrders": {orders}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env map[string]any
		json.NewDecoder(resp.Body).Decode(&env)
		return env
	}
	if env := post(`{"workOrders":[{"workOrderNumber":"X1"}]}`); env["response"] != false || !strings.Contains(env["error"].(string), "missing address1") {
		t.Fatalf("create without address: %v", env)
	}
	if env := post(`{"workOrders":[{"workOrderNumber":"X1","address1":"2 Elm","city":"C","state":"FL","zip":"1","services":[{"serviceName":"A"}]}]}`); env["response"] != true {
		t.Fatalf("create: %v", env)
	}
	if env := post(`{"workOrders":[{"workOrderNumber":"X1","clientStatus":"Cancelled"}]}`); env["response"] != true {
		t.Fatalf("close: %v", env)
	}
	// The staff API sees it, by escaped key.
	resp, err := http.Get(h.srv.URL + "/_sim/projects/" + url.PathEscape("cyprexx::X1"))
	if err != nil {
		t.Fatal(err)
	}
	var p Project
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if p.WorkOrder.ClientStatus != "Cancelled" || p.WorkOrder.Address1 != "2 Elm" {
		t.Fatalf("project %+v", p)
	}
	// A Pruvan user's edit of a shared field; source-owned ones are refused.
	if _, err := h.s.Edit("cyprexx::X1", map[string]string{"clientStatus": "x"}); err == nil {
		t.Fatal("edit of a source-owned field accepted")
	}
	resp, err = http.Post(h.srv.URL+"/_sim/projects/"+url.PathEscape("cyprexx::X1")+"/edit", "application/json", strings.NewReader(`{"description":"edited"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("edit: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	page, _ := http.Get(h.srv.URL + "/_sim/")
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	for _, want := range []string{"Validate", "Full refresh", "mark project complete", "upload photos", "submit survey", "cyprexx::X1", "edited"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("staff page lacks %q", want)
		}
	}
	resp, _ = http.Get(h.srv.URL + "/_sim/stats")
	var st Stats
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Upserts != 2 || st.Created != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSnapshotRestore(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.Refresh(ctx, "cyprexx", true)
	key, _ := h.s.PushKey("cyprexx")
	data, err := h.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	fresh := New(Options{})
	defer fresh.Close()
	if err := fresh.Restore(data); err != nil {
		t.Fatal(err)
	}
	fresh.SetBaseURL(h.srv.URL)
	if k, _ := fresh.PushKey("cyprexx"); k != key {
		t.Fatalf("push key %q, want %q", k, key)
	}
	ps := fresh.Projects()
	if len(ps) != 1 || ps[0].WorkOrder.City != "Doral" || ps[0].Key != "cyprexx::W1-Grass Cut" || fresh.Integrations()[0].LastImport.IsZero() {
		t.Fatalf("restored %+v", ps)
	}
	if err := fresh.Restore([]byte(`{"version":99}`)); err == nil {
		t.Fatal("wrong version restored")
	}
}
