package vendorapi

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultHTTPTimeout bounds a whole attempt (connect, TLS, request, response body) when
// NewHTTPClient is given no timeout: a vendor call is never unbounded.
const DefaultHTTPTimeout = 30 * time.Second

// NewHTTPClient returns the HTTP client production vendor connectors share. It never follows
// redirects: Go re-sends most headers to the new location, and a 307/308 replays the body too,
// so a redirect (a compromised or misconfigured vendor, a captive proxy) could carry an
// Authorization header or an OAuth client secret to another host; the 3xx comes back to the
// caller as a failed response instead. Every attempt is bounded by timeout (≤ 0:
// DefaultHTTPTimeout); connections are kept alive and pooled per host (connectors poll the same
// few hosts all day); dialing and the TLS handshake have their own, shorter bounds so a dead
// host fails fast; TLS 1.2 is the minimum.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: NoRedirect}
}

// NoRedirect is an http.Client CheckRedirect that returns every 3xx to the caller unfollowed
// (see NewHTTPClient for why). Use it when a client must be built by hand.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// IsLoopbackHost reports whether host (no port; brackets and a trailing dot allowed) is
// localhost, in 127.0.0.0/8 or ::1. Names under localhost ("x.localhost") are not: nothing
// guarantees that a resolver keeps them on this machine.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // zone, e.g. ::1%lo
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckBaseURL enforces the transport rule for a vendor base URL: https, or plain http only to a
// loopback host (simulators, development), because credentials and tenant data must not cross a
// network in clear. It also refuses a URL without a host or with credentials in it (they would
// be logged with the URL). Errors name the URL and the fix.
func CheckBaseURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// Not echoed: an unparsable URL cannot be redacted and may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("base URL is not a valid URL: %v", err)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("base URL %q has no host (want https://host/…)", raw)
	}
	if u.User != nil {
		return fmt.Errorf("base URL %q must not contain credentials; configure them in their own fields", u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("base URL %q must use https (plain http is allowed only to localhost, 127.0.0.0/8 or ::1)", raw)
	default:
		return fmt.Errorf("base URL %q must use https", raw)
	}
}
