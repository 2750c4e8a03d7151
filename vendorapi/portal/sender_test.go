package portal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

const (
	secretA = "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="
	secretB = "whsec_dGlja2V0c3luYy1wb3J0YWwtd3Jvbmctc2VjcmV0LTM="
)

func secrets(t *testing.T, ss ...string) []stdwebhooks.Secret {
	t.Helper()
	out, err := stdwebhooks.ParseSecrets(ss)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func event(seq int64, typ, status, prev string) portal.Event {
	e := portal.Event{
		ID: ticket.EventID("ticket/c1/REQ-1", seq), Type: typ, OccurredAt: time.Now().UTC(),
		Ticket: portal.Ticket{ID: "tkt_1", Tenant: "acme", ExternalID: "REQ-1", Status: status, PreviousStatus: prev, RemoteID: "wr-9"},
	}
	if typ == portal.TypeFeedbackAdded {
		e.Feedback = &portal.Feedback{ID: "fb_1", Text: "Which sink?", Author: "Staff", CreatedAt: time.Now()}
	}
	return e
}

func startSim(t *testing.T, opts sim.Options) (*sim.Receiver, portal.Target) {
	t.Helper()
	if opts.Secrets == nil {
		opts.Secrets = secrets(t, secretA)
	}
	rcv := sim.New(opts)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	return rcv, portal.Target{URL: srv.URL + "/hooks/ticketsync", Secrets: secrets(t, secretA)}
}

func asVendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != "portal" {
		t.Fatalf("vendor = %q", ve.Vendor)
	}
	return ve
}

func TestDeliverHeadersAndAck(t *testing.T) {
	rcv, target := startSim(t, sim.Options{})
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	s := portal.NewSender(portal.SenderOptions{UserAgent: portal.UserAgent("1.2.3"),
		Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	ev := event(1, portal.TypeStatusChanged, "Requested", "")
	ctx := context.Background()
	if err := s.Deliver(ctx, target, ev, 1); err != nil {
		t.Fatal(err)
	}
	clock.Add(7)
	if err := s.Deliver(ctx, target, ev, 2); err != nil { // a retry after a lost ack
		t.Fatal(err)
	}
	got := rcv.Events()
	if len(got) != 1 {
		t.Fatalf("tolerant receiver recorded %d events, want 1", len(got))
	}
	if d := rcv.Duplicates(); d[ev.ID] != 1 {
		t.Fatalf("duplicates = %v", d)
	}
	r := got[0]
	want := map[string]string{
		"Content-Type":                "application/json; charset=utf-8",
		"User-Agent":                  "ticketsync/1.2.3",
		"Webhook-Id":                  ev.ID,
		"Ticketsync-Event-Type":       "ticket.status_changed",
		"Ticketsync-Delivery-Attempt": "1",
		"Webhook-Timestamp":           strconv.FormatInt(clock.Load()-7, 10),
	}
	for k, v := range want {
		if g := r.Headers.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	body, _ := ev.Body()
	if string(r.Body) != string(body) || r.Event.ID != ev.ID || r.Attempt != 1 {
		t.Fatalf("received %+v", r)
	}
	reqs := rcv.Requests()
	if len(reqs) != 2 || reqs[1].Attempt != 2 {
		t.Fatalf("requests = %+v", reqs)
	}
}

// What Sender sends verifies with the stock Standard Webhooks Go library, with either secret
// during rotation, and the timestamp is fresh on every attempt while id and body stay put.
func TestDeliverVerifiesWithStockLibrary(t *testing.T) {
	type capture struct {
		h    http.Header
		body []byte
	}
	var mu sync.Mutex
	var seen []capture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for _, sec := range []string{secretA, secretB} {
			wh, err := standardwebhooks.NewWebhook(sec)
			if err == nil {
				err = wh.Verify(b, r.Header)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		mu.Lock()
		seen = append(seen, capture{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	now := time.Now()
	s := portal.NewSender(portal.SenderOptions{Now: func() time.Time { return now }})
	target := portal.Target{URL: srv.URL, Secrets: secrets(t, secretA, secretB)}
	ev := event(2, portal.TypeFeedbackAdded, "OnHold", "InProgress")
	for attempt := 1; attempt <= 2; attempt++ {
		if err := s.Deliver(context.Background(), target, ev, attempt); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		now = now.Add(3 * time.Second)
	}
	if len(seen) != 2 {
		t.Fatalf("seen %d", len(seen))
	}
	if string(seen[0].body) != string(seen[1].body) || seen[0].h.Get("webhook-id") != seen[1].h.Get("webhook-id") {
		t.Fatal("retry changed the body or the id")
	}
	if seen[0].h.Get("webhook-timestamp") == seen[1].h.Get("webhook-timestamp") {
		t.Fatal("retry must re-sign with a fresh timestamp")
	}
	if n := len(strings.Fields(seen[0].h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("want one signature per secret, got %d", n)
	}
}

func TestDeliverFaults(t *testing.T) {
	ctx := context.Background()
	s := portal.NewSender(portal.SenderOptions{Timeout: 300 * time.Millisecond})
	ev := event(1, portal.TypeStatusChanged, "Requested", "")

	t.Run("html 200 is an ack", func(t *testing.T) {
		rcv, target := startSim(t, sim.Options{})
		rcv.SetFaults(sim.Faults{HTMLNext: 1})
		if err := s.Deliver(ctx, target, ev, 1); err != nil {
			t.Fatal(err)
		}
		if len(rcv.Events()) != 1 {
			t.Fatal("not recorded")
		}
	})
	t.Run("500 retryable", func(t *testing.T) {
		rcv, target := startSim(t, sim.Options{})
		rcv.SetFaults(sim.Faults{FailNext: 1})
		ve := asVendorErr(t, s.Deliver(ctx, target, ev, 1))
		if !ve.Retryable || ve.HTTPStatus != 500 || !vendorapi.IsRetryable(ve) {
			t.Fatalf("%+v", ve)
		}
		if err := s.Deliver(ctx, target, ev, 2); err != nil {
			t.Fatalf("second attempt: %v", err)
		}
	})
	for _, tc := range []struct {
		name   string
		faults sim.Faults
		status int
	}{
		{"429 Retry-After", sim.Faults{RateLimitNext: 1, RetryAfter: 7 * time.Second}, 429},
		{"503 Retry-After", sim.Faults{UnavailableNext: 1, RetryAfter: 3 * time.Second}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv, target := startSim(t, sim.Options{})
			rcv.SetFaults(tc.faults)
			err := s.Deliver(ctx, target, ev, 1)
			ve := asVendorErr(t, err)
			if !ve.Retryable || ve.HTTPStatus != tc.status || ve.RetryAfter != tc.faults.RetryAfter {
				t.Fatalf("%+v", ve)
			}
			if d := portal.RetryDelay(1, err, func() float64 { return 0 }); d != max(tc.faults.RetryAfter, 8*time.Second) {
				t.Fatalf("RetryDelay = %s", d)
			}
		})
	}
	t.Run("410 gone", func(t *testing.T) {
		rcv, target := startSim(t, sim.Options{})
		rcv.SetFaults(sim.Faults{Gone: true})
		err := s.Deliver(ctx, target, ev, 1)
		ve := asVendorErr(t, err)
		if ve.Retryable || !portal.IsGone(err) || vendorapi.IsRetryable(err) {
			t.Fatalf("%+v", ve)
		}
		if portal.IsGone(asVendorErr(t, s.Deliver(ctx, portal.Target{URL: "http://example.com/", Secrets: target.Secrets}, ev, 1))) {
			t.Fatal("IsGone on a non-410 error")
		}
	})
	t.Run("timeout retryable, then deduped", func(t *testing.T) {
		rcv, target := startSim(t, sim.Options{})
		rcv.SetFaults(sim.Faults{SlowNext: 1, SlowDelay: 2 * time.Second})
		start := time.Now()
		ve := asVendorErr(t, s.Deliver(ctx, target, ev, 1))
		if !ve.Retryable || ve.HTTPStatus != 0 || time.Since(start) > 1500*time.Millisecond {
			t.Fatalf("%+v after %s", ve, time.Since(start))
		}
		if err := s.Deliver(ctx, target, ev, 2); err != nil {
			t.Fatal(err)
		}
		if n := len(rcv.Events()); n != 1 || rcv.Duplicates()[ev.ID] != 1 {
			t.Fatalf("events %d, duplicates %v", n, rcv.Duplicates())
		}
	})
	t.Run("wrong secret 401 retryable", func(t *testing.T) {
		_, target := startSim(t, sim.Options{Secrets: secrets(t, secretB)})
		ve := asVendorErr(t, s.Deliver(ctx, target, ev, 1))
		if !ve.Retryable || ve.HTTPStatus != 401 || ve.Kind() != "Auth" {
			t.Fatalf("%+v", ve)
		}
		if !strings.Contains(ve.Message, "signature") {
			t.Fatalf("message should carry the portal's reason: %q", ve.Message)
		}
	})
	t.Run("clock skew 401", func(t *testing.T) {
		rcv, target := startSim(t, sim.Options{})
		rcv.SetFaults(sim.Faults{ClockSkew: 6 * time.Minute})
		ve := asVendorErr(t, s.Deliver(ctx, target, ev, 1))
		if !ve.Retryable || ve.HTTPStatus != 401 {
			t.Fatalf("%+v", ve)
		}
		rcv.SetFaults(sim.Faults{ClockSkew: 4 * time.Minute})
		if err := s.Deliver(ctx, target, ev, 2); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("connection refused retryable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		ve := asVendorErr(t, s.Deliver(ctx, portal.Target{URL: url, Secrets: secrets(t, secretA)}, ev, 1))
		if !ve.Retryable {
			t.Fatalf("%+v", ve)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusOK) // a followed redirect would look like an ack
				return
			}
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
		}))
		defer srv.Close()
		ve := asVendorErr(t, s.Deliver(ctx, portal.Target{URL: srv.URL, Secrets: secrets(t, secretA)}, ev, 1))
		if !ve.Retryable || ve.HTTPStatus != 301 || !strings.Contains(ve.Message, "/elsewhere") {
			t.Fatalf("%+v", ve)
		}
	})
	t.Run("caller cancelled", func(t *testing.T) {
		_, target := startSim(t, sim.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if vendorapi.IsRetryable(s.Deliver(cctx, target, ev, 1)) {
			t.Fatal("a cancelled caller must not be retried")
		}
	})
}

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no")
}

func TestDeliverRefusesBeforeSending(t *testing.T) {
	s := portal.NewSender(portal.SenderOptions{HTTPClient: &http.Client{Transport: failTransport{t}}})
	ev := event(1, portal.TypeStatusChanged, "Requested", "")
	sec := secrets(t, secretA)
	for name, tc := range map[string]struct {
		target portal.Target
		ev     portal.Event
		code   string
	}{
		"plain http to a public host": {portal.Target{URL: "http://portal.example/hooks", Secrets: sec}, ev, "insecure_url"},
		"plain http to a private ip":  {portal.Target{URL: "http://10.1.2.3/hooks", Secrets: sec}, ev, "insecure_url"},
		"no secrets":                  {portal.Target{URL: "https://portal.example/hooks"}, ev, "no_secret"},
		"zero secret":                 {portal.Target{URL: "https://portal.example/hooks", Secrets: []stdwebhooks.Secret{{}}}, ev, "no_secret"},
		"invalid event":               {portal.Target{URL: "https://portal.example/hooks", Secrets: sec}, portal.Event{ID: "evt_x"}, "invalid_event"},
	} {
		err := s.Deliver(context.Background(), tc.target, tc.ev, 1)
		ve := asVendorErr(t, err)
		if ve.Retryable || ve.Code != tc.code {
			t.Errorf("%s: %+v", name, ve)
		}
	}
}
