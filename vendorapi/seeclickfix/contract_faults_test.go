package seeclickfix_test

// Faults over real HTTP: rate limits, blacklisting, HTML pages, 5xx, auth, redirects,
// timeouts, and the pluggable limiter.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// recLimiter records the client's calls.
type recLimiter struct {
	mu       sync.Mutex
	waits    int
	backoffs []time.Duration
	err      error
}

func (l *recLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	return l.err
}

func (l *recLimiter) Backoff(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.backoffs = append(l.backoffs, d)
}

func withLimiter(l seeclickfix.Limiter) func(*seeclickfix.Config) {
	return func(c *seeclickfix.Config) { c.Limiter = l }
}

func TestRateLimit429CarriesRetryAfterAndFeedsTheLimiter(t *testing.T) {
	lim := &recLimiter{}
	e := newEnv(t, sim.Options{RateLimit: 3}, withLimiter(lim))
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "x"})
	for range 3 {
		if _, err := e.client.Issue(ctx, is.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(20 * time.Second)
	_, err := e.client.Issue(ctx, is.ID, false)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 429 || ve.Code != seeclickfix.CodeRateLimited || !ve.Retryable || ve.Kind() != "RateLimited" ||
		ve.RetryAfter != 40*time.Second || ve.Message != "Too Many Requests" {
		t.Fatalf("429: %+v", ve)
	}
	if lim.waits != 4 || len(lim.backoffs) != 1 || lim.backoffs[0] != 40*time.Second {
		t.Fatalf("limiter: waits %d backoffs %v", lim.waits, lim.backoffs)
	}
	e.clock.Advance(41 * time.Second) // the window slides past the first three calls
	if _, err := e.client.Issue(ctx, is.ID, false); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if st := e.sim.Stats(); st.RateLimited != 1 || st.Ops["get_issue"] != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestInjected429BurstWithoutLimiter(t *testing.T) {
	e := newEnv(t, noLimit())
	e.sim.SetFaults(sim.Faults{RateLimitBurst: 2, RetryAfterSeconds: 7})
	for range 2 {
		_, err := e.client.ListIssues(context.Background(), seeclickfix.IssueQuery{})
		if ve := vendorErr(t, err); ve.HTTPStatus != 429 || ve.RetryAfter != 7*time.Second || !ve.Retryable {
			t.Fatalf("burst: %+v", ve)
		}
	}
	if _, err := e.client.ListIssues(context.Background(), seeclickfix.IssueQuery{}); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
}

func TestRateLimiterHonoursRetryAfterFromSCF(t *testing.T) {
	lim := seeclickfix.NewRateLimiter(600)
	e := newEnv(t, noLimit(), withLimiter(lim))
	e.sim.SetFaults(sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 1})
	ctx := context.Background()
	_, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); ve.HTTPStatus != 429 {
		t.Fatalf("want 429, got %+v", ve)
	}
	if until := time.Until(lim.BlockedUntil()); until < 800*time.Millisecond || until > time.Second {
		t.Fatalf("limiter blocked for %v, want ~1s", until)
	}
	start := time.Now()
	if _, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 800*time.Millisecond {
		t.Errorf("next call left after %v, before Retry-After", waited)
	}
}

func TestSustainedAbuseIsBlacklisted(t *testing.T) {
	lim := &recLimiter{}
	e := newEnv(t, sim.Options{RateLimit: 1, BlacklistAfter: 3, BlacklistFor: time.Hour}, withLimiter(lim))
	ctx := context.Background()
	if _, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{}); vendorErr(t, err).HTTPStatus != 429 {
			t.Fatalf("want 429, got %v", err)
		}
	}
	e.clock.Advance(2 * time.Minute) // the rate window is clear, the blacklist is not
	_, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 403 || ve.Code != seeclickfix.CodeForbidden || ve.Retryable || ve.Kind() != "Auth" ||
		!strings.Contains(ve.Message, "administrative rules") {
		t.Fatalf("blacklisted: %+v", ve)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{}); err != nil {
		t.Fatalf("after the blacklist: %v", err)
	}
	e.clock.Advance(time.Minute)
	e.sim.SetFaults(sim.Faults{Forbidden: 1})
	_, err = e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); ve.HTTPStatus != 403 || ve.Retryable {
		t.Errorf("injected 403: %+v", ve)
	}
}

func TestHTMLPagesAreRetryable(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	e.sim.SetFaults(sim.Faults{HTMLPages: 1, HTMLOn200: 1})
	_, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 503 || ve.Code != seeclickfix.CodeNotJSON || !ve.Retryable || !strings.Contains(ve.Message, "maintenance") {
		t.Fatalf("503 page: %+v", ve)
	}
	_, err = e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	ve = vendorErr(t, err)
	if ve.HTTPStatus != 200 || ve.Code != seeclickfix.CodeNotJSON || !ve.Retryable || !strings.Contains(ve.Message, "Sign in") {
		t.Fatalf("200 sign-in page: %+v", ve)
	}
	if _, err := e.client.ListIssues(ctx, seeclickfix.IssueQuery{}); err != nil {
		t.Fatal(err)
	}
}

func TestServerErrorsAreRetryableAndCommitNothing(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true, Seed: 3})
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "x"})
	e.sim.SetFaults(sim.Faults{ErrorRate: 1})
	statuses := map[int]bool{}
	for range 12 {
		_, err := e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "hello"})
		ve := vendorErr(t, err)
		if !ve.Retryable || ve.Kind() != "Unavailable" {
			t.Fatalf("5xx: %+v", ve)
		}
		statuses[ve.HTTPStatus] = true
	}
	if !statuses[500] || !statuses[502] || !statuses[503] {
		t.Errorf("statuses seen: %v", statuses)
	}
	if got, _ := e.sim.Issue(is.ID); len(got.Comments) != 0 {
		t.Errorf("a failed call committed: %+v", got.Comments)
	}
	if st := e.sim.Stats(); st.Faulted != 12 || st.Ops["add_comment"] != 12 {
		t.Errorf("stats = %+v", st)
	}
}

func TestAuthFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*seeclickfix.Config)
	}{
		{"wrong password", func(c *seeclickfix.Config) { c.Password = "nope" }},
		{"unknown user", func(c *seeclickfix.Config) { c.Username = "mallory" }},
		{"wrong token", func(c *seeclickfix.Config) { c.Username, c.Password, c.Token = "", "", "nope" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, noLimit(), tc.cfg)
			_, err := e.client.Comments(context.Background(), 1)
			ve := vendorErr(t, err)
			if ve.HTTPStatus != 401 || ve.Code != seeclickfix.CodeUnauthorized || ve.Retryable || ve.Kind() != "Auth" {
				t.Fatalf("auth failure: %+v", ve)
			}
			if e.sim.Stats().Unauthorized != 1 {
				t.Errorf("stats = %+v", e.sim.Stats())
			}
		})
	}
	// Bearer works as well as Basic.
	e := newEnv(t, noLimit(), func(c *seeclickfix.Config) { c.Username, c.Password, c.Token = "", "", sim.DefaultToken })
	if _, err := e.client.ListIssues(context.Background(), seeclickfix.IssueQuery{}); err != nil {
		t.Fatal(err)
	}
}

func TestRedirectsAreFollowedOnTheSameOrigin(t *testing.T) {
	lim := &recLimiter{}
	e := newEnv(t, noLimit(), withLimiter(lim))
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "x"})
	e.sim.SetFaults(sim.Faults{Redirects: 2})
	got, err := e.client.Issue(ctx, is.ID, true)
	if err != nil || got.ID != is.ID {
		t.Fatalf("GET through 301+302: %+v, %v", got, err)
	}
	if lim.waits != 3 {
		t.Errorf("each hop waits on the limiter: %d waits", lim.waits)
	}
	// A redirected POST stays a POST with its body, and commits once.
	e.sim.SetFaults(sim.Faults{Redirects: 1})
	res, err := e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "through a redirect", Image: &seeclickfix.Image{Data: pngBytes(t, 2)}})
	if err != nil || res.Comment == nil || res.Comment.Comment != "through a redirect" || res.Comment.Media.ImageFull == "" {
		t.Fatalf("POST through a redirect: %+v, %v", res, err)
	}
	if posted := e.sim.Posted(is.ID); len(posted) != 1 {
		t.Errorf("posted %d times", len(posted))
	}
	if st := e.sim.Stats(); st.Redirects != 3 {
		t.Errorf("stats = %+v", st)
	}
	// Redirect loops end.
	e.sim.SetFaults(sim.Faults{Redirects: 50})
	_, err = e.client.Issue(ctx, is.ID, false)
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeTooManyRedirects || ve.Retryable {
		t.Errorf("redirect loop: %+v", ve)
	}
}

func TestCrossOriginRedirectIsRefused(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issues":[]}`))
	}))
	t.Cleanup(other.Close)
	e := newEnv(t, noLimit())
	e.sim.SetFaults(sim.Faults{Redirects: 1, RedirectBase: strings.Replace(other.URL, "127.0.0.1", "localhost", 1)})
	_, err := e.client.ListIssues(context.Background(), seeclickfix.IssueQuery{})
	ve := vendorErr(t, err)
	if ve.Code != seeclickfix.CodeRedirectRefused || ve.Retryable || ve.HTTPStatus != 301 {
		t.Fatalf("cross-origin redirect: %+v", ve)
	}
	if hits.Load() != 0 {
		t.Errorf("the other origin was contacted %d times", hits.Load())
	}
}

func TestMediaIsFetchedWithoutCredentials(t *testing.T) {
	s := sim.New(sim.Options{DisableRateLimit: true})
	var mediaAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/files/") || strings.HasPrefix(r.URL.Path, "/_media/") {
			mediaAuth.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("User-Agent"))
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := seeclickfix.New(seeclickfix.Config{BaseURL: srv.URL, OrganizationID: 1, Token: sim.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	is, err := s.Report(sim.ReportInput{Summary: "pic", Image: pngBytes(t, 3)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Issue(context.Background(), is.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DownloadMedia(context.Background(), got.Media.ImageSquare100x100, 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := mediaAuth.Load().(string); v != "|ticketsync-seeclickfix/1" {
		t.Errorf("media request headers (Authorization|User-Agent) = %q", v)
	}
	_, err = c.DownloadMedia(context.Background(), "ftp://example.org/x.png", 0)
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument {
		t.Errorf("non-http media URL: %+v", ve)
	}
}

func TestTimeoutsCancellationAndLimiterErrors(t *testing.T) {
	e := newEnv(t, noLimit(), func(c *seeclickfix.Config) { c.Timeout = 100 * time.Millisecond })
	e.sim.SetFaults(sim.Faults{Latency: 400 * time.Millisecond})
	_, err := e.client.ListIssues(context.Background(), seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" {
		t.Fatalf("timeout: %+v", ve)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = e.client.ListIssues(ctx, seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); ve.Retryable || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %+v", ve)
	}

	broken := &recLimiter{err: errors.New("limiter store unreachable")}
	e2 := newEnv(t, noLimit(), withLimiter(broken))
	_, err = e2.client.ListIssues(context.Background(), seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeLimiter || !ve.Retryable || e2.sim.Stats().APICalls != 0 {
		t.Fatalf("limiter error: %+v", ve)
	}
	// A limiter that gives up because the caller's context ended is the caller giving up.
	lim := seeclickfix.NewRateLimiter(20)
	lim.Backoff(time.Hour)
	e3 := newEnv(t, noLimit(), withLimiter(lim))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = e3.client.ListIssues(ctx2, seeclickfix.IssueQuery{})
	if ve := vendorErr(t, err); !errors.Is(err, context.DeadlineExceeded) || ve.Kind() != "Transport" || e3.sim.Stats().APICalls != 0 {
		t.Fatalf("limiter wait past the deadline: %+v", ve)
	}
}
