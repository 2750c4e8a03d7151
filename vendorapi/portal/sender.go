package portal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the vendorapi.Error vendor name of every error this package returns.
const Vendor = "portal"

// Delivery schedule (contract "Delivery"). The Ticket workflow's Temporal retry policy uses the
// same numbers; Backoff documents and tests them.
const (
	AckTimeout         = 10 * time.Second // a 2xx must arrive within this, per attempt
	InitialInterval    = 10 * time.Second
	BackoffCoefficient = 2.0
	MaximumInterval    = time.Hour
	Jitter             = 0.2            // ±20 %
	MaxEventAge        = 24 * time.Hour // then the event is abandoned and the ticket parked
)

// CodeEndpointGone is the vendorapi.Error Code of a 410 Gone (see IsGone).
const CodeEndpointGone = "endpoint_gone"

// Header names sent on every delivery.
const (
	HeaderWebhookID       = "webhook-id"
	HeaderWebhookTS       = "webhook-timestamp"
	HeaderWebhookSig      = "webhook-signature"
	HeaderEventType       = "Ticketsync-Event-Type"
	HeaderDeliveryAttempt = "Ticketsync-Delivery-Attempt"
	ContentType           = "application/json; charset=utf-8"
)

// Target is one connection's portal endpoint and its active signing secrets (several during
// rotation; each signs).
type Target struct {
	URL     string
	Secrets []stdwebhooks.Secret
}

// SenderOptions configures a Sender; zero values take the defaults.
type SenderOptions struct {
	HTTPClient *http.Client     // default: vendorapi.NewHTTPClient; redirects are never followed either way
	UserAgent  string           // default "ticketsync/dev"; pass UserAgent(config.Version)
	Timeout    time.Duration    // ack deadline per attempt, default AckTimeout (10 s)
	Now        func() time.Time // clock for webhook-timestamp and Retry-After dates; default time.Now
}

// UserAgent formats the contract's User-Agent for a build version.
func UserAgent(version string) string { return "ticketsync/" + version }

// Sender delivers signed events. It is safe for concurrent use.
type Sender struct {
	client    *http.Client
	userAgent string
	timeout   time.Duration
	now       func() time.Time
}

// NewSender builds a Sender.
func NewSender(opts SenderOptions) *Sender {
	var c http.Client
	if opts.HTTPClient != nil {
		c = *opts.HTTPClient
	} else {
		c = *vendorapi.NewHTTPClient(0)
		c.Timeout = 0 // Deliver bounds each attempt with its own ack timeout
	}
	// A redirect would be replayed as a GET and its 200 mistaken for an ack, or could lead to
	// plain HTTP: never follow; a 3xx is a failed attempt that names the new location.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Sender{client: &c, userAgent: opts.UserAgent, timeout: opts.Timeout, now: opts.Now}
	if s.userAgent == "" {
		s.userAgent = UserAgent("dev")
	}
	if s.timeout <= 0 {
		s.timeout = AckTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

const opDeliver = "deliver event"

// Deliver POSTs one signed attempt (attempt is 1-based; it only feeds the
// Ticketsync-Delivery-Attempt header). A nil error means the portal acknowledged with a 2xx
// within the timeout, whatever the body (an HTML 200 is still an ack). Errors are
// *vendorapi.Error with Vendor "portal":
//   - any other status, timeouts and transport errors: retryable; 429/503 carry RetryAfter.
//   - 401/403 are retryable too, on purpose: a wrong secret on either side must surface as
//     retries and then NeedsAttention after MaxEventAge, never as dropped events.
//   - 410 Gone: non-retryable, IsGone(err); the operator disables/re-enables the endpoint.
//   - a non-HTTPS, non-loopback URL, no secrets or an invalid event: non-retryable, nothing sent.
//   - ctx cancelled by the caller: non-retryable.
func (s *Sender) Deliver(ctx context.Context, target Target, ev Event, attempt int) error {
	if err := CheckURL(target.URL); err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, Code: "insecure_url", Message: err.Error()}
	}
	if len(target.Secrets) == 0 {
		return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, Code: "no_secret", Message: "the connection has no signing secret"}
	}
	for _, sec := range target.Secrets {
		if sec.IsZero() {
			return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, Code: "no_secret", Message: "an unparsed (empty) signing secret"}
		}
	}
	body, err := ev.Body()
	if err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, Code: "invalid_event", Message: err.Error()}
	}
	if attempt < 1 {
		attempt = 1
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.URL, bytes.NewReader(body))
	if err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: opDeliver, Code: "invalid_url", Message: err.Error()}
	}
	ts := s.now().Unix() // fresh per attempt: receivers reject timestamps older than 5 min
	// Header names are case-insensitive; Go canonicalises them (Webhook-Id), as any receiver
	// library expects to read them.
	h := req.Header
	h.Set("Content-Type", ContentType)
	h.Set("User-Agent", s.userAgent)
	h.Set(HeaderWebhookID, ev.ID)
	h.Set(HeaderWebhookTS, strconv.FormatInt(ts, 10))
	h.Set(HeaderWebhookSig, stdwebhooks.Sign(target.Secrets, ev.ID, ts, body))
	h.Set(HeaderEventType, ev.Type)
	h.Set(HeaderDeliveryAttempt, strconv.Itoa(attempt))

	resp, err := s.client.Do(req)
	if err != nil {
		return vendorapi.TransportError(Vendor, opDeliver, err)
	}
	defer resp.Body.Close()
	// The status line is the ack; the body is read (bounded) only to explain failures and to
	// let the connection be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &vendorapi.Error{Vendor: Vendor, Op: opDeliver, HTTPStatus: resp.StatusCode, Retryable: true,
		Message: describe(resp, snippet)}
	switch resp.StatusCode {
	case http.StatusGone:
		e.Retryable = false
		e.Code = CodeEndpointGone
		e.Message = "the portal answered 410 Gone: endpoint disabled until an operator re-enables it"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		e.RetryAfter = vendorapi.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Code = "signature_rejected"
	}
	return e
}

func describe(resp *http.Response, snippet []byte) string {
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		return "redirects are not followed; point the connection at " + loc
	}
	s := strings.TrimSpace(string(snippet))
	if !utf8.ValidString(s) || s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// IsGone reports whether err is the portal's 410 Gone (disable the endpoint, don't retry).
func IsGone(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Vendor == Vendor && ve.HTTPStatus == http.StatusGone
}

// IsLoopbackHost reports whether host (no port) is localhost, in 127.0.0.0/8 or ::1
// (vendorapi.IsLoopbackHost, the one rule for every outbound client).
func IsLoopbackHost(host string) bool { return vendorapi.IsLoopbackHost(host) }

// CheckURL enforces the contract's transport rule: https, or plain http to loopback only
// (development and tests). Events carry tenant data and must not cross a network in clear.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("portal url is not a valid URL: %v", err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("portal url %q has no host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("portal url %q must use https (plain http is allowed only to localhost, 127.0.0.0/8 or ::1)", raw)
	default:
		return fmt.Errorf("portal url %q must use https", raw)
	}
}

// Backoff is the wait after failed attempt n (1-based): 10 s × 2ⁿ⁻¹, capped at 1 h, then
// ±20 % jitter (so near the cap waits spread over 48–72 min). jitter returns a value in [0, 1);
// nil uses math/rand. This is what the Temporal retry policy approximates (it has no jitter).
func Backoff(attempt int, jitter func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := InitialInterval
	for i := 1; i < attempt && d < MaximumInterval; i++ {
		d *= BackoffCoefficient
	}
	d = min(d, MaximumInterval)
	if jitter == nil {
		jitter = rand.Float64
	}
	j := jitter()
	if j < 0 {
		j = 0
	} else if j > 1 {
		j = 1
	}
	return time.Duration(float64(d) * (1 - Jitter + 2*Jitter*j))
}

// MaxRetryAfter caps the Retry-After floor: a portal cannot hold an event past MaxEventAge,
// after which it is abandoned anyway (and an absurd header cannot overflow the delay).
const MaxRetryAfter = MaxEventAge

// RetryDelay is the wait before the next attempt after err. It is Backoff (with its ±20 %
// jitter), and when the portal sent Retry-After (429/503), at least that: Retry-After is a
// floor, not a replacement. A portal answering "Retry-After: 1" during a long outage does not
// shorten the backoff, and the floor itself gets up to +20 % so tickets told the same
// Retry-After do not all come back in the same second (never less than asked). jitter is as
// for Backoff; nil uses math/rand. Use it for every retry of a delivery (e.g. as Temporal's
// NextRetryDelay): the retry policy alone has no jitter.
func RetryDelay(attempt int, err error, jitter func() float64) time.Duration {
	if jitter == nil {
		jitter = rand.Float64
	}
	j := jitter() // one draw for both terms keeps the result reproducible in tests
	d := Backoff(attempt, func() float64 { return j })
	var ve *vendorapi.Error
	if errors.As(err, &ve) && ve.RetryAfter > 0 {
		floor := min(ve.RetryAfter, MaxRetryAfter)
		d = max(d, time.Duration(float64(floor)*(1+Jitter*min(max(j, 0), 1))))
	}
	return d
}
