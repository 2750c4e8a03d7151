package cubu_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
	"github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

func TestNewValidatesConfig(t *testing.T) {
	_, err := cubu.New(cubu.Config{BaseURL: "ftp://x", Timeout: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"BaseURL", "ApplicationID", "TenantID", "ClientID", "ClientSecret", "Timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %s", err, want)
		}
	}
}

func TestNewURLRules(t *testing.T) {
	ok := func(base, token string) cubu.Config {
		return cubu.Config{BaseURL: base, TokenURL: token, ApplicationID: "app", TenantID: "t", ClientID: "c", ClientSecret: "s"}
	}
	for _, tc := range []struct {
		base, token string
		good        bool
	}{
		{"https://s2s.api.app.cubu.com", "", true},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000/t/oauth2/v2.0/token", true},
		{"http://localhost:9000", "http://[::1]:9000/t/oauth2/v2.0/token", true},
		{"http://127.5.6.7", "", true},
		{"http://s2s.cubu.example", "", false},                            // plain http off loopback
		{"https://s2s.cubu.example", "http://login.example/token", false}, // token URL too
		{"https://user:pw@s2s.cubu.example", "", false},
		{"https://s2s.cubu.example?x=1", "", false},
		{"s2s.cubu.example", "", false},
	} {
		_, err := cubu.New(ok(tc.base, tc.token))
		if (err == nil) != tc.good {
			t.Errorf("base %q token %q: err = %v", tc.base, tc.token, err)
		}
	}
}

func TestDefaultTokenURL(t *testing.T) {
	if got := cubu.DefaultTokenURL("contoso.onmicrosoft.com"); got != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Fatal(got)
	}
	// Without TokenURL the tenant is required (it builds the default).
	if _, err := cubu.New(cubu.Config{BaseURL: "https://x", ApplicationID: "a", ClientID: "c", ClientSecret: "s"}); err == nil {
		t.Fatal("no tenant and no token URL accepted")
	}
}

// TestNoRedirects: a redirect could carry the bearer token or the secret elsewhere.
func TestNoRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	s := sim.New(sim.Options{})
	defer s.Close()
	real := httptest.NewServer(s)
	defer real.Close()

	cfg := simConfig(real.URL)
	cfg.BaseURL = redirector.URL // token from the simulator, API calls redirected
	c, err := cubu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ActiveCases(context.Background(), "")
	if ve := vendorErr(t, err); ve.HTTPStatus != http.StatusTemporaryRedirect || ve.Retryable {
		t.Fatalf("err = %+v", ve)
	}
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestRequestShape checks what goes on the wire: form token request with the documented
// scope, bearer, user agent, JSON body on resolve.
func TestRequestShape(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			r.ParseForm()
			seen = append(seen, r.Header.Get("Content-Type")+"|"+r.PostForm.Get("grant_type")+"|"+r.PostForm.Get("scope")+"|"+r.PostForm.Get("client_id"))
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token_type":"Bearer","expires_in":"3599","ext_expires_in":3599,"access_token":"tok"}`))
		default:
			seen = append(seen, r.Method+" "+r.URL.Path+"|"+r.Header.Get("Authorization")+"|"+r.Header.Get("User-Agent")+"|"+r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusNoContent) // an empty success is fine
		}
	}))
	defer srv.Close()
	c, err := cubu.New(cubu.Config{BaseURL: srv.URL, TokenURL: srv.URL + "/t/oauth2/v2.0/token", ApplicationID: "app 1",
		ClientID: "cid", ClientSecret: "sec", AgentUserID: "u/1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveCase(context.Background(), "case?1"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"application/x-www-form-urlencoded|client_credentials|cid/.default|cid",
		"POST /app 1/agents/u/1/cases/case?1/actions/resolve|Bearer tok|ticketsync-cubu/1|application/json",
	}
	if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("seen:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorCode(t *testing.T) {
	if cubu.ErrorCode(nil) != 0 || cubu.ErrorCode(context.Canceled) != 0 {
		t.Fatal("ErrorCode of a non-vendor error must be 0")
	}
}
