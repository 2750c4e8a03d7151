package vendorapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// This file is the connector model: the two sides a connection joins, each a small interface
// with optional capabilities declared as named interfaces and discovered by type assertion.
//
//	work side     WorkSystem (create by our reference, get, cancel, comment)
//	              + ChangeFeed, ReferenceParser, Truncator, Attachments, CatalogSource, HookHandler, Validator
//	request side  RequestSystem (Notify: vendor-neutral notifications in the system's own form)
//	              + Intake, HookHandler, CatalogSink, Validator
//
// connectors/ maps a connection's kinds to the vendor packages implementing these.

// ---- work side: optional capabilities --------------------------------------------------------

// Truncator reports, before a create, which fields the work system will shorten (recorded on
// the ticket's timeline with the full text).
type Truncator interface {
	Truncations(req NewRequest) []string
}

// Attachments is implemented by work systems that store files on a request.
type Attachments interface {
	// AddAttachment uploads one file, streaming body. Retried calls look the file up by name
	// first (ListAttachments) so a retry never uploads twice.
	AddAttachment(ctx context.Context, remoteID string, a Attachment, body io.Reader) (Attachment, error)
	ListAttachments(ctx context.Context, remoteID string) ([]Attachment, error)
}

// Category is one request category of a work system's catalog (e.g. a Cityworks SR problem
// template or WO template) with its questions.
type Category struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Kind      string     `json:"kind,omitempty"` // vendor sub-kind, e.g. "SR" or "WO"
	Agency    string     `json:"agency,omitempty"`
	Questions []Question `json:"questions,omitempty"`
	// Retired categories are no longer offered (e.g. a template no longer public): request
	// systems deactivate them rather than delete them, since old requests refer to them.
	Retired bool `json:"retired,omitempty"`
}

// Question is a question asked when a request of a category is raised.
type Question struct {
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Answers   []string `json:"answers,omitempty"`
	Required  bool     `json:"required"`
	Private   bool     `json:"private"`
	Secondary bool     `json:"secondary,omitempty"`
	// Choices are Answers with the work system's ids, when it has them (same order).
	Choices []Choice `json:"choices,omitempty"`
}

// Choice is one fixed answer of a question, with the work system's id for it.
type Choice struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// CatalogSource is implemented by work systems with a catalog (templates, categories, questions).
type CatalogSource interface {
	Catalog(ctx context.Context) ([]Category, error)
}

// CatalogCounts summarises a catalog sync.
type CatalogCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// CatalogSink is implemented by request systems that publish the work system's categories.
type CatalogSink interface {
	SyncCatalog(ctx context.Context, cats []Category) (CatalogCounts, error)
}

// Check is one step of `connections validate`: what was checked, whether it passed, and what
// to fix when it did not.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Validator is implemented by either side to authenticate against the vendor and report each
// check (`POST /v1/connections/{id}/validate`).
type Validator interface {
	Validate(ctx context.Context) []Check
}

// ---- request side ---------------------------------------------------------------------------

// Notification kinds: the workflow's vendor-neutral events.
const (
	NotifyStatusChanged  = "status_changed"
	NotifyFeedbackAdded  = "feedback_added"
	NotifyClosed         = "closed"
	NotifyNeedsAttention = "needs_attention"
)

// Notification is one event for the request system. ID is stable across every attempt (derived
// from the workflow id and the event's sequence), so native notifiers use it as their
// idempotency key and the portal sends it as the webhook-id.
type Notification struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"` // Notify*
	OccurredAt time.Time `json:"occurredAt"`
	Attempt    int       `json:"attempt"`

	TicketID       string `json:"ticketId"`
	Tenant         string `json:"tenant"`
	Connection     string `json:"connection"`
	ExternalID     string `json:"externalId"`
	Status         string `json:"status,omitempty"`         // portal status; "" before the first
	PreviousStatus string `json:"previousStatus,omitempty"` // "" on the first status
	RemoteID       string `json:"remoteId,omitempty"`
	Category       string `json:"category,omitempty"`

	Feedback *Feedback   `json:"feedback,omitempty"` // feedback_added
	Reason   string      `json:"reason,omitempty"`   // needs_attention: short, safe to show
	Since    time.Time   `json:"since,omitempty"`    // needs_attention
	Request  *NewRequest `json:"request,omitempty"`  // the ticket's request, for native notifiers that need it
}

// RequestSystem is a system where a person raised the request and wants to hear back. Notify
// must be idempotent per Notification.ID; errors are classified like every vendor error
// (retryable vs not); an Error with HTTPStatus 410 means the endpoint is gone (IsGone).
type RequestSystem interface {
	Kind() string
	Notify(ctx context.Context, n Notification) error
}

// IsGone reports whether the request system said its endpoint no longer exists (410 Gone):
// deliveries of the tenant wait until an operator re-enables the endpoint.
func IsGone(err error) bool {
	var ve *Error
	return errors.As(err, &ve) && ve.HTTPStatus == http.StatusGone
}

// Intent is what an inbound hook or an intake poll asks the engine to do. The engine executes
// intents (starter for hooks, activities for intake): vendor packages never touch Temporal.
type Intent struct {
	Kind IntentKind `json:"kind"`
	// ExternalID names the ticket by the request system's id (start, signal, poke).
	ExternalID string `json:"externalId,omitempty"`
	// RemoteID names the ticket by the work system's id (poke from a work-side hook or feed).
	RemoteID string `json:"remoteId,omitempty"`
	// ModifiedAt is the modification a poke announces, set only by work systems whose stamps
	// order every change of a request (ticket.PokeSignal): a ticket that has read it does not
	// read again.
	ModifiedAt time.Time `json:"modifiedAt,omitzero"`
	// Request is the ticket to start (IntentStart).
	Request *NewRequest `json:"request,omitempty"`
	// Signal and Payload are sent to the ticket (IntentSignal); names live in package ticket.
	Signal  string `json:"signal,omitempty"`
	Payload any    `json:"payload,omitempty"`
}

// IntentKind says what an Intent asks for.
type IntentKind string

const (
	// IntentStart starts the ticket of ExternalID with Request, or leaves it as it is when it
	// exists (idempotent on the workflow id).
	IntentStart IntentKind = "start"
	// IntentPoke asks the ticket to read the work system now.
	IntentPoke IntentKind = "poke"
	// IntentSignal sends Signal with Payload to the ticket of ExternalID.
	IntentSignal IntentKind = "signal"
)

// IntakePage is one page of a request system's new and changed requests. Returned with an
// error, its intents and cursor (when set) are the progress made before the error: the engine
// executes and saves them, then reports the error.
type IntakePage struct {
	Intents []Intent
	Cursor  string // resume point for the next call (persisted by the engine)
	More    bool   // another page is ready now
}

// Intake is implemented by request systems that are polled for new and changed requests
// (SeeClickFix issues, Cyprexx work orders). cursor "" with full=false means "from now";
// full=true re-lists every open request (Full Refresh). Calls must be safe to repeat: the
// engine dedupes by workflow id and comment id.
type Intake interface {
	Intake(ctx context.Context, cursor string, full bool) (IntakePage, error)
}

// ---- inbound hooks (either side) ------------------------------------------------------------

// HookRequest is one inbound call on /v1/hooks/{kind}/{connection}/{path...}.
type HookRequest struct {
	Connection string
	Path       string // the {path...} part, "" when none
	Method     string
	Header     http.Header
	Body       []byte    // the whole body (bounded by the route), unless the handler streams
	Stream     io.Reader // set instead of Body for paths the handler streams (HookStreamer)
	Received   time.Time
}

// HookResult is the vendor package's verdict on a hook. The engine executes Intents and answers
// with Status/Body (202 {"accepted":true} when Status is 0). DeliveryKey is replay protection:
// a delivery whose key was already acted on is answered without executing its intents again
// (a synchronous answer is still given), and the key is recorded only once the intents
// succeeded, so a vendor's retry after our failure is not mistaken for a duplicate.
type HookResult struct {
	Intents     []Intent
	DeliveryKey string // dedupe key of this delivery; "" = no dedupe
	Status      int
	ContentType string
	Body        []byte
}

// HookHandler verifies (its own signature, credential and replay rules) and parses a hook.
// Verification comes first and costs no vendor call. Errors are *HookError (4xx to the caller).
type HookHandler interface {
	HandleHook(ctx context.Context, env HookEnv, req HookRequest) (HookResult, error)
}

// HookStreamer is implemented by hook handlers that take some paths' bodies as streams
// (large uploads) instead of reading them whole.
type HookStreamer interface {
	StreamsHook(path string) bool
}

// HookError is a hook refused with an HTTP status (401 bad signature, 404 unknown hook, 400
// malformed body, ...). Detail is safe to show to the caller.
type HookError struct {
	Status int
	Detail string
}

func (e *HookError) Error() string { return e.Detail }

// HookErrorf builds a HookError.
func HookErrorf(status int, detail string) *HookError {
	return &HookError{Status: status, Detail: detail}
}

// TicketInfo is what a hook handler may read of the connection's tickets.
type TicketInfo struct {
	ID         string     `json:"id"`
	WorkflowID string     `json:"workflowId"`
	ExternalID string     `json:"externalId"`
	RemoteID   string     `json:"remoteId,omitempty"`
	Status     string     `json:"status"`
	Request    NewRequest `json:"request"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// HookEnv is the engine's side of a hook: read-only views of the connection's tickets and a
// small per-connection state store (e.g. Pruvan's push key).
type HookEnv interface {
	// Ticket returns the connection's ticket with the request system's id.
	Ticket(ctx context.Context, externalID string) (TicketInfo, bool, error)
	// Tickets lists the connection's tickets updated since (zero = all), open ones only
	// unless includeClosed.
	Tickets(ctx context.Context, since time.Time, includeClosed bool) ([]TicketInfo, error)
	// Get and Put read and write a per-connection setting.
	Get(ctx context.Context, key string) (string, error)
	Put(ctx context.Context, key, value string) error
}

// ---- rate limits ----------------------------------------------------------------------------

// Limiter paces a connection's calls to one vendor. Implementations shared through the store
// hold the limit across every worker and API process.
type Limiter interface {
	// Wait blocks until a call may be made (or ctx ends).
	Wait(ctx context.Context) error
	// Backoff tells every process to make no call for d (the vendor's 429 Retry-After).
	Backoff(d time.Duration)
}

// LimitTransport paces every request through l and reports 429 Retry-After back to it.
func LimitTransport(l Limiter, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return limitedTransport{l: l, next: next}
}

type limitedTransport struct {
	l    Limiter
	next http.RoundTripper
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.l.Wait(req.Context()); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		d := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if d <= 0 {
			d = time.Second
		}
		t.l.Backoff(d)
	}
	return resp, err
}
