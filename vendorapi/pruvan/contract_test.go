package pruvan_test

// Contract tests: the push client and the order-source handler against the Pruvan simulator,
// over real HTTP, in both directions. No canned responses.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

const clientCode = "cyprexx"

type env struct {
	sim    *sim.Server
	simURL string
	src    *fakeSource
	push   *pruvan.PushClient
}

func sampleOrder(number string) pruvan.WorkOrder {
	return pruvan.WorkOrder{WorkOrderNumber: number, Address1: "1 Main St", City: "Doral", State: "FL", Zip: "33166",
		Description: "Grass Cut", ClientStatus: "Assigned", DueDate: "2024-06-01", ClientDueDate: "2024-06-01",
		Services: []pruvan.Service{{ServiceName: "Cut grass", Survey: "F1:v1", SourceServiceID: "T1"}, {ServiceName: "Trim", SourceServiceID: "T2"}}}
}

// newEnv wires the simulator (as Pruvan) to NewOrderSourceHandler (as ticketsync) hosting a
// fake OrderSource, and a PushClient pointed at the simulator.
func newEnv(t *testing.T, autoAdmin bool, orders ...pruvan.WorkOrder) *env {
	t.Helper()
	src := newFakeSource(orders...)
	mux := http.NewServeMux()
	mux.Handle("/v1/hooks/pruvan/conn-1/", pruvan.NewOrderSourceHandler(src, testCreds, pruvan.WithSpoolDir(t.TempDir())))
	ours := httptest.NewServer(mux)
	t.Cleanup(ours.Close)

	s := sim.New(sim.Options{Seed: 11, Integrations: []sim.Integration{{ClientCode: clientCode,
		URL: ours.URL + "/v1/hooks/pruvan/conn-1", Extension: ".php", Username: testCreds.Username,
		Password: testCreds.Password, Token: testCreds.Token, AutoAdmin: autoAdmin}}})
	srv := httptest.NewServer(s)
	s.SetBaseURL(srv.URL)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	pc, err := pruvan.NewPushClient(pruvan.PushConfig{BaseURL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, simURL: srv.URL, src: src, push: pc}
}

func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != pruvan.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func TestValidateThenPushKeyTriggersPull(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	if err := e.sim.Validate(ctx, clientCode); err != nil {
		t.Fatal(err)
	}
	keys := e.src.snapshot().pushKeys
	if len(keys) != 1 || !strings.HasPrefix(keys[0], e.simURL+"/api/?apiKey=") {
		t.Fatalf("stored push keys %v", keys)
	}
	if err := e.push.Trigger(ctx, keys[0]); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	e.sim.WaitIdle()
	p, ok := e.sim.Project(sim.ProjectKey(clientCode, "W1-Grass Cut"))
	if !ok || p.WorkOrder.City != "Doral" || len(p.WorkOrder.Services) != 2 || p.WorkOrder.Services[0].Survey != "F1:v1" {
		t.Fatalf("imported project %+v", p)
	}
	// The bare key works as well as the URL.
	key, _ := e.push.APIKey(keys[0])
	if err := e.push.Trigger(ctx, key); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIdle()
	s := e.src.snapshot().sinces
	if len(s) != 2 || s[0] != nil || s[1] == nil {
		t.Fatalf("first pull must be full, the next incremental: %v", s)
	}
	if _, err := e.sim.Refresh(ctx, clientCode, true); err != nil {
		t.Fatal(err)
	}
	if s := e.src.snapshot().sinces; s[2] != nil {
		t.Fatalf("full refresh sent timestamp %v", s[2])
	}
}

func TestPushKeyErrors(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	err := e.push.Trigger(ctx, e.simURL+"/api/?apiKey=wrong")
	if ve := vendorErr(t, err); ve.Retryable || ve.HTTPStatus != 200 || !pruvan.IsInvalidPushKey(err) || ve.Message != "invalid clientCode" {
		t.Fatalf("invalid key: %+v", ve)
	}
	// A push key pointing elsewhere is refused without a call.
	before := e.sim.Stats().PushCalls
	err = e.push.Trigger(ctx, "https://evil.example/api/?apiKey=abc")
	if !pruvan.IsInvalidPushKey(err) || e.sim.Stats().PushCalls != before {
		t.Fatalf("foreign push key: %v", err)
	}
	if err := e.push.Trigger(ctx, ""); !pruvan.IsInvalidPushKey(err) {
		t.Fatalf("empty key: %v", err)
	}
	good, _ := e.sim.PushKey(clientCode)
	if !e.push.SamePushKey(good, strings.TrimPrefix(good[strings.Index(good, "apiKey="):], "apiKey=")) || e.push.SamePushKey(good, "x") {
		t.Fatal("SamePushKey")
	}
}

func TestPushAPIFaultsAreClassified(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	key, _ := e.sim.PushKey(clientCode)
	cases := []struct {
		name      string
		faults    sim.Faults
		retryable bool
		code      string
		status    int
		after     time.Duration
	}{
		{"429 with Retry-After", sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 3}, true, "", 429, 3 * time.Second},
		{"HTML maintenance 503", sim.Faults{Maintenance: 1, RetryAfterSeconds: 2}, true, pruvan.CodeNotJSON, 503, 2 * time.Second},
		{"HTML page on 200", sim.Faults{HTMLOn200: 1}, true, "not_json", 200, 0},
		{"application error in 200", sim.Faults{AppError: 1}, false, pruvan.CodeRejected, 200, 0},
		{"5xx", sim.Faults{ErrorRate: 1}, true, "", 0, 0},
	}
	for _, c := range cases {
		e.sim.SetFaults(c.faults)
		err := e.push.Trigger(ctx, key)
		ve := vendorErr(t, err)
		if ve.Retryable != c.retryable || (c.code != "" && ve.Code != c.code) || (c.status != 0 && ve.HTTPStatus != c.status) || ve.RetryAfter != c.after {
			t.Errorf("%s: %+v", c.name, ve)
		}
		if c.status == 0 && ve.HTTPStatus < 500 {
			t.Errorf("%s: status %d", c.name, ve.HTTPStatus)
		}
		if vendorapi.IsRetryable(err) != c.retryable {
			t.Errorf("%s: IsRetryable", c.name)
		}
	}
	e.sim.SetFaults(sim.Faults{Latency: 3 * time.Second})
	err := e.push.Trigger(ctx, key)
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" || strings.Contains(err.Error(), key[strings.Index(key, "apiKey=")+7:]) {
		t.Fatalf("timeout: %+v (the api key must not appear in the error)", err)
	}
	e.sim.SetFaults(sim.Faults{})
	if err := e.push.Trigger(ctx, key); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

func TestUpsertAndCloseProject(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	key, _ := e.sim.PushKey(clientCode)
	if err := e.push.Upsert(ctx, key, pruvan.WorkOrder{WorkOrderNumber: "W9"}); err == nil || vendorErr(t, err).Retryable {
		t.Fatalf("create without address must be a permanent rejection: %v", err)
	}
	if err := e.push.Upsert(ctx, key, sampleOrder("W9")); err != nil {
		t.Fatal(err)
	}
	if err := e.push.CloseProject(ctx, key, "W9", "Cancelled"); err != nil {
		t.Fatal(err)
	}
	p, _ := e.sim.Project(sim.ProjectKey(clientCode, "W9"))
	if p.WorkOrder.ClientStatus != "Cancelled" || p.WorkOrder.Address1 != "1 Main St" || len(p.WorkOrder.Services) != 2 {
		t.Fatalf("closed project %+v", p)
	}
	if err := e.push.Upsert(ctx, key, pruvan.WorkOrder{}); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("no number: %v", err)
	}
}

func TestCompleteReachesOrderSource(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	if _, err := e.sim.Refresh(ctx, clientCode, true); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 6, 2, 9, 15, 0, 0, time.UTC)
	res, err := e.sim.Complete(ctx, sim.ProjectKey(clientCode, "W1-Grass Cut"), at)
	if err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
	st := e.src.snapshot().statuses
	if len(st) != 1 || !st[0].IsComplete() || !st[0].Completed.Equal(at) || st[0].WorkOrderNumber != "W1-Grass Cut" {
		t.Fatalf("status %+v", st)
	}
	// A batch with an unknown number: the known one is applied, the unknown one reported.
	e.sim.SetFaults(sim.Faults{MixedStatusBatch: 1, UnknownFields: true})
	res, err = e.sim.Complete(ctx, sim.ProjectKey(clientCode, "W1-Grass Cut"), at)
	if err != nil || res.OK || !strings.HasPrefix(res.Error["workOrderNumber"], "UNKNOWN-") || res.Error["error"] != "unknown work order" {
		t.Fatalf("%+v %v", res, err)
	}
	if st := e.src.snapshot().statuses; len(st) != 3 || st[1].WorkOrderNumber != "W1-Grass Cut" || string(st[1].Fields["pruvanStatusId"]) != "7" {
		t.Fatalf("statuses %+v", st)
	}
}

func TestLargePhotoStreamsUnaltered(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	e.sim.Refresh(ctx, clientCode, true)
	sent, err := e.sim.UploadPhotos(ctx, sim.ProjectKey(clientCode, "W1-Grass Cut"),
		sim.PhotoRequest{Count: 1, Category: "After", Task: "Trim", Size: 20 << 20})
	if err != nil || len(sent) != 1 || !sent[0].Accepted {
		t.Fatalf("%+v %v", sent, err)
	}
	g := e.src.snapshot().uploads[0]
	if g.sha != sent[0].SHA256 || g.size != sent[0].Size || g.size < 20<<20-3 {
		t.Fatalf("received sha %s size %d, sent %s %d", g.sha, g.size, sent[0].SHA256, sent[0].Size)
	}
	p := g.up.Picture
	if p.UUID != sent[0].UUID || p.WorkOrderNumber() != "W1-Grass Cut" || p.ServiceName() != "Trim" || p.EvidenceType != "After" ||
		p.Attribute1 != "1 Main St" || g.up.ContentType != "image/jpeg" || p.GPSLatitude == "" {
		t.Fatalf("picture %+v", p)
	}
}

func TestDuplicateUploadsAndFileFirst(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	e.sim.Refresh(ctx, clientCode, true)
	e.sim.SetFaults(sim.Faults{DuplicateUploads: 1, FileBeforePayload: 1, UnknownFields: true})
	sent, err := e.sim.UploadPhotos(ctx, sim.ProjectKey(clientCode, "W1-Grass Cut"), sim.PhotoRequest{Count: 2, Category: "Before", Size: 1 << 20})
	if err != nil || len(sent) != 3 {
		t.Fatalf("%+v %v", sent, err)
	}
	for _, it := range sent {
		if !it.Accepted {
			t.Fatalf("rejected %+v", it)
		}
	}
	ups := e.src.snapshot().uploads
	if ups[0].sha != sent[0].SHA256 || ups[0].up.Picture.UUID != ups[1].up.Picture.UUID || ups[1].sha != "" {
		t.Fatalf("the duplicate uuid must reach the source, which skips its bytes: %+v", ups)
	}
	if ups[2].sha != sent[2].SHA256 || len(ups[0].up.Picture.Extra) == 0 {
		t.Fatalf("uploads %+v", ups)
	}
}

func TestSurveySubmissions(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	e.sim.Refresh(ctx, clientCode, true)
	key := sim.ProjectKey(clientCode, "W1-Grass Cut")
	photos, _ := e.sim.UploadPhotos(ctx, key, sim.PhotoRequest{Count: 1, Category: "Survey"})
	first, err := e.sim.SubmitSurvey(ctx, key, sim.SurveyRequest{Answers: map[string]any{"q1": "yes", "q2": []string{photos[0].UUID}}})
	if err != nil || !first.Accepted {
		t.Fatalf("%+v %v", first, err)
	}
	second, _ := e.sim.SubmitSurvey(ctx, key, sim.SurveyRequest{Answers: map[string]any{"q1": "no"}})
	ups := e.src.snapshot().uploads
	if len(ups) != 3 || first.UUID == second.UUID {
		t.Fatalf("uploads %d", len(ups))
	}
	p := ups[1].up.Picture
	ans, err := p.SurveyAnswers()
	if !p.IsSurvey() || p.SurveyTemplate() != "F1:v1" || p.ServiceName() != "Cut grass" || err != nil || len(ans) != 2 ||
		ans[1].Strings()[0] != photos[0].UUID || ups[1].up.HasFile {
		t.Fatalf("survey %+v %+v %v", p, ans, err)
	}
}

func TestOrderSourceCredentialFailures(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	ctx := context.Background()
	e.sim.SetFaults(sim.Faults{BadCredentials: 4})
	if err := e.sim.Validate(ctx, clientCode); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("validate: %v", err)
	}
	if _, err := e.sim.Refresh(ctx, clientCode, true); err == nil || !strings.Contains(err.Error(), "invalid username or password") {
		t.Fatalf("refresh: %v", err)
	}
	if len(e.src.snapshot().sinces) != 0 || len(e.src.snapshot().pushKeys) != 0 {
		t.Fatal("unauthenticated calls reached the source")
	}
	calls := e.sim.Calls()
	if len(calls) != 2 || calls[0].HTTPStatus != 401 || calls[1].HTTPStatus != 401 {
		t.Fatalf("calls %+v", calls)
	}
	e.sim.SetFaults(sim.Faults{})
	if _, err := e.sim.Refresh(ctx, clientCode, true); err != nil {
		t.Fatal(err)
	}
	key := sim.ProjectKey(clientCode, "W1-Grass Cut")
	e.sim.SetFaults(sim.Faults{BadCredentials: 2})
	if res, err := e.sim.Complete(ctx, key, time.Time{}); err == nil {
		t.Fatalf("status with bad credentials: %+v", res)
	}
	sent, _ := e.sim.UploadPhotos(ctx, key, sim.PhotoRequest{Count: 1})
	if sent[0].Accepted || sent[0].HTTPStatus != 401 || len(e.src.snapshot().uploads) != 0 || len(e.src.snapshot().statuses) != 0 {
		t.Fatalf("upload with bad credentials: %+v", sent)
	}
}

func TestTransientOrderSourceFailureIsNotLeaked(t *testing.T) {
	e := newEnv(t, true, sampleOrder("W1-Grass Cut"))
	e.src.ordersErr = errors.New("store unavailable")
	_, err := e.sim.Refresh(context.Background(), clientCode, true)
	if err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "store unavailable") {
		t.Fatalf("transient source failure: %v", err)
	}
}
