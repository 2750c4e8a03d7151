package cubu_test

// HandleHook on its own (a fake HookEnv): what each hook becomes, per connection options.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

// fakeEnv is the engine's HookEnv over a map of the connection's tickets.
type fakeEnv struct {
	tickets map[string]vendorapi.TicketInfo
	err     error
}

func (f fakeEnv) Ticket(_ context.Context, ext string) (vendorapi.TicketInfo, bool, error) {
	t, ok := f.tickets[ext]
	return t, ok, f.err
}
func (f fakeEnv) Tickets(context.Context, time.Time, bool) ([]vendorapi.TicketInfo, error) {
	return nil, errors.New("not used by cubu")
}
func (f fakeEnv) Get(context.Context, string) (string, error) {
	return "", errors.New("not used by cubu")
}
func (f fakeEnv) Put(context.Context, string, string) error { return errors.New("not used by cubu") }

// signed is a hook request as Cubu sends it to the route for hook's documented path.
func signed(hook cubu.Hook, body []byte, secret string) vendorapi.HookRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	if secret != "" {
		h.Set(cubu.AuthorizationHeader, cubu.Sign([]byte(secret), body))
	}
	return vendorapi.HookRequest{Connection: "acme-cubu", Path: "service/actions/" + hook.Segment(), Method: http.MethodPost,
		Header: h, Body: body, Received: time.Now()}
}

func handle(t *testing.T, c *cubu.Connector, env vendorapi.HookEnv, req vendorapi.HookRequest) vendorapi.HookResult {
	t.Helper()
	res, err := c.HandleHook(context.Background(), env, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Path, err)
	}
	return res
}

func TestHandleHookPerHook(t *testing.T) {
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	openCase := "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d" // the case of most fixtures
	env := fakeEnv{tickets: map[string]vendorapi.TicketInfo{openCase: {ExternalID: openCase, Status: ticket.InProgress}}}
	for _, h := range cubu.Hooks {
		body := fixture(t, string(h)+".json")
		res := handle(t, c, env, signed(h, body, hookSecret))
		caseID := parseFixture(t, h, string(h)+".json").CaseInfo().CaseID
		switch {
		case h.Synchronous():
			var answer cubu.BeforeResponse
			if res.Status != http.StatusOK || res.ContentType != "application/json" || json.Unmarshal(res.Body, &answer) != nil ||
				len(res.Intents) != 0 || res.DeliveryKey != "" {
				t.Errorf("%s: %+v", h, res)
			}
		case res.DeliveryKey != cubu.ReplayKey("acme-cubu", h, caseID, body) || res.Status != 0:
			t.Errorf("%s: delivery key %q status %d", h, res.DeliveryKey, res.Status)
		case h == cubu.AfterResolve:
			if len(res.Intents) != 1 || res.Intents[0].Kind != vendorapi.IntentStart || res.Intents[0].ExternalID != caseID ||
				res.Intents[0].Request == nil || res.Intents[0].Request.RequestType != "Maintenance" {
				t.Errorf("%s: %+v", h, res.Intents)
			}
		case h == cubu.AfterClose:
			in := res.Intents
			if len(in) != 1 || in[0].Kind != vendorapi.IntentSignal || in[0].Signal != ticket.SignalCancel || in[0].ExternalID != openCase ||
				in[0].Payload.(ticket.CancelSignal).Reason != "the case (ticket A119) was closed in Cubu" {
				t.Errorf("%s: %+v", h, in)
			}
		default: // acknowledged, kept in the delivery log, no effect on the ticket
			if len(res.Intents) != 0 {
				t.Errorf("%s: %+v", h, res.Intents)
			}
		}
	}
}

func TestHandleHookMapsTheCase(t *testing.T) {
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	res := handle(t, c, fakeEnv{}, signed(cubu.AfterResolve, fixture(t, "afterResolve_full.json"), hookSecret))
	r := res.Intents[0].Request
	lat, lng := 40.7128, -74.006
	want := vendorapi.NewRequest{RequestType: "Maintenance", Title: "Bathroom fan is loud",
		Description: "Bathroom fan is loud\nIt rattles at night.",
		Location:    vendorapi.Location{Address: "Building C, apt 14", Lat: &lat, Lng: &lng},
		Requester:   vendorapi.Person{Name: "Jane Resident", Email: "jane@example.com", Phone: "+15555550123"},
		Answers: map[string]string{"Preferred time": "after 10am", "Cubu ticket": "B7R",
			"Appointment": "2025-03-05 09:30 America/New_York, 30 min", "Cubu customer record": "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a"}}
	got, _ := json.Marshal(r)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Fatalf("request\n got %s\nwant %s", got, exp)
	}
	if res.Intents[0].ExternalID != "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a45" {
		t.Errorf("external id %q: case ids are lower-cased", res.Intents[0].ExternalID)
	}
}

func TestHandleHookCreateOnQueueUp(t *testing.T) {
	opts := fieldOptions()
	opts["createOn"] = "afterQueueUp"
	c := newConnector(t, connectorConfig(workAddress, opts))
	res := handle(t, c, fakeEnv{}, signed(cubu.AfterQueueUp, fixture(t, "afterQueueUp.json"), hookSecret))
	if len(res.Intents) != 1 || res.Intents[0].Kind != vendorapi.IntentStart || res.Intents[0].Request.Location.Address != "Building A, apt 3" {
		t.Fatalf("afterQueueUp: %+v", res.Intents)
	}
	if res := handle(t, c, fakeEnv{}, signed(cubu.AfterResolve, fixture(t, "afterResolve_full.json"), hookSecret)); len(res.Intents) != 0 {
		t.Fatalf("afterResolve creates nothing when afterQueueUp does: %+v", res.Intents)
	}
	// The gate moves with createOn: beforeQueueUp checks, beforeResolve no longer does.
	noAddress := fixture(t, "beforeQueueUp.json")
	if res := handle(t, c, fakeEnv{}, signed(cubu.BeforeQueueUp, noAddress, hookSecret)); !strings.Contains(string(res.Body), `"cancel":true`) {
		t.Errorf("beforeQueueUp without an address: %s", res.Body)
	}
	if res := handle(t, c, fakeEnv{}, signed(cubu.BeforeResolve, fixture(t, "beforeResolve.json"), hookSecret)); string(res.Body) != "{}" {
		t.Errorf("beforeResolve is not the gate: %s", res.Body)
	}
}

func TestHandleHookAfterClose(t *testing.T) {
	body := fixture(t, "afterClose.json")
	const id = "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d"
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	for _, tc := range []struct {
		name    string
		env     fakeEnv
		intents int
	}{
		{"no ticket for the case", fakeEnv{}, 0},
		{"ticket already done", fakeEnv{tickets: map[string]vendorapi.TicketInfo{id: {Status: ticket.Done}}}, 0},
		{"ticket already cancelled", fakeEnv{tickets: map[string]vendorapi.TicketInfo{id: {Status: ticket.Canceled}}}, 0},
		{"ticket not yet created remotely", fakeEnv{tickets: map[string]vendorapi.TicketInfo{id: {Status: ticket.Submitted}}}, 1},
	} {
		if res := handle(t, c, tc.env, signed(cubu.AfterClose, body, hookSecret)); len(res.Intents) != tc.intents {
			t.Errorf("%s: %+v", tc.name, res.Intents)
		}
	}
	// The read model failing is not "no ticket": the hook is answered 503 so Cubu may retry.
	if _, err := c.HandleHook(context.Background(), fakeEnv{err: errors.New("db down")}, signed(cubu.AfterClose, body, hookSecret)); err == nil ||
		errors.As(err, new(*vendorapi.HookError)) {
		t.Errorf("store failure: %v", err)
	}
	// afterClose: ignore leaves open tickets alone.
	opts := fieldOptions()
	opts["afterClose"] = "ignore"
	c = newConnector(t, connectorConfig(workAddress, opts))
	open := fakeEnv{tickets: map[string]vendorapi.TicketInfo{id: {Status: ticket.InProgress}}}
	if res := handle(t, c, open, signed(cubu.AfterClose, body, hookSecret)); len(res.Intents) != 0 {
		t.Errorf("afterClose ignore: %+v", res.Intents)
	}
}

func TestHandleHookRefusals(t *testing.T) {
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	body := fixture(t, "afterResolve.json")
	big := append([]byte(`{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","fields":{"x":"`), strings.Repeat("a", cubu.MaxBodyBytes)...)
	big = append(big, `"}}`...)
	noType := []byte(strings.Replace(string(body), "0a526645-8401-4df6-a060-5e4d3c2b1a0f", "00000000-0000-4000-8000-000000000000", 1))
	tampered := signed(cubu.AfterResolve, body, hookSecret)
	tampered.Body = []byte(strings.Replace(string(body), "kitchen", "bathroom", 1))
	get := signed(cubu.AfterResolve, body, hookSecret)
	get.Method = http.MethodGet
	kiosk := signed(cubu.AfterResolve, body, hookSecret)
	kiosk.Path = "kiosk/actions/beforeQueryAppointments"
	for _, tc := range []struct {
		name string
		req  vendorapi.HookRequest
		code int
		msg  string
	}{
		{"GET", get, 405, "POST"},
		{"no signature", signed(cubu.AfterResolve, body, ""), 401, "Missing Authorization Header"},
		{"wrong secret", signed(cubu.AfterResolve, body, "not-the-secret"), 401, "Invalid Signature"},
		{"tampered body", tampered, 401, "Invalid Signature"},
		{"unknown hook", signed(cubu.Hook("afterTeleport"), body, hookSecret), 404, `unknown service webhook "afterTeleport"`},
		{"kiosk webhook", kiosk, 404, "no service webhook"},
		{"oversized", signed(cubu.AfterResolve, big, hookSecret), 413, "exceeds"},
		{"not JSON", signed(cubu.AfterResolve, []byte("caseId=1"), hookSecret), 400, "not a JSON object"},
		{"no case id", signed(cubu.AfterResolve, []byte(`{"status":"Pending"}`), hookSecret), 400, `"caseId": is required`},
		{"empty", signed(cubu.AfterResolve, nil, hookSecret), 400, "empty"},
		{"no request type for the service", signed(cubu.AfterResolve, noType, hookSecret), 422, "no request type"},
	} {
		_, err := c.HandleHook(context.Background(), fakeEnv{}, tc.req)
		var he *vendorapi.HookError
		if !errors.As(err, &he) || he.Status != tc.code || !strings.Contains(he.Detail, tc.msg) {
			t.Errorf("%s: %v, want %d %q", tc.name, err, tc.code, tc.msg)
		}
	}
}
