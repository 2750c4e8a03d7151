package pruvan

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Push API error codes (Code of the *vendorapi.Error).
const (
	// CodeInvalidPushKey: Pruvan answered {"response":false,"error":"invalid clientCode"}, or the
	// push key is unusable. Permanent: the integration must be validated again.
	CodeInvalidPushKey = "invalid_push_key"
	// CodeRejected: any other application error Pruvan reports inside an HTTP 200.
	CodeRejected = "rejected"
	CodeNotJSON  = "not_json"
)

const (
	pushPath        = "/api/"
	maxResponseBody = 8 << 20
	defaultTimeout  = 30 * time.Second
	defaultUA       = "ticketsync-pruvan/1"
)

// PushConfig configures a PushClient.
type PushConfig struct {
	// BaseURL is Pruvan's root, e.g. https://direct.pruvan.com (the connection's baseUrl).
	// https is required except on loopback hosts.
	BaseURL string
	// HTTPClient defaults to a private client that never follows redirects (a redirect could
	// carry the push key elsewhere).
	HTTPClient *http.Client
	// Timeout bounds each call; 0 means 30 s.
	Timeout   time.Duration
	UserAgent string
}

// PushClient calls Pruvan's push API (contracts/pruvan.md §A). The push key is what Pruvan
// sent to our validate method: a full URL ({pruvanBase}/api/?apiKey=<key>) or a bare key.
type PushClient struct {
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
	ua      string
}

// NewPushClient validates cfg; no network call is made.
func NewPushClient(cfg PushConfig) (*PushClient, error) {
	var problems []string
	u, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.Timeout < 0 {
		problems = append(problems, "Timeout must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pruvan: invalid push config: %s", strings.Join(problems, "; "))
	}
	c := &PushClient{base: u, hc: cfg.HTTPClient, timeout: cfg.Timeout, ua: cfg.UserAgent}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.ua == "" {
		c.ua = defaultUA
	}
	return c, nil
}

// APIKey extracts the key from a push key. A push key URL must point at the configured Pruvan
// (same scheme and host): the key arrives in a validate call, and we will not send requests
// wherever such a call says.
func (c *PushClient) APIKey(pushKey string) (string, error) {
	pushKey = strings.TrimSpace(pushKey)
	if pushKey == "" {
		return "", &vendorapi.Error{Vendor: Vendor, Op: "push key", Code: CodeInvalidPushKey, Message: "no push key (validate the integration in Pruvan)"}
	}
	if !strings.Contains(pushKey, "://") {
		return pushKey, nil
	}
	u, err := url.Parse(pushKey)
	if err != nil || !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return "", &vendorapi.Error{Vendor: Vendor, Op: "push key", Code: CodeInvalidPushKey,
			Message: fmt.Sprintf("push key URL does not point at %s://%s", c.base.Scheme, c.base.Host)}
	}
	key := u.Query().Get("apiKey")
	if key == "" {
		return "", &vendorapi.Error{Vendor: Vendor, Op: "push key", Code: CodeInvalidPushKey, Message: "push key URL has no apiKey"}
	}
	return key, nil
}

// SamePushKey compares two push keys (URL or bare) in constant time.
func (c *PushClient) SamePushKey(a, b string) bool {
	ka, err1 := c.APIKey(a)
	kb, err2 := c.APIKey(b)
	return err1 == nil && err2 == nil && subtle.ConstantTimeCompare([]byte(ka), []byte(kb)) == 1
}

// Trigger calls the push key (GET): it validates the key and makes Pruvan start an
// incremental import, i.e. call our getWorkOrders soon.
func (c *PushClient) Trigger(ctx context.Context, pushKey string) error {
	return c.call(ctx, "trigger import", http.MethodGet, pushKey, nil)
}

// Upsert creates or updates projects (key: workOrderNumber). Fields left empty are not sent
// and stay as they are in Pruvan.
func (c *PushClient) Upsert(ctx context.Context, pushKey string, orders ...WorkOrder) error {
	const op = "upsert projects"
	if len(orders) == 0 {
		return nil
	}
	for _, o := range orders {
		if strings.TrimSpace(o.WorkOrderNumber) == "" {
			return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: "work order without workOrderNumber"}
		}
	}
	b, err := json.Marshal(struct {
		WorkOrders []WorkOrder `json:"workOrders"`
	}{orders})
	if err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode work orders", Err: err}
	}
	return c.call(ctx, op, http.MethodPost, pushKey, url.Values{"workOrders": {string(b)}})
}

// CloseProject tells Pruvan the source order is finished: clientStatus becomes the source's
// final status (e.g. "Completed", "Cancelled"). Pruvan keeps the project until a user
// archives it; the order source must also stop returning it from full refreshes.
func (c *PushClient) CloseProject(ctx context.Context, pushKey, workOrderNumber, clientStatus string) error {
	if strings.TrimSpace(clientStatus) == "" {
		return &vendorapi.Error{Vendor: Vendor, Op: "close project", Code: "invalid_argument", Message: "empty client status"}
	}
	return c.Upsert(ctx, pushKey, WorkOrder{WorkOrderNumber: workOrderNumber, ClientStatus: clientStatus})
}

// call sends one push API request and interprets the {"response","error"} envelope, which
// carries application errors inside HTTP 200.
func (c *PushClient) call(ctx context.Context, op, method, pushKey string, form url.Values) error {
	key, err := c.APIKey(pushKey)
	if err != nil {
		return err
	}
	target := *c.base
	target.Path = strings.TrimRight(c.base.Path, "/") + pushPath
	target.RawQuery = url.Values{"apiKey": {key}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: op, Message: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return vendorapi.TransportError(Vendor, op, redactErr(err, key))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return vendorapi.TransportError(Vendor, op, redactErr(err, key))
	}
	if len(data) > maxResponseBody {
		return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: res.StatusCode, Code: "response_too_large",
			Message: fmt.Sprintf("response body exceeds %d bytes", maxResponseBody)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := vendorapi.ClassifyStatus(Vendor, op, res)
		if vendorapi.IsJSON(res) {
			if env, ok := parseEnvelope(data); ok {
				e.Message = env.Error
			}
		} else {
			e.Code = CodeNotJSON
			e.Message = fmt.Sprintf("non-JSON %q response", res.Header.Get("Content-Type")) + vendorapi.PageTitle(data)
		}
		return e
	}
	env, ok := parseEnvelope(data)
	if !ok {
		// An HTML page (proxy, sign-in) or garbage in place of the envelope: transient.
		e := vendorapi.NotJSON(Vendor, op, res)
		e.Message += vendorapi.PageTitle(data)
		return e
	}
	if env.Response {
		return nil
	}
	e := &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: res.StatusCode, Code: CodeRejected, Message: env.Error}
	if strings.Contains(strings.ToLower(env.Error), "clientcode") || strings.Contains(strings.ToLower(env.Error), "api key") {
		e.Code = CodeInvalidPushKey
	}
	return e
}

// IsInvalidPushKey reports whether err says the push key is not (or no longer) valid.
func IsInvalidPushKey(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Code == CodeInvalidPushKey
}

type envelope struct {
	Response bool   `json:"response"`
	Error    string `json:"error"`
}

// parseEnvelope accepts the push API answer regardless of Content-Type (Pruvan is not strict
// about it), but only if it is a JSON object with a "response" member.
func parseEnvelope(b []byte) (envelope, bool) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return envelope{}, false
	}
	r, ok := raw["response"]
	if !ok {
		return envelope{}, false
	}
	var env envelope
	if json.Unmarshal(r, &env.Response) != nil {
		var s string
		if json.Unmarshal(r, &s) != nil {
			return envelope{}, false
		}
		env.Response = strings.EqualFold(s, "true")
	}
	if e, ok := raw["error"]; ok {
		if json.Unmarshal(e, &env.Error) != nil {
			env.Error = string(e)
		}
	}
	return env, true
}

// redactErr removes the api key from a transport error (url.Error prints the whole URL).
func redactErr(err error, key string) error {
	msg := err.Error()
	if key == "" || !strings.Contains(msg, url.QueryEscape(key)) && !strings.Contains(msg, key) {
		return err
	}
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, url.QueryEscape(key), "REDACTED"), key, "REDACTED")
	return redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r redacted) Error() string { return r.msg }
func (r redacted) Unwrap() error { return r.err }

// checkBaseURL requires an absolute http(s) URL without credentials, query or fragment, and
// https unless the host is loopback (dev stack and tests).
func checkBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("BaseURL is required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("BaseURL %q is not a valid URL: %v", raw, err)
	case u.Host == "":
		return nil, fmt.Errorf("BaseURL %q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("BaseURL %q must not contain credentials, a query or a fragment", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("BaseURL %q must use https (http only on loopback)", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
