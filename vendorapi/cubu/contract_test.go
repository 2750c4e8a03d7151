package cubu_test

// Contract tests: the real S2S client against the simulator over real HTTP.

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

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cubu"
	"github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sim    *sim.Server
	srv    *httptest.Server
	client *cubu.Client
	clock  *simClock
}

func newEnv(t *testing.T, opts sim.Options, tweak ...func(*cubu.Config)) *env {
	t.Helper()
	clk := &simClock{t: time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	cfg := simConfig(srv.URL)
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := cubu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c, clock: clk}
}

func simConfig(base string) cubu.Config {
	return cubu.Config{BaseURL: base, ApplicationID: sim.DefaultApplicationID, TenantID: sim.DefaultTenantID,
		TokenURL: base + "/" + sim.DefaultTenantID + "/oauth2/v2.0/token", ClientID: sim.DefaultClientID,
		ClientSecret: sim.DefaultClientSecret, AgentUserID: sim.DefaultAgentID, Timeout: 2 * time.Second}
}

// activeCase creates a walk-in in the simulator and has agent start serving it.
func activeCase(t *testing.T, e *env, agent string) sim.Case {
	t.Helper()
	c, err := e.sim.QueueUp(sim.NewCase{Fields: map[string]string{sim.FieldDescription: "Leaking tap"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.sim.StartWork(c.ID, agent); err != nil {
		t.Fatal(err)
	}
	return c
}

func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != cubu.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func TestResolveLifecycle(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	c := activeCase(t, e, sim.DefaultAgentID)

	active, err := e.client.ActiveCases(ctx, "")
	if err != nil || len(active) != 1 || active[0].CaseID != c.ID || active[0].Status != "Active" || active[0].Ticket.String() != c.Ticket.String() {
		t.Fatalf("ActiveCases = %+v, %v", active, err)
	}
	res, err := e.client.ResolveCase(ctx, c.ID)
	if err != nil || res.CaseTimestamp == "" {
		t.Fatalf("ResolveCase = %+v, %v", res, err)
	}
	got, _ := e.sim.Case(c.ID)
	if got.Status != sim.StatusResolved || got.History[len(got.History)-1].By != "s2s" {
		t.Fatalf("sim case = %+v", got)
	}
	if active, _ := e.client.ActiveCases(ctx, sim.DefaultAgentID); len(active) != 0 {
		t.Errorf("resolved case still active: %+v", active)
	}

	// A repeated resolve (e.g. a retry after a lost answer) is 1001 invalid status.
	_, err = e.client.ResolveCase(ctx, c.ID)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != http.StatusConflict || ve.Retryable || cubu.ErrorCode(err) != cubu.CodeInvalidStatus || ve.Kind() != "Conflict" {
		t.Fatalf("second resolve: %+v", ve)
	}
	st := e.sim.Stats()
	if st.Ops["resolve"] != 2 || st.Ops["activeCases"] != 2 || st.Resolves != 1 || st.TokensIssued != 1 || st.Conflicts != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestResolveConflicts(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()

	locked := activeCase(t, e, sim.SecondAgentID)
	_, err := e.client.ResolveCase(ctx, locked.ID)
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusConflict || cubu.ErrorCode(err) != cubu.CodeLockedByAnotherUser || ve.Retryable {
		t.Errorf("locked: %+v", ve)
	}
	// The agent serving it may resolve it.
	if _, err := e.client.ResolveCaseAs(ctx, sim.SecondAgentID, locked.ID); err != nil {
		t.Errorf("ResolveCaseAs the locking agent: %v", err)
	}

	waiting, _ := e.sim.QueueUp(sim.NewCase{})
	if _, err := e.sim.Assign(waiting.ID, sim.SecondAgentID); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ResolveCase(ctx, waiting.ID)
	if ve := vendorErr(t, err); cubu.ErrorCode(err) != cubu.CodeAssignedToAnotherUser || ve.Retryable {
		t.Errorf("assigned: %+v", ve)
	}

	// A Waiting case nobody serves can be resolved (then lockedBy stays empty).
	free, _ := e.sim.QueueUp(sim.NewCase{})
	if _, err := e.client.ResolveCase(ctx, free.ID); err != nil {
		t.Errorf("resolve a Waiting case: %v", err)
	}

	_, err = e.client.ResolveCase(ctx, "00000000-0000-4000-8000-000000000000")
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusNotFound || ve.Retryable || !vendorapi.IsNotFound(err) {
		t.Errorf("unknown case: %+v", ve)
	}
	_, err = e.client.ResolveCaseAs(ctx, "00000000-0000-4000-8000-000000000001", free.ID)
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusNotFound || !strings.Contains(ve.Message, "not found") {
		t.Errorf("unknown agent: %+v", ve)
	}
	if _, err := e.client.ResolveCaseAs(ctx, "", free.ID); vendorErr(t, err).Code != "invalid_argument" {
		t.Errorf("empty agent: %v", err)
	}
}

func TestQueueUpCase(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	q, err := e.client.QueueUpCase(ctx, sim.DefaultServiceID, cubu.QueueUp{ServiceTypeID: sim.DefaultServiceTypeHousekeeping,
		Channel: cubu.ChannelPhone, Locale: "fr", Fields: map[string]string{sim.FieldDescription: "Towels"}})
	if err != nil || !cubu.IsGUID(q.CaseID) || q.Status != "Waiting" || q.Ticket.String() == "" {
		t.Fatalf("QueueUpCase = %+v, %v", q, err)
	}
	c, ok := e.sim.Case(q.CaseID)
	if !ok || c.ServiceTypeID != sim.DefaultServiceTypeHousekeeping || c.Channel != "Phone" || c.Language != "fr" ||
		c.Fields[sim.FieldDescription] != "Towels" || c.History[0].By != "s2s" {
		t.Fatalf("sim case = %+v", c)
	}
	_, err = e.client.QueueUpCase(ctx, sim.DefaultServiceID, cubu.QueueUp{ServiceTypeID: "nope", Channel: cubu.ChannelPhone})
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusBadRequest || ve.Retryable || ve.Kind() != "Validation" {
		t.Errorf("bad service type: %+v", ve)
	}
	_, err = e.client.QueueUpCase(ctx, "00000000-0000-4000-8000-000000000000", cubu.QueueUp{ServiceTypeID: "x", Channel: cubu.ChannelPhone})
	if !vendorapi.IsNotFound(err) {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := e.client.QueueUpCase(ctx, sim.DefaultServiceID, cubu.QueueUp{}); vendorErr(t, err).Code != "invalid_argument" {
		t.Errorf("empty input: %v", err)
	}
	if st := e.sim.Stats(); st.Ops["queueUp"] != 3 {
		t.Errorf("queueUp calls = %d (client-side validation must not call)", st.Ops["queueUp"])
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t, sim.Options{Roles: []string{sim.RoleCaseManager}})
	c := activeCase(t, e, sim.DefaultAgentID)
	_, err := e.client.ResolveCase(context.Background(), c.ID)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != http.StatusForbidden || ve.Retryable || ve.Kind() != "Auth" || !strings.Contains(ve.Message, sim.RoleAgentImpersonator) {
		t.Fatalf("missing role: %+v", ve)
	}
	if st := e.sim.Stats(); st.Forbidden != 1 || st.TokensIssued != 1 {
		t.Fatalf("a 403 must not refresh the token: %+v", st)
	}
}

func TestApplicationIDInBaseURL(t *testing.T) {
	// Operators paste the documented ".../<applicationId>/": it must not be doubled.
	e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.BaseURL += "/" + sim.DefaultApplicationID + "/" })
	if _, err := e.client.ActiveCases(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.ApplicationID = "11111111-2222-4333-8444-555555555555" })
	_, err := e2.client.ActiveCases(context.Background(), "")
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusNotFound {
		t.Fatalf("wrong application: %+v", ve)
	}
}

// ---- tokens ----

func TestTokenCachedAndShared(t *testing.T) {
	e := newEnv(t, sim.Options{})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 16 {
		wg.Go(func() {
			if _, err := e.client.ActiveCases(context.Background(), ""); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if st := e.sim.Stats(); failed.Load() != 0 || st.TokenRequests != 1 || st.APICalls != 16 {
		t.Fatalf("failed %d, stats %+v", failed.Load(), st)
	}
}

// TestTokenExpiryRefreshesOnce: the simulator's clock passes expires_in while the client still
// holds the token; the 401 makes it fetch a new one and retry exactly once.
func TestTokenExpiryRefreshesOnce(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	if _, err := e.client.ActiveCases(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if _, err := e.client.ActiveCases(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 1 || st.Ops["activeCases"] != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTokenRevoked(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	e.client.ActiveCases(ctx, "")
	e.sim.SetFaults(sim.Faults{RevokeTokens: true})
	if e.sim.Faults().RevokeTokens {
		t.Error("RevokeTokens must read back false")
	}
	if _, err := e.client.ActiveCases(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestTokenAlwaysRejected: a second 401 in a row is an auth problem, not retried further.
func TestTokenAlwaysRejected(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{TokenRevokeRate: 1}})
	_, err := e.client.ActiveCases(context.Background(), "")
	ve := vendorErr(t, err)
	if ve.HTTPStatus != http.StatusUnauthorized || ve.Retryable || ve.Kind() != "Auth" {
		t.Fatalf("err = %+v", ve)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong secret", func(t *testing.T) {
		e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.ClientSecret = "wrong" })
		err := e.client.CheckCredentials(ctx)
		ve := vendorErr(t, err)
		if ve.HTTPStatus != http.StatusBadRequest || ve.Code != "invalid_client" || ve.Retryable ||
			!strings.HasPrefix(ve.Message, "AADSTS7000215") || strings.Contains(ve.Message, "Trace ID") {
			t.Fatalf("err = %+v", ve)
		}
		if _, err := e.client.ActiveCases(ctx, ""); err == nil || e.sim.Stats().APICalls != 0 {
			t.Fatal("an API call went out without a token")
		}
	})
	t.Run("expired secret", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{SecretExpired: true}})
		ve := vendorErr(t, e.client.CheckCredentials(ctx))
		if ve.Code != "invalid_client" || ve.Retryable || !strings.Contains(ve.Message, "7000222") {
			t.Fatalf("err = %+v", ve)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.ClientID = "someone-else" })
		if ve := vendorErr(t, e.client.CheckCredentials(ctx)); ve.Code != "unauthorized_client" || ve.Retryable {
			t.Fatalf("err = %+v", ve)
		}
	})
	t.Run("wrong scope", func(t *testing.T) {
		e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.Scope = "https://graph.microsoft.com/.default" })
		if ve := vendorErr(t, e.client.CheckCredentials(ctx)); ve.Code != "invalid_scope" || ve.Retryable {
			t.Fatalf("err = %+v", ve)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.TokenURL = strings.Replace(c.TokenURL, sim.DefaultTenantID, "other", 1) })
		if ve := vendorErr(t, e.client.CheckCredentials(ctx)); ve.Code != "invalid_request" || !strings.Contains(ve.Message, "90002") {
			t.Fatalf("err = %+v", ve)
		}
	})
	t.Run("outage is retryable", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{TokenOutage: 1}})
		ve := vendorErr(t, e.client.CheckCredentials(ctx))
		if ve.HTTPStatus != http.StatusServiceUnavailable || !ve.Retryable || ve.Code != "temporarily_unavailable" {
			t.Fatalf("err = %+v", ve)
		}
		if err := e.client.CheckCredentials(ctx); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	})
}

// ---- faults ----

func TestFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx is retryable and commits nothing", func(t *testing.T) {
		e := newEnv(t, sim.Options{Seed: 7})
		c := activeCase(t, e, sim.DefaultAgentID)
		e.sim.SetFaults(sim.Faults{ErrorRate: 1})
		_, err := e.client.ResolveCase(ctx, c.ID)
		if ve := vendorErr(t, err); ve.HTTPStatus < 500 || !ve.Retryable || ve.Kind() != "Unavailable" {
			t.Fatalf("err = %+v", ve)
		}
		if got, _ := e.sim.Case(c.ID); got.Status != sim.StatusActive {
			t.Fatalf("a failed call changed the case: %s", got.Status)
		}
		e.sim.SetFaults(sim.Faults{})
		if _, err := e.client.ResolveCase(ctx, c.ID); err != nil {
			t.Fatalf("retry: %v", err)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{RateLimitBurst: 2, RetryAfterSeconds: 3}})
		for range 2 {
			_, err := e.client.ActiveCases(ctx, "")
			if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusTooManyRequests || !ve.Retryable || ve.RetryAfter != 3*time.Second || ve.Kind() != "RateLimited" {
				t.Fatalf("err = %+v", ve)
			}
		}
		if _, err := e.client.ActiveCases(ctx, ""); err != nil {
			t.Fatalf("after the burst: %v", err)
		}
		if st := e.sim.Stats(); st.RateLimited != 2 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("maintenance page", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{Maintenance: 1, RetryAfterSeconds: 30}})
		_, err := e.client.ActiveCases(ctx, "")
		ve := vendorErr(t, err)
		if ve.HTTPStatus != http.StatusServiceUnavailable || !ve.Retryable || ve.Code != "not_json" ||
			ve.RetryAfter != 30*time.Second || !strings.Contains(ve.Message, `"Service Unavailable"`) {
			t.Fatalf("err = %+v", ve)
		}
	})
	t.Run("HTML sign-in page with 200", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{HTMLOn200: 1}})
		c := activeCase(t, e, sim.DefaultAgentID)
		_, err := e.client.ResolveCase(ctx, c.ID)
		ve := vendorErr(t, err)
		if ve.HTTPStatus != http.StatusOK || !ve.Retryable || ve.Code != "not_json" || !strings.Contains(ve.Message, "Sign in to your account") {
			t.Fatalf("err = %+v", ve)
		}
		if _, err := e.client.ResolveCase(ctx, c.ID); err != nil {
			t.Fatalf("retry: %v", err)
		}
	})
	t.Run("latency past the timeout", func(t *testing.T) {
		e := newEnv(t, sim.Options{}, func(c *cubu.Config) { c.Timeout = 100 * time.Millisecond })
		e.sim.SetFaults(sim.Faults{Latency: 400 * time.Millisecond})
		start := time.Now()
		err := e.client.CheckCredentials(ctx)
		if ve := vendorErr(t, err); ve.HTTPStatus != 0 || !ve.Retryable || ve.Kind() != "Transport" || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %+v after %v", ve, time.Since(start))
		}
	})
	t.Run("latency within the timeout", func(t *testing.T) {
		e := newEnv(t, sim.Options{Faults: sim.Faults{Latency: 50 * time.Millisecond}})
		start := time.Now()
		if _, err := e.client.ActiveCases(ctx, ""); err != nil || time.Since(start) < 100*time.Millisecond {
			t.Fatalf("err %v after %v (token + call each delayed)", err, time.Since(start))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		e := newEnv(t, sim.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := e.client.ActiveCases(cctx, "")
		if vendorapi.IsRetryable(err) {
			t.Fatalf("a cancelled call must not be retried: %v", err)
		}
	})
}
