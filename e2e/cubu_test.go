package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/internal/testkit"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// Cubu → TheWorxHub end to end: Cubu simulators play agents and post signed service webhooks
// to the real API; tickets run in a real Temporal server; TheWorxHub's simulator does the work;
// status goes back through Cubu's S2S API. Two connections: the featured one creates tickets
// on afterResolve, the other on afterQueueUp.

const (
	cubuResolveConn = "sunrise-cubu"
	cubuQueueConn   = "sunrise-cubu-walkin"
	cubuHookSecret  = "cubu-e2e-hook-secret"
)

// cubuSide is one Cubu (simulator) and the connection it posts its webhooks to.
type cubuSide struct {
	conn string
	sim  *cubusim.Server
	srv  *httptest.Server
}

// newCubuWorld starts the world with both Cubu connections. The simulators post to the API,
// whose address is only known once the world runs: their hook client dials it lazily.
func newCubuWorld(t *testing.T) (*world, map[string]*cubuSide) {
	t.Helper()
	var apiAddr atomic.Pointer[string]
	hookClient := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			addr := apiAddr.Load()
			if addr == nil {
				return nil, errors.New("the API is not listening yet")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, *addr)
		}},
	}
	sides := map[string]*cubuSide{}
	for i, conn := range []string{cubuResolveConn, cubuQueueConn} {
		s := cubusim.New(cubusim.Options{HookBaseURL: "http://ticketsync.test/v1/hooks/cubu/" + conn,
			HMACSecret: cubuHookSecret, HookClient: hookClient, Seed: uint64(i + 1)})
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		t.Cleanup(s.Close)
		sides[conn] = &cubuSide{conn: conn, sim: s, srv: srv}
	}
	configure := func(f *config.File) {
		for conn, createOn := range map[string]string{cubuResolveConn: "afterResolve", cubuQueueConn: "afterQueueUp"} {
			base := sides[conn].srv.URL
			f.Connections = append(f.Connections, config.Connection{ID: conn, Tenant: testkit.Tenant,
				RequestSystem: config.RequestSystem{Kind: "cubu", HMACSecrets: []string{cubuHookSecret},
					S2S: &config.CubuS2S{BaseURL: base, ApplicationID: cubusim.DefaultApplicationID, TenantID: cubusim.DefaultTenantID,
						ClientID: cubusim.DefaultClientID, ClientSecret: cubusim.DefaultClientSecret, AgentUserID: cubusim.DefaultAgentID,
						TokenURL: base + "/" + cubusim.DefaultTenantID + "/oauth2/v2.0/token"}},
				WorkSystem: f.Connections[0].WorkSystem, // TheWorxHub; the Cubu side does not care which
				Mapping:    "theworxhub-v1",
				Options: map[string]any{"createOn": createOn, "beforeHookTimeout": "2s", "fields": map[string]any{
					"description": cubusim.FieldDescription, "address": cubusim.FieldAddress, "requesterName": cubusim.FieldName,
					"requestTypes": map[string]any{cubusim.DefaultServiceTypeMaintenance: "Maintenance",
						cubusim.DefaultServiceTypeHousekeeping: "Housekeeping", cubusim.DefaultServiceTypeITSupport: "IT Support"},
					"labels": map[string]any{cubusim.FieldAddress: "Where (building, apartment)", cubusim.FieldPreferred: "Preferred time"},
				}}})
		}
	}
	w := newWorldWith(t, true, configure)
	addr := strings.TrimPrefix(w.apiURL, "http://")
	apiAddr.Store(&addr)
	// Production starts every connection's ConnectionSync: it brings TheWorxHub's changes to
	// these tickets (TheWorxHub's own pushes go to the kit's portal connection).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for conn := range sides {
		if err := w.kit.Activities.Engine.EnsureConnectionSync(ctx, conn); err != nil {
			t.Fatal(err)
		}
	}
	return w, sides
}

// remoteFor waits until TheWorxHub holds the request of a case and returns it.
func (w *world) remoteFor(conn, caseID string) twhsim.WorkRequest {
	w.t.Helper()
	ref := "ticketsync:" + conn + ":" + caseID
	var out twhsim.WorkRequest
	waitFor(w.t, 15*time.Second, "TheWorxHub's request for case "+caseID, func() bool {
		rs := w.remotesFor(ref)
		if len(rs) > 0 {
			out = rs[0]
		}
		return len(rs) > 0
	})
	return out
}

func (w *world) remotesFor(ref string) []twhsim.WorkRequest {
	var out []twhsim.WorkRequest
	for _, r := range w.kit.TWH.Requests() {
		if r.ExternalReference == ref {
			out = append(out, r)
		}
	}
	return out
}

// cubuTicket returns the API's view of the ticket of a case.
func (w *world) cubuTicket(conn, caseID string) map[string]any {
	w.t.Helper()
	code, list := w.call("GET", "/v1/tickets?connection="+conn, w.kit.APIKey, nil)
	items, _ := list["items"].([]any)
	if code != http.StatusOK {
		w.t.Fatalf("list %s: %d %v", conn, code, list)
	}
	for _, it := range items {
		if m := it.(map[string]any); m["externalId"] == caseID {
			return m
		}
	}
	return nil
}

func (w *world) completeRemote(id string) {
	w.t.Helper()
	if _, err := w.kit.TWH.SetCategory(id, "Plumbing"); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.kit.TWH.Transition(id, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed", Author: "Ops"}, false); err != nil {
		w.t.Fatal(err)
	}
}

func TestCubuEndToEnd(t *testing.T) {
	w, sides := newCubuWorld(t)
	walkIn := func(s *cubuSide, agent string, fields map[string]string) (cubusim.Case, error) {
		return s.sim.QueueUp(cubusim.NewCase{Agent: agent, ContactEmail: "resident@example.org", Fields: fields})
	}
	complete := map[string]string{cubusim.FieldDescription: "Water leak under kitchen sink\nSince Monday.",
		cubusim.FieldAddress: "Building A, apt 12", cubusim.FieldName: "Ada Resident", cubusim.FieldPreferred: "mornings"}

	t.Run("afterResolve retried 5 times concurrently creates exactly one request; Done resolves the case", func(t *testing.T) {
		s := sides[cubuResolveConn]
		c, err := walkIn(s, cubusim.DefaultAgentID, complete)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.sim.StartWork(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatal(err)
		}
		s.sim.WaitHooks()
		s.sim.SetFaults(cubusim.Faults{HookDuplicates: 4}) // every after-hook 5 times, at once
		resolved, err := s.sim.Resolve(c.ID, cubusim.DefaultAgentID)
		if err != nil {
			t.Fatalf("resolve at the desk: %v", err)
		}
		if b := resolved.LastBefore; b == nil || !b.Allowed || b.Hook != "beforeResolve" || !strings.HasSuffix(b.URL, "/beforeResolved") {
			t.Fatalf("beforeResolved outcome: %+v", b)
		}
		s.sim.WaitHooks()
		s.sim.SetFaults(cubusim.Faults{})
		codes := map[int]int{}
		for _, d := range s.sim.Deliveries() {
			if d.Hook == "afterResolve" && d.CaseID == c.ID {
				codes[d.Status]++
			}
		}
		if codes[http.StatusAccepted]+codes[http.StatusOK] != 5 || codes[http.StatusAccepted] < 1 {
			t.Fatalf("answers to the 5 afterResolve deliveries: %v", codes)
		}
		t.Logf("answers to 5 concurrent afterResolve deliveries: %d × 202 (acted on), %d × 200 (duplicate)",
			codes[http.StatusAccepted], codes[http.StatusOK])
		remote := w.remoteFor(cubuResolveConn, c.ID)
		if remote.RequestType != "Maintenance" || remote.Title != "Water leak under kitchen sink" ||
			remote.Location != "Building A, apt 12" || remote.RequestedFor.Name != "Ada Resident" {
			t.Fatalf("remote request: %+v", remote)
		}
		waitFor(t, 10*time.Second, "the ticket to be Requested", func() bool {
			tk := w.cubuTicket(cubuResolveConn, c.ID)
			return tk != nil && tk["status"] == "Requested"
		})
		if n := len(w.remotesFor(remote.ExternalReference)); n != 1 {
			t.Fatalf("%d remote requests for one case", n)
		}

		w.completeRemote(remote.ID)
		waitFor(t, 15*time.Second, "the resolve call to Cubu", func() bool { return s.sim.Stats().Ops["resolve"] >= 1 })
		waitFor(t, 10*time.Second, "the ticket to be Done and delivered", func() bool {
			tk := w.cubuTicket(cubuResolveConn, c.ID)
			return tk != nil && tk["status"] == "Done" && tk["needsAttention"] == nil
		})
		// This Cubu ends a resolved case in Resolved, so our resolve finds it done already
		// (409, 1001): acknowledged, the ticket is not parked.
		if st := s.sim.Stats(); st.Ops["resolve"] != 1 || st.Conflicts != 1 {
			t.Fatalf("S2S stats: %+v", st)
		}
		// And a byte-identical replay, long after, is acknowledged without effect.
		var first cubusim.Delivery
		for _, d := range s.sim.Deliveries() {
			if d.Hook == "afterResolve" && d.CaseID == c.ID {
				first = d
				break
			}
		}
		if d, ok := s.sim.Replay(first.Seq); !ok || d.Status != http.StatusOK || !strings.Contains(d.Answer, `"duplicate":true`) {
			t.Fatalf("replay: %+v", d)
		}
		if n := len(w.remotesFor(remote.ExternalReference)); n != 1 {
			t.Fatalf("%d remote requests after the replay", n)
		}
	})

	t.Run("the gate blocks an incomplete case at the desk with a message for the agent", func(t *testing.T) {
		s := sides[cubuResolveConn]
		c, err := walkIn(s, cubusim.DefaultAgentID, map[string]string{cubusim.FieldDescription: "Door sticks"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.sim.Resolve(c.ID, cubusim.DefaultAgentID)
		var ae *cubusim.ActionError
		if !errors.As(err, &ae) || ae.Before == nil || ae.Before.Allowed {
			t.Fatalf("resolve without an address: %v", err)
		}
		want := fmt.Sprintf("Please fill in Where (building, apartment) before you resolve ticket %s: the work order needs it.", c.Ticket)
		if ae.Before.Message != want {
			t.Fatalf("message %q, want %q", ae.Before.Message, want)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("the before-hook took %s", took)
		}
		// The agent adds the address; now the case resolves and becomes a ticket.
		if _, err := s.sim.SetFields(c.ID, map[string]string{cubusim.FieldAddress: "Building B, apt 2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.sim.Resolve(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatalf("resolve with an address: %v", err)
		}
		if r := w.remoteFor(cubuResolveConn, c.ID); r.Location != "Building B, apt 2" {
			t.Fatalf("remote %+v", r)
		}
	})

	t.Run("createOn afterQueueUp: Done resolves the waiting case through the S2S API", func(t *testing.T) {
		s := sides[cubuQueueConn]
		c, err := walkIn(s, "", complete) // at the kiosk
		if err != nil {
			t.Fatal(err)
		}
		remote := w.remoteFor(cubuQueueConn, c.ID)
		w.completeRemote(remote.ID)
		waitFor(t, 15*time.Second, "the case resolved by ticketsync", func() bool {
			got, _ := s.sim.Case(c.ID)
			return got.Status == cubusim.StatusResolved
		})
		got, _ := s.sim.Case(c.ID)
		if last := got.History[len(got.History)-1]; last.By != "s2s" || last.Action != "resolve" {
			t.Fatalf("case history: %+v", got.History)
		}
		if st := s.sim.Stats(); st.Resolves != 1 || st.Ops["resolve"] != 1 {
			t.Fatalf("S2S stats: %+v", st)
		}
		// Our resolve makes Cubu send afterResolve: acknowledged, no second request.
		s.sim.WaitHooks()
		waitFor(t, 5*time.Second, "the afterResolve our resolve caused", func() bool {
			for _, d := range s.sim.Deliveries() {
				if d.Hook == "afterResolve" && d.CaseID == c.ID {
					return d.Status == http.StatusAccepted
				}
			}
			return false
		})
		if n := len(w.remotesFor(remote.ExternalReference)); n != 1 {
			t.Fatalf("%d remote requests", n)
		}
	})

	t.Run("afterClose cancels a ticket that is not done", func(t *testing.T) {
		s := sides[cubuQueueConn]
		c, err := walkIn(s, "", complete)
		if err != nil {
			t.Fatal(err)
		}
		remote := w.remoteFor(cubuQueueConn, c.ID)
		waitFor(t, 10*time.Second, "the ticket in the read model", func() bool { return w.cubuTicket(cubuQueueConn, c.ID) != nil })
		if _, err := s.sim.CloseCase(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the remote request cancelled", func() bool {
			r, _ := w.kit.TWH.Request(remote.ID)
			return r.Status == twhsim.StatusCancelled
		})
		waitFor(t, 10*time.Second, "the ticket Canceled", func() bool {
			tk := w.cubuTicket(cubuQueueConn, c.ID)
			return tk != nil && tk["status"] == "Canceled"
		})
		// A cancelled ticket says nothing to Cubu (the S2S API cannot cancel): one resolve, from before.
		if st := s.sim.Stats(); st.Ops["resolve"] != 1 {
			t.Fatalf("S2S stats: %+v", st)
		}
	})
}
