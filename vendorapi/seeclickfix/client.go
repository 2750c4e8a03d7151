// Package seeclickfix is the connector for SeeClickFix (CivicPlus 311 CRM) API v2, a request
// system: citizens report issues there and hear back through public comments and status
// changes (shared/contracts/seeclickfix.md).
//
// The client uses the organization-scoped API (<baseUrl>/api/v2/organizations/{org}/…) so it
// sees private issues. SCF allows 20 requests a minute per credential: every request first
// waits on the optional Config.Limiter (which can be shared by every process using the
// credential), and a 429 feeds the vendor's Retry-After back into it and onto the returned
// *vendorapi.Error. Every failure is a classified *vendorapi.Error (retry or park).
//
// The simulator in ./sim implements the same contract; the contract tests run this client
// against it over real HTTP.
package seeclickfix

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "seeclickfix"

// Error codes (vendorapi.Error.Code) callers may branch on.
const (
	CodeRateLimited       = "rate_limited"
	CodeForbidden         = "forbidden" // 403: not a member, or "forbidden by administrative rules" (abuse)
	CodeUnauthorized      = "unauthorized"
	CodeNotFound          = "not_found"
	CodeValidationFailed  = "validation_failed"
	CodeInvalidTransition = "invalid_transition" // 422 on a status change the state forbids
	CodeNotJSON           = "not_json"
	CodeBadResponse       = "bad_response"
	CodeInvalidArgument   = "invalid_argument"
	CodeRedirectRefused   = "redirect_refused"
	CodeTooManyRedirects  = "too_many_redirects"
	CodeResponseTooLarge  = vendorapi.CodeResponseTooLarge
	CodeMediaTooLarge     = "media_too_large"
	CodeLimiter           = "limiter"
)

const (
	apiPrefix       = "/api/v2"
	maxResponseBody = 8 << 20 // a page of 100 issues is well under 1 MiB
	defaultTimeout  = 30 * time.Second
	defaultUA       = "ticketsync-seeclickfix/1"
	// DefaultMaxRedirects bounds the redirects followed per request (SCF may redirect any request).
	DefaultMaxRedirects = 5
	// DefaultRateLimitWait is assumed when a 429 carries no Retry-After: the limit's whole window.
	DefaultRateLimitWait = time.Minute
)

// Config configures a Client. Authenticate with Token (personal access token, sent as Bearer)
// or with Username and Password (Basic auth, a single API user of the organization).
type Config struct {
	// BaseURL is the SCF root, e.g. https://seeclickfix.com (the API is BaseURL/api/v2; a
	// BaseURL that already ends in /api/v2 is accepted). https is required except on loopback.
	BaseURL        string
	OrganizationID int64
	Username       string
	Password       string
	Token          string
	// Limiter, when set, is waited on before every request and told about every 429.
	Limiter Limiter
	// HTTPClient is used for all calls; nil means a private client. Redirects are followed by
	// this package (same origin only), so a custom client should not follow them itself.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt; 0 means 30 s.
	Timeout time.Duration
	// UserAgent defaults to "ticketsync-seeclickfix/1" (SCF rejects requests without one).
	UserAgent string
	// MaxRedirects bounds redirects per request; 0 means DefaultMaxRedirects.
	MaxRedirects int
	// MaxMediaBytes bounds DownloadMedia; 0 means MaxImageBytes (20 MiB).
	MaxMediaBytes int64
	// FeedOverlap is how far before its watermark Changes re-reads, to catch updates committed
	// late with an earlier updated_at; 0 means DefaultFeedOverlap, negative means none.
	FeedOverlap time.Duration
}

// Client talks to one SCF organization. It is safe for concurrent use.
type Client struct {
	root         *url.URL // scheme://host[/prefix] without trailing slash
	api          string   // root + /api/v2
	org          string   // /organizations/{id}
	auth         string   // Authorization header value
	hc           *http.Client
	timeout      time.Duration
	ua           string
	limiter      Limiter
	maxRedirects int
	maxMedia     int64
	overlap      time.Duration
}

// New validates cfg, listing every problem, and returns a client. No network call is made:
// wrong credentials surface on first use as a non-retryable "Auth" error.
func New(cfg Config) (*Client, error) {
	var problems []string
	root, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.OrganizationID <= 0 {
		problems = append(problems, "OrganizationID must be a positive number")
	}
	hasBasic := cfg.Username != "" || cfg.Password != ""
	switch {
	case cfg.Token != "" && hasBasic:
		problems = append(problems, "give either Token or Username and Password, not both")
	case cfg.Token == "" && !hasBasic:
		problems = append(problems, "Token or Username and Password are required")
	case hasBasic && (strings.TrimSpace(cfg.Username) == "" || cfg.Password == ""):
		problems = append(problems, "Username and Password must both be set")
	case hasBasic && strings.Contains(cfg.Username, ":"):
		problems = append(problems, "Username must not contain ':' (Basic auth)")
	}
	if cfg.Timeout < 0 || cfg.MaxRedirects < 0 || cfg.MaxMediaBytes < 0 {
		problems = append(problems, "Timeout, MaxRedirects and MaxMediaBytes must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("seeclickfix: invalid config: %s", strings.Join(problems, "; "))
	}
	c := &Client{
		root:         root,
		api:          strings.TrimRight(root.String(), "/") + apiPrefix,
		org:          fmt.Sprintf("/organizations/%d", cfg.OrganizationID),
		hc:           cfg.HTTPClient,
		timeout:      orDefault(cfg.Timeout, defaultTimeout),
		ua:           orDefault(cfg.UserAgent, defaultUA),
		limiter:      cfg.Limiter,
		maxRedirects: orDefault(cfg.MaxRedirects, DefaultMaxRedirects),
		maxMedia:     orDefault(cfg.MaxMediaBytes, MaxImageBytes),
		overlap:      cfg.FeedOverlap,
	}
	if cfg.Token != "" {
		c.auth = "Bearer " + cfg.Token
	} else {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	if c.overlap == 0 {
		c.overlap = DefaultFeedOverlap
	}
	c.overlap = max(c.overlap, 0).Truncate(time.Second)
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return c, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("BaseURL is required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("BaseURL %q is not a valid URL: %v", raw, err)
	case u.Host == "":
		return nil, fmt.Errorf("BaseURL %q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("BaseURL %q must not contain credentials, a query or a fragment", raw)
	case !secureOrLoopback(u):
		return nil, fmt.Errorf("BaseURL %q must use https (http only on loopback)", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), apiPrefix)
	u.RawPath = ""
	return u, nil
}

// secureOrLoopback accepts https anywhere and http on loopback (dev stack, tests).
func secureOrLoopback(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if strings.EqualFold(h, "localhost") {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// Kind is the connection kind.
func (c *Client) Kind() string { return Vendor }

// ---- HTTP plumbing ----

// payload is an encoded request body.
type payload struct {
	contentType string
	data        []byte
}

func jsonPayload(op string, v any) (*payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode request body", Err: err}
	}
	return &payload{contentType: "application/json", data: b}, nil
}

type response struct {
	*http.Response // body already read and closed
	body           []byte
}

// do performs an API call and decodes a 2xx JSON body into out, classifying anything else.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, in *payload, out any) error {
	resp, err := c.call(ctx, op, method, path, q, in)
	if err != nil {
		return err
	}
	return c.decode(op, resp, out)
}

// call performs an API call (path relative to /api/v2) and returns any final HTTP response;
// err is set only when there was none. Redirects are followed here rather than by net/http so
// that credentials only ever go to the configured origin and a redirected POST stays a POST
// (SCF may redirect any request). Each hop waits on the limiter: each is a request to SCF.
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, in *payload) (*response, error) {
	target := c.api + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	for hop := 0; ; hop++ {
		if err := c.wait(ctx, op); err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, op, method, target, in, c.auth)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusTooManyRequests && c.limiter != nil {
			c.limiter.Backoff(rateLimitWait(resp.Response))
		}
		next, redirected, rerr := c.redirect(op, target, resp, hop, true)
		if rerr != nil {
			return nil, rerr
		}
		if !redirected {
			return resp, nil
		}
		if resp.StatusCode == http.StatusSeeOther { // "see other" means: GET the result
			method, in = http.MethodGet, nil
		}
		target = next
	}
}

// redirect reports where a 3xx response points. sameOrigin restricts targets to the API's
// origin (API calls carry credentials); otherwise any https (or loopback http) URL is allowed.
func (c *Client) redirect(op, from string, resp *response, hop int, sameOrigin bool) (string, bool, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return "", false, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", false, nil // decode classifies the bare 3xx as a vendor failure
	}
	base, _ := url.Parse(from)
	next, err := base.Parse(loc)
	if err != nil {
		return "", false, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeBadResponse,
			Message: fmt.Sprintf("unparsable redirect Location %q", loc), Retryable: true}
	}
	if hop >= c.maxRedirects {
		return "", false, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeTooManyRedirects,
			Message: fmt.Sprintf("more than %d redirects", c.maxRedirects)}
	}
	if sameOrigin && !(strings.EqualFold(next.Scheme, c.root.Scheme) && strings.EqualFold(next.Host, c.root.Host)) ||
		!secureOrLoopback(next) {
		// Following would hand our credentials (or a downgraded request) to another host:
		// a configuration problem (wrong BaseURL) that retrying cannot fix.
		return "", false, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeRedirectRefused,
			Message: fmt.Sprintf("refusing redirect to %s://%s (check BaseURL)", next.Scheme, next.Host)}
	}
	return next.String(), true, nil
}

// wait blocks on the limiter, if any.
func (c *Client) wait(ctx context.Context, op string) error {
	if c.limiter == nil {
		return nil
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return vendorapi.TransportError(Vendor, op, ctx.Err())
		}
		return &vendorapi.Error{Vendor: Vendor, Op: op, Code: CodeLimiter, Message: "rate limiter", Err: err, Retryable: true}
	}
	return nil
}

// roundTrip sends one request within the per-attempt timeout and reads at most
// maxResponseBody bytes of the answer. auth "" sends no credentials.
func (c *Client) roundTrip(ctx context.Context, op, method, target string, in *payload, auth string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in.data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Code: CodeInvalidArgument, Message: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if in != nil {
		req.Header.Set("Content-Type", in.contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	defer res.Body.Close()
	data, err := vendorapi.ReadBody(Vendor, op, res, maxResponseBody)
	if err != nil {
		return nil, err
	}
	return &response{Response: res, body: data}, nil
}

// decode turns a response into out (2xx JSON) or a classified error.
func (c *Client) decode(op string, resp *response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.fail(op, resp)
	}
	if !vendorapi.IsJSON(resp.Response) {
		// A proxy or sign-in page answering 200 in SCF's place: transient, retry.
		e := vendorapi.NotJSON(Vendor, op, resp.Response)
		e.Message += vendorapi.PageTitle(resp.body)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return badResponse(op, resp, "undecodable JSON body: "+err.Error())
	}
	return nil
}

// fail classifies a non-2xx response and fills Code/Message/Fields from SCF's error body.
func (c *Client) fail(op string, resp *response) *vendorapi.Error {
	e := vendorapi.ClassifyStatus(Vendor, op, resp.Response)
	switch e.HTTPStatus {
	case http.StatusTooManyRequests:
		e.Code, e.RetryAfter = CodeRateLimited, rateLimitWait(resp.Response)
	case http.StatusUnauthorized:
		e.Code = CodeUnauthorized
	case http.StatusForbidden:
		e.Code = CodeForbidden
	case http.StatusNotFound:
		e.Code = CodeNotFound
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		e.Code = CodeValidationFailed
	case http.StatusNotModified:
		// We never send conditional headers; a 304 means a confused cache in between.
		e.Code, e.Retryable = CodeBadResponse, true
	}
	if !vendorapi.IsJSON(resp.Response) {
		if e.Code == "" {
			e.Code = CodeNotJSON
		}
		e.Message = strings.TrimSpace(fmt.Sprintf("non-JSON %q response", resp.Header.Get("Content-Type")) + vendorapi.PageTitle(resp.body))
		return e
	}
	e.Message, e.Fields = parseErrorBody(resp.body)
	return e
}

// rateLimitWait is a 429's Retry-After, or DefaultRateLimitWait when it has none.
func rateLimitWait(resp *http.Response) time.Duration {
	if d := vendorapi.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
		return d
	}
	return DefaultRateLimitWait
}

// parseErrorBody reads SCF's error shapes: {"message":…}, {"errors":{"field":["msg",…]}},
// {"field":"msg",…} (422) and {"request":"Unable to parse JSON"} (400).
func parseErrorBody(b []byte) (string, map[string]string) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return "", nil
	}
	var msg string
	fields := map[string]string{}
	for k, v := range raw {
		switch k {
		case "message", "error":
			if s, err := flexText(v); err == nil {
				msg = s
			}
		case "documentation_url", "metadata":
		case "errors":
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) == nil {
				for f, fv := range m {
					if s, err := flexText(fv); err == nil && s != "" {
						fields[f] = s
					}
				}
			}
		default:
			if s, err := flexText(v); err == nil && s != "" && (len(v) == 0 || v[0] != '{') {
				fields[k] = s
			}
		}
	}
	if len(fields) == 0 {
		return msg, nil
	}
	if msg == "" {
		keys := slices.Sorted(maps.Keys(fields))
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+fields[k])
		}
		msg = strings.Join(parts, "; ")
	}
	return msg, fields
}

// badResponse is a 2xx whose content is unusable: retry (reads are safe to repeat; writes are
// checked by the caller before repeating).
func badResponse(op string, resp *response, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeBadResponse,
		Message: msg, Retryable: true}
}

// invalidArgument is a caller bug detected before any call; retrying cannot help.
func invalidArgument(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, Code: CodeInvalidArgument, Message: msg}
}
