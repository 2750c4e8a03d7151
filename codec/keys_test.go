package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func rawKey(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func entry(id string, b byte) string { return id + ":" + base64.StdEncoding.EncodeToString(rawKey(b)) }

func mustKeys(t testing.TB, s string) Keyring {
	t.Helper()
	kr, err := ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestParseKeysOrderAndEncodings(t *testing.T) {
	k := rawKey(7)
	s := fmt.Sprintf(" k3:%s , k2:%s,k1:%s,k0:%s ",
		base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
		base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k))
	kr := mustKeys(t, s)
	if got := strings.Join(kr.IDs(), ","); got != "k3,k2,k1,k0" {
		t.Fatalf("ids %q: the order must be kept (first encrypts)", got)
	}
	if kr.Len() != 4 {
		t.Fatalf("len %d", kr.Len())
	}
	empty := mustKeys(t, "  ")
	if empty.Len() != 0 {
		t.Fatal("a blank value is the empty keyring")
	}
}

func TestParseKeysErrorsListEveryProblemWithoutKeyMaterial(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	s := strings.Join([]string{
		"good:" + base64.StdEncoding.EncodeToString(rawKey(1)),
		"nocolon",
		"bad id:" + base64.StdEncoding.EncodeToString(rawKey(2)),
		"good:" + base64.StdEncoding.EncodeToString(rawKey(3)),
		"short:" + short,
		"b64:!!!not-base64!!!",
		"",
	}, ",")
	_, err := ParseKeys(s)
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{EnvKeys, "key 2: want id:", `"bad id"`, `"good" is used twice`,
		`key "short": decodes to 16 bytes, want 32`, `key "b64": not valid base64`, "key 7 is empty"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, secret := range []string{short, "sixteen-byte-key", base64.StdEncoding.EncodeToString(rawKey(2))} {
		if strings.Contains(msg, secret) {
			t.Errorf("error echoes key material %q", secret)
		}
	}
}

func TestKeyringStringIsRedacted(t *testing.T) {
	e := entry("prod-2026", 9)
	kr := mustKeys(t, e)
	b64 := strings.SplitN(e, ":", 2)[1]
	for _, s := range []string{kr.String(), fmt.Sprintf("%v", kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr)} {
		if strings.Contains(s, b64) || !strings.Contains(s, "prod-2026") {
			t.Fatalf("%q: want the id and no key bytes", s)
		}
	}
}

func TestGenerateKeyAndToken(t *testing.T) {
	e, err := GenerateKey("dev-1")
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := GenerateKey("dev-1")
	if e == e2 {
		t.Fatal("two generated keys are equal")
	}
	kr := mustKeys(t, e)
	if kr.IDs()[0] != "dev-1" {
		t.Fatalf("ids %v", kr.IDs())
	}
	if _, err := GenerateKey("no spaces"); err == nil {
		t.Fatal("an invalid id must be refused")
	}
	tok, err := GenerateToken()
	if err != nil || len(tok) < MinTokenLength || checkTokens([]string{tok}) != nil {
		t.Fatalf("token %q err %v", tok, err)
	}
}

func TestNewKeyring(t *testing.T) {
	kr, err := NewKeyring([]string{"a", "b"}, [][]byte{rawKey(1), rawKey(2)})
	if err != nil || strings.Join(kr.IDs(), ",") != "a,b" {
		t.Fatalf("%v %v", kr, err)
	}
	if _, err := NewKeyring([]string{"a"}, nil); err == nil {
		t.Fatal("mismatched lengths must fail")
	}
	if _, err := NewKeyring([]string{"a"}, [][]byte{rawKey(1)[:16]}); err == nil {
		t.Fatal("AES-128 keys must be refused")
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		EnvKeys:    entry("k2", 2) + "," + entry("k1", 1),
		EnvTokens:  "token-number-one-xyz, token-number-two-xyz",
		EnvOrigins: "http://127.0.0.1:8233,https://temporal.example",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := FromEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Keys.IDs(), ",") != "k2,k1" || len(cfg.Tokens) != 2 || cfg.Tokens[1] != "token-number-two-xyz" ||
		len(cfg.AllowedOrigins) != 2 || cfg.AllowedOrigins[0] != "http://127.0.0.1:8233" {
		t.Fatalf("%+v", cfg)
	}

	unset, err := FromEnv(func(string) (string, bool) { return "", false })
	if err != nil || unset.Keys.Len() != 0 || unset.Tokens != nil || unset.AllowedOrigins != nil {
		t.Fatalf("unset: %+v %v", unset, err)
	}

	env = map[string]string{EnvKeys: "k1:short", EnvTokens: "tiny", EnvOrigins: "*,http://x.example/path"}
	_, err = FromEnv(lookup)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{EnvKeys, EnvTokens, "shorter than 16", `"*" is not allowed`, `"http://x.example/path" is not an origin`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "tiny") {
		t.Error("the error echoes a token")
	}
	if errors.Is(err, ErrNoKeys) {
		t.Error("a malformed key is not 'no keys'")
	}
}
