package arcgis_test

// Contract tests: the real client against the simulator over real HTTP. No canned responses.

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/arcgis"
	"github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
)

// Sacramento is the contract's fixture point; the query lands about 30 m away from it.
const sacX, sacY = -121.493318337979, 38.581538437996

var queryX, queryY = sacX + 0.0003, sacY + 0.0001

type env struct {
	sim    *sim.Server
	srv    *httptest.Server
	client *arcgis.Client
}

func newEnv(t *testing.T, opts sim.Options, tweak ...func(*arcgis.Config)) *env {
	t.Helper()
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := arcgis.Config{ServiceURL: srv.URL + "/arcgis/rest/services/Composite_Locator/GeocodeServer",
		Timeout: 2 * time.Second, RetryDelay: time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := arcgis.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c}
}

func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || ve.Vendor != arcgis.Vendor {
		t.Fatalf("want an arcgis *vendorapi.Error, got %T %v", err, err)
	}
	return ve
}

func TestWorldLocator(t *testing.T) {
	e := newEnv(t, sim.Options{})
	res, err := e.client.ReverseGeocode(context.Background(), queryX, queryY)
	if err != nil || !res.Found {
		t.Fatalf("ReverseGeocode = %+v, %v", res, err)
	}
	a := res.Address
	if a.Match != "967 I St, Sacramento, California, 95814" || a.Street != "967 I St" || a.City != "Sacramento" ||
		a.State != "California" || a.Zip != "95814" || a.Fields["CountryCode"] != "USA" || a.Fields["Block"] != "" {
		t.Fatalf("address = %+v", a)
	}
	// The matched address point, not the input point, in WGS84.
	if res.Location.X != sacX || res.Location.Y != sacY || res.Location.WKID != 4326 {
		t.Fatalf("location = %+v", res.Location)
	}
	if st := e.sim.Stats(); st.Calls["reverseGeocode"] != 1 || st.Matches != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestProLocatorAndEmptyFields(t *testing.T) {
	e := newEnv(t, sim.Options{Locator: sim.LocatorPro})
	res, err := e.client.ReverseGeocode(context.Background(), queryX, queryY)
	if err != nil || !res.Found || res.Address.Street != "967 I St" || res.Address.State != "CA" || res.Address.Zip != "95814" ||
		res.Address.Match != "967 I St, Sacramento, CA, 95814" || res.Address.Fields["Loc_name"] != "Composite" {
		t.Fatalf("pro locator = %+v, %v", res, err)
	}
	// An intersection without a postal code: empty strings, not missing data errors.
	w := newEnv(t, sim.Options{})
	res, err = w.client.ReverseGeocode(context.Background(), -87.62405, 41.88425)
	if err != nil || !res.Found || res.Address.Zip != "" || res.Address.Street != "E Randolph St & N Michigan Ave" ||
		res.Address.Fields["Addr_type"] != "StreetInt" {
		t.Fatalf("intersection = %+v, %v", res, err)
	}
}

// No address within the distance is not an error.
func TestNoMatch(t *testing.T) {
	e := newEnv(t, sim.Options{})
	res, err := e.client.ReverseGeocode(context.Background(), -100, 45)
	if err != nil || res.Found {
		t.Fatalf("far away = %+v, %v", res, err)
	}
	short := newEnv(t, sim.Options{}, func(c *arcgis.Config) { c.Distance = 10 })
	if res, err := short.client.ReverseGeocode(context.Background(), queryX, queryY); err != nil || res.Found {
		t.Fatalf("30 m away with distance 10 = %+v, %v", res, err)
	}
	if st := e.sim.Stats(); st.NoMatches != 1 || st.Calls["reverseGeocode"] != 1 {
		t.Fatalf("a no-match must not be retried: %+v", st)
	}
}

func TestConfiguredAddressAndAnyLocation(t *testing.T) {
	e := newEnv(t, sim.Options{Empty: true})
	ctx := context.Background()
	if res, _ := e.client.ReverseGeocode(ctx, -72.92, 41.31); res.Found {
		t.Fatal("no places configured: must not match")
	}
	e.sim.AddPlace(sim.Place{X: -72.9200, Y: 41.3100, AddNum: "165", StreetName: "Church St", City: "New Haven",
		Region: "Connecticut", RegionAbbr: "CT", Postal: "06510"})
	res, err := e.client.ReverseGeocode(ctx, -72.92, 41.31)
	if err != nil || res.Address.Match != "165 Church St, New Haven, Connecticut, 06510" {
		t.Fatalf("configured place = %+v, %v", res, err)
	}
	anyLoc := newEnv(t, sim.Options{Empty: true, AnyLocation: true})
	a, err := anyLoc.client.ReverseGeocode(ctx, 10, 50)
	b, _ := anyLoc.client.ReverseGeocode(ctx, 10, 50)
	if err != nil || !a.Found || !strings.HasSuffix(a.Address.Street, "Simulated Way") || a.Address.Street != b.Address.Street {
		t.Fatalf("any location = %+v, %v", a, err)
	}
}

// Errors inside HTTP 200 bodies: 500 is retried, 403 and 400 are not.
func TestErrorBodies(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	e.sim.SetFaults(sim.Faults{ErrorBody: 1})
	if res, err := e.client.ReverseGeocode(ctx, queryX, queryY); err != nil || !res.Found {
		t.Fatalf("one 500 body is retried: %+v, %v", res, err)
	}
	e.sim.SetFaults(sim.Faults{ErrorBody: 5})
	_, err := e.client.ReverseGeocode(ctx, queryX, queryY)
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Unavailable" || arcgis.ErrorCode(err) != 500 ||
		!strings.Contains(ve.Message, "Unable to complete operation.") {
		t.Fatalf("persistent 500: %+v", ve)
	}
	if n := e.sim.Stats().Calls["reverseGeocode"]; n != 2+3 {
		t.Fatalf("calls = %d; want 1 try and 2 retries", n)
	}
	for name, tc := range map[string]struct {
		f    sim.Faults
		code int
		kind string
	}{
		"forbidden":   {sim.Faults{Forbidden: 1}, 403, "Auth"},
		"bad request": {sim.Faults{BadRequest: 1}, 400, "Validation"},
	} {
		e.sim.Reset()
		e.sim.SetFaults(tc.f)
		_, err := e.client.ReverseGeocode(ctx, queryX, queryY)
		if ve := vendorErr(t, err); ve.Retryable || ve.Kind() != tc.kind || arcgis.ErrorCode(err) != tc.code {
			t.Errorf("%s: %+v", name, ve)
		}
		if n := e.sim.Stats().Calls["reverseGeocode"]; n != 1 {
			t.Errorf("%s: %d calls; non-retryable errors are not retried", name, n)
		}
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	missing := newEnv(t, sim.Options{Secured: true})
	_, err := missing.client.ReverseGeocode(ctx, queryX, queryY)
	if ve := vendorErr(t, err); ve.Retryable || ve.Kind() != "Auth" || arcgis.ErrorCode(err) != 499 {
		t.Fatalf("no token: %+v", ve)
	}

	apiKey := newEnv(t, sim.Options{Secured: true, Tokens: []string{"key-1"}}, func(c *arcgis.Config) { c.Token = "key-1" })
	if res, err := apiKey.client.ReverseGeocode(ctx, queryX, queryY); err != nil || !res.Found {
		t.Fatalf("API key: %+v, %v", res, err)
	}

	// A static token that expired: nothing to refresh, a non-retryable Auth error after one call.
	s := sim.New(sim.Options{Secured: true})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	tok, _ := s.IssueToken()
	static, _ := arcgis.New(arcgis.Config{ServiceURL: srv.URL + "/arcgis/rest/services/L/GeocodeServer/reverseGeocode", Token: tok})
	if res, err := static.ReverseGeocode(ctx, queryX, queryY); err != nil || !res.Found {
		t.Fatalf("fresh static token: %+v, %v", res, err)
	}
	s.ExpireTokens()
	_, err = static.ReverseGeocode(ctx, queryX, queryY)
	if ve := vendorErr(t, err); ve.Retryable || ve.Kind() != "Auth" || arcgis.ErrorCode(err) != 498 {
		t.Fatalf("expired static token: %+v", ve)
	}

	// With a token source: 498 → one new token → success.
	var fetched atomic.Int32
	refreshing, _ := arcgis.New(arcgis.Config{ServiceURL: srv.URL + "/arcgis/rest/services/L/GeocodeServer",
		TokenFunc: func(context.Context) (string, error) { fetched.Add(1); tok, _ := s.IssueToken(); return tok, nil }})
	if _, err := refreshing.ReverseGeocode(ctx, queryX, queryY); err != nil || fetched.Load() != 1 {
		t.Fatalf("first call: %v, %d fetches", err, fetched.Load())
	}
	s.SetFaults(sim.Faults{ExpireTokens: true})
	if res, err := refreshing.ReverseGeocode(ctx, queryX, queryY); err != nil || !res.Found || fetched.Load() != 2 {
		t.Fatalf("after expiry: %+v, %v, %d fetches", res, err, fetched.Load())
	}
	if st := s.Stats(); st.InvalidToken != 2 { // the static client's and this one's
		t.Fatalf("stats = %+v", st)
	}

	// A source that keeps handing out dead tokens: one refresh, then Auth.
	dead := "not-a-token"
	stale, _ := arcgis.New(arcgis.Config{ServiceURL: srv.URL + "/arcgis/rest/services/L/GeocodeServer",
		TokenFunc: func(context.Context) (string, error) { fetched.Add(1); return dead, nil }})
	fetched.Store(0)
	_, err = stale.ReverseGeocode(ctx, queryX, queryY)
	if ve := vendorErr(t, err); ve.Retryable || arcgis.ErrorCode(err) != 498 || fetched.Load() != 2 {
		t.Fatalf("dead tokens: %+v, %d fetches", ve, fetched.Load())
	}
	failing, _ := arcgis.New(arcgis.Config{ServiceURL: srv.URL + "/arcgis/rest/services/L/GeocodeServer",
		TokenFunc: func(context.Context) (string, error) { return "", errors.New("portal down") }})
	if _, err := failing.ReverseGeocode(ctx, queryX, queryY); !strings.Contains(err.Error(), "portal down") {
		t.Fatalf("token source failure: %v", err)
	}
}

// HTML pages, IIS errors, throttling, resets and timeouts are retried; a persistent one is
// a retryable error for the caller (who falls back to the reporter's address).
func TestTransientFailures(t *testing.T) {
	ctx := context.Background()
	for name, f := range map[string]sim.Faults{
		"html on 200": {HTMLOn200: 1},
		"IIS 500":     {ServerErrors: 1},
		"IIS 503":     {Unavailable: 2},
		"reset":       {ConnectionReset: 1},
	} {
		e := newEnv(t, sim.Options{Faults: f})
		if res, err := e.client.ReverseGeocode(ctx, queryX, queryY); err != nil || !res.Found {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
	}
	for name, tc := range map[string]struct {
		f          sim.Faults
		kind, code string
	}{
		"html on 200": {sim.Faults{HTMLOn200: 3}, "Vendor", "not_json"},
		"IIS 503":     {sim.Faults{Unavailable: 3}, "Unavailable", "http_error"},
	} {
		e := newEnv(t, sim.Options{Faults: tc.f})
		_, err := e.client.ReverseGeocode(ctx, queryX, queryY)
		if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != tc.kind || ve.Code != tc.code {
			t.Errorf("%s persistent: %+v", name, ve)
		}
	}

	slow := newEnv(t, sim.Options{Faults: sim.Faults{Latency: time.Second}}, func(c *arcgis.Config) {
		c.Timeout, c.Retries = 100*time.Millisecond, 1
	})
	start := time.Now()
	_, err := slow.client.ReverseGeocode(ctx, queryX, queryY)
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("timeout: %+v after %v", ve, time.Since(start))
	}

	none := newEnv(t, sim.Options{Faults: sim.Faults{ServerErrors: 1}}, func(c *arcgis.Config) { c.Retries = -1 })
	if _, err := none.client.ReverseGeocode(ctx, queryX, queryY); vendorErr(t, err).HTTPStatus != 500 || none.sim.Stats().Calls["reverseGeocode"] != 1 {
		t.Fatalf("Retries -1 must not retry: %v", err)
	}
}

// A 429's short Retry-After is honoured between the client's own retries.
func TestRateLimitRetryAfter(t *testing.T) {
	e := newEnv(t, sim.Options{Faults: sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 1}})
	start := time.Now()
	res, err := e.client.ReverseGeocode(context.Background(), queryX, queryY)
	if err != nil || !res.Found || time.Since(start) < time.Second {
		t.Fatalf("after 429: %+v, %v, %v", res, err, time.Since(start))
	}
	e.sim.Reset()
	e.sim.SetFaults(sim.Faults{RateLimitBurst: 5, RetryAfterSeconds: 30})
	_, err = e.client.ReverseGeocode(context.Background(), queryX, queryY)
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "RateLimited" || ve.RetryAfter != 30*time.Second {
		t.Fatalf("long Retry-After is the caller's: %+v", ve)
	}
	if n := e.sim.Stats().Calls["reverseGeocode"]; n != 1 {
		t.Fatalf("a long Retry-After must not be retried at once: %d calls", n)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, u := range []string{"", "https://gis.example/arcgis/rest/services/Locator/MapServer", "http://gis.example/arcgis/rest/services/L/GeocodeServer",
		"https://gis.example/arcgis/rest/services/L/GeocodeServer?token=x"} {
		if _, err := arcgis.New(arcgis.Config{ServiceURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	for _, u := range []string{"https://gis.example/arcgis/rest/services/L/GeocodeServer/", "https://geocode.arcgis.com/arcgis/rest/services/World/GeocodeServer/reverseGeocode",
		"http://127.0.0.1:9/arcgis/rest/services/L/GeocodeServer"} {
		if _, err := arcgis.New(arcgis.Config{ServiceURL: u}); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
}
