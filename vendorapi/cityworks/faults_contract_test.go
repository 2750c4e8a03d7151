package cityworks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// IIS error pages, throttling and proxy pages are transient: retryable, with Retry-After.
func TestHTMLAndHTTPFaultsAreRetryable(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		faults     sim.Faults
		status     int
		kind, code string
		retryAfter time.Duration
		title      string
	}{
		"IIS 500":      {sim.Faults{ServerErrors: 1}, 500, "Unavailable", "http_error", 0, "500 - Internal server error."},
		"IIS 503":      {sim.Faults{Unavailable: 1, RetryAfterSeconds: 7}, 503, "Unavailable", "http_error", 7 * time.Second, "Service Unavailable"},
		"429":          {sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 2}, 429, "RateLimited", "http_error", 2 * time.Second, "429 Too Many Requests"},
		"HTML on 200":  {sim.Faults{HTMLOn200: 1}, 200, "Vendor", "not_json", 0, "Please wait - Cityworks"},
		"random error": {sim.Faults{ErrorRate: 1}, 0, "Unavailable", "http_error", 0, ""},
	} {
		e.sim.SetFaults(tc.faults)
		_, err := e.client.Statuses(ctx)
		ve := vendorErr(t, err)
		if !ve.Retryable || ve.Kind() != tc.kind || ve.Code != tc.code || ve.RetryAfter != tc.retryAfter ||
			(tc.status != 0 && ve.HTTPStatus != tc.status) || !strings.Contains(ve.Message, tc.title) {
			t.Errorf("%s: %+v (%s)", name, ve, ve.Kind())
		}
		if !vendorapi.IsRetryable(err) || cityworks.EnvelopeStatus(err) != -1 {
			t.Errorf("%s: must be retryable and not an envelope failure", name)
		}
		e.sim.SetFaults(sim.Faults{})
		if _, err := e.client.Statuses(ctx); err != nil {
			t.Errorf("%s: the next call must succeed: %v", name, err)
		}
	}
}

// Status 1 on demand: non-retryable validation, only for the method named.
func TestStatus1OnDemand(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	sr := e.createSR(t, "ticketsync:c:s1")
	e.sim.SetFaults(sim.Faults{StatusError: 1, StatusErrorMethod: "ServiceRequest/Close",
		StatusErrorCode: cityworks.CodeErrorRequiredCustomFields, StatusErrorMessage: "Custom field Crew is required"})
	if _, err := e.client.Request(ctx, sr.RequestId); err != nil {
		t.Fatalf("other methods are not affected: %v", err)
	}
	_, err := e.client.CloseRequests(ctx, sr.RequestId)
	ve := vendorErr(t, err)
	if ve.Retryable || ve.Kind() != "Validation" || ve.HTTPStatus != 422 || ve.Code != "ErrorRequiredCustomFields" ||
		!strings.Contains(ve.Message, "Custom field Crew is required") || !strings.Contains(ve.Message, "code 34") {
		t.Fatalf("Status 1: %+v", ve)
	}
	var ee *cityworks.EnvelopeError
	if !errors.As(err, &ee) || ee.Status != 1 || len(ee.Codes()) != 1 || ee.Codes()[0] != 34 {
		t.Fatalf("EnvelopeError = %+v", ee)
	}
	if closed, err := e.client.CloseRequests(ctx, sr.RequestId); err != nil || !closed[0].Closed() {
		t.Fatalf("the fault fires once: %+v, %v", closed, err)
	}

	// Code 5 (not authorized to create) reads as 403: an Auth problem of the configured user.
	e.sim.SetFaults(sim.Faults{StatusError: 1, StatusErrorCode: cityworks.CodeNotAuthorizedToCreate})
	_, err = e.client.CreateRequest(ctx, cityworks.NewServiceRequest{ProblemSid: e.problem(t, "GRAFFITI").ProblemSid})
	if ve := vendorErr(t, err); ve.Retryable || ve.Kind() != "Auth" || ve.HTTPStatus != 403 {
		t.Fatalf("code 5: %+v", ve)
	}
}

// A create that commits and then times out (or loses its connection) is retried without a
// duplicate: CreateRequest asks ByOtherSystemId first.
func TestNonIdempotentCreateRetry(t *testing.T) {
	for name, f := range map[string]sim.Faults{
		"slow":    {SlowCreate: 1, SlowDelay: 5 * time.Second},
		"dropped": {DropAfterCreate: 1},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, sim.Options{Faults: f}, func(c *cityworks.Config) { c.Timeout = 300 * time.Millisecond })
			ref := "ticketsync:c:" + name
			x, y := 1.0, 2.0
			in := cityworks.NewServiceRequest{ProblemSid: e.problem(t, "GRAFFITI").ProblemSid, OtherSystemId: ref, X: &x, Y: &y}
			_, err := e.client.CreateRequest(context.Background(), in)
			ve := vendorErr(t, err)
			if !ve.Retryable || ve.Kind() != "Transport" {
				t.Fatalf("first attempt: %+v", ve)
			}
			if st := e.sim.Stats(); st.Creates != 1 {
				t.Fatalf("the first attempt must have committed: %+v", st)
			}
			sr, err := e.client.CreateRequest(context.Background(), in)
			if err != nil || sr.OtherSystemId != ref {
				t.Fatalf("retry: %+v, %v", sr, err)
			}
			if st := e.sim.Stats(); st.Creates != 1 || len(e.sim.Requests()) != 1 {
				t.Fatalf("retry duplicated the request: %+v", st)
			}
		})
	}
}

func TestLargeResponseIsCapped(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{LargeResponseBytes: 9 << 20}})
	_, err := e.client.Statuses(context.Background())
	if ve := vendorErr(t, err); ve.Retryable || ve.Code != "response_too_large" {
		t.Fatalf("oversized answer: %+v", ve)
	}
	// Padding below the cap is ignored like any unknown field.
	e.sim.SetFaults(sim.Faults{LargeResponseBytes: 1 << 20})
	if st, err := e.client.Statuses(context.Background()); err != nil || len(st) != 5 {
		t.Fatalf("padded answer: %d statuses, %v", len(st), err)
	}
}

func TestLatencyAndTransportFailures(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{Latency: 60 * time.Millisecond}})
	start := time.Now()
	if _, err := e.client.Statuses(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 120*time.Millisecond { // login and call, each delayed
		t.Fatalf("latency not applied: %v", d)
	}
	short := newEnv(t, sim.Options{Faults: sim.Faults{Latency: time.Second}}, func(c *cityworks.Config) { c.Timeout = 100 * time.Millisecond })
	if ve := vendorErr(t, short.client.Authenticate(context.Background())); !ve.Retryable || ve.Kind() != "Transport" {
		t.Fatalf("timeout: %+v", ve)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ve := vendorErr(t, e.client.Authenticate(ctx)); ve.Retryable {
		t.Fatalf("a cancelled context is not retryable: %+v", ve)
	}

	e.srv.Close()
	_, err := e.client.Statuses(context.Background())
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" {
		t.Fatalf("server gone: %+v", ve)
	}
}
