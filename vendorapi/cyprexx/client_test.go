package cyprexx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
)

func TestNewValidatesConfig(t *testing.T) {
	ok := []string{"https://cyprexx.example", "http://127.0.0.1:9000", "http://localhost:8081/prefix", "http://[::1]:80"}
	for _, u := range ok {
		if _, err := cyprexx.New(cyprexx.Config{BaseURL: u, APIToken: "t"}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	bad := map[string]cyprexx.Config{
		"plain http off loopback": {BaseURL: "http://cyprexx.example", APIToken: "t"},
		"no token":                {BaseURL: "https://cyprexx.example"},
		"credentials in URL":      {BaseURL: "https://u:p@cyprexx.example", APIToken: "t"},
		"query":                   {BaseURL: "https://cyprexx.example?x=1", APIToken: "t"},
		"no host":                 {BaseURL: "https://", APIToken: "t"},
		"ftp":                     {BaseURL: "ftp://cyprexx.example", APIToken: "t"},
		"negative timeout":        {BaseURL: "https://cyprexx.example", APIToken: "t", Timeout: -time.Second},
	}
	for name, cfg := range bad {
		if _, err := cyprexx.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Every problem is reported at once.
	_, err := cyprexx.New(cyprexx.Config{BaseURL: "http://x.example", Timeout: -1})
	if err == nil || !strings.Contains(err.Error(), "APIToken") || !strings.Contains(err.Error(), "https") || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("%v", err)
	}
}

func TestClientSendsTokenAndUserAgentAndNeverFollowsRedirects(t *testing.T) {
	var got http.Header
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, paths = r.Header.Clone(), append(paths, r.URL.Path)
		http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusFound)
	}))
	defer srv.Close()
	c, _ := cyprexx.New(cyprexx.Config{BaseURL: srv.URL, APIToken: "secret-token"})
	_, err := c.WorkOrder(context.Background(), "1")
	if err == nil || len(paths) != 1 || paths[0] != "/api/v1/workorders/1" {
		t.Fatalf("err %v paths %v", err, paths)
	}
	if got.Get("Authorization") != "Bearer secret-token" || !strings.HasPrefix(got.Get("User-Agent"), "ticketsync-cyprexx/") {
		t.Fatalf("headers %v", got)
	}
	if vendorErr(t, err).HTTPStatus != http.StatusFound {
		t.Fatalf("redirect must surface as an error: %v", err)
	}
}
