package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
)

// validFile has one connection per kind pair so every per-kind rule has something to break.
func validFile() *File {
	return &File{
		Tenants: []Tenant{
			{ID: "acme", Name: "Acme", APIKeys: []string{apiKey}},
			{ID: "city-1", APIKeys: []string{"ts_live_fedcba9876543210"}},
		},
		Connections: []Connection{
			{ID: "portal-twh", Tenant: "acme",
				RequestSystem: RequestSystem{Kind: "portal", URL: "https://portal.example/h", Secret: goodSecret},
				WorkSystem:    WorkSystem{Kind: "theworxhub", BaseURL: "https://twh.example", ClientID: "id", ClientSecret: "s", WebhookSecret: "w"},
				PollInterval:  Duration{time.Minute}},
			{ID: "scf-cw", Tenant: "city-1",
				RequestSystem: RequestSystem{Kind: "seeclickfix", BaseURL: "https://scf.example", OrganizationID: 123, Username: "u", Password: "p", PollInterval: Duration{time.Minute}},
				WorkSystem:    WorkSystem{Kind: "cityworks", BaseURL: "https://city.example/cityworks", Version: "23", LoginName: "l", Password: "p"},
				Mapping:       "theworxhub-v1"}, // cityworks has no built-in mapping yet; tests below replace this
			{ID: "cubu-twh", Tenant: "acme",
				RequestSystem: RequestSystem{Kind: "cubu", HMACSecrets: []string{"a", "b"},
					S2S: &CubuS2S{BaseURL: "https://s2s.example", TenantID: "t", ClientID: "c", ClientSecret: "s"}},
				WorkSystem: WorkSystem{Kind: "theworxhub", BaseURL: "http://twh.internal:8080", ClientID: "id", ClientSecret: "s", WebhookSecret: "w"}},
			{ID: "cyprexx-pruvan", Tenant: "acme",
				RequestSystem: RequestSystem{Kind: "cyprexx", BaseURL: "https://cyprexx.example", APIToken: "t"},
				WorkSystem:    WorkSystem{Kind: "pruvan", BaseURL: "https://pruvan.example", Username: "u", Password: "p"}},
		},
	}
}

func TestValidateRules(t *testing.T) {
	// The seed file is valid except for the mapping of the cityworks / pruvan connections, which
	// only exist once their mapping tables ship; detect which kinds have one today.
	base := validFile()
	known := map[string]bool{}
	for _, k := range WorkKinds {
		_, err := mapping.Latest(k)
		known[k] = err == nil
	}
	ignoreMapping := func(ps Problems) Problems {
		var out Problems
		for _, p := range ps {
			if !strings.HasSuffix(p.Field, ".mapping") || strings.HasPrefix(p.Field, "connections[0]") {
				out = append(out, p)
			}
		}
		return out
	}
	if err := base.Validate(); err != nil {
		if rest := ignoreMapping(err.(Problems)); len(rest) != 0 {
			t.Fatalf("seed file invalid: %v", rest)
		}
	}

	cases := []struct {
		name  string
		mut   func(f *File)
		field string
		msg   string
	}{
		{"tenant id required", func(f *File) { f.Tenants[0].ID = "" }, "tenants[0].id", "required"},
		{"tenant id charset", func(f *File) { f.Tenants[1].ID = "City_1" }, "tenants[1].id", "lower-case"},
		{"tenant id length", func(f *File) { f.Tenants[1].ID = strings.Repeat("a", 64) }, "tenants[1].id", "longer than 63"},
		{"tenant id unique", func(f *File) { f.Tenants[1].ID = "acme" }, "tenants[1].id", "duplicate"},
		{"api key empty", func(f *File) { f.Tenants[0].APIKeys = []string{" "} }, "tenants[0].apiKeys[0]", "empty"},
		{"api key short", func(f *File) { f.Tenants[0].APIKeys = []string{"short-key"} }, "tenants[0].apiKeys[0]", "at least 16"},
		{"api key unique across tenants", func(f *File) { f.Tenants[1].APIKeys = []string{apiKey} }, "tenants[1].apiKeys[0]", "duplicates tenants[0].apiKeys[0]"},
		{"connection id charset", func(f *File) { f.Connections[0].ID = "Portal TWH" }, "connections[0].id", "lower-case"},
		{"connection id unique", func(f *File) { f.Connections[3].ID = "portal-twh" }, "connections[3].id", "duplicate"},
		{"connection tenant required", func(f *File) { f.Connections[0].Tenant = "" }, "connections[0].tenant", "required"},
		{"retry cap too short", func(f *File) { f.Connections[0].RequestSystem.RetryMaxInterval = Duration{time.Second} }, "connections[0].requestSystem.retryMaxInterval", "from 10s to 1h"},
		{"retry cap too long", func(f *File) { f.Connections[0].RequestSystem.RetryMaxInterval = Duration{2 * time.Hour} }, "connections[0].requestSystem.retryMaxInterval", "from 10s to 1h"},
		{"connection tenant defined", func(f *File) { f.Connections[0].Tenant = "nobody" }, "connections[0].tenant", "not defined"},
		{"request kind required", func(f *File) { f.Connections[0].RequestSystem.Kind = "" }, "connections[0].requestSystem.kind", "required"},
		{"request kind known", func(f *File) { f.Connections[0].RequestSystem.Kind = "zendesk" }, "connections[0].requestSystem.kind", "portal, seeclickfix, cubu, cyprexx"},
		{"work kind known", func(f *File) { f.Connections[0].WorkSystem.Kind = "jira" }, "connections[0].workSystem.kind", "theworxhub, cityworks, pruvan"},
		{"portal url required", func(f *File) { f.Connections[0].RequestSystem.URL = "" }, "connections[0].requestSystem.url", "required"},
		{"portal url https", func(f *File) { f.Connections[0].RequestSystem.URL = "http://portal.example/h" }, "connections[0].requestSystem.url", "https"},
		{"portal secret required", func(f *File) { f.Connections[0].RequestSystem.Secret = "" }, "connections[0].requestSystem.secret", "required"},
		{"portal secret prefix", func(f *File) { f.Connections[0].RequestSystem.Secret = "dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI=" }, "connections[0].requestSystem.secret", `"whsec_"`},
		{"portal secret length", func(f *File) { f.Connections[0].RequestSystem.Secret = "whsec_c2hvcnQ=" }, "connections[0].requestSystem.secret", "24 to 64"},
		{"portal rotation secret", func(f *File) { f.Connections[0].RequestSystem.Secrets = []string{goodSecret, "whsec_???"} }, "connections[0].requestSystem.secrets[1]", "base64"},
		{"request pollInterval", func(f *File) { f.Connections[1].RequestSystem.PollInterval = Duration{time.Millisecond} }, "connections[1].requestSystem.pollInterval", "at least 1s"},
		{"twh baseUrl", func(f *File) { f.Connections[0].WorkSystem.BaseURL = "twh.example" }, "connections[0].workSystem.baseUrl", "http(s) URL"},
		{"twh clientId", func(f *File) { f.Connections[0].WorkSystem.ClientID = "" }, "connections[0].workSystem.clientId", "required"},
		{"twh clientSecret", func(f *File) { f.Connections[0].WorkSystem.ClientSecret = "" }, "connections[0].workSystem.clientSecret", "required"},
		{"twh webhookSecret (TWH signs its pushes)", func(f *File) { f.Connections[0].WorkSystem.WebhookSecret = " " }, "connections[0].workSystem.webhookSecret", "required"},
		{"negative rateLimit", func(f *File) { f.Connections[0].WorkSystem.RateLimit = -1 }, "connections[0].workSystem.rateLimit", "negative"},
		{"scf baseUrl", func(f *File) { f.Connections[1].RequestSystem.BaseURL = "" }, "connections[1].requestSystem.baseUrl", "required"},
		{"scf organizationId", func(f *File) { f.Connections[1].RequestSystem.OrganizationID = 0 }, "connections[1].requestSystem.organizationId", "required"},
		{"scf password with username", func(f *File) { f.Connections[1].RequestSystem.Password = "" }, "connections[1].requestSystem.password", "required with username"},
		{"scf some credentials", func(f *File) {
			f.Connections[1].RequestSystem.Username, f.Connections[1].RequestSystem.Password = "", ""
		}, "connections[1].requestSystem.username", "or token"},
		{"cityworks baseUrl", func(f *File) { f.Connections[1].WorkSystem.BaseURL = "ftp://x" }, "connections[1].workSystem.baseUrl", "http(s)"},
		{"cityworks version", func(f *File) { f.Connections[1].WorkSystem.Version = "2019" }, "connections[1].workSystem.version", "2013, 2015, 15, 23"},
		{"cityworks loginName", func(f *File) { f.Connections[1].WorkSystem.LoginName = "" }, "connections[1].workSystem.loginName", "required"},
		{"cityworks password", func(f *File) { f.Connections[1].WorkSystem.Password = "" }, "connections[1].workSystem.password", "required"},
		{"cubu hmacSecrets", func(f *File) { f.Connections[2].RequestSystem.HMACSecrets = nil }, "connections[2].requestSystem.hmacSecrets", "required"},
		{"cubu empty hmac secret", func(f *File) { f.Connections[2].RequestSystem.HMACSecrets = []string{"a", ""} }, "connections[2].requestSystem.hmacSecrets[1]", "empty"},
		{"cubu s2s clientSecret", func(f *File) { f.Connections[2].RequestSystem.S2S.ClientSecret = "" }, "connections[2].requestSystem.s2s.clientSecret", "required"},
		{"cubu s2s tokenUrl", func(f *File) { f.Connections[2].RequestSystem.S2S.TokenURL = "http://login.example/t" }, "connections[2].requestSystem.s2s.tokenUrl", "https"},
		{"cyprexx baseUrl", func(f *File) { f.Connections[3].RequestSystem.BaseURL = "" }, "connections[3].requestSystem.baseUrl", "required"},
		{"cyprexx apiToken", func(f *File) { f.Connections[3].RequestSystem.APIToken = "" }, "connections[3].requestSystem.apiToken", "required"},
		{"pruvan baseUrl", func(f *File) { f.Connections[3].WorkSystem.BaseURL = "" }, "connections[3].workSystem.baseUrl", "required"},
		{"pruvan username", func(f *File) { f.Connections[3].WorkSystem.Username = "" }, "connections[3].workSystem.username", "required"},
		{"pruvan password", func(f *File) { f.Connections[3].WorkSystem.Password = "" }, "connections[3].workSystem.password", "required"},
		{"mapping unknown", func(f *File) { f.Connections[0].Mapping = "theworxhub-v99" }, "connections[0].mapping", "unknown status mapping"},
		{"connection pollInterval", func(f *File) { f.Connections[0].PollInterval = Duration{500 * time.Millisecond} }, "connections[0].pollInterval", "at least 1s"},
		{"negative pollInterval", func(f *File) { f.Connections[0].PollInterval = Duration{-time.Minute} }, "connections[0].pollInterval", "at least 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := validFile()
			tc.mut(f)
			err := f.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			p, ok := find(err.(Problems), tc.field)
			if !ok || !strings.Contains(p.Message, tc.msg) {
				t.Fatalf("want %s: …%s…, got:\n%v", tc.field, tc.msg, err)
			}
		})
	}

	// Mapping kind mismatch: a theworxhub mapping on a cityworks connection.
	f := validFile()
	p, ok := find(f.Validate().(Problems), "connections[1].mapping")
	if !ok || !strings.Contains(p.Message, "reads theworxhub statuses, but the work system is cityworks") {
		t.Fatalf("mapping mismatch: %+v", p)
	}
	// No mapping named and none built in for the kind: explained, not guessed.
	f.Connections[1].Mapping = ""
	var probs Problems
	if err := f.Validate(); err != nil {
		probs = err.(Problems)
	}
	p, ok = find(probs, "connections[1].mapping")
	if known["cityworks"] {
		if ok {
			t.Fatalf("unexpected %+v", p)
		}
	} else if !ok || !strings.Contains(p.Message, "no built-in status mapping") {
		t.Fatalf("missing mapping: %+v", p)
	}

	// Loopback http is fine for a portal (development).
	f = validFile()
	for _, u := range []string{"http://localhost:9000/h", "http://127.0.0.1/h", "http://[::1]:8/h"} {
		f.Connections[0].RequestSystem.URL = u
		if err := f.Validate(); err != nil {
			if _, bad := find(err.(Problems), "connections[0].requestSystem.url"); bad {
				t.Errorf("%s refused", u)
			}
		}
	}
	// Token instead of username/password for SeeClickFix.
	f = validFile()
	f.Connections[1].RequestSystem.Username, f.Connections[1].RequestSystem.Password, f.Connections[1].RequestSystem.Token = "", "", "tok"
	if err := f.Validate(); err != nil && strings.Contains(err.Error(), "requestSystem.username") {
		t.Errorf("token not accepted: %v", err)
	}
}

func TestManyProblemsTogether(t *testing.T) {
	y := `tenants:
  - id: Acme
    apiKeys: [short]
  - id: Acme
connections:
  - id: c1
    tenant: nobody
    requestSystem: {kind: portal, url: "http://portal.example", secret: "whsec_c2hvcnQ="}
    workSystem: {kind: cityworks, baseUrl: "https://c.example", version: "2019"}
    pollInterval: 100ms
  - id: c1
    tenant: Acme
    requestSystem: {kind: fax}
    workSystem: {kind: theworxhub}
`
	_, err := Parse([]byte(y), env(nil))
	ps := problems(t, err)
	want := []string{
		"tenants[0].id", "tenants[0].apiKeys[0]", "tenants[1].id",
		"connections[0].tenant", "connections[0].requestSystem.url", "connections[0].requestSystem.secret",
		"connections[0].workSystem.version", "connections[0].workSystem.loginName", "connections[0].workSystem.password",
		"connections[0].pollInterval", "connections[1].id", "connections[1].requestSystem.kind",
		"connections[1].workSystem.baseUrl", "connections[1].workSystem.clientId", "connections[1].workSystem.clientSecret",
	}
	for _, w := range want {
		if !ps.Has(w) {
			t.Errorf("missing problem for %s", w)
		}
	}
	if lines := strings.Count(err.Error(), "\n"); lines != len(ps) {
		t.Errorf("%d problems on %d lines", len(ps), lines)
	}
	if p, _ := find(ps, "connections[0].pollInterval"); p.Line != 10 {
		t.Errorf("pollInterval line = %d", p.Line)
	}
	if p, _ := find(ps, "connections[1].workSystem.clientId"); p.Line != 14 {
		t.Errorf("missing key reported at its parent's line, got %d", p.Line)
	}
	t.Log(err)
}

func TestWarnings(t *testing.T) {
	f := validFile()
	f.Tenants = append(f.Tenants, Tenant{ID: "lonely"})
	ws := f.Warnings()
	if len(ws) != 2 || ws[0].Field != "tenants[2].apiKeys" || !strings.Contains(ws[1].Message, "no connections") {
		t.Fatalf("%v", ws)
	}
	if err := f.Validate(); err != nil && strings.Contains(err.Error(), "tenants[2]") {
		t.Fatalf("a tenant without keys is allowed: %v", err)
	}
}
