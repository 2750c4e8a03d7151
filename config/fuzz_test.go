package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// fuzzEnv is the environment the connections-file fuzzer expands ${NAME} from; TRICKY holds
// YAML syntax that must stay a plain value after expansion.
var fuzzEnv = map[string]string{
	"SECRET": goodSecret,
	"KEY":    apiKey,
	"EMPTY":  "",
	"TRICKY": "a: b # c\n- [d, {e: f}]\n&x *x",
	"NUM":    "123",
}

// FuzzParse throws arbitrary documents at the connections-file parser. Properties:
//   - no panic; the error is nil, Problems (each with a message) or, with a nil File, a YAML
//     syntax error;
//   - deterministic: the same document gives the same problems in the same order;
//   - work stays linear in the input: a few hundred bytes of anchors and aliases must not make
//     the parser visit millions of paths (an "alias bomb");
//   - an accepted file, written back as YAML, parses again to the same File.
//
// `go test` runs the seeds and testdata/fuzz/FuzzParse; explore further with
// `go test ./config -run '^$' -fuzz FuzzParse -fuzztime 60s`.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		designExample(f),
		``, `{}`, `[]`, `null`, `~`, "---\n---\n", `tenants: 5`, `tenants: [{id: "${UNSET}"}]`,
		"tenants:\n  - id: a\n    name: A\n    apiKeys: [\"${KEY}\", \"${EMPTY}\", \"$${KEY}\", \"${\"]\n",
		"connections:\n  - &c {id: c1, tenant: t, pollInterval: 90}\n  - <<: *c\n    id: c2\n    pollInterval: \"${NUM}\"\n",
		"connections:\n  - id: c\n    options: {a: ${TRICKY}, b: [1, 2.5, true, null, 2024-01-01], c: {d: e}}\n",
		"connections:\n  - id: c\n    requestSystem: {kind: seeclickfix, organizationId: \"${NUM}\", baseUrl: \"http://[::1\"}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nconnections: [{id: c, options: {k: *b}}]\n",
		"connections:\n  - !!map {id: c}\n  - !!str x\n  - [1]\n",
		"tenants: [{id: a}, {id: a}]\nconnections: [{id: A_B, tenant: zz, mapping: nope-v9}]\n",
	} {
		f.Add([]byte(s))
	}
	lookup := func(k string) (string, bool) { v, ok := fuzzEnv[k]; return v, ok }
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseWithin(t, data, lookup)
		var ps Problems
		switch {
		case err == nil:
			if file == nil {
				t.Fatal("nil File without an error")
			}
		case errors.As(err, &ps):
			if file == nil || len(ps) == 0 {
				t.Fatalf("Problems %v with File %v", ps, file)
			}
			for _, p := range ps {
				if strings.TrimSpace(p.Message) == "" {
					t.Fatalf("a problem without a message: %+v", p)
				}
			}
		default:
			if file != nil {
				t.Fatalf("syntax error %v with a File", err)
			}
		}
		if file != nil && len(file.lines) > 2*len(data)+16 {
			t.Fatalf("%d bytes made the parser record %d paths: alias expansion is not bounded", len(data), len(file.lines))
		}
		if _, err2 := parseWithin(t, data, lookup); errString(err) != errString(err2) {
			t.Fatalf("not deterministic:\n%v\n---\n%v", err, err2)
		}
		if err != nil {
			return
		}
		out, merr := yaml.Marshal(file)
		if merr != nil {
			t.Fatalf("marshal an accepted file: %v", merr)
		}
		if strings.Contains(string(out), "$") {
			return // a literal "$" written back would be read as ${…} or $$ again
		}
		again, err := parseWithin(t, out, lookup)
		if err != nil {
			t.Fatalf("an accepted file written back is refused: %v\n%s", err, out)
		}
		if !sameFile(file, again) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v\n%s", file, again, out)
		}
	})
}

// parseTimeout bounds one Parse: the fuzzer does not report hangs by itself, it just stalls.
// Real files parse in microseconds; the margin covers a loaded machine.
const parseTimeout = 10 * time.Second

// parseWithin runs Parse and fails the input if it has not returned within parseTimeout, so a
// hang is saved to testdata/fuzz like any crasher.
func parseWithin(t *testing.T, data []byte, lookup func(string) (string, bool)) (*File, error) {
	t.Helper()
	type result struct {
		f   *File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := Parse(data, lookup)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-time.After(parseTimeout):
		t.Fatalf("Parse did not return within %s on %d bytes: %q", parseTimeout, len(data), data)
		return nil, nil
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sameFile compares every exported field through its YAML form (nil and empty lists, and
// free-form options, compare as they would be written).
func sameFile(a, b *File) bool {
	ya, erra := yaml.Marshal(a)
	yb, errb := yaml.Marshal(b)
	return erra == nil && errb == nil && string(ya) == string(yb)
}

func designExample(f *testing.F) string {
	b, err := os.ReadFile(filepath.Join("testdata", "design-example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	// The fuzz environment names the secrets differently: point the example at it.
	r := strings.NewReplacer("${SUNRISE_API_KEY}", "${KEY}", "${PORTAL_WEBHOOK_SECRET}", "${SECRET}",
		"${TWH_CLIENT_ID}", "client", "${TWH_CLIENT_SECRET}", "${TRICKY}", "${TWH_WEBHOOK_SECRET}", "${NUM}")
	return r.Replace(string(b))
}
