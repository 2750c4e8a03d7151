package cyprexx_test

import (
	"strings"
	"testing"
)

// `connections validate` (engine.Validate over both sides) says why projects do not import by
// themselves: no push key (Pruvan never validated), or one Pruvan no longer accepts — and what
// to do. Once Pruvan validates, the same check passes (and asks Pruvan to import).
func TestValidateReportsTheMissingOrRefusedPushKey(t *testing.T) {
	p := newPair(t, pairOpts{noValidate: true})
	check := func(name string) (ok bool, detail, fix string) {
		t.Helper()
		for _, c := range p.eng.Validate(p.ctx, p.conn) {
			if strings.HasSuffix(c.Name, name) {
				return c.OK, c.Detail, c.Fix
			}
		}
		t.Fatalf("no %q check", name)
		return
	}
	ok, detail, fix := check("(pruvan): push key")
	if ok || !strings.Contains(detail, "orders only arrive on Refresh") || !strings.Contains(fix, "/v1/hooks/pruvan/"+pairConn) ||
		!strings.Contains(fix, "press Validate") {
		t.Fatalf("no push key: ok=%v %q / %q", ok, detail, fix)
	}
	if ok, detail, _ := check("(cyprexx): API token"); !ok {
		t.Fatalf("token: %s", detail)
	}

	if err := p.pv.Validate(p.ctx, pairConn); err != nil {
		t.Fatal(err)
	}
	triggers := p.pv.Stats().Triggers
	if ok, detail, _ := check("(pruvan): push key"); !ok || p.pv.Stats().Triggers != triggers+1 {
		t.Fatalf("after Pruvan's Validate: ok=%v %q", ok, detail)
	}

	// Pruvan issues a new key (the admin regenerated it): the stored one is refused.
	in := p.pv.Integrations()[0]
	in.APIKey = "regenerated-key"
	if _, err := p.pv.SetIntegration(in); err != nil {
		t.Fatal(err)
	}
	ok, detail, fix = check("(pruvan): push key")
	if ok || !strings.Contains(detail, "refused") || !strings.Contains(detail, "only on Refresh") || !strings.Contains(fix, "Validate") {
		t.Fatalf("refused key: ok=%v %q / %q", ok, detail, fix)
	}
}
