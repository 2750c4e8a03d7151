package cubu_test

// The real hook route: POST /v1/hooks/cubu/{connection}/service/actions/{hook} served by the
// API (store, connections and the registered cubu kind from testkit) over a mocked Temporal
// client, so every workflow start and signal a delivery causes is counted.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

const (
	routeConn      = "sunrise-cubu"
	currentSecret  = "cubu-current-secret"
	previousSecret = "cubu-previous-secret"
)

// routeAPI is the API with a cubu connection (secrets in rotation) beside the kit's own, on
// TheWorxHub like them, with options on top of fieldOptions.
func routeAPI(t *testing.T, options map[string]any) (*testkit.Kit, *mocks.Client, http.Handler) {
	t.Helper()
	opts := fieldOptions()
	for k, v := range options {
		opts[k] = v
	}
	kit := testkit.New(t, testkit.Options{Configure: func(f *config.File) {
		f.Connections = append(f.Connections, config.Connection{ID: routeConn, Tenant: testkit.Tenant,
			RequestSystem: config.RequestSystem{Kind: cubu.Vendor, HMACSecrets: []string{currentSecret, previousSecret}},
			WorkSystem:    f.Connections[0].WorkSystem, Mapping: "theworxhub-v1", Options: opts})
	}})
	mc := mocks.NewClient(t)
	eng := kit.UseTemporal(mc)
	api := &starter.API{Store: kit.Store, Engine: eng, Connections: kit.Registry, PollInterval: 15 * time.Minute}
	return kit, mc, api.Handler()
}

func postHook(h http.Handler, segment string, body []byte, authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/hooks/cubu/"+routeConn+"/service/actions/"+segment, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if authorization != "" {
		req.Header.Set(cubu.AuthorizationHeader, authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func sign(secret string, body []byte) string { return cubu.Sign([]byte(secret), body) }

// expectStart expects exactly one start of the case's ticket workflow.
func expectStart(mc *mocks.Client, caseID string, check func(ticket.Input) bool) {
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return(ticket.WorkflowID(routeConn, caseID)).Maybe()
	run.On("GetRunID").Return("run-1").Maybe()
	mc.On("ExecuteWorkflow", mock.Anything,
		mock.MatchedBy(func(o client.StartWorkflowOptions) bool { return o.ID == ticket.WorkflowID(routeConn, caseID) }),
		ticket.WorkflowType, mock.MatchedBy(check)).Return(run, nil).Once()
}

func deliverySeen(t *testing.T, kit *testkit.Kit, key string) bool {
	t.Helper()
	seen, err := kit.Store.DeliverySeen(context.Background(), cubu.Vendor+":"+routeConn, key)
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// TestRouteSignatureVectors: only a body signed with one of the connection's secrets gets
// through, and a refused delivery changes nothing (no workflow call, not in the delivery log).
func TestRouteSignatureVectors(t *testing.T) {
	kit, _, h := routeAPI(t, nil)
	body := fixture(t, "afterStartWork.json") // acknowledged without effect when verified
	key := cubu.ReplayKey(routeConn, cubu.AfterStartWork, "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d", body)
	tampered := bytes.Replace(body, []byte("Heater"), []byte("Boiler"), 1)
	for _, tc := range []struct {
		name, auth string
		body       []byte
		want       int
	}{
		{"wrong secret", sign("cubu_test", body), body, 401},
		{"tampered body", sign(currentSecret, body), tampered, 401},
		{"missing header", "", body, 401},
		{"malformed header", "Bearer " + strings.TrimPrefix(sign(currentSecret, body), "HMAC "), body, 401},
		{"valid", sign(currentSecret, body), body, 202},
		{"rotated: the previous secret still verifies", sign(previousSecret, tampered), tampered, 202},
	} {
		rec := postHook(h, "startWork", tc.body, tc.auth)
		if rec.Code != tc.want {
			t.Fatalf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
		if tc.want == 401 {
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("%s: content type %q", tc.name, ct)
			}
			if deliverySeen(t, kit, key) {
				t.Fatalf("%s: a refused delivery was recorded", tc.name)
			}
		}
	}
	if !deliverySeen(t, kit, key) {
		t.Fatal("the verified delivery is not in the delivery log")
	}
}

// TestRouteRefusals: unknown hooks, malformed and oversized bodies get clear 4xx answers.
func TestRouteRefusals(t *testing.T) {
	_, _, h := routeAPI(t, nil)
	body := fixture(t, "afterResolve.json")
	big := append([]byte(`{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","fields":{"x":"`), bytes.Repeat([]byte("a"), 300<<10)...)
	big = append(big, `"}}`...)
	bad := []byte(`{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","ticket":{"number":"A119"}}`)
	for _, tc := range []struct {
		name, segment string
		body          []byte
		want          int
		detail        string
	}{
		{"unknown hook", "afterTeleport", body, 404, `unknown service webhook "afterTeleport"`},
		{"malformed JSON", "afterResolve", []byte(`{"caseId":`), 400, "malformed JSON"},
		{"wrong type", "afterResolve", bad, 400, `field "ticket.number"`},
		{"oversized", "afterResolve", big, 413, "exceeds"},
	} {
		rec := postHook(h, tc.segment, tc.body, sign(currentSecret, tc.body))
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != tc.want || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
	// A GET is not a webhook.
	req := httptest.NewRequest(http.MethodGet, "/v1/hooks/cubu/"+routeConn+"/service/actions/afterResolve", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
}

// TestRouteCreatesOnceAndAcknowledgesReplays: afterResolve starts the case's ticket; the same
// bytes again (a retry, or a captured request replayed, whichever secret signed it) are
// acknowledged without a second start.
func TestRouteCreatesOnceAndAcknowledgesReplays(t *testing.T) {
	kit, mc, h := routeAPI(t, nil)
	body := fixture(t, "afterResolve_full.json")
	const caseID = "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a45"
	expectStart(mc, caseID, func(in ticket.Input) bool {
		r := in.Request
		return in.Ref.ExternalID == caseID && in.Ref.Connection == routeConn && in.MappingVersion == "theworxhub-v1" &&
			r.RequestType == "Maintenance" && r.Title == "Bathroom fan is loud" && r.Location.Address == "Building C, apt 14" &&
			r.Requester.Name == "Jane Resident" && r.Answers["Appointment"] == "2025-03-05 09:30 America/New_York, 30 min"
	})
	if rec := postHook(h, "afterResolve", body, sign(currentSecret, body)); rec.Code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
	}
	for _, secret := range []string{currentSecret, previousSecret} {
		rec := postHook(h, "afterResolve", body, sign(secret, body))
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code != http.StatusOK || out["duplicate"] != true {
			t.Fatalf("replay: %d %s", rec.Code, rec.Body)
		}
	}
	row, err := kit.Store.GetTicketByExternalID(context.Background(), routeConn, caseID)
	if err != nil || row.Status != ticket.Submitted || row.WorkflowID != ticket.WorkflowID(routeConn, caseID) {
		t.Fatalf("ticket row %+v %v", row, err)
	}
}

// TestRouteAfterCloseCancelsAnOpenTicket sends cancel to the case's open ticket only.
func TestRouteAfterCloseCancelsAnOpenTicket(t *testing.T) {
	kit, mc, h := routeAPI(t, nil)
	body := fixture(t, "afterClose.json")
	const caseID = "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d"
	// No ticket for the case yet: acknowledged, nothing to cancel.
	if rec := postHook(h, "afterClose", body, sign(currentSecret, body)); rec.Code != http.StatusAccepted {
		t.Fatalf("no ticket: %d %s", rec.Code, rec.Body)
	}
	ref := ticket.NewRef(testkit.Tenant, routeConn, caseID)
	if _, _, err := kit.Store.CreateTicket(context.Background(), store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant,
		Connection: routeConn, ExternalID: caseID, WorkflowID: ref.WorkflowID, Status: ticket.InProgress}); err != nil {
		t.Fatal(err)
	}
	mc.On("SignalWorkflow", mock.Anything, ref.WorkflowID, "", ticket.SignalCancel,
		ticket.CancelSignal{Reason: "the case (ticket A119) was closed in Cubu"}).Return(nil).Once()
	// The first delivery is in the delivery log now; the case closing again (reopened, closed)
	// is another delivery with other bytes.
	closed := append(bytes.Clone(body), '\n')
	if rec := postHook(h, "afterClose", closed, sign(currentSecret, closed)); rec.Code != http.StatusAccepted {
		t.Fatalf("open ticket: %d %s", rec.Code, rec.Body)
	}
}

// TestRouteBeforeHooks: the gate (beforeResolve, under both spellings) answers within the
// deadline with allow {} or a block with a message for the agent; the others allow.
func TestRouteBeforeHooks(t *testing.T) {
	_, _, h := routeAPI(t, map[string]any{"beforeHookTimeout": "500ms"})
	complete := fixture(t, "afterResolve_full.json") // has everything the work system needs
	noAddress := fixture(t, "beforeResolve.json")
	for _, tc := range []struct {
		name, segment string
		body          []byte
		want          cubu.BeforeResponse
	}{
		{"complete case", "beforeResolved", complete, cubu.BeforeResponse{}},
		{"complete case, canonical path", "beforeResolve", complete, cubu.BeforeResponse{}},
		{"no address", "beforeResolved", noAddress, cubu.BeforeResponse{Cancel: true,
			Message: "Please fill in Where (building, apartment) before you resolve ticket A120: the work order needs it."}},
		{"not the gate", "beforeQueueUp", fixture(t, "beforeQueueUp.json"), cubu.BeforeResponse{}},
		{"not the gate either", "beforeBookAppointment", fixture(t, "beforeBookAppointment.json"), cubu.BeforeResponse{}},
	} {
		start := time.Now()
		rec := postHook(h, tc.segment, tc.body, sign(currentSecret, tc.body))
		took := time.Since(start)
		var got cubu.BeforeResponse
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
			json.Unmarshal(rec.Body.Bytes(), &got) != nil {
			t.Fatalf("%s: %d %q %s", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if got.Cancel != tc.want.Cancel || got.Message != tc.want.Message {
			t.Errorf("%s: answer %s", tc.name, rec.Body)
		}
		if took > 500*time.Millisecond {
			t.Errorf("%s: answered after %s, past the 500ms deadline", tc.name, took)
		}
	}
}
