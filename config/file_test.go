package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	goodSecret = "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="
	apiKey     = "ts_live_0123456789abcdef"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var designEnv = map[string]string{
	"SUNRISE_API_KEY":       apiKey,
	"PORTAL_WEBHOOK_SECRET": goodSecret,
	"TWH_CLIENT_ID":         "client-1",
	"TWH_CLIENT_SECRET":     "s3cr3t: # {not yaml}",
	"TWH_WEBHOOK_SECRET":    "hook-secret",
}

func problems(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %T: %v", err, err)
	}
	return ps
}

func find(ps Problems, field string) (Problem, bool) {
	for _, p := range ps {
		if p.Field == field {
			return p, true
		}
	}
	return Problem{}, false
}

func TestDesignExample(t *testing.T) {
	f, err := LoadFile("testdata/design-example.yaml", env(designEnv))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Tenants: []Tenant{{ID: "sunrise", Name: "Sunrise Living", APIKeys: []string{apiKey}}},
		Connections: []Connection{{
			ID: "sunrise-twh", Tenant: "sunrise",
			RequestSystem: RequestSystem{Kind: "portal", URL: "https://portal.example/hooks/ticketsync", Secret: goodSecret},
			WorkSystem: WorkSystem{Kind: "theworxhub", BaseURL: "https://twh.example", ClientID: "client-1",
				ClientSecret: "s3cr3t: # {not yaml}", WebhookSecret: "hook-secret"},
			Mapping: "theworxhub-v1", PollInterval: Duration{15 * time.Minute}, Options: map[string]any{},
		}},
	}
	f.lines, f.flagged = nil, nil
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got  %+v\nwant %+v", f, want)
	}
	c, ok := f.Connection("sunrise-twh")
	if !ok {
		t.Fatal("Connection lookup")
	}
	m, err := c.ResolvedMapping()
	if err != nil || m.Name != "theworxhub-v1" {
		t.Fatalf("ResolvedMapping = %v, %v", m.Name, err)
	}
	if c.EffectivePollInterval(time.Hour) != 15*time.Minute {
		t.Fatal("EffectivePollInterval")
	}
	if got := c.RequestSystem.PortalSecrets(); len(got) != 1 || got[0] != goodSecret {
		t.Fatalf("PortalSecrets = %v", got)
	}
	if w := f.Warnings(); len(w) != 0 {
		t.Fatalf("warnings: %v", w)
	}

	// Without a mapping the newest built-in one for the kind applies.
	c.Mapping = ""
	if m, err := c.ResolvedMapping(); err != nil || m.Name != "theworxhub-v1" {
		t.Fatalf("default mapping = %v, %v", m.Name, err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A syntactically valid file around one connection, with a hole for extra YAML.
func doc(conn string) string {
	return `
tenants:
  - id: acme
    apiKeys: ["` + apiKey + `"]
connections:
  - id: c1
    tenant: acme
` + conn
}

const portalTWH = `    requestSystem:
      kind: portal
      url: https://portal.example/h
      secret: "${SECRET}"
    workSystem:
      kind: theworxhub
      baseUrl: https://twh.example
      clientId: id
      clientSecret: "${TWH}"
      webhookSecret: w
`

func TestExpansion(t *testing.T) {
	y := doc(portalTWH + `    options:
      quoted: "${NUM}"
      plain: ${NUM}
      flag: ${BOOL}
      dollars: "cost $$5 and $$${NUM}"
      lone: pa$word
      nested: [{token: "${TWH}"}]
`)
	f, err := Parse([]byte(y), env(map[string]string{"SECRET": goodSecret, "TWH": "a: b # c", "NUM": "0123", "BOOL": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	o := f.Connections[0].Options
	if o["quoted"] != "0123" || o["dollars"] != "cost $5 and $0123" || o["lone"] != "pa$word" || o["flag"] != true {
		t.Fatalf("options = %#v", o)
	}
	if _, isString := o["plain"].(string); isString {
		t.Fatalf("plain ${NUM} should be typed like a literal 0123, got %#v", o["plain"])
	}
	if f.Connections[0].WorkSystem.ClientSecret != "a: b # c" {
		t.Fatalf("YAML syntax in a secret must stay literal: %q", f.Connections[0].WorkSystem.ClientSecret)
	}
	if got := o["nested"].([]any)[0].(map[string]any)["token"]; got != "a: b # c" {
		t.Fatalf("nested = %#v", got)
	}

	// Numbers from variables, quoted or not.
	scf := doc(`    requestSystem:
      kind: seeclickfix
      baseUrl: https://scf.example
      organizationId: "${ORG}"
      token: t
      pollInterval: ${EVERY}
    workSystem:
      kind: theworxhub
      baseUrl: https://twh.example
      clientId: id
      clientSecret: s
      webhookSecret: w
`)
	f, err = Parse([]byte(scf), env(map[string]string{"ORG": "123", "EVERY": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	if rs := f.Connections[0].RequestSystem; rs.OrganizationID != 123 || rs.PollInterval.Duration != time.Minute {
		t.Fatalf("%+v", rs)
	}
}

func TestExpansionProblems(t *testing.T) {
	y := doc(portalTWH + `    options:
      a: "${UNTERMINATED"
      b: "${1BAD}"
`)
	f, err := Parse([]byte(y), env(nil))
	ps := problems(t, err)
	if f == nil {
		t.Fatal("the File should still be returned")
	}
	sec, ok := find(ps, "connections[0].requestSystem.secret")
	if !ok || !strings.Contains(sec.Message, "SECRET is not set") || sec.Line != 11 {
		t.Fatalf("secret problem = %+v\n%v", sec, err)
	}
	twh, ok := find(ps, "connections[0].workSystem.clientSecret")
	if !ok || !strings.Contains(twh.Message, "TWH") || twh.Line != 16 {
		t.Fatalf("clientSecret problem = %+v", twh)
	}
	if a, _ := find(ps, "connections[0].options.a"); !strings.Contains(a.Message, `"$$"`) {
		t.Fatalf("unterminated: %+v", a)
	}
	if b, _ := find(ps, "connections[0].options.b"); !strings.Contains(b.Message, "invalid variable name") {
		t.Fatalf("bad name: %+v", b)
	}
	// Unset variables are not reported a second time as "required" or "bad secret".
	if len(ps) != 4 {
		t.Fatalf("want exactly 4 problems, got:\n%v", err)
	}
}

func TestUnknownKeysWithLines(t *testing.T) {
	y := `tenants:
  - id: acme
    apiKey: ["` + apiKey + `"]
connections:
  - id: c1
    tenant: acme
    requestSystem:
      kind: portal
      url: https://portal.example/h
      secret: ` + goodSecret + `
      secrets: []
      signingSecret: x
    workSystem:
      kind: theworxhub
      baseUrl: https://twh.example
      clientID: id
      clientSecret: s
    pollinterval: 5m
extra: true
`
	_, err := Parse([]byte(y), env(nil))
	ps := problems(t, err)
	for field, line := range map[string]int{
		"tenants[0].apiKey":                          3,
		"connections[0].requestSystem.signingSecret": 12,
		"connections[0].workSystem.clientID":         16,
		"connections[0].pollinterval":                18,
		"extra":                                      19,
	} {
		p, ok := find(ps, field)
		if !ok || p.Line != line || !strings.Contains(p.Message, "unknown key") {
			t.Errorf("%s: got %+v (want line %d)", field, p, line)
		}
	}
	if p, _ := find(ps, "connections[0].workSystem.clientID"); !strings.Contains(p.Message, "clientId") {
		t.Errorf("the message should list the known keys: %s", p.Message)
	}
	// The misspelt clientID also leaves clientId missing: reported, with the workSystem's line.
	if p, ok := find(ps, "connections[0].workSystem.clientId"); !ok || p.Line != 13 {
		t.Errorf("missing clientId: %+v", p)
	}
	if !strings.Contains(err.Error(), "(line 16)") {
		t.Errorf("Error() should show lines:\n%v", err)
	}
}

func TestTypeAndSyntaxErrors(t *testing.T) {
	y := doc(`    requestSystem:
      kind: seeclickfix
      baseUrl: https://scf.example
      organizationId: abc
      token: t
      pollInterval: 60
    workSystem: {kind: theworxhub, baseUrl: "https://twh.example", clientId: i, clientSecret: s, webhookSecret: w}
    pollInterval: soon
`)
	_, err := Parse([]byte(y), env(nil))
	ps := problems(t, err)
	if p, ok := find(ps, "connections[0].requestSystem.pollInterval"); !ok || !strings.Contains(p.Message, "needs a unit") {
		t.Errorf("bare number: %+v\n%v", p, err)
	}
	if p, ok := find(ps, "connections[0].pollInterval"); !ok || p.Line != 15 {
		t.Errorf("bad duration: %+v", p)
	}
	found := false
	for _, p := range ps {
		if p.Line == 11 && strings.Contains(p.Message, "abc") {
			found = true
		}
	}
	if !found {
		t.Errorf("organizationId: abc not reported with its line:\n%v", err)
	}

	_, err = Parse([]byte("tenants: [\n  - id: x\n"), nil)
	if err == nil || errors.As(err, new(Problems)) || !strings.Contains(err.Error(), "line") {
		t.Fatalf("syntax error: %v", err)
	}
	if f, err := Parse(nil, nil); err != nil || f == nil {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := Parse([]byte("a: 1\n---\nb: 2\n"), nil); err == nil {
		t.Fatal("two documents accepted")
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil || !os.IsNotExist(errors.Unwrap(err)) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	y := `tenants: [{id: acme, apiKeys: ["${KEY}"]}]
connections:
  - id: c1
    tenant: acme
    requestSystem: &portal {kind: portal, url: "https://p.example/h", secret: "${SECRET}"}
    workSystem: &twh
      kind: theworxhub
      baseUrl: https://twh.example
      clientId: id
      clientSecret: "$${literal}"
      webhookSecret: w
  - id: c2
    tenant: acme
    requestSystem: *portal
    workSystem:
      <<: *twh
      clientId: other
`
	f, err := Parse([]byte(y), env(map[string]string{"KEY": apiKey, "SECRET": goodSecret}))
	if err != nil {
		t.Fatal(err)
	}
	c2 := f.Connections[1]
	if c2.RequestSystem.Secret != goodSecret || c2.WorkSystem.ClientID != "other" || c2.WorkSystem.ClientSecret != "${literal}" {
		t.Fatalf("%+v", c2)
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(Connection{ID: "x", PollInterval: Duration{90 * time.Second}})
	if err != nil || !strings.Contains(string(b), `"pollInterval":"1m30s"`) {
		t.Fatalf("%s %v", b, err)
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil || c.PollInterval.Duration != 90*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestLoadFileWrapsPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(doc(portalTWH)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p, env(nil))
	if err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Fatalf("%v", err)
	}
	problems(t, err) // still errors.As-able
}
