package simkit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

func TestTakeCountsDown(t *testing.T) {
	n := 2
	got := []bool{simkit.Take(&n), simkit.Take(&n), simkit.Take(&n)}
	if !slices.Equal(got, []bool{true, true, false}) || n != 0 {
		t.Fatalf("fired %v, left %d", got, n)
	}
}

func TestDrawsAreSeededAndZeroRatesDrawNothing(t *testing.T) {
	a, b := simkit.NewRand(7), simkit.NewRand(7)
	if first, second := simkit.Chance(a, 0), simkit.Chance(a, 0); first || second {
		t.Fatal("a zero rate fired")
	}
	// a drew nothing above, so both sequences are still in step.
	for i := range 50 {
		if x, y := simkit.Pick(a, 1, 2, 3, 4), simkit.Pick(b, 1, 2, 3, 4); x != y {
			t.Fatalf("draw %d: %d != %d with the same seed", i, x, y)
		}
	}
	if !simkit.Chance(a, 1) {
		t.Fatal("rate 1 did not fire")
	}
	if simkit.NewRand(1).Uint64() == simkit.NewRand(2).Uint64() {
		t.Fatal("different seeds draw the same")
	}
}

// answer runs an injected writer against a recorder.
func answer(write func(http.ResponseWriter)) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	write(w)
	return w
}

func vendorAnswers() simkit.Answers {
	return simkit.Answers{
		TooMany: func(w http.ResponseWriter) {
			simkit.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"code": "rate_limited"})
		},
		ServerErrors: []int{500, 502, 504},
		ServerError: func(w http.ResponseWriter, status int) {
			simkit.WriteJSON(w, status, map[string]string{"code": "server_error"})
		},
		HTMLPage: "<title>Sign in</title>",
	}
}

func TestAPIFaultsFireInOrder(t *testing.T) {
	burst, html := 1, 1
	f := simkit.APIFaults{RateLimitBurst: &burst, HTMLOn200: &html, ErrorRate: 0}
	rng := simkit.NewRand(1)

	kind, write := f.Inject(rng, vendorAnswers())
	w := answer(write)
	if kind != simkit.RateLimited || w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "rate_limited") {
		t.Fatalf("burst: kind %v, %d %q %s", kind, w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	kind, write = f.Inject(rng, vendorAnswers())
	w = answer(write)
	if kind != simkit.HTMLOn200 || w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Body.String() != "<title>Sign in</title>" {
		t.Fatalf("html: kind %v, %d %q %s", kind, w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if kind, write = f.Inject(rng, vendorAnswers()); kind != simkit.NoFault || write != nil {
		t.Fatalf("spent counters still fire: %v", kind)
	}
	if burst != 0 || html != 0 {
		t.Fatalf("counters left %d %d", burst, html)
	}

	burst, f.RetryAfterSeconds, f.ErrorRate = 1, 9, 1
	if kind, write = f.Inject(rng, vendorAnswers()); kind != simkit.RateLimited || answer(write).Header().Get("Retry-After") != "9" {
		t.Fatalf("a burst goes before the error rate, with RetryAfterSeconds: %v", kind)
	}
	seen := map[int]bool{}
	for range 60 {
		kind, write := f.Inject(rng, vendorAnswers())
		w := answer(write)
		if kind != simkit.ServerError || !strings.Contains(w.Body.String(), "server_error") {
			t.Fatalf("error rate 1: kind %v, %s", kind, w.Body)
		}
		seen[w.Code] = true
	}
	if len(seen) != 3 || !seen[500] || !seen[502] || !seen[504] {
		t.Fatalf("statuses drawn: %v", seen)
	}
}

func TestIISFaults(t *testing.T) {
	serverErrors, unavailable, burst, html := 1, 1, 1, 1
	f := simkit.IISFaults{ServerErrors: &serverErrors, Unavailable: &unavailable,
		APIFaults: simkit.APIFaults{RateLimitBurst: &burst, HTMLOn200: &html, RetryAfterSeconds: 4}}
	rng := simkit.NewRand(3)
	for _, want := range []struct {
		status     int
		retryAfter string
		title      string
	}{
		{500, "", "500 - Internal server error."},
		{503, "4", "Service Unavailable"},
		{429, "4", "429 Too Many Requests"},
		{200, "", "Please wait"},
	} {
		w := answer(f.Inject(rng, "<html><title>Please wait</title></html>"))
		if w.Code != want.status || w.Header().Get("Retry-After") != want.retryAfter || !strings.Contains(strings.ToLower(w.Body.String()), strings.ToLower("<title>"+want.title)) {
			t.Fatalf("want %+v, got %d %q %.80s", want, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if f.Inject(rng, "") != nil {
		t.Fatal("spent counters still fire")
	}
	f.ErrorRate, f.RetryAfterSeconds = 1, 0
	seen := map[int]bool{}
	for range 40 {
		w := answer(f.Inject(rng, ""))
		if w.Header().Get("Retry-After") != "" {
			t.Fatalf("Retry-After without RetryAfterSeconds on %d", w.Code)
		}
		seen[w.Code] = true
	}
	if len(seen) != 2 || !seen[500] || !seen[503] {
		t.Fatalf("statuses drawn: %v", seen)
	}
}

func TestSleep(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(live)
	cancel()
	if !simkit.Sleep(live, 0) || !simkit.Sleep(live, time.Millisecond) {
		t.Fatal("a live context did not sleep through")
	}
	if simkit.Sleep(gone, 0) || simkit.Sleep(gone, time.Hour) {
		t.Fatal("a gone client was not noticed")
	}
}

func TestDropConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { simkit.DropConnection(w) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer: %d", resp.StatusCode)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("want a closed connection, got %v", err)
	}

	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Fatalf("without a hijackable connection: recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	simkit.DropConnection(httptest.NewRecorder())
}
