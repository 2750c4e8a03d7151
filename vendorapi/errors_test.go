package vendorapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func resp(code int, hdr map[string]string) *http.Response {
	r := &http.Response{StatusCode: code, Header: http.Header{}}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestClassifyStatus(t *testing.T) {
	cases := []struct {
		code      int
		retryable bool
		kind      string
	}{
		{500, true, "Unavailable"}, {502, true, "Unavailable"}, {503, true, "Unavailable"}, {504, true, "Unavailable"},
		{429, true, "RateLimited"}, {408, true, "Vendor"},
		{400, false, "Validation"}, {422, false, "Validation"}, {401, false, "Auth"}, {403, false, "Auth"},
		{404, false, "NotFound"}, {409, false, "Conflict"},
	}
	for _, c := range cases {
		e := ClassifyStatus("v", "op", resp(c.code, nil))
		if e.Retryable != c.retryable || e.Kind() != c.kind {
			t.Errorf("%d: retryable=%t kind=%s, want %t %s", c.code, e.Retryable, e.Kind(), c.retryable, c.kind)
		}
		if IsRetryable(fmt.Errorf("wrapped: %w", e)) != c.retryable {
			t.Errorf("%d: IsRetryable through wrapping", c.code)
		}
	}
	e := ClassifyStatus("v", "op", resp(429, map[string]string{"Retry-After": "7"}))
	if e.RetryAfter != 7*time.Second {
		t.Fatalf("Retry-After: %s", e.RetryAfter)
	}
	if !IsNotFound(ClassifyStatus("v", "op", resp(404, nil))) || !IsConflict(ClassifyStatus("v", "op", resp(409, nil))) {
		t.Fatal("IsNotFound / IsConflict")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"12":                            12 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestTransportAndNotJSON(t *testing.T) {
	if TransportError("v", "op", context.Canceled).Retryable {
		t.Fatal("a cancelled caller is not retryable")
	}
	var ne net.Error = &net.OpError{Op: "dial", Err: errors.New("refused")}
	if !TransportError("v", "op", ne).Retryable || !TransportError("v", "op", context.DeadlineExceeded).Retryable {
		t.Fatal("network errors and timeouts are retryable")
	}
	r := resp(200, map[string]string{"Content-Type": "text/html; charset=utf-8"})
	if IsJSON(r) {
		t.Fatal("text/html is not JSON")
	}
	if e := NotJSON("v", "op", r); !e.Retryable || e.Code != "not_json" {
		t.Fatalf("NotJSON: %+v", e)
	}
	if !IsJSON(resp(200, map[string]string{"Content-Type": "application/problem+json"})) {
		t.Fatal("+json is JSON")
	}
	if !IsRetryable(errors.New("unclassified")) || IsRetryable(context.Canceled) {
		t.Fatal("unclassified errors retry; cancellation does not")
	}
}

func TestPageTitleNamesAnHTMLPage(t *testing.T) {
	long := strings.Repeat("é", 130)
	for body, want := range map[string]string{
		"<html><head><TITLE>\n  Service\tUnavailable </TITLE></head></html>": ` (page "Service Unavailable")`,
		"<title>" + long + "</title>":                                        ` (page "` + long[:2*119] + `…")`,
		"<html><body>no title</body></html>":                                 "",
		"<title></title>":                                                    "",
	} {
		if got := PageTitle([]byte(body)); got != want {
			t.Errorf("PageTitle(%.40q) = %q, want %q", body, got, want)
		}
	}
}
