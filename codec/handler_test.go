package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	testToken  = "test-token-0123456789abcdef"
	oldToken   = "old-token-0123456789abcdef"
	webOrigin  = "http://127.0.0.1:8233"
	evilOrigin = "http://evil.example"
)

type endpoint struct {
	*httptest.Server
	keys Keyring
}

func newEndpoint(t *testing.T) endpoint {
	t.Helper()
	kr := mustKeys(t, entry("k2", 2)+","+entry("k1", 1))
	h, err := NewHandler(kr, HandlerOptions{Tokens: []string{testToken, oldToken}, AllowedOrigins: []string{webOrigin}, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/codec/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return endpoint{srv, kr}
}

func (e endpoint) do(t *testing.T, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// remote is the codec as the temporal CLI uses it (--codec-endpoint, --codec-auth).
func (e endpoint) remote(auth string) converter.PayloadCodec {
	return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: e.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			return nil
		},
	})
}

func encryptedBody(t *testing.T, kr Keyring) []byte {
	t.Helper()
	p, err := NewDataConverter(kr).ToPayload(samplePersonal())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodedPlain reports whether a /decode answer holds the sample ticket in plain JSON.
func decodedPlain(body []byte) bool {
	var ps commonpb.Payloads
	if protojson.Unmarshal(body, &ps) != nil || len(ps.Payloads) != 1 {
		return false
	}
	p := ps.Payloads[0]
	return string(p.Metadata["encoding"]) == "json/plain" && bytes.Contains(p.Data, []byte(samplePersonal().Email))
}

func TestHandlerRemoteCodecRoundTrip(t *testing.T) {
	e := newEndpoint(t)
	remote := e.remote("Bearer " + testToken)
	in, _ := converter.GetDefaultDataConverter().ToPayloads(samplePersonal())

	enc, err := remote.Encode(in.Payloads)
	if err != nil {
		t.Fatal(err)
	}
	var out personalTicket
	if err := NewDataConverter(e.keys).FromPayloads(&commonpb.Payloads{Payloads: enc}, &out); err != nil || out.Email != samplePersonal().Email {
		t.Fatalf("remote encode, local decode: %+v %v", out, err)
	}
	local, _ := New(e.keys).Encode(in.Payloads)
	dec, err := e.remote("bearer " + oldToken).Decode(local) // any configured token; scheme case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(&commonpb.Payloads{Payloads: dec}, &out); err != nil || out.Phone != samplePersonal().Phone {
		t.Fatalf("local encode, remote decode: %+v %v", out, err)
	}
}

func TestHandlerRequiresAuth(t *testing.T) {
	e := newEndpoint(t)
	body := encryptedBody(t, e.keys)
	for name, hdr := range map[string]map[string]string{
		"no credentials":  {},
		"wrong token":     {"Authorization": "Bearer not-the-token-0123456789"},
		"token prefix":    {"Authorization": "Bearer " + testToken[:len(testToken)-1]},
		"basic scheme":    {"Authorization": "Basic " + testToken},
		"forged cookie":   {"Cookie": CookieName + "=" + testToken},
		"cookie of other": {"Cookie": CookieName + "=" + sessionValue("some-other-token-123456")},
	} {
		hdr["Content-Type"] = "application/json"
		resp, b := e.do(t, "POST", "/codec/decode", body, hdr)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
		if decodedPlain(b) {
			t.Errorf("%s: plaintext in a refused answer", name)
		}
	}
	if _, err := e.remote("").Decode(nil); err == nil {
		t.Fatal("the remote codec without auth must fail")
	}
}

func TestHandlerCORS(t *testing.T) {
	e := newEndpoint(t)
	preflight := map[string]string{
		"Origin":                         webOrigin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-namespace",
	}
	resp, b := e.do(t, "OPTIONS", "/codec/decode", nil, preflight)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight (no auth): %d %s", resp.StatusCode, b)
	}
	h := resp.Header
	if h.Get("Access-Control-Allow-Origin") != webOrigin || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight headers: %v", h)
	}
	for _, want := range []string{"Authorization", "Content-Type", "X-Namespace"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
			t.Errorf("Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
		}
	}

	preflight["Origin"] = evilOrigin
	resp, _ = e.do(t, "OPTIONS", "/codec/decode", nil, preflight)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}

	// The actual call as Temporal Web makes it (query string included).
	body := encryptedBody(t, e.keys)
	call := map[string]string{"Origin": webOrigin, "Authorization": "Bearer " + testToken,
		"Content-Type": "application/json", "X-Namespace": "default"}
	resp, b = e.do(t, "POST", "/codec/decode?preserveStorageRefs=true", body, call)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != webOrigin ||
		resp.Header.Get("Cache-Control") != "no-store" || !decodedPlain(b) {
		t.Fatalf("decode from Temporal Web: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	// A 401 still carries CORS headers, so Temporal Web can tell the user why.
	delete(call, "Authorization")
	resp, _ = e.do(t, "POST", "/codec/decode", body, call)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != webOrigin {
		t.Fatalf("401 to Temporal Web: %d %v", resp.StatusCode, resp.Header)
	}
	// Another origin is refused even with a valid token.
	call["Origin"], call["Authorization"] = evilOrigin, "Bearer "+testToken
	resp, b = e.do(t, "POST", "/codec/decode", body, call)
	if resp.StatusCode != http.StatusForbidden || decodedPlain(b) {
		t.Fatalf("decode from another origin: %d %s", resp.StatusCode, b)
	}
}

func TestHandlerLoginCookie(t *testing.T) {
	e := newEndpoint(t)
	resp, b := e.do(t, "GET", "/codec/login", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`name="token"`)) {
		t.Fatalf("login form: %d %s", resp.StatusCode, b)
	}
	form := func(tok string) []byte { return []byte(url.Values{"token": {tok}}.Encode()) }
	ct := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": e.URL}
	resp, _ = e.do(t, "POST", "/codec/login", form("wrong-token-0123456789"), ct)
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ = e.do(t, "POST", "/codec/login", form(testToken), ct)
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
		t.Fatalf("sign-in: %d %v", resp.StatusCode, resp.Cookies())
	}
	c := resp.Cookies()[0]
	if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/codec" || c.MaxAge <= 0 ||
		strings.Contains(c.Value, testToken) {
		t.Fatalf("cookie %+v", c)
	}
	// Temporal Web with "include cross-origin credentials": the browser sends the cookie.
	resp, b = e.do(t, "POST", "/codec/decode", encryptedBody(t, e.keys), map[string]string{
		"Origin": webOrigin, "Content-Type": "application/json", "Cookie": c.Name + "=" + c.Value})
	if resp.StatusCode != http.StatusOK || !decodedPlain(b) {
		t.Fatalf("decode with the cookie: %d %s", resp.StatusCode, b)
	}
}

func TestHandlerLimitsAndErrors(t *testing.T) {
	e := newEndpoint(t)
	auth := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"}
	resp, _ := e.do(t, "POST", "/codec/decode", bytes.Repeat([]byte("x"), 65<<10), auth)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "GET", "/codec/decode", nil, auth)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "POST", "/codec/other", nil, auth)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "POST", "/codec/decode", []byte("{not json"), auth)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad JSON: %d", resp.StatusCode)
	}
	// A payload written under a key this deployment no longer has: a 400 naming the key.
	resp, b := e.do(t, "POST", "/codec/decode", encryptedBody(t, mustKeys(t, entry("k0", 9))), auth)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte(`"k0"`)) {
		t.Fatalf("unknown key: %d %s", resp.StatusCode, b)
	}
}

func TestNewHandlerValidates(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	for name, tc := range map[string]struct {
		keys Keyring
		opts HandlerOptions
		want string
	}{
		"no keys":      {Keyring{}, HandlerOptions{Tokens: []string{testToken}}, EnvKeys},
		"no tokens":    {kr, HandlerOptions{}, EnvTokens},
		"short token":  {kr, HandlerOptions{Tokens: []string{"short"}}, "shorter than"},
		"wildcard":     {kr, HandlerOptions{Tokens: []string{testToken}, AllowedOrigins: []string{"*"}}, `"*" is not allowed`},
		"negative max": {kr, HandlerOptions{Tokens: []string{testToken}, MaxBodyBytes: -1}, "MaxBodyBytes"},
	} {
		_, err := NewHandler(tc.keys, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error mentioning %q, got %v", name, tc.want, err)
		}
		if name == "no keys" && !errors.Is(err, ErrNoKeys) {
			t.Errorf("no keys: %v is not ErrNoKeys", err)
		}
	}
}
