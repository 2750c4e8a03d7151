package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A vendor stand-in answering /status/<code>, and /slow after a while.
func vendorServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "https://elsewhere.example/")
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestInstrumentVendor(t *testing.T) {
	srv := vendorServer(t)
	const vendor = "testvendor"
	c := &http.Client{Transport: InstrumentVendor(vendor, nil), Timeout: 200 * time.Millisecond,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(ctx context.Context, path string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	bg := context.Background()
	for _, tc := range []struct {
		op, path, class string // class "" = success
	}{
		{"get_request", "/status/200", ""},
		{"create_request", "/status/201", ""},
		{"get_changes", "/status/429", "rate_limited"},
		{"get_changes", "/status/503", "server"},
		{"token", "/status/401", "auth"},
		{"token", "/status/403", "auth"},
		{"get_request", "/status/404", "client"},
		{"get_request", "/status/302", "redirect"},
		{"add_comment", "/slow", "timeout"},
	} {
		beforeErr := testutil.ToFloat64(vendorErrors.WithLabelValues(vendor, tc.op, tc.class))
		beforeN := sampleCount(t, vendor, tc.op)
		call(WithOp(bg, tc.op), tc.path)
		if got := sampleCount(t, vendor, tc.op) - beforeN; got != 1 {
			t.Errorf("%s %s: %d duration samples, want 1", tc.op, tc.path, got)
		}
		if tc.class == "" {
			continue
		}
		if got := testutil.ToFloat64(vendorErrors.WithLabelValues(vendor, tc.op, tc.class)) - beforeErr; got != 1 {
			t.Errorf("%s %s: errors{class=%s} += %v, want 1", tc.op, tc.path, tc.class, got)
		}
	}
	if got := testutil.ToFloat64(vendorErrors.WithLabelValues(vendor, "get_request", "")); got != 0 {
		t.Errorf("a success counted as an error: %v", got)
	}

	// No operation on the context: "other". Nothing listening: "transport".
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	req, _ := http.NewRequest(http.MethodGet, closed.URL, nil)
	before := testutil.ToFloat64(vendorErrors.WithLabelValues(vendor, OtherOp, "transport"))
	if _, err := c.Do(req); err == nil {
		t.Fatal("closed server answered")
	}
	if got := testutil.ToFloat64(vendorErrors.WithLabelValues(vendor, OtherOp, "transport")) - before; got != 1 {
		t.Errorf("transport errors without op = %v", got)
	}

	// We cancel (shutdown): not the vendor's fault, not recorded.
	ctx, cancel := context.WithCancel(WithOp(bg, "cancelled_op"))
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	call(ctx, "/slow")
	if n := sampleCount(t, vendor, "cancelled_op"); n != 0 {
		t.Errorf("a call we cancelled was recorded (%d samples)", n)
	}
}

func TestOp(t *testing.T) {
	if got := Op(context.Background()); got != OtherOp {
		t.Errorf("no op: %q", got)
	}
	if got := Op(WithOp(context.Background(), "")); got != OtherOp {
		t.Errorf("empty op: %q", got)
	}
	if got := Op(WithOp(context.Background(), "get_request")); got != "get_request" {
		t.Errorf("op: %q", got)
	}
}

func sampleCount(t *testing.T, vendor, op string) uint64 {
	t.Helper()
	for _, m := range collect(t, vendorDuration) {
		l := m.GetLabel() // sorted by name: operation, vendor
		if l[0].GetValue() == op && l[1].GetValue() == vendor {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
