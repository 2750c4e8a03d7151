// Package cityworks is the client for the Cityworks (Trimble) AMS REST API: service requests,
// work orders, their templates, questions and answers, comments and attachments
// (shared/contracts/cityworks.md).
//
// Cityworks is an RPC-over-HTTP API: every call is POST {base}/Services/{Area}/{Service}/{Method}
// with a form body data=<JSON>&token=<token>, and every answer — failures included — is HTTP 200
// with the envelope {Status, Message, ErrorMessages, WarningMessages, SuccessMessages, Value}.
// The client turns each envelope status into a classified *vendorapi.Error:
//
//   - Status 0: success (warnings such as 60 "item not found" mean an empty Value);
//   - Status 1: a validation or business failure; not retryable. Code 35 (item not found)
//     reads as HTTP 404 and code 5 (not authorized) as 403, so vendor-neutral helpers such as
//     vendorapi.IsNotFound and Error.Kind work; any other code reads as 422;
//   - Status 2: the token expired or was revoked; the client authenticates again and repeats
//     the call once (a second Status 2 is a non-retryable "Auth" error);
//   - Status 3: the login is wrong or inactive; non-retryable "Auth".
//
// On-prem IIS deployments add HTML to the mix: a 302 to /Login.aspx or a 200 "Object moved"
// page when a session expired (handled like Status 2), IIS error pages on 500/503, and proxy
// pages in place of JSON (retryable). The HTTP status of the envelope errors above is therefore
// a translation, documented on each error's message ("Cityworks Status 1, code 35 …").
//
// Dates are offset-less local wall clock in the tenant's time zone (Config.Location) or ISO-8601
// with Z; 0001-01-01T00:00:00 means null and decodes as the zero Time.
//
// The simulator in ./sim implements the same contract; contract_test.go runs this client
// against it over real HTTP.
package cityworks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "cityworks"

// Versions of Cityworks the client speaks to (Config.Version).
const (
	Version2013 = "2013" // "JSON API": no Comment/* services; comments via AddComments/Comments
	Version2015 = "2015" // token in the form body
	Version15   = "15"   // same as 2015 (15.x numbering)
	Version23   = "23"   // token in the Authorization: cityworks <token> header
)

const (
	defaultTimeout       = 30 * time.Second
	defaultUploadTimeout = 2 * time.Minute // uploads are multi-second on busy IIS servers
	defaultUA            = "ticketsync-cityworks/1"
	defaultApp           = "ticketsync"
	defaultWORefField    = "Text20"
	maxResponseBody      = 8 << 20
	defaultMaxDownload   = 32 << 20
	// batchSize bounds the ids of one ByIds-style call (the contract's "batches ≤ 100").
	batchSize = 100
	// tokenRefreshMargin renews a token with a known lifetime this long before it ends, so a
	// call never leaves with a token that expires in flight.
	tokenRefreshMargin = time.Minute
)

// Config configures a Client (DESIGN §8: workSystem kind cityworks).
type Config struct {
	// BaseURL is the Cityworks root under which Services/… lives, e.g.
	// https://city.example/cityworks. https is required except on loopback.
	BaseURL string
	// Version is "2013", "2015", "15" or "23"; "" means "23".
	Version   string
	LoginName string
	Password  string
	// Location is the tenant's time zone, in which Cityworks writes offset-less dates and reads
	// the ones we send. nil means UTC.
	Location *time.Location
	// TokenLifetime is sent as Authenticate's Expires (whole minutes); 0 leaves the server's
	// default. With a known lifetime the client re-authenticates shortly before it ends instead
	// of paying a Status 2 round trip.
	TokenLifetime time.Duration
	// InitiatedByApp marks the service requests we create (default "ticketsync"), so that the
	// SRs staff create directly in Cityworks can be told apart in searches.
	InitiatedByApp string
	// WOReferenceField is the work-order text field holding our external reference
	// ("Text1".."Text20", default "Text20"): work orders have no OtherSystemId.
	WOReferenceField string
	// HTTPClient is used for all calls; nil means a private client that follows no redirects
	// (a redirect could carry the token or the password to another host).
	HTTPClient *http.Client
	// Timeout bounds each attempt (default 30 s); UploadTimeout bounds attachment uploads and
	// downloads (default 2 min).
	Timeout       time.Duration
	UploadTimeout time.Duration
	// MaxDownloadBytes caps an attachment download (default 32 MiB).
	MaxDownloadBytes int64
	// UserAgent defaults to "ticketsync-cityworks/1".
	UserAgent string
}

// Client talks to one Cityworks site as one user. It is safe for concurrent use.
type Client struct {
	base        string // scheme://host[/prefix] without trailing slash
	version     string
	login       string
	password    string
	loc         *time.Location
	lifetime    time.Duration
	app         string
	woRefField  string
	hc          *http.Client
	timeout     time.Duration
	upTimeout   time.Duration
	maxDownload int64
	ua          string
	now         func() time.Time
	tokens      *vendorapi.TokenCache // Authenticate's token; no known expiry without lifetime
}

var woFieldRE = regexp.MustCompile(`^Text([1-9]|1[0-9]|20)$`)

// New validates cfg and returns a client. No network call is made: the login is checked on
// first use (a wrong password then surfaces as a non-retryable "Auth" error).
func New(cfg Config) (*Client, error) {
	var problems []string
	base := strings.TrimSpace(cfg.BaseURL)
	if err := checkBaseURL(base); err != nil {
		problems = append(problems, err.Error())
	}
	version := cfg.Version
	if version == "" {
		version = Version23
	}
	switch version {
	case Version2013, Version2015, Version15, Version23:
	default:
		problems = append(problems, fmt.Sprintf("Version %q must be one of 2013, 2015, 15, 23", cfg.Version))
	}
	if strings.TrimSpace(cfg.LoginName) == "" {
		problems = append(problems, "LoginName is required")
	}
	if cfg.Password == "" {
		problems = append(problems, "Password is required")
	}
	woField := cfg.WOReferenceField
	if woField == "" {
		woField = defaultWORefField
	}
	if !woFieldRE.MatchString(woField) {
		problems = append(problems, fmt.Sprintf("WOReferenceField %q must be Text1 … Text20", cfg.WOReferenceField))
	}
	if cfg.Timeout < 0 || cfg.UploadTimeout < 0 || cfg.TokenLifetime < 0 || cfg.MaxDownloadBytes < 0 {
		problems = append(problems, "Timeout, UploadTimeout, TokenLifetime and MaxDownloadBytes must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cityworks: invalid config: %s", strings.Join(problems, "; "))
	}
	c := &Client{
		base: strings.TrimRight(base, "/"), version: version, login: cfg.LoginName, password: cfg.Password,
		loc: cfg.Location, lifetime: cfg.TokenLifetime, app: cfg.InitiatedByApp, woRefField: woField,
		hc: cfg.HTTPClient, timeout: cfg.Timeout, upTimeout: cfg.UploadTimeout,
		maxDownload: cfg.MaxDownloadBytes, ua: cfg.UserAgent, now: time.Now,
	}
	c.tokens = vendorapi.NewTokenCache(Vendor, "authenticate", func() time.Time { return c.now() }, c.authenticate)
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.app == "" {
		c.app = defaultApp
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.upTimeout == 0 {
		c.upTimeout = defaultUploadTimeout
	}
	if c.maxDownload == 0 {
		c.maxDownload = defaultMaxDownload
	}
	if c.ua == "" {
		c.ua = defaultUA
	}
	return c, nil
}

// checkBaseURL requires https, except on loopback where the simulator and tests run.
func checkBaseURL(base string) error {
	if base == "" {
		return fmt.Errorf("BaseURL is required")
	}
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return fmt.Errorf("BaseURL %q is not a valid URL: %v", base, err)
	case u.Host == "":
		return fmt.Errorf("BaseURL %q has no host", base)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("BaseURL %q must not contain credentials, a query or a fragment", base)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("BaseURL %q must use https (http only on loopback)", base)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Kind is the connection kind.
func (c *Client) Kind() string { return Vendor }

// Version is the configured Cityworks version.
func (c *Client) Version() string { return c.version }

// Location is the tenant time zone the client reads and writes offset-less dates in.
func (c *Client) Location() *time.Location { return c.loc }

// hasCommentService reports whether the Comment/* services exist (not on 2013).
func (c *Client) hasCommentService() bool { return c.version != Version2013 }

// ---- transport ----

// rpc is one call: the path below {base}/Services/ and the data object.
type rpc struct {
	op   string // human name for errors, e.g. "create service request"
	path string // e.g. "Ams/ServiceRequest/Create"
	data any
}

// call performs an authenticated call and decodes the envelope's Value into out (which may be
// nil).
func (c *Client) call(ctx context.Context, r rpc, out any) (*envelope, error) {
	payload, err := c.encodeData(r.op, r.data)
	if err != nil {
		return nil, err
	}
	build := func(tok string) (string, []byte, error) {
		form := url.Values{"data": {string(payload)}, "token": {tok}}
		return "application/x-www-form-urlencoded", []byte(form.Encode()), nil
	}
	resp, env, err := c.exchange(ctx, r.op, r.path, build, c.timeout, maxResponseBody, c.decodeEnvelope)
	if err != nil {
		return nil, err
	}
	return env, c.decodeValue(r.op, resp, env, out)
}

// exchange sends an authenticated request built by build and interprets the answer with
// decode. A session the server no longer knows (Status 2, or the HTML login redirect some
// deployments send instead) costs one re-authentication and one repeat: the server rejected
// the first attempt before doing anything, so repeating is safe even for creates.
func (c *Client) exchange(ctx context.Context, op, path string, build func(tok string) (string, []byte, error),
	timeout time.Duration, limit int64, decode func(string, *response) (*envelope, error)) (*response, *envelope, error) {
	var resp *response
	var env *envelope
	err := c.tokens.Call(ctx, func(tok string) (bool, error) {
		resp, env = nil, nil
		ct, body, err := build(tok)
		if err != nil {
			return false, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "build request body", Err: err}
		}
		if resp, err = c.roundTrip(ctx, op, c.base+"/Services/"+path, ct, body, tok, timeout, limit); err != nil {
			return false, err
		}
		env, err = decode(op, resp)
		return isSessionExpired(resp, env), err
	})
	return resp, env, err
}

// encodeData marshals the data object after moving every Time in it to the tenant zone, so
// that the offset-less wall clock Cityworks reads is the tenant's.
func (c *Client) encodeData(op string, data any) ([]byte, error) {
	if data == nil {
		return []byte("{}"), nil
	}
	// Work on a (shallow) copy: the caller's value keeps its own zone.
	rv := reflect.ValueOf(data)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	cp := reflect.New(rv.Type())
	cp.Elem().Set(rv)
	zoneTimes(cp.Interface(), c.loc)
	b, err := json.Marshal(cp.Interface())
	if err != nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode request data", Err: err}
	}
	return b, nil
}

type response struct {
	*http.Response // body already read and closed
	body           []byte
}

// roundTrip sends one request within timeout and reads at most limit bytes of the answer.
// The token goes both in the form (2013/15.x read only that) and in the header (23 reads only
// that), as the contract advises: a misconfigured version then still authenticates.
func (c *Client) roundTrip(ctx context.Context, op, target, contentType string, payload []byte, tok string,
	timeout time.Duration, limit int64) (*response, error) {
	auth := ""
	if tok != "" {
		auth = "cityworks " + tok
	}
	if payload == nil {
		payload = []byte{} // always a body, if an empty one, and its Content-Type
	}
	res, data, err := vendorapi.Send(ctx, c.hc, Vendor, op, vendorapi.Attempt{Method: http.MethodPost, URL: target,
		ContentType: contentType, Body: payload, Authorization: auth, UserAgent: c.ua, Timeout: timeout, MaxBody: limit})
	if err != nil {
		return nil, err
	}
	return &response{Response: res, body: data}, nil
}

// decodeEnvelope parses a 200 JSON envelope, or classifies whatever else came back. It returns
// the envelope even when its Status is not 0 (together with the error) so that the caller can
// recognise Status 2.
func (c *Client) decodeEnvelope(op string, resp *response) (*envelope, error) {
	if resp.StatusCode != http.StatusOK {
		e := vendorapi.ClassifyStatus(Vendor, op, resp.Response)
		e.Code = "http_error"
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Message = "redirected to " + loc
		} else {
			e.Message = strings.TrimSpace(fmt.Sprintf("HTTP %d%s", resp.StatusCode, vendorapi.PageTitle(resp.body)))
		}
		return nil, e
	}
	if !looksLikeJSON(resp) {
		// A proxy, SSO or IIS page answering 200 in Cityworks' place: transient, retry.
		e := vendorapi.NotJSON(Vendor, op, resp.Response)
		e.Message += vendorapi.PageTitle(resp.body)
		return nil, e
	}
	var env envelope
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return nil, badResponse(op, resp, "undecodable envelope: "+err.Error())
	}
	if env.Status != StatusOK {
		return &env, envelopeError(op, &env)
	}
	return &env, nil
}

// decodeValue unmarshals env.Value into out and localises its dates.
func (c *Client) decodeValue(op string, resp *response, env *envelope, out any) error {
	if out == nil || len(env.Value) == 0 || string(env.Value) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Value, out); err != nil {
		return badResponse(op, resp, "undecodable Value: "+err.Error())
	}
	zoneTimes(out, c.loc)
	return nil
}

// looksLikeJSON accepts a JSON media type or, since some IIS configurations label JSON as
// text/plain or text/html, a body that starts like a JSON object.
func looksLikeJSON(resp *response) bool {
	if vendorapi.IsJSON(resp.Response) {
		return true
	}
	b := bytes.TrimLeft(resp.body, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '{'
}

// isSessionExpired recognises the three ways a deployment says "log in again": Status 2, a
// redirect to the login page, and the 200 "Object moved" page ASP.NET writes for that redirect.
func isSessionExpired(resp *response, env *envelope) bool {
	if env != nil {
		return env.Status == StatusUnauthorized
	}
	if resp == nil {
		return false
	}
	switch resp.StatusCode {
	case http.StatusFound, http.StatusMovedPermanently, http.StatusSeeOther, http.StatusTemporaryRedirect:
		return strings.Contains(strings.ToLower(resp.Header.Get("Location")), "login")
	case http.StatusOK:
		if looksLikeJSON(resp) || !strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/html") {
			return false // only an HTML page can be the login page (a downloaded file cannot)
		}
		low := bytes.ToLower(resp.body)
		return bytes.Contains(low, []byte("object moved")) || bytes.Contains(low, []byte("login.aspx"))
	}
	return false
}

// badResponse is a 200 whose content is unusable: retry (reads are safe to repeat and the
// writes here check for an earlier success before repeating).
func badResponse(op string, resp *response, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
		Message: msg, Retryable: true}
}

// invalidArgument is a caller bug detected before any call; retrying cannot help.
func invalidArgument(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: msg}
}
