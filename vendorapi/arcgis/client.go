// Package arcgis is the client for an ArcGIS GeocodeServer's reverseGeocode operation
// (shared/contracts/arcgis.md), used to find the address of a point before a Cityworks
// service request is created.
//
// ArcGIS reports failures inside HTTP 200 bodies ({"error":{code,message,details}}); the client
// classifies them: "no address within distance" (code 400 with "Unable to find address") is not
// an error but Result.Found false; 498 (invalid token) gets a fresh token from Config.TokenFunc
// and one retry; 499/403 are non-retryable "Auth"; 500 is retryable. The client itself retries
// transient failures (5xx, timeouts, 429, HTML pages) Config.Retries times, because a geocode
// must never hold up request creation for long: callers fall back to the reporter's address
// on any error.
//
// The simulator in ./sim implements the same contract; contract_test.go runs this client
// against it over real HTTP.
package arcgis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the Vendor field of every error this package returns.
const Vendor = "arcgis"

const (
	defaultTimeout    = 5 * time.Second
	defaultRetries    = 2
	defaultRetryDelay = 250 * time.Millisecond
	defaultDistance   = 100 // meters
	defaultUA         = "ticketsync-arcgis/1"
	maxResponseBody   = 1 << 20 // one address is a few hundred bytes
	// maxRetryAfter bounds how long the client honours a Retry-After between its own retries;
	// a longer wait is the caller's business (it gets the error).
	maxRetryAfter = 2 * time.Second
	wgs84         = 4326
)

// Config configures a Client.
type Config struct {
	// ServiceURL is the GeocodeServer, e.g.
	// https://gis.example/arcgis/rest/services/Locator/GeocodeServer (a trailing
	// /reverseGeocode is accepted). https is required except on loopback.
	ServiceURL string
	// Token is a static token or API key (optional: unsecured services need none).
	Token string
	// TokenFunc, when set, supplies tokens instead of Token: it is called for the first call
	// and again after a 498 (expired token), so it must return a fresh one each time.
	TokenFunc func(ctx context.Context) (string, error)
	// Distance is the search radius in meters (default 100).
	Distance float64
	// Timeout bounds each attempt (default 5 s); Retries is the number of retries of transient
	// failures (default 2; negative means none); RetryDelay the pause before retry n, times n
	// (default 250 ms).
	Timeout    time.Duration
	Retries    int
	RetryDelay time.Duration
	// HTTPClient is used for all calls; nil means a private client that follows no redirects.
	HTTPClient *http.Client
	// UserAgent defaults to "ticketsync-arcgis/1".
	UserAgent string
}

// Client calls one GeocodeServer. It is safe for concurrent use.
type Client struct {
	endpoint   string // …/GeocodeServer/reverseGeocode
	static     string
	tokenFunc  func(ctx context.Context) (string, error)
	distance   float64
	timeout    time.Duration
	retries    int
	retryDelay time.Duration
	hc         *http.Client
	ua         string

	mu    sync.Mutex
	token string // from tokenFunc
}

// Point is a location; X is the longitude and Y the latitude when WKID is 4326.
type Point struct {
	X    float64
	Y    float64
	WKID int // spatial reference of X/Y (latestWkid when the server gives it)
}

// Address is a matched address. Every field may be empty: the keys depend on the locator
// (World service vs. ArcGIS Pro/Desktop locators); Fields keeps them all as returned.
type Address struct {
	Match  string // Match_addr (or LongLabel): the canonical one-line address
	Street string // Address | Street
	City   string
	State  string // Region | State
	Zip    string // Postal | ZIP
	Fields map[string]string
}

// Result of a reverse geocode. Found is false when no address lies within the distance.
type Result struct {
	Found    bool
	Address  Address
	Location Point // the matched address point (not the input point)
}

var geocodeServerRE = regexp.MustCompile(`(?i)/GeocodeServer$`)

// New validates cfg and returns a client; no call is made.
func New(cfg Config) (*Client, error) {
	var problems []string
	svc := strings.TrimRight(strings.TrimSpace(cfg.ServiceURL), "/")
	svc = strings.TrimSuffix(svc, "/reverseGeocode")
	if err := checkServiceURL(svc); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.Timeout < 0 || cfg.RetryDelay < 0 || cfg.Distance < 0 {
		problems = append(problems, "Timeout, RetryDelay and Distance must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("arcgis: invalid config: %s", strings.Join(problems, "; "))
	}
	c := &Client{endpoint: svc + "/reverseGeocode", static: cfg.Token, tokenFunc: cfg.TokenFunc, distance: cfg.Distance,
		timeout: cfg.Timeout, retries: cfg.Retries, retryDelay: cfg.RetryDelay, hc: cfg.HTTPClient, ua: cfg.UserAgent}
	if c.distance == 0 {
		c.distance = defaultDistance
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	switch {
	case c.retries == 0:
		c.retries = defaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.retryDelay == 0 {
		c.retryDelay = defaultRetryDelay
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.ua == "" {
		c.ua = defaultUA
	}
	return c, nil
}

func checkServiceURL(svc string) error {
	u, err := url.Parse(svc)
	switch {
	case svc == "":
		return fmt.Errorf("ServiceURL is required")
	case err != nil:
		return fmt.Errorf("ServiceURL %q is not a valid URL: %v", svc, err)
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("ServiceURL %q must be a plain URL with a host", svc)
	case !geocodeServerRE.MatchString(u.Path):
		return fmt.Errorf("ServiceURL %q must end with /GeocodeServer", svc)
	case u.Scheme == "https", u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("ServiceURL %q must use https (http only on loopback)", svc)
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// ReverseGeocode finds the address nearest to (lng, lat) in WGS84 within the configured
// distance. No match is Found false with a nil error.
func (c *Client) ReverseGeocode(ctx context.Context, lng, lat float64) (Result, error) {
	const op = "reverse geocode"
	loc, _ := json.Marshal(map[string]any{"x": lng, "y": lat, "spatialReference": map[string]int{"wkid": wgs84}})
	q := url.Values{
		"location": {string(loc)},
		"distance": {strconv.FormatFloat(c.distance, 'f', -1, 64)},
		"outSR":    {strconv.Itoa(wgs84)},
		"f":        {"json"},
	}
	refreshed, retried := false, 0
	for {
		tok, err := c.currentToken(ctx)
		if err != nil {
			return Result{}, err
		}
		res, err := c.once(ctx, op, q, tok)
		switch {
		case err == nil:
			return res, nil
		case isInvalidToken(err) && c.tokenFunc != nil && !refreshed:
			refreshed = true // one new token, not counted as a transient retry
			c.dropToken(tok)
			continue
		case !vendorapi.IsRetryable(err) || retried >= c.retries || retryAfter(err) > maxRetryAfter:
			return Result{}, err // a long Retry-After is the caller's to honour
		}
		retried++
		if !c.pause(ctx, retried, err) {
			return Result{}, vendorapi.TransportError(Vendor, op, ctx.Err())
		}
	}
}

// pause waits before retry n (the server's Retry-After when it is short).
func (c *Client) pause(ctx context.Context, n int, err error) bool {
	d := time.Duration(n) * c.retryDelay
	if ra := retryAfter(err); ra > 0 {
		d = ra
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func retryAfter(err error) time.Duration {
	var ve *vendorapi.Error
	if errors.As(err, &ve) {
		return ve.RetryAfter
	}
	return 0
}

// once performs one GET and interprets the answer.
func (c *Client) once(ctx context.Context, op string, q url.Values, tok string) (Result, error) {
	if tok != "" {
		q = cloneValues(q)
		q.Set("token", tok)
	}
	resp, body, err := vendorapi.Send(ctx, c.hc, Vendor, op, vendorapi.Attempt{Method: http.MethodGet,
		URL: c.endpoint + "?" + q.Encode(), UserAgent: c.ua, Timeout: c.timeout, MaxBody: maxResponseBody})
	if err != nil {
		return Result{}, err
	}
	jsonBody := looksLikeJSON(resp, body)
	if resp.StatusCode != http.StatusOK {
		if jsonBody { // some proxies pass the ArcGIS error with a real HTTP status
			if eb, ok := parseError(body); ok {
				return Result{}, classify(op, eb, resp)
			}
		}
		e := vendorapi.ClassifyStatus(Vendor, op, resp)
		e.Code = "http_error"
		e.Message = strings.TrimSpace(fmt.Sprintf("HTTP %d%s", resp.StatusCode, vendorapi.PageTitle(body)))
		switch resp.StatusCode {
		case 498, 499: // real HTTP token statuses from some Web Adaptors
			return Result{}, classify(op, errorBody{Code: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}, resp)
		}
		return Result{}, e
	}
	if !jsonBody {
		// f=json was ignored (a proxy or sign-in page): transient.
		e := vendorapi.NotJSON(Vendor, op, resp)
		e.Message += vendorapi.PageTitle(body)
		return Result{}, e
	}
	if eb, ok := parseError(body); ok {
		if eb.noMatch() {
			return Result{}, nil
		}
		return Result{}, classify(op, eb, resp)
	}
	var ok struct {
		Address  map[string]json.RawMessage `json:"address"`
		Location *struct {
			X                float64 `json:"x"`
			Y                float64 `json:"y"`
			SpatialReference struct {
				WKID       int `json:"wkid"`
				LatestWKID int `json:"latestWkid"`
			} `json:"spatialReference"`
		} `json:"location"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.Address == nil {
		return Result{}, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
			Message: "answer has neither address nor error", Retryable: true}
	}
	res := Result{Found: true, Address: mapAddress(ok.Address)}
	if l := ok.Location; l != nil {
		res.Location = Point{X: l.X, Y: l.Y, WKID: l.SpatialReference.WKID}
		if l.SpatialReference.LatestWKID != 0 {
			res.Location.WKID = l.SpatialReference.LatestWKID
		}
	}
	return res, nil
}

// mapAddress applies the contract's rule: every key optional and read as a string.
func mapAddress(raw map[string]json.RawMessage) Address {
	f := make(map[string]string, len(raw))
	for k, v := range raw {
		f[k] = stringOf(v)
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(f[k]); v != "" {
				return v
			}
		}
		return ""
	}
	return Address{Match: first("Match_addr", "LongLabel"), Street: first("Address", "Street", "ShortLabel"),
		City: first("City"), State: first("Region", "State", "RegionAbbr"), Zip: first("Postal", "ZIP"), Fields: f}
}

// stringOf reads a JSON string, number or bool as text; null and objects are "".
func stringOf(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return strconv.FormatBool(b)
	}
	return ""
}

func looksLikeJSON(resp *http.Response, body []byte) bool {
	if vendorapi.IsJSON(resp) {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '{' // servers label f=json answers text/plain
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = v
	}
	return out
}

// ---- tokens ----

func (c *Client) currentToken(ctx context.Context) (string, error) {
	if c.tokenFunc == nil {
		return c.static, nil
	}
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	tok, err := c.tokenFunc(ctx)
	if err != nil {
		if _, ok := err.(*vendorapi.Error); ok {
			return "", err
		}
		return "", &vendorapi.Error{Vendor: Vendor, Op: "get token", Message: "token source failed", Err: err,
			Retryable: vendorapi.IsRetryable(err)}
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}
