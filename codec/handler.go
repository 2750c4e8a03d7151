package codec

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/converter"
)

// CookieName is the cookie set by the endpoint's /login page. Temporal Web can only forward an
// OIDC access token (passAccessToken) or the browser's cookies (includeCredentials); without
// single sign-on the cookie is how a member of staff authenticates the browser once.
const CookieName = "ticketsync_codec"

// DefaultMaxBodyBytes bounds an encode/decode request body when HandlerOptions leaves it 0.
// Temporal caps one payload at 2 MiB by default; Temporal Web sends a few per request.
const DefaultMaxBodyBytes = 16 << 20

// allowedHeaders are the request headers Temporal Web sends to a codec endpoint
// (Authorization-Extras carries the ID token when passAccessToken is on).
const allowedHeaders = "Authorization, Authorization-Extras, Content-Type, X-Namespace"

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Tokens are the accepted bearer tokens (EnvTokens); any of them is accepted, so rotation
	// is: add the new one, move clients over, drop the old one. At least one is required, each
	// at least MinTokenLength characters.
	Tokens []string
	// AllowedOrigins are the browser origins allowed to call the endpoint (EnvOrigins), e.g.
	// Temporal Web's "http://127.0.0.1:8233". Requests carrying any other Origin header are
	// refused; requests without one (the temporal CLI, scripts) only need a token.
	AllowedOrigins []string
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

type handler struct {
	sdk      http.Handler // the SDK's /encode and /decode implementation, which the CLI and UI speak
	tokens   [][sha256.Size]byte
	sessions [][sha256.Size]byte // hashes of the cookie values derived from each token
	origins  []string
	maxBody  int64
}

// NewHandler serves the codec for Temporal Web and the temporal CLI. Mount it on a prefix
// without stripping it, e.g. mux.Handle("/codec/", h); it answers:
//
//   - POST <prefix>/encode, POST <prefix>/decode: the SDK's remote codec protocol (JSON
//     {"payloads":[…]} in and out). Requires "Authorization: Bearer <token>" or the login
//     cookie. Decode passes unencrypted payloads through.
//   - OPTIONS on either: the CORS preflight, answered without authentication for an allowed
//     origin.
//   - GET|POST <prefix>/login: a small form that checks a token and sets the CookieName
//     cookie (HttpOnly, SameSite=Strict) for Temporal Web's includeCredentials mode.
//
// Tokens are compared in constant time (over their SHA-256, so lengths do not leak either).
func NewHandler(keys Keyring, opts HandlerOptions) (http.Handler, error) {
	var errs []error
	if keys.Len() == 0 {
		errs = append(errs, ErrNoKeys)
	}
	if len(opts.Tokens) == 0 {
		errs = append(errs, fmt.Errorf("codec endpoint: at least one token is required (set %s)", EnvTokens))
	}
	if err := checkTokens(opts.Tokens); err != nil {
		errs = append(errs, fmt.Errorf("codec endpoint: %w", err))
	}
	if err := checkOrigins(opts.AllowedOrigins); err != nil {
		errs = append(errs, fmt.Errorf("codec endpoint: %w", err))
	}
	if opts.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("codec endpoint: MaxBodyBytes must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	h := &handler{
		sdk:     converter.NewPayloadCodecHTTPHandler(New(keys)),
		origins: slices.Clone(opts.AllowedOrigins),
		maxBody: opts.MaxBodyBytes,
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	for _, t := range opts.Tokens {
		h.tokens = append(h.tokens, sha256.Sum256([]byte(t)))
		h.sessions = append(h.sessions, sha256.Sum256([]byte(sessionValue(t))))
	}
	return h, nil
}

// sessionValue is the cookie value for a token: derived, so the token itself is not stored in
// the browser, and invalidated together with the token.
func sessionValue(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("ticketsync codec session v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// matches compares candidate against every hash without an early exit.
func matches(candidate string, hashes [][sha256.Size]byte) bool {
	sum := sha256.Sum256([]byte(candidate))
	found := 0
	for i := range hashes {
		found |= subtle.ConstantTimeCompare(sum[:], hashes[i][:])
	}
	return found == 1
}

func (h *handler) authenticated(r *http.Request) bool {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return matches(strings.TrimSpace(tok), h.tokens)
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return matches(c.Value, h.sessions)
	}
	return false
}

// originAllowed: a configured origin, or the endpoint's own (its login form posts to itself).
func (h *handler) originAllowed(r *http.Request, origin string) bool {
	if slices.Contains(h.origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Decrypted personal data must not sit in a browser or proxy cache.
	w.Header().Set("Cache-Control", "no-store")
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.originAllowed(r, origin) {
			problem(w, http.StatusForbidden, "Origin not allowed",
				fmt.Sprintf("origin %q may not call the codec endpoint (allowed: %s)", printable(origin), strings.Join(h.origins, ", ")))
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Add("Vary", "Origin")
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/encode"), strings.HasSuffix(r.URL.Path, "/decode"):
		h.codec(w, r)
	case strings.HasSuffix(r.URL.Path, "/login"):
		h.login(w, r)
	default:
		problem(w, http.StatusNotFound, "Not found", "the codec endpoint serves …/encode, …/decode and …/login")
	}
}

func (h *handler) codec(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		// Browsers send the preflight without credentials: it must not need any.
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", allowedHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		problem(w, http.StatusMethodNotAllowed, "Method not allowed", "use POST")
		return
	}
	if !h.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ticketsync codec"`)
		problem(w, http.StatusUnauthorized, "Unauthorized",
			"send Authorization: Bearer <token> (one of "+EnvTokens+"), or sign in at the endpoint's /login page")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		problem(w, http.StatusBadRequest, "Bad request", "could not read the body")
		return
	}
	if int64(len(body)) > h.maxBody {
		problem(w, http.StatusRequestEntityTooLarge, "Body too large",
			"the body exceeds "+strconv.FormatInt(h.maxBody, 10)+" bytes")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.sdk.ServeHTTP(w, r)
}

// problem writes an RFC 9457 problem document, like the rest of the API.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
