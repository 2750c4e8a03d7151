package pruvan_test

// The order-source handler with hand-made requests: routing, credentials, payload quirks,
// error answers and the multipart streaming paths.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func serve(t *testing.T, src pruvan.OrderSource, opts ...pruvan.HandlerOption) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/v1/hooks/pruvan/conn-1/", pruvan.NewOrderSourceHandler(src, testCreds, opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func creds(extra map[string]any) map[string]any {
	p := map[string]any{"username": testCreds.Username, "password": testCreds.Password, "token": testCreds.Token}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

type answer struct {
	status int
	body   map[string]any
}

func postPayload(t *testing.T, srv *httptest.Server, method string, payload map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(payload)
	resp, err := http.PostForm(srv.URL+"/v1/hooks/pruvan/conn-1/"+method, url.Values{"payload": {string(b)}})
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("HTTP %d: undecodable answer: %v", resp.StatusCode, err)
	}
	return a
}

func TestHandlerRoutesMethodsWithExtensionAndCase(t *testing.T) {
	src := newFakeSource()
	srv := serve(t, src)
	for _, m := range []string{"validate", "validate.php", "VALIDATE.aspx"} {
		if a := postPayload(t, srv, m, creds(map[string]any{"pushKey": "k-" + m})); a.status != 200 || a.body["validated"] != true || a.body["error"] != "" {
			t.Fatalf("%s: %+v", m, a)
		}
	}
	if got := src.snapshot().pushKeys; len(got) != 3 || got[2] != "k-VALIDATE.aspx" {
		t.Fatalf("push keys %v", got)
	}
	if a := postPayload(t, srv, "getStatus.php", creds(map[string]any{"workOrders": []any{}})); a.status != 200 || a.body["status"] != true {
		t.Fatalf("getStatus alias: %+v", a)
	}
	if a := postPayload(t, srv, "deleteEverything", creds(nil)); a.status != 404 {
		t.Fatalf("unknown method: %+v", a)
	}
	resp, _ := http.Get(srv.URL + "/v1/hooks/pruvan/conn-1/getWorkOrders")
	if a := readAnswer(t, resp); a.status != 405 {
		t.Fatalf("GET: %+v", a)
	}
	if pruvan.MethodOf("/x/uploadPictures.php") != pruvan.MethodUploadPictures || pruvan.MethodOf("/x/y") != "" {
		t.Fatal("MethodOf")
	}
}

func TestHandlerRejectsBadCredentialsOnEveryMethod(t *testing.T) {
	src := newFakeSource(pruvan.WorkOrder{WorkOrderNumber: "W1"})
	srv := serve(t, src)
	cases := []struct {
		name    string
		payload map[string]any
	}{
		{"wrong password", map[string]any{"username": testCreds.Username, "password": strings.Repeat("0", 40), "token": testCreds.Token}},
		{"wrong token", map[string]any{"username": testCreds.Username, "password": testCreds.Password, "token": "nope"}},
		{"wrong user", map[string]any{"username": "admin", "password": testCreds.Password, "token": testCreds.Token}},
		{"missing", map[string]any{}},
	}
	shapes := map[string]string{"validate": "validated", "getWorkOrders": "workOrders", "status": "status"}
	for _, c := range cases {
		for method, member := range shapes {
			p := map[string]any{"pushKey": "k", "timestamp": nil, "workOrders": []any{map[string]any{"workOrderNumber": "W1", "status": "complete"}}}
			for k, v := range c.payload {
				p[k] = v
			}
			a := postPayload(t, srv, method, p)
			if a.status != 401 || !strings.Contains(fmt.Sprint(a.body["error"]), "invalid username or password") {
				t.Fatalf("%s %s: %+v", c.name, method, a)
			}
			if _, ok := a.body[member]; !ok {
				t.Fatalf("%s %s: answer lacks %q: %+v", c.name, method, member, a.body)
			}
		}
	}
	// Upper-case hex of the right password hash is the same password.
	p := creds(map[string]any{"pushKey": "k"})
	p["password"] = strings.ToUpper(testCreds.Password)
	if a := postPayload(t, srv, "validate", p); a.status != 200 {
		t.Fatalf("upper-case hash: %+v", a)
	}
	s := src.snapshot()
	if len(s.sinces) != 0 || len(s.statuses) != 0 || len(s.pushKeys) != 1 {
		t.Fatalf("the source saw unauthenticated calls: %+v", s)
	}
	// A handler without complete credentials accepts nothing.
	open := httptest.NewServer(pruvan.NewOrderSourceHandler(src, pruvan.Credentials{Username: "u"}))
	defer open.Close()
	b, _ := json.Marshal(map[string]any{"username": "u", "password": "", "token": "", "pushKey": "k"})
	resp, _ := http.PostForm(open.URL+"/validate", url.Values{"payload": {string(b)}})
	if a := readAnswer(t, resp); a.status != 401 {
		t.Fatalf("incomplete credentials: %+v", a)
	}
}

func TestHandlerValidatePayloadQuirksAndErrors(t *testing.T) {
	src := newFakeSource()
	srv := serve(t, src)
	// IMP reads "pushkey": member names are case-insensitive; a raw JSON body works too.
	body, _ := json.Marshal(creds(map[string]any{"pushkey": "https://p.example/api/?apiKey=abc", "extra": 1}))
	resp, err := http.Post(srv.URL+"/v1/hooks/pruvan/conn-1/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if a := readAnswer(t, resp); a.status != 200 || a.body["validated"] != true {
		t.Fatalf("%+v", a)
	}
	if got := src.snapshot().pushKeys; got[0] != "https://p.example/api/?apiKey=abc" {
		t.Fatalf("push key %v", got)
	}
	if a := postPayload(t, srv, "validate", creds(nil)); a.status != 400 || a.body["validated"] != false {
		t.Fatalf("missing pushKey: %+v", a)
	}
	src.validateErr = pruvan.Reject("connection is disabled")
	if a := postPayload(t, srv, "validate", creds(map[string]any{"pushKey": "k"})); a.status != 200 || a.body["validated"] != false || a.body["error"] != "connection is disabled" {
		t.Fatalf("refusal: %+v", a)
	}
	src.validateErr = errors.New("database is down: secret detail")
	a := postPayload(t, srv, "validate", creds(map[string]any{"pushKey": "k"}))
	if a.status != 503 || strings.Contains(fmt.Sprint(a.body["error"]), "secret detail") {
		t.Fatalf("transient failure: %+v", a)
	}
	src.validateErr = &vendorapi.Error{Vendor: "x", Op: "y", Message: "permanent"}
	if a := postPayload(t, srv, "validate", creds(map[string]any{"pushKey": "k"})); a.status != 200 || a.body["validated"] != false {
		t.Fatalf("non-retryable vendor error: %+v", a)
	}
	resp, _ = http.PostForm(srv.URL+"/v1/hooks/pruvan/conn-1/validate", url.Values{"payload": {"{not json"}})
	if a := readAnswer(t, resp); a.status != 400 {
		t.Fatalf("bad JSON: %+v", a)
	}
}

func TestHandlerGetWorkOrdersTimestamp(t *testing.T) {
	src := newFakeSource(pruvan.WorkOrder{WorkOrderNumber: "W1", Address1: "1 Main", City: "C", State: "FL", Zip: "1",
		Services: []pruvan.Service{{ServiceName: "Cut"}}})
	srv := serve(t, src)
	for _, ts := range []any{nil, "", "garbage"} {
		a := postPayload(t, srv, "getWorkOrders", creds(map[string]any{"timestamp": ts}))
		if a.status != 200 || a.body["error"] != "" || len(a.body["workOrders"].([]any)) != 1 {
			t.Fatalf("timestamp %v: %+v", ts, a)
		}
	}
	postPayload(t, srv, "getWorkOrders", creds(nil)) // absent
	postPayload(t, srv, "getWorkOrders", creds(map[string]any{"timestamp": 1717245000}))
	postPayload(t, srv, "getWorkOrders", creds(map[string]any{"timestamp": "1717245000"}))
	s := src.snapshot().sinces
	for i := 0; i < 4; i++ {
		if s[i] != nil {
			t.Fatalf("call %d: want full refresh (nil), got %v", i, s[i])
		}
	}
	want := time.Unix(1717245000, 0).UTC()
	if s[4] == nil || !s[4].Equal(want) || s[5] == nil || !s[5].Equal(want) {
		t.Fatalf("incremental since %v %v", s[4], s[5])
	}
	// The wire form of a project: workOrderNumber, services, no empty members.
	resp, _ := http.PostForm(srv.URL+"/v1/hooks/pruvan/conn-1/getWorkOrders", url.Values{"payload": {`{"username":"ticketsync","password":"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8","token":"tok-1","timestamp":null}`}})
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"workOrderNumber":"W1"`) || !strings.Contains(string(raw), `"services":[{"serviceName":"Cut"}]`) ||
		strings.Contains(string(raw), `"address2"`) {
		t.Fatalf("wire form %s", raw)
	}
}

func TestHandlerGetWorkOrdersAnswersBeforePruvanGivesUp(t *testing.T) {
	src := newFakeSource()
	src.ordersDelay = 5 * time.Second
	srv := serve(t, src, pruvan.WithWorkOrdersDeadline(100*time.Millisecond))
	start := time.Now()
	a := postPayload(t, srv, "getWorkOrders", creds(nil))
	if a.status != 503 || time.Since(start) > 2*time.Second || len(a.body["workOrders"].([]any)) != 0 {
		t.Fatalf("%+v after %s", a, time.Since(start))
	}
	src.ordersDelay, src.ordersErr = 0, pruvan.Reject("integration paused")
	if a := postPayload(t, srv, "getWorkOrders", creds(nil)); a.status != 200 || a.body["error"] != "integration paused" {
		t.Fatalf("%+v", a)
	}
}

func TestHandlerStatusBatch(t *testing.T) {
	src := newFakeSource(pruvan.WorkOrder{WorkOrderNumber: "W1"}, pruvan.WorkOrder{WorkOrderNumber: "W3"})
	srv := serve(t, src, pruvan.WithLocation(time.FixedZone("EST", -5*3600)))
	a := postPayload(t, srv, "status", creds(map[string]any{"workOrders": []any{
		map[string]any{"workOrderNumber": "W1", "status": "complete", "completedDate": "2024-06-01 14:30:00", "pruvanStatusId": 7},
		map[string]any{"workorderNumber": "W2", "status": "complete"},
		map[string]any{"workOrderNumber": "W3", "status": "REWORK"},
	}}))
	if a.status != 200 || a.body["status"] != false {
		t.Fatalf("%+v", a)
	}
	e := a.body["error"].(map[string]any)
	if e["workOrderNumber"] != "W2" || e["error"] != "unknown work order" {
		t.Fatalf("error %v", e)
	}
	st := src.snapshot().statuses
	if len(st) != 3 || st[2].WorkOrderNumber != "W3" {
		t.Fatalf("every item must be applied: %+v", st)
	}
	if !st[0].IsComplete() || st[0].CompletedDate != "2024-06-01 14:30:00" ||
		!st[0].Completed.Equal(time.Date(2024, 6, 1, 19, 30, 0, 0, time.UTC)) || string(st[0].Fields["pruvanStatusId"]) != "7" {
		t.Fatalf("item %+v", st[0])
	}
	a = postPayload(t, srv, "status", creds(map[string]any{"workOrders": []any{map[string]any{"workOrderNumber": "W1", "status": "complete"}}}))
	if a.status != 200 || a.body["status"] != true || a.body["error"] != nil {
		t.Fatalf("%+v", a)
	}
	if a := postPayload(t, srv, "status", creds(map[string]any{"workOrders": "W1"})); a.status != 400 {
		t.Fatalf("%+v", a)
	}
}

// multipartBody builds an uploadPictures body; file == nil sends no file part.
func multipartBody(t *testing.T, payload map[string]any, file []byte, fileFirst bool) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pj, _ := json.Marshal(payload)
	writeFile := func() {
		if file != nil {
			fw, _ := mw.CreateFormFile("file", "IMG_1.jpg")
			fw.Write(file)
		}
	}
	if fileFirst {
		writeFile()
	}
	mw.WriteField("payload", string(pj))
	if !fileFirst {
		writeFile()
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func upload(t *testing.T, srv *httptest.Server, body io.Reader, ctype string) answer {
	t.Helper()
	resp, err := http.Post(srv.URL+"/v1/hooks/pruvan/conn-1/uploadPictures.php", ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

func photoPayload(uuid string) map[string]any {
	return creds(map[string]any{"uuid": uuid, "key2": "W1", "key4": "Cut grass", "attribute1": "1 Main St",
		"fielType": "picture", "evidenceType": "Before", "gpsLatitude": 25.81, "survey": nil, "newPruvanField": "x"})
}

func TestHandlerUploadStreamsPayloadFirstAndSpoolsFileFirst(t *testing.T) {
	src := newFakeSource()
	srv := serve(t, src, pruvan.WithValidatorURL("https://validator.example/?uuid="), pruvan.WithSpoolDir(t.TempDir()))
	file := bytes.Repeat([]byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}, 50000)
	sum := sha256.Sum256(file)
	for i, fileFirst := range []bool{false, true} {
		body, ct := multipartBody(t, photoPayload(fmt.Sprintf("u-%d", i)), file, fileFirst)
		if a := upload(t, srv, body, ct); a.status != 200 || a.body["status"] != true || a.body["error"] != "" {
			t.Fatalf("fileFirst=%v: %+v", fileFirst, a)
		}
		g := src.snapshot().uploads[i]
		p := g.up.Picture
		if g.sha != hex.EncodeToString(sum[:]) || g.size != int64(len(file)) || !g.up.HasFile || g.up.FileName != "IMG_1.jpg" {
			t.Fatalf("fileFirst=%v: bytes altered: %+v", fileFirst, g)
		}
		if p.UUID != fmt.Sprintf("u-%d", i) || p.WorkOrderNumber() != "W1" || p.ServiceName() != "Cut grass" || p.FileType != "picture" ||
			p.GPSLatitude != "25.81" || p.IsSurvey() || string(p.Extra["newPruvanField"]) != `"x"` {
			t.Fatalf("picture %+v", p)
		}
		if g.up.VerificationLink != "https://validator.example/?uuid="+p.UUID {
			t.Fatalf("link %q", g.up.VerificationLink)
		}
		if strings.Contains(string(p.Raw), testCreds.Password) || strings.Contains(string(p.Raw), testCreds.Token) || !strings.Contains(string(p.Raw), "newPruvanField") {
			t.Fatalf("raw payload %s", p.Raw)
		}
	}
}

func TestHandlerUploadSurveyWithoutFile(t *testing.T) {
	src := newFakeSource()
	srv := serve(t, src)
	survey := `{"answers":[{"id":"q1","answer":"yes"},{"id":"q2","answer":["p-1","p-2"]}]}`
	payload := creds(map[string]any{"uuid": "s-1", "key2": "W1", "key4": "Cut grass", "fileType": "survey",
		"evidenceType": "Survey", "template": "cyprexx::F1:v2", "survey": survey})
	body, ct := multipartBody(t, payload, nil, false)
	if a := upload(t, srv, body, ct); a.status != 200 {
		t.Fatalf("%+v", a)
	}
	// The same as a plain form, survey as an object this time.
	payload["uuid"], payload["survey"] = "s-2", json.RawMessage(survey)
	pj, _ := json.Marshal(payload)
	resp, _ := http.PostForm(srv.URL+"/v1/hooks/pruvan/conn-1/uploadPictures", url.Values{"payload": {string(pj)}})
	if a := readAnswer(t, resp); a.status != 200 {
		t.Fatalf("%+v", a)
	}
	for _, g := range src.snapshot().uploads {
		p := g.up.Picture
		ans, err := p.SurveyAnswers()
		if g.up.HasFile || !p.IsSurvey() || p.SurveyTemplate() != "F1:v2" || err != nil || len(ans) != 2 ||
			ans[0].Text() != "yes" || len(ans[1].Strings()) != 2 || ans[1].Strings()[1] != "p-2" || ans[1].Text() != "p-1, p-2" {
			t.Fatalf("survey upload %+v answers %+v %v", p, ans, err)
		}
	}
}

func TestHandlerUploadRefusals(t *testing.T) {
	src := newFakeSource()
	srv := serve(t, src, pruvan.WithMaxFileSize(1000))
	bad := photoPayload("u-1")
	bad["token"] = "stolen"
	body, ct := multipartBody(t, bad, make([]byte, 500), false)
	if a := upload(t, srv, body, ct); a.status != 401 || a.body["status"] != false || a.body["error"] != "invalid username or password" {
		t.Fatalf("%+v", a)
	}
	body, ct = multipartBody(t, bad, make([]byte, 500), true)
	if a := upload(t, srv, body, ct); a.status != 401 {
		t.Fatalf("file first: %+v", a)
	}
	if n := len(src.snapshot().uploads); n != 0 {
		t.Fatalf("source saw %d unauthenticated uploads", n)
	}
	for _, fileFirst := range []bool{false, true} {
		body, ct = multipartBody(t, photoPayload("big"), make([]byte, 1001), fileFirst)
		if a := upload(t, srv, body, ct); a.status != 413 || a.body["status"] != false {
			t.Fatalf("fileFirst=%v: %+v", fileFirst, a)
		}
	}
	body, ct = multipartBody(t, creds(map[string]any{"key2": "W1"}), make([]byte, 10), false)
	if a := upload(t, srv, body, ct); a.status != 400 {
		t.Fatalf("no uuid: %+v", a)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "x.jpg")
	fw.Write([]byte("abc"))
	mw.Close()
	if a := upload(t, srv, &buf, mw.FormDataContentType()); a.status != 400 {
		t.Fatalf("no payload: %+v", a)
	}
	src.uploadErr = fmt.Errorf("work order closed: %w", pruvan.ErrUnknownWorkOrder)
	body, ct = multipartBody(t, photoPayload("u-9"), make([]byte, 10), false)
	if a := upload(t, srv, body, ct); a.status != 200 || a.body["status"] != false || !strings.Contains(a.body["error"].(string), "unknown work order") {
		t.Fatalf("refusal: %+v", a)
	}
}
