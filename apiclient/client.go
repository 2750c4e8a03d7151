// Package apiclient is a typed Go client of the ticketsync HTTP API (DESIGN.md §6), the API
// that starter/openapi.json describes. The CLI makes every API call through it.
//
// It is hand-written rather than generated; openapi_test.go keeps it honest: every operation of
// the document has a method here, every request a method sends validates against the
// document, and every type has exactly the properties of its schema.
//
// Failures are returned as *Error: the API's RFC 9457 problem when it answered with one, the
// HTTP status and body text otherwise, or the transport error. Nothing is retried here: the
// caller (an operator at a terminal, a script) decides, helped by Error.Retryable.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultBaseURL is where `ticketsync api` and `ticketsync dev` listen by default.
	DefaultBaseURL = "http://127.0.0.1:8080"
	defaultTimeout = 60 * time.Second
	defaultUA      = "ticketsync-apiclient/1"
	// A timeline of a ticket with thousands of comments runs to a few MiB; nothing the API
	// answers legitimately comes near this cap.
	maxResponseBody = 16 << 20
)

// Options configure a Client.
type Options struct {
	// BaseURL is the API's root, e.g. https://ticketsync.example.org; empty means
	// DefaultBaseURL. http:// is accepted only for loopback hosts: the API key travels in
	// every request.
	BaseURL string
	// APIKey is the tenant (or operator) key sent as a Bearer token.
	APIKey string
	// HTTPClient is used for every call; nil means a private client that never follows
	// redirects (a redirect could carry the API key to another host).
	HTTPClient *http.Client
	// Timeout bounds each call; 0 means 60 s (connection operations run synchronously on the
	// server and can take a while).
	Timeout time.Duration
	// UserAgent defaults to "ticketsync-apiclient/1".
	UserAgent string
}

// Client calls one ticketsync API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	key     string
	hc      *http.Client
	timeout time.Duration
	ua      string
}

// New validates opts and returns a client; no call is made.
func New(opts Options) (*Client, error) {
	raw := strings.TrimSpace(opts.BaseURL)
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("apiclient: API URL %q is not a valid URL: %v", raw, err)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("apiclient: API URL %q must start with https:// (or http:// on loopback)", raw)
	case u.Host == "":
		return nil, fmt.Errorf("apiclient: API URL %q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("apiclient: API URL %q must not contain credentials, a query or a fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("apiclient: API URL %q uses http:// on a non-loopback host; use https:// so the API key is not sent in clear", raw)
	}
	if opts.Timeout < 0 {
		return nil, errors.New("apiclient: Timeout must not be negative")
	}
	c := &Client{base: u, key: opts.APIKey, hc: opts.HTTPClient, timeout: opts.Timeout, ua: opts.UserAgent}
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

// BaseURL returns the API root the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FieldError is one invalid field of a validation problem.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem details body as the API sends it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// Error is a failed call.
type Error struct {
	Method, Path string
	// Status is the HTTP status; 0 when no answer arrived (Err says why).
	Status int
	// Problem is the API's problem details, when it answered with application/problem+json.
	Problem *Problem
	// Body is the start of a non-problem error answer (a proxy's page, for instance).
	Body string
	// RetryAfter is the wait the API asked for (429, 503), 0 if none.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Problem != nil && e.Problem.Detail != "":
		return e.Problem.Title + ": " + e.Problem.Detail
	case e.Problem != nil:
		return e.Problem.Title
	case e.Status != 0:
		msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
		if e.Err != nil {
			msg += ": " + e.Err.Error()
		}
		if e.Body != "" {
			msg += ": " + e.Body
		}
		return msg
	default:
		return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later unchanged: no answer at all, 429,
// or a 5xx (the API answers 503 when the store or the workflow engine is unavailable, having
// changed nothing).
func (e *Error) Retryable() bool {
	if e.Status == 0 {
		return !errors.Is(e.Err, context.Canceled)
	}
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// call sends one request: body (if not nil) as JSON, and decodes a 2xx answer into out (if
// not nil). It returns the answer's status.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	u.RawPath = ""
	if p, err := url.PathUnescape(u.Path); err == nil && p != u.Path {
		u.RawPath = u.Path
		u.Path = p
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, &Error{Method: method, Path: path, Err: fmt.Errorf("encode request: %w", err)}
		}
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rdr)
	if err != nil {
		return 0, &Error{Method: method, Path: path, Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, &Error{Method: method, Path: path, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return resp.StatusCode, &Error{Method: method, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
	}
	if len(data) > maxResponseBody {
		return resp.StatusCode, &Error{Method: method, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("answer exceeds %d bytes", maxResponseBody)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, answerError(method, path, resp, data)
	}
	if out != nil {
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			return resp.StatusCode, &Error{Method: method, Path: path, Status: resp.StatusCode, Body: snippet(data),
				Err: fmt.Errorf("answer is %q, not JSON (is %s the ticketsync API?)", resp.Header.Get("Content-Type"), c.base)}
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, &Error{Method: method, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	return resp.StatusCode, nil
}

func answerError(method, path string, resp *http.Response, data []byte) *Error {
	e := &Error{Method: method, Path: path, Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p Problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(data, &p) == nil && p.Title != "" {
		if p.Status == 0 {
			p.Status = resp.StatusCode
		}
		e.Problem = &p
		return e
	}
	e.Body = snippet(data)
	return e
}

// snippet keeps error text short: an HTML error page is not worth printing whole.
func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func pathID(s string) string { return url.PathEscape(s) }
