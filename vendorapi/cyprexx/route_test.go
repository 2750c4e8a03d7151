package cyprexx_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func (p *pair) post(path string, body []byte, header map[string]string) (int, string, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.apiURL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// Cyprexx's push receiver on the real hook route: a missing or wrong push key is 401 — the
// same answer as for a connection that does not exist — and costs no Cyprexx call and no
// ticket; a verified push fetches the work order and starts its ticket once, however often
// the delivery is repeated.
func TestPushReceiverRefusesBadOrMissingKey(t *testing.T) {
	p := newPair(t, pairOpts{})
	wo := p.issue(nil) // no push key registered: nothing is pushed by the simulator itself
	body, _ := json.Marshal(map[string]string{"event": cyprexx.EventCreated, "workOrderId": wo.WorkOrderID,
		"updatedAt": wo.UpdatedAt.Format(time.RFC3339Nano)})
	path := "/v1/hooks/cyprexx/" + pairConn
	calls := p.cx.Stats().APICalls
	_, _, unknownBody := p.post("/v1/hooks/cyprexx/no-such-connection", body, map[string]string{cyprexx.PushKeyHeader: pairPushKey})
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"missing push key", map[string]string{cyprexx.DeliveryHeader: "d-1"}},
		{"wrong push key", map[string]string{cyprexx.PushKeyHeader: pairPushKey + "-forged", cyprexx.DeliveryHeader: "d-1"}},
		{"empty push key", map[string]string{cyprexx.PushKeyHeader: " ", cyprexx.DeliveryHeader: "d-1"}},
	} {
		code, ct, b := p.post(path, body, tc.header)
		if code != http.StatusUnauthorized || !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("%s: %d %s %s", tc.name, code, ct, b)
		}
		if !bytes.Equal(b, unknownBody) {
			t.Fatalf("%s: the answer must not tell a bad key from an unknown connection:\n%s\n%s", tc.name, b, unknownBody)
		}
	}
	if p.cx.Stats().APICalls != calls || p.starts() != 0 {
		t.Fatalf("refused pushes cost %d Cyprexx calls and %d starts", p.cx.Stats().APICalls-calls, p.starts())
	}

	good := map[string]string{cyprexx.PushKeyHeader: pairPushKey, cyprexx.DeliveryHeader: "d-1"}
	if code, _, b := p.post(path, body, good); code != http.StatusAccepted {
		t.Fatalf("verified push: %d %s", code, b)
	}
	if p.starts() != 1 {
		t.Fatalf("the push starts the ticket: %d starts", p.starts())
	}
	if ok, _ := p.work.IsPublished(p.ctx, wo.WorkOrderID); !ok {
		t.Fatal("the work order was not published for Pruvan")
	}
	code, _, b := p.post(path, body, good)
	var ans map[string]any
	_ = json.Unmarshal(b, &ans)
	if code != http.StatusOK || ans["duplicate"] != true || p.starts() != 1 {
		t.Fatalf("the same delivery again is acknowledged without a second start: %d %s (%d starts)", code, b, p.starts())
	}
	if code, _, b := p.post(path, []byte(`{"event":"ping"}`), good); code != http.StatusAccepted {
		t.Fatalf("ping: %d %s", code, b)
	}
}

// Cyprexx itself: `connections validate` registers the push key at options.callbackUrl (Cyprexx
// pings the route first), after which a work order Cyprexx staff issue starts its ticket.
func TestValidateRegistersPushKeyAndPushesStartTickets(t *testing.T) {
	p := newPair(t, pairOpts{callback: true})
	checks := p.req.Validate(p.ctx)
	for _, c := range checks {
		if !c.OK {
			t.Fatalf("check failed: %+v", c)
		}
	}
	if st := p.cx.Stats(); st.Pings != 1 || len(p.cx.PushKeys()) != 1 {
		t.Fatalf("Cyprexx did not ping or keep the push key: %+v", st)
	}
	wo := p.issue(nil)
	p.cx.WaitPushes()
	if p.starts() != 1 {
		t.Fatalf("the push for %s did not start its ticket (%d starts, deliveries %+v)", wo.WorkOrderID, p.starts(), p.cx.Deliveries())
	}
}

// Pruvan's calls on the real route: credentials are checked on every call; a wrong password is
// the route's one 401, like an unknown connection.
func TestPruvanCallsNeedTheIntegrationCredentials(t *testing.T) {
	p := newPair(t, pairOpts{noValidate: true})
	call := func(conn, password string) (int, []byte) {
		payload, _ := json.Marshal(map[string]any{"username": pruvanUser, "password": password, "token": pruvanToken, "timestamp": nil})
		form := url.Values{"payload": {string(payload)}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, p.apiURL+"/v1/hooks/pruvan/"+conn+"/getWorkOrders.php", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := call(pairConn, pruvanPass)
	var ans struct {
		WorkOrders []pruvan.WorkOrder `json:"workOrders"`
		Error      string             `json:"error"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &ans) != nil || ans.WorkOrders == nil || ans.Error != "" {
		t.Fatalf("full refresh with the right credentials: %d %s", code, b)
	}
	badCode, bad := call(pairConn, strings.Repeat("0", 40))
	unknownCode, unknown := call("no-such-connection", pruvanPass)
	if badCode != http.StatusUnauthorized || unknownCode != http.StatusUnauthorized || !bytes.Equal(bad, unknown) {
		t.Fatalf("bad credentials %d %s; unknown connection %d %s", badCode, bad, unknownCode, unknown)
	}
	if p.starts() != 0 {
		t.Fatal("a Pruvan call started a ticket")
	}
}
