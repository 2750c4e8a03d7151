package starter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// hookAPI is the API with a mocked Temporal client: the hook route's dispatch, verification and
// intents are tested without a server.
func hookAPI(t *testing.T) (*testkit.Kit, *mocks.Client, http.Handler) {
	kit := testkit.New(t, testkit.Options{})
	mc := &mocks.Client{}
	t.Cleanup(func() { mc.AssertExpectations(t) })
	eng := kit.UseTemporal(mc)
	api := &starter.API{Store: kit.Store, Engine: eng, Connections: kit.Registry, PollInterval: 15 * time.Minute}
	return kit, mc, api.Handler()
}

func post(h http.Handler, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHookDispatchRefusals(t *testing.T) {
	kit, _, h := hookAPI(t)
	body := []byte(`{"event":"workrequest.updated","id":"104201","modifiedAt":"2026-01-01T00:00:00.000Z"}`)
	good := map[string]string{"X-TWH-Signature": twhsim.Sign(testkit.WebhookSecret, body), "X-TWH-Delivery": "d-1"}
	for _, tc := range []struct {
		name, path string
		body       []byte
		headers    map[string]string
		want       int
	}{
		{"unknown kind", "/v1/hooks/zendesk/" + testkit.Connection, body, good, 404},
		{"kind the connection does not use", "/v1/hooks/cubu/" + testkit.Connection + "/service/actions/afterResolve", body, good, 404},
		{"unknown connection answers like a bad signature", "/v1/hooks/theworxhub/no-such-connection", body, good, 401},
		{"bad signature", "/v1/hooks/theworxhub/" + testkit.Connection, body, map[string]string{"X-TWH-Signature": "sha256=00"}, 401},
		{"missing signature", "/v1/hooks/theworxhub/" + testkit.Connection, body, nil, 401},
		{"signed by another connection's secret", "/v1/hooks/theworxhub/" + testkit.Connection, body, map[string]string{"X-TWH-Signature": twhsim.Sign("other-secret", body)}, 401},
		{"oversized", "/v1/hooks/theworxhub/" + testkit.Connection, bytes.Repeat([]byte("x"), 2<<20), good, 413},
		{"unknown sub-path", "/v1/hooks/theworxhub/" + testkit.Connection + "/extra", body, good, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(h, tc.path, tc.body, tc.headers)
			if rec.Code != tc.want {
				t.Fatalf("%s: %d %s, want %d", tc.path, rec.Code, rec.Body, tc.want)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("refusals are RFC 9457 problems, got %q", ct)
			}
		})
	}
	// Each refusal is counted by result (ticketsync_inbound_hooks_total).
	out, err := testutil.CollectAndFormat(metrics.Default(), expfmt.TypeTextPlain, metrics.NameInboundHooks)
	if err != nil {
		t.Fatal(err)
	}
	for _, result := range []string{metrics.HookBadSignature, metrics.HookUnknownConnection, metrics.HookInvalid} {
		if !strings.Contains(string(out), `kind="theworxhub",result="`+result+`"`) {
			t.Errorf("no %s hook counted:\n%s", result, out)
		}
	}
	// Nothing above reached the vendor: an unverified push never costs a vendor call.
	if st := kit.TWH.Stats(); st.APICalls+st.TokenRequests != 0 {
		n := st.APICalls + st.TokenRequests
		t.Fatalf("refused hooks made %d vendor calls", n)
	}
}

// pushedAt is the modification the tests' pushes announce; the poke carries it.
var pushedAt = ticket.PokeSignal{ModifiedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}

func TestHookPokesTheTicketOnceAndKeepsTheOldPath(t *testing.T) {
	kit, mc, h := hookAPI(t)
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "hook-unit-1")
	row := kitTicket(t, kit, ref, "104201")
	mc.On("SignalWorkflow", mock.Anything, row.WorkflowID, "", ticket.SignalPoke, pushedAt).Return(nil).Once()
	body := []byte(`{"event":"workrequest.updated","id":"104201","modifiedAt":"2026-01-01T00:00:00.000Z"}`)
	headers := map[string]string{"X-TWH-Signature": twhsim.Sign(testkit.WebhookSecret, body), "X-TWH-Delivery": "d-7"}
	// The original TheWorxHub path (no sub-path) is served by the generic route.
	if rec := post(h, "/v1/hooks/theworxhub/"+testkit.Connection, body, headers); rec.Code != http.StatusAccepted {
		t.Fatalf("signed push: %d %s", rec.Code, rec.Body)
	}
	rec := post(h, "/v1/hooks/theworxhub/"+testkit.Connection, body, headers)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("the same delivery again must be acknowledged as a duplicate without a second poke: %d %s", rec.Code, rec.Body)
	}
}

func TestHookFailedPokeIsNotRecordedAsDelivered(t *testing.T) {
	kit, mc, h := hookAPI(t)
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "hook-unit-2")
	row := kitTicket(t, kit, ref, "104202")
	mc.On("SignalWorkflow", mock.Anything, row.WorkflowID, "", ticket.SignalPoke, pushedAt).Return(context.DeadlineExceeded).Once()
	mc.On("SignalWorkflow", mock.Anything, row.WorkflowID, "", ticket.SignalPoke, pushedAt).Return(nil).Once()
	body := []byte(`{"event":"workrequest.updated","id":"104202","modifiedAt":"2026-01-01T00:00:00.000Z"}`)
	headers := map[string]string{"X-TWH-Signature": twhsim.Sign(testkit.WebhookSecret, body), "X-TWH-Delivery": "d-8"}
	if rec := post(h, "/v1/hooks/theworxhub/"+testkit.Connection, body, headers); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a failed poke must ask the vendor to retry: %d %s", rec.Code, rec.Body)
	}
	// The vendor's retry of the same delivery is acted on, not mistaken for a duplicate.
	if rec := post(h, "/v1/hooks/theworxhub/"+testkit.Connection, body, headers); rec.Code != http.StatusAccepted {
		t.Fatalf("retried delivery: %d %s", rec.Code, rec.Body)
	}
}

// kitTicket records a ticket row with its remote id, as the workflow's sync would.
func kitTicket(t *testing.T, kit *testkit.Kit, ref ticket.Ref, remoteID string) store.Ticket {
	t.Helper()
	ctx := context.Background()
	row, _, err := kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ref.ExternalID, WorkflowID: ref.WorkflowID, Status: ticket.Submitted})
	if err != nil {
		t.Fatal(err)
	}
	if err := kit.Store.UpdateTicketState(ctx, store.TicketState{ID: ref.TicketID, Status: ticket.Requested, RemoteID: remoteID,
		RemoteStatus: "Pending", UpdatedAt: time.Now().UTC(), Version: 1}); err != nil {
		t.Fatal(err)
	}
	return row
}
