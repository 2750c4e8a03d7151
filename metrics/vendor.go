package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

type opKey struct{}

// OtherOp labels vendor calls whose context names no operation.
const OtherOp = "other"

// WithOp names the vendor operation (e.g. "create_request", "get_changes") for the calls made
// with ctx; InstrumentVendor labels their metrics with it.
func WithOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// Op is the operation WithOp set on ctx, or OtherOp.
func Op(ctx context.Context) string {
	if op, ok := ctx.Value(opKey{}).(string); ok && op != "" {
		return op
	}
	return OtherOp
}

// InstrumentVendor wraps rt (nil = http.DefaultTransport) so every request records
// ticketsync_vendor_request_duration_seconds and, when it fails,
// ticketsync_vendor_request_errors_total, labelled with vendor and the request context's Op.
// The duration runs to the response headers; a body read slowly afterwards is not included.
func InstrumentVendor(vendor string, rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &vendorTransport{vendor: vendor, next: rt}
}

type vendorTransport struct {
	vendor string
	next   http.RoundTripper
}

func (t *vendorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := Op(req.Context())
	began := time.Now()
	resp, err := t.next.RoundTrip(req)
	// A deadline that passed (ours or http.Client.Timeout, which may surface as a cancellation)
	// is the vendor being slow; any other cancellation is us giving up (shutdown), which says
	// nothing about the vendor.
	timedOut := false
	if dl, ok := req.Context().Deadline(); ok && err != nil && !time.Now().Before(dl) {
		timedOut = true
	} else if err != nil && errors.Is(err, context.Canceled) {
		return resp, err
	}
	vendorDuration.WithLabelValues(t.vendor, op).Observe(time.Since(began).Seconds())
	class := errorClass(resp, err)
	if timedOut {
		class = "timeout"
	}
	if class != "" {
		vendorErrors.WithLabelValues(t.vendor, op, class).Inc()
	}
	return resp, err
}

// errorClass sorts a failed call the way an operator triages it; "" for a success.
func errorClass(resp *http.Response, err error) string {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "timeout"
		}
		return "transport"
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		return "rate_limited"
	case code >= 500:
		return "server"
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "auth"
	case code >= 400:
		return "client"
	case code >= 300:
		return "redirect" // the clients never follow redirects: an unexpected one is a failure
	}
	return ""
}
