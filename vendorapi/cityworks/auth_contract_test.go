package cityworks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

var versions = []string{sim.Version2013, sim.Version2015, sim.Version15, sim.Version23}

// Token expiry mid-session on every version: Status 2 costs exactly one re-authentication and
// one repeat, for reads and for non-idempotent writes alike.
func TestTokenExpiryEachVersion(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t, sim.Options{Version: v, TokenTTL: 10 * time.Minute})
			ctx := context.Background()
			sr := e.createSR(t, "ticketsync:c:"+v)

			e.clock.Advance(11 * time.Minute) // the token's lifetime ends
			got, err := e.client.Request(ctx, sr.RequestId)
			if err != nil || got.RequestId != sr.RequestId {
				t.Fatalf("after expiry: %+v, %v", got, err)
			}
			st := e.sim.Stats()
			if st.Authentications != 2 || st.Unauthorized != 1 || st.Calls["ServiceRequest/ById"] != 2 {
				t.Fatalf("stats after expiry = %+v", st)
			}

			e.sim.ExpireTokens() // revoked before its lifetime (e.g. an IIS recycle)
			if _, err := e.client.AddRequestComment(ctx, sr.RequestId, "To crew: gate code 1234"); err != nil {
				t.Fatalf("comment after revocation: %v", err)
			}
			comments, err := e.client.RequestComments(ctx, sr.RequestId)
			if err != nil || len(comments) != 1 || comments[0].Comments != "To crew: gate code 1234" {
				t.Fatalf("the repeated comment must exist exactly once: %+v, %v", comments, err)
			}
			if st := e.sim.Stats(); st.Authentications != 3 || st.Unauthorized != 2 {
				t.Fatalf("stats after revocation = %+v", st)
			}
		})
	}
}

// The client sends the token both ways, so a connection configured with the wrong version
// still authenticates (23 reads only the header, 15.x only the form field).
func TestMisconfiguredVersionStillAuthenticates(t *testing.T) {
	for _, pair := range [][2]string{{sim.Version23, cityworks.Version15}, {sim.Version15, cityworks.Version23}} {
		e := newEnv(t, sim.Options{Version: pair[0]}, func(c *cityworks.Config) { c.Version = pair[1] })
		if _, err := e.client.Statuses(context.Background()); err != nil {
			t.Fatalf("server %s, client %s: %v", pair[0], pair[1], err)
		}
		if st := e.sim.Stats(); st.Unauthorized != 0 {
			t.Fatalf("server %s, client %s: %d unauthorized", pair[0], pair[1], st.Unauthorized)
		}
	}
}

func TestInvalidCredentialsAreAuthErrors(t *testing.T) {
	e := newEnv(t, sim.Options{}, func(c *cityworks.Config) { c.Password = "wrong" })
	_, err := e.client.Statuses(context.Background())
	ve := vendorErr(t, err)
	if ve.Retryable || ve.Kind() != "Auth" || ve.Code != "InvalidCredentials" ||
		cityworks.EnvelopeStatus(err) != cityworks.StatusInvalidCredentials || !cityworks.HasCode(err, cityworks.CodeInvalidCredentials) {
		t.Fatalf("wrong password: %+v", ve)
	}
	if st := e.sim.Stats(); st.Calls["ServiceRequest/Statuses"] != 0 {
		t.Fatal("no API call may be made without a token")
	}

	inactive := newEnv(t, sim.Options{InactiveUsers: []string{sim.DefaultLoginName}})
	err = inactive.client.Authenticate(context.Background())
	if ve := vendorErr(t, err); ve.Retryable || ve.Kind() != "Auth" || !cityworks.HasCode(err, cityworks.CodeInactiveUser) {
		t.Fatalf("inactive user: %+v", ve)
	}
}

// A token refused again right after a fresh login means authentication is broken: one
// re-authentication, then a non-retryable Auth error.
func TestPersistentUnauthorized(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{TokenExpireRate: 1}})
	_, err := e.client.Statuses(context.Background())
	ve := vendorErr(t, err)
	if ve.Retryable || ve.Kind() != "Auth" || ve.Code != "Unauthorized" || cityworks.EnvelopeStatus(err) != cityworks.StatusUnauthorized {
		t.Fatalf("persistent Status 2: %+v", ve)
	}
	if st := e.sim.Stats(); st.Authentications != 2 || st.Unauthorized != 2 {
		t.Fatalf("stats = %+v; want exactly one re-authentication", st)
	}
}

// Deployments that answer an expired session with HTML (a 302 to /Login.aspx, or a 200
// "Object moved" page) get the same single re-authentication as Status 2.
func TestSessionExpiredAsHTML(t *testing.T) {
	for _, how := range []string{sim.SessionRedirect, sim.SessionObjectMoved} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, sim.Options{ExpiredSession: how})
			sr := e.createSR(t, "ticketsync:c:html")
			e.sim.ExpireTokens()
			if _, err := e.client.Request(context.Background(), sr.RequestId); err != nil {
				t.Fatalf("after HTML session expiry: %v", err)
			}
			if st := e.sim.Stats(); st.Authentications != 2 || st.Unauthorized != 1 {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
	// The same pages injected as faults on a Status-2 deployment.
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	for _, f := range []sim.Faults{{LoginRedirect: 1}, {ObjectMoved: 1}} {
		e.sim.SetFaults(f)
		if _, err := e.client.Statuses(ctx); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
	}
	if st := e.sim.Stats(); st.Authentications != 3 || st.Unauthorized != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

// A redirect to the login page that persists after a fresh login is not retried forever.
func TestPersistentLoginRedirect(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{LoginRedirect: 2}})
	_, err := e.client.Statuses(context.Background())
	ve := vendorErr(t, err)
	if ve.Retryable || ve.HTTPStatus != 302 || ve.Code != "http_error" {
		t.Fatalf("persistent redirect: %+v", ve)
	}
}

// Config.TokenLifetime is sent as Expires (minutes) and the server honours it.
func TestTokenLifetimeIsRequested(t *testing.T) {
	e := newEnv(t, sim.Options{TokenTTL: 5 * time.Minute}, func(c *cityworks.Config) { c.TokenLifetime = 20 * time.Minute })
	ctx := context.Background()
	if _, err := e.client.Statuses(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(15 * time.Minute) // past the server default, inside the requested lifetime
	if _, err := e.client.Statuses(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.Authentications != 1 || st.Unauthorized != 0 {
		t.Fatalf("stats = %+v; the 20-minute token must still be valid", st)
	}
	if ok, err := e.client.ValidateToken(ctx); err != nil || !ok {
		t.Fatalf("Validate = %t, %v", ok, err)
	}
	e.sim.ExpireTokens()
	if ok, err := e.client.ValidateToken(ctx); err != nil || ok {
		t.Fatalf("Validate after expiry = %t, %v", ok, err)
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	e := newEnv(t, sim.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			_, err := e.client.Statuses(context.Background())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := e.sim.Stats(); st.Authentications != 1 || st.Calls["ServiceRequest/Statuses"] != 12 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]cityworks.Config{
		"no base":        {LoginName: "a", Password: "b"},
		"plain http":     {BaseURL: "http://city.example/cityworks", LoginName: "a", Password: "b"},
		"bad version":    {BaseURL: "https://city.example", Version: "9", LoginName: "a", Password: "b"},
		"no login":       {BaseURL: "https://city.example", Password: "b"},
		"bad ref field":  {BaseURL: "https://city.example", LoginName: "a", Password: "b", WOReferenceField: "Text21"},
		"query in base":  {BaseURL: "https://city.example/?x=1", LoginName: "a", Password: "b"},
		"negative value": {BaseURL: "https://city.example", LoginName: "a", Password: "b", Timeout: -1},
	} {
		if _, err := cityworks.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, base := range []string{"https://city.example/cityworks", "http://127.0.0.1:8080", "http://localhost/cw", "http://[::1]:9/"} {
		c, err := cityworks.New(cityworks.Config{BaseURL: base, LoginName: "a", Password: "b"})
		if err != nil {
			t.Errorf("%s: %v", base, err)
		} else if c.Version() != cityworks.Version23 || c.Kind() != "cityworks" {
			t.Errorf("defaults: version %q kind %q", c.Version(), c.Kind())
		}
	}
}
