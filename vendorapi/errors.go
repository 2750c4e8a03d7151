package vendorapi

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Error is a classified failure of a vendor call. Retryable errors are retried with backoff by
// the activity's retry policy (honouring RetryAfter); non-retryable ones park the ticket.
type Error struct {
	Vendor     string            // e.g. "theworxhub"
	Op         string            // e.g. "create work request"
	HTTPStatus int               // 0 for transport errors
	Code       string            // vendor error code, e.g. "validation_failed"
	Message    string            // vendor message or our description
	Fields     map[string]string // per-field validation messages, when the vendor gives them
	Retryable  bool
	RetryAfter time.Duration // > 0 when the vendor asked us to wait (429/503 Retry-After)
	Err        error         // underlying transport error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Vendor, e.Op)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Kind names the class of the error for operators and Temporal's ApplicationError type.
func (e *Error) Kind() string {
	switch {
	case e.HTTPStatus == http.StatusTooManyRequests:
		return "RateLimited"
	case e.HTTPStatus == 0:
		return "Transport"
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return "Auth"
	case e.HTTPStatus == http.StatusNotFound:
		return "NotFound"
	case e.HTTPStatus == http.StatusConflict:
		return "Conflict"
	case e.HTTPStatus == http.StatusUnprocessableEntity || e.HTTPStatus == http.StatusBadRequest:
		return "Validation"
	case e.HTTPStatus >= 500:
		return "Unavailable"
	default:
		return "Vendor"
	}
}

// IsRetryable reports whether err is worth retrying. Unclassified errors are retryable
// (a bug in classification must not silently drop work; the retry policy bounds it).
func IsRetryable(err error) bool {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Retryable
	}
	return !errors.Is(err, context.Canceled)
}

// IsNotFound reports whether err is a vendor 404.
func IsNotFound(err error) bool {
	var ve *Error
	return errors.As(err, &ve) && ve.HTTPStatus == http.StatusNotFound
}

// IsConflict reports whether err is a vendor 409 (e.g. invalid_transition).
func IsConflict(err error) bool {
	var ve *Error
	return errors.As(err, &ve) && ve.HTTPStatus == http.StatusConflict
}

// ClassifyStatus builds an Error for a non-2xx HTTP response. The caller fills Code/Message
// from the vendor's error body when it could parse one.
//   - 5xx, 408, 425, 429: retryable (429/503 honour Retry-After)
//   - 401: retryable once at the client (token refresh); reaching here means auth is broken → park
//   - other 4xx: non-retryable (validation, permissions, missing object)
func ClassifyStatus(vendor, op string, resp *http.Response) *Error {
	e := &Error{Vendor: vendor, Op: op, HTTPStatus: resp.StatusCode}
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly, resp.StatusCode == http.StatusTooManyRequests:
		e.Retryable = true
	}
	e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// ParseRetryAfter reads an RFC 9110 Retry-After value: delay-seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TransportError classifies a failure to get any response: timeouts, refused and dropped
// connections are retryable; a cancelled context is not (the caller gave up).
func TransportError(vendor, op string, err error) *Error {
	e := &Error{Vendor: vendor, Op: op, Err: err, Message: "no response"}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Retryable = false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		e.Retryable = true
		e.Message = "timeout or network error"
	default:
		e.Retryable = true
	}
	return e
}

// NotJSON classifies a 2xx (or error) response whose body is not JSON — typically a proxy's or
// maintenance HTML page. It is transient by nature: retry.
func NotJSON(vendor, op string, resp *http.Response) *Error {
	return &Error{Vendor: vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "not_json",
		Message:    fmt.Sprintf("expected JSON, got %q", resp.Header.Get("Content-Type")),
		Retryable:  true,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// IsJSON reports whether a response declares a JSON media type (application/json or +json).
func IsJSON(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

var pageTitleRE = regexp.MustCompile(`(?is)<title[^>]*>\s*(.*?)\s*</title>`)

// PageTitle names an HTML page (a proxy's error or maintenance page) for an error message:
// ` (page "Service Unavailable")`, or "" when the body has no title. Whitespace is collapsed and
// a title over 120 characters is cut, marked with "…".
func PageTitle(body []byte) string {
	m := pageTitleRE.FindSubmatch(body)
	if m == nil || len(m[1]) == 0 {
		return ""
	}
	t := strings.Join(strings.Fields(string(m[1])), " ")
	if r := []rune(t); len(r) > 120 {
		t = string(r[:119]) + "…"
	}
	return ` (page "` + t + `")`
}
