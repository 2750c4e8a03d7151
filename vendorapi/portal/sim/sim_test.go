package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

const secret = "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="

func setup(t *testing.T, mode sim.DedupeMode) (*sim.Receiver, *httptest.Server, portal.Target, *portal.Sender) {
	t.Helper()
	sec, err := stdwebhooks.ParseSecrets([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	rcv := sim.New(sim.Options{Secrets: sec, Dedupe: mode})
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	return rcv, srv, portal.Target{URL: srv.URL + "/hook", Secrets: sec}, portal.NewSender(portal.SenderOptions{})
}

func ev(id string, seq int64, typ, status, prev string) portal.Event {
	e := portal.Event{ID: ticket.EventID("ticket/c/"+id, seq), Type: typ, OccurredAt: time.Now(),
		Ticket: portal.Ticket{ID: id, Tenant: "acme", ExternalID: id, Status: status, PreviousStatus: prev}}
	if typ == portal.TypeFeedbackAdded {
		e.Feedback = &portal.Feedback{ID: "f", Text: "t", Author: "a", CreatedAt: time.Now()}
	}
	return e
}

func TestIntolerantCountsAndRecordsRepeats(t *testing.T) {
	rcv, _, target, s := setup(t, sim.Intolerant)
	e := ev("t1", 1, portal.TypeStatusChanged, "Requested", "")
	for i := 1; i <= 3; i++ {
		if err := s.Deliver(context.Background(), target, e, i); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.Events()
	if len(got) != 3 || got[0].Duplicate || !got[1].Duplicate || !got[2].Duplicate {
		t.Fatalf("events = %+v", got)
	}
	if rcv.Duplicates()[e.ID] != 2 {
		t.Fatalf("duplicates = %v", rcv.Duplicates())
	}
	if v := rcv.Violations(); len(v) != 0 {
		t.Fatalf("a repeat is not an ordering violation: %v", v)
	}
}

func TestOrderingAndAccessors(t *testing.T) {
	rcv, srv, target, s := setup(t, sim.Tolerant)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	good := []portal.Event{
		ev("a", 1, portal.TypeStatusChanged, "Requested", ""),
		ev("b", 1, portal.TypeStatusChanged, "Requested", ""),
		ev("a", 2, portal.TypeStatusChanged, "OnHold", "Requested"),
		ev("a", 3, portal.TypeFeedbackAdded, "OnHold", "Requested"),
		ev("a", 4, portal.TypeStatusChanged, "Done", "OnHold"),
		ev("a", 5, portal.TypeClosed, "Done", "OnHold"),
	}
	done := make(chan error, 1)
	go func() {
		done <- rcv.WaitFor(ctx, func(r []sim.Received) bool { return len(r) == len(good) })
	}()
	for _, e := range good {
		if err := s.Deliver(ctx, target, e, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := rcv.Violations(); len(v) != 0 {
		t.Fatalf("unexpected violations: %+v", v)
	}
	a := rcv.EventsFor("a")
	if len(a) != 5 || a[0].Event.Ticket.Status != "Requested" || a[4].Type != portal.TypeClosed {
		t.Fatalf("EventsFor(a) = %+v", a)
	}

	// Out of order: skips a status, restarts the chain, and sends after closed.
	for _, e := range []portal.Event{
		ev("b", 2, portal.TypeStatusChanged, "Done", "InProgress"),
		ev("c", 1, portal.TypeStatusChanged, "InProgress", "Requested"),
		ev("a", 6, portal.TypeFeedbackAdded, "Done", "OnHold"),
		ev("c", 2, portal.TypeClosed, "Done", "InProgress"),
	} {
		if err := s.Deliver(ctx, target, e, 1); err != nil {
			t.Fatal(err)
		}
	}
	if v := rcv.Violations(); len(v) != 4 {
		t.Fatalf("want 4 violations, got %+v", v)
	}

	// JSON and HTML views.
	resp, err := http.Get(srv.URL + "/_sim/events?ticket=b")
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Events []struct {
			ID   string          `json:"id"`
			Body json.RawMessage `json:"body"`
		} `json:"events"`
		Violations []sim.Violation `json:"violations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(snap.Events) != 2 || len(snap.Violations) != 4 || !strings.Contains(string(snap.Events[0].Body), `"ticket.status_changed"`) {
		t.Fatalf("snapshot = %+v", snap)
	}
	resp, err = http.Get(srv.URL + "/_sim/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Portal simulator") || !strings.Contains(string(page), "after ticket.closed") {
		t.Fatalf("html page: %d %s", resp.StatusCode, page)
	}

	rcv.Reset()
	if len(rcv.Events()) != 0 || len(rcv.Requests()) != 0 {
		t.Fatal("Reset kept state")
	}
	if err := rcv.WaitFor(ctx, func(r []sim.Received) bool { return len(r) == 0 }); err != nil {
		t.Fatal(err)
	}
	short, c2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer c2()
	if err := rcv.WaitFor(short, func(r []sim.Received) bool { return len(r) > 0 }); err == nil {
		t.Fatal("WaitFor must fail when ctx ends")
	}
}

func TestRejectsBadRequests(t *testing.T) {
	rcv, srv, _, _ := setup(t, sim.Tolerant)
	sec, _ := stdwebhooks.ParseSecrets([]string{secret})
	post := func(id string, body string, sign bool) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hook", strings.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		if sign {
			req.Header.Set("webhook-signature", stdwebhooks.Sign(sec, id, ts, []byte(body)))
		} else {
			req.Header.Set("webhook-signature", "v1,AAAA")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("evt_1", `{}`, false); got != 401 {
		t.Errorf("bad signature: %d", got)
	}
	if got := post("evt_1", `not json`, true); got != 400 {
		t.Errorf("bad json: %d", got)
	}
	if got := post("evt_1", `{"id":"evt_2"}`, true); got != 400 {
		t.Errorf("id mismatch: %d", got)
	}
	resp, err := http.Get(srv.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if len(rcv.Events()) != 0 || len(rcv.Requests()) != 3 {
		t.Fatalf("events %d requests %d", len(rcv.Events()), len(rcv.Requests()))
	}
}
