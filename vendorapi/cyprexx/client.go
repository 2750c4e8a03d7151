// Package cyprexx is the connector for Cyprexx, a property-preservation client whose work
// orders vendors do in Pruvan. Cyprexx publishes no API; the wire format follows our
// reference contract (shared/contracts/cyprexx.md).
//
// The Client polls the work-order feed (Changes since a time, FullRefresh of every active
// order), registers the push key (Validate), and relays what the crew produced in Pruvan:
// photos (streamed, bytes unaltered, idempotent by Pruvan uuid), surveys and the completion
// date. Every failure is a classified *vendorapi.Error: retry (with Retry-After) or park.
//
// VerifyPush/ReadPush authenticate Cyprexx's pushes; ToPruvan maps a work order onto a
// Pruvan project per the contract's field-mapping table.
//
// RequestSystem is the request side of a Cyprexx → Pruvan connection (connector.go): Refresh
// and Full Refresh as its intake (intake.go), the push receiver (hook.go), the relay of photos,
// surveys and the completion date per the QA settings (notify.go) and validate (validate.go).
// It publishes work orders to the connection's Pruvan work side, which it gets through
// vendorapi.WorkPeer.
//
// The simulator in ./sim implements the same contract; contract_test.go runs this client
// against it over real HTTP.
package cyprexx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "cyprexx"

// Cyprexx error codes the callers may want to branch on.
const (
	CodeInvalidToken         = "invalid_token"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeInvalidCursor        = "invalid_cursor"
	CodeCallbackUnreachable  = "callback_unreachable"
	CodeFileTooLarge         = "file_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnknownTask          = "unknown_task"
	CodeInvalidCategory      = "invalid_category"
	CodeWorkOrderClosed      = "work_order_closed"
	CodeValidationFailed     = "validation_failed"
	CodeFormVersionMismatch  = "form_version_mismatch"
	CodeWorkOrderCancelled   = "work_order_cancelled"
	CodeIncomplete           = "incomplete"
	CodeRateLimited          = "rate_limited"
	CodeNotJSON              = "not_json"
)

const (
	// MaxPageSize is the largest feed page Cyprexx serves.
	MaxPageSize = 200
	// MaxPhotoBytes is the photo size limit ("20 MB", read as MiB).
	MaxPhotoBytes = 20 << 20

	apiPrefix            = "/api/v1"
	maxResponseBody      = 8 << 20
	defaultTimeout       = 30 * time.Second
	defaultUploadTimeout = 10 * time.Minute
	defaultUA            = "ticketsync-cyprexx/1"
)

// Config configures a Client.
type Config struct {
	// BaseURL is Cyprexx's root (the API lives under /api/v1); https except on loopback.
	BaseURL string
	// APIToken is the vendor's generated API token (one token = one vendor account).
	APIToken string
	// HTTPClient defaults to a private client that never follows redirects (a redirect could
	// carry the token elsewhere).
	HTTPClient *http.Client
	// Timeout bounds each call, reading the answer included; 0 means 30 s.
	Timeout time.Duration
	// UploadTimeout bounds each photo upload; 0 means 10 min.
	UploadTimeout time.Duration
	UserAgent     string
}

// Client talks to Cyprexx for one vendor account. It is safe for concurrent use.
type Client struct {
	base          string
	token         string
	hc            *http.Client
	timeout       time.Duration
	uploadTimeout time.Duration
	ua            string
}

// New validates cfg and returns a client; no network call is made.
func New(cfg Config) (*Client, error) {
	var problems []string
	base, err := checkURL("BaseURL", cfg.BaseURL, false)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if strings.TrimSpace(cfg.APIToken) == "" {
		problems = append(problems, "APIToken is required")
	}
	if cfg.Timeout < 0 || cfg.UploadTimeout < 0 {
		problems = append(problems, "timeouts must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cyprexx: invalid config: %s", strings.Join(problems, "; "))
	}
	c := &Client{base: strings.TrimRight(base.String(), "/") + apiPrefix, token: cfg.APIToken, hc: cfg.HTTPClient,
		timeout: cfg.Timeout, uploadTimeout: cfg.UploadTimeout, ua: cfg.UserAgent}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.uploadTimeout == 0 {
		c.uploadTimeout = defaultUploadTimeout
	}
	if c.ua == "" {
		c.ua = defaultUA
	}
	return c, nil
}

// Kind is the connection kind.
func (c *Client) Kind() string { return Vendor }

// ---- work orders ----

// Changes lists work orders with updatedAt >= since (inclusive: the boundary repeats, dedupe
// by id+updatedAt), ordered by (updatedAt, workOrderId), or continues from cursor (since is
// then ignored). This is "Refresh". limit <= 0 means Cyprexx's default (50); at most 200.
// An expired cursor (1 h) yields an error for which IsInvalidCursor is true: restart from
// the watermark.
func (c *Client) Changes(ctx context.Context, since time.Time, cursor string, limit int) (Page, error) {
	if cursor == "" && since.IsZero() {
		return Page{}, invalidArgument("list work orders", "no since time: use FullRefresh for every active work order")
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	} else {
		q.Set("updatedSince", FormatTime(since))
	}
	return c.list(ctx, q, limit)
}

// FullRefresh lists every active (non-terminal) work order of the vendor, page by page
// (cursor "" for the first page). This is "Full Refresh", the safety net for lost pushes.
func (c *Client) FullRefresh(ctx context.Context, cursor string, limit int) (Page, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return c.list(ctx, q, limit)
}

func (c *Client) list(ctx context.Context, q url.Values, limit int) (Page, error) {
	const op = "list work orders"
	if limit > MaxPageSize {
		return Page{}, invalidArgument(op, fmt.Sprintf("limit %d above %d", limit, MaxPageSize))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var body struct {
		Items      []WorkOrder `json:"items"`
		NextCursor *string     `json:"nextCursor"`
	}
	if err := c.do(ctx, op, http.MethodGet, "/workorders", q, nil, &body); err != nil {
		return Page{}, err
	}
	p := Page{Items: body.Items}
	if p.Items == nil {
		p.Items = []WorkOrder{}
	}
	for i := range p.Items {
		p.Items[i].UpdatedAt = p.Items[i].UpdatedAt.UTC()
	}
	if body.NextCursor != nil {
		p.NextCursor = *body.NextCursor
	}
	return p, nil
}

// WorkOrder fetches one work order (what a push receiver does after verifying the push).
func (c *Client) WorkOrder(ctx context.Context, id string) (*WorkOrder, error) {
	const op = "get work order"
	if id == "" {
		return nil, invalidArgument(op, "empty work order id")
	}
	var wo WorkOrder
	if err := c.do(ctx, op, http.MethodGet, "/workorders/"+url.PathEscape(id), nil, nil, &wo); err != nil {
		return nil, err
	}
	if wo.WorkOrderID == "" {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Code: "bad_response", Message: "work order without workOrderId", Retryable: true}
	}
	wo.UpdatedAt = wo.UpdatedAt.UTC()
	return &wo, nil
}

// ---- push keys ----

// RegisterPushKey is the Validate step: Cyprexx pings callbackURL (which must answer 2xx
// within 10 s) and from then on pushes every change there with the push key in
// X-Cyprexx-Push-Key. Registering the same key again replaces its callback URL
// (Created false). A failed ping is a non-retryable callback_unreachable error
// (IsCallbackUnreachable): make the callback reachable, then validate again.
func (c *Client) RegisterPushKey(ctx context.Context, pushKey, callbackURL string) (PushKey, error) {
	const op = "register push key"
	if strings.TrimSpace(pushKey) == "" {
		return PushKey{}, invalidArgument(op, "empty push key")
	}
	if _, err := checkURL("callbackUrl", callbackURL, true); err != nil {
		return PushKey{}, invalidArgument(op, err.Error())
	}
	resp, err := c.call(ctx, op, http.MethodPost, "/pushkeys", nil, map[string]string{"pushKey": pushKey, "callbackUrl": callbackURL})
	if err != nil {
		return PushKey{}, err
	}
	var pk PushKey
	if err := decode(op, resp, &pk); err != nil {
		return PushKey{}, err
	}
	pk.Created = resp.StatusCode == http.StatusCreated
	pk.ValidatedAt = pk.ValidatedAt.UTC()
	return pk, nil
}

// DeletePushKey stops pushes to the key; an unknown key is no error.
func (c *Client) DeletePushKey(ctx context.Context, pushKey string) error {
	const op = "delete push key"
	if strings.TrimSpace(pushKey) == "" {
		return invalidArgument(op, "empty push key")
	}
	err := c.do(ctx, op, http.MethodDelete, "/pushkeys/"+url.PathEscape(pushKey), nil, nil, nil)
	if vendorapi.IsNotFound(err) {
		return nil
	}
	return err
}

// ---- relays ----

// SubmitSurvey relays a survey for one form. A later submission replaces the previous one;
// the same submissionId again is a no-op. Errors: 422 validation_failed (Fields per
// questionId), 409 form_version_mismatch (IsFormVersionMismatch: refetch the work order).
func (c *Client) SubmitSurvey(ctx context.Context, workOrderID, formID string, s Survey) (SurveyReceipt, error) {
	const op = "submit survey"
	switch {
	case workOrderID == "" || formID == "":
		return SurveyReceipt{}, invalidArgument(op, "empty work order or form id")
	case strings.TrimSpace(s.SubmissionID) == "":
		return SurveyReceipt{}, invalidArgument(op, "empty submissionId")
	}
	for _, a := range s.Answers {
		if !validValue(a.Value) {
			return SurveyReceipt{}, invalidArgument(op, fmt.Sprintf("answer to %q: value must be a string, number, bool or list of strings, not %T", a.QuestionID, a.Value))
		}
	}
	at := s.SubmittedAt
	if at.IsZero() {
		at = time.Now()
	}
	body := struct {
		SubmissionID string   `json:"submissionId"`
		SubmittedAt  string   `json:"submittedAt"`
		FormVersion  int      `json:"formVersion,omitempty"`
		Answers      []Answer `json:"answers"`
	}{s.SubmissionID, FormatTime(at), s.FormVersion, s.Answers}
	if body.Answers == nil {
		body.Answers = []Answer{}
	}
	resp, err := c.call(ctx, op, http.MethodPost, "/workorders/"+url.PathEscape(workOrderID)+"/surveys/"+url.PathEscape(formID), nil, body)
	if err != nil {
		return SurveyReceipt{}, err
	}
	if err := decode(op, resp, nil); err != nil {
		return SurveyReceipt{}, err
	}
	return SurveyReceipt{Created: resp.StatusCode == http.StatusCreated}, nil
}

func validValue(v any) bool {
	switch v.(type) {
	case nil, string, bool, []string, float64, float32, int, int64, int32, json.Number:
		return true
	}
	return false
}

// Complete sets the completion date; the work order comes back Completed. Completing again
// is a no-op. Errors: 409 work_order_cancelled, 422 incomplete (IsIncomplete; Fields name
// what is missing: "photos:<taskId>" and "form:<formId>").
func (c *Client) Complete(ctx context.Context, workOrderID string, completedAt time.Time) (*WorkOrder, error) {
	const op = "complete work order"
	if workOrderID == "" || completedAt.IsZero() {
		return nil, invalidArgument(op, "empty work order id or completion time")
	}
	var wo WorkOrder
	if err := c.do(ctx, op, http.MethodPost, "/workorders/"+url.PathEscape(workOrderID)+"/complete", nil,
		map[string]string{"completedAt": FormatTime(completedAt)}, &wo); err != nil {
		return nil, err
	}
	wo.UpdatedAt = wo.UpdatedAt.UTC()
	return &wo, nil
}

// ---- error helpers ----

func hasCode(err error, status int, code string) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Code == code && (status == 0 || ve.HTTPStatus == status)
}

// IsInvalidCursor: the feed cursor expired; restart from the updatedSince watermark.
func IsInvalidCursor(err error) bool { return hasCode(err, http.StatusBadRequest, CodeInvalidCursor) }

// IsInvalidToken: the API token was revoked or regenerated; permanent, alert an operator.
func IsInvalidToken(err error) bool { return hasCode(err, http.StatusUnauthorized, CodeInvalidToken) }

// IsCallbackUnreachable: Validate's ping did not reach our callback.
func IsCallbackUnreachable(err error) bool { return hasCode(err, 0, CodeCallbackUnreachable) }

// IsFormVersionMismatch: the form changed since the work order was imported; refetch it.
func IsFormVersionMismatch(err error) bool {
	return hasCode(err, http.StatusConflict, CodeFormVersionMismatch)
}

// IsWorkOrderClosed: the work order no longer takes photos (completed or cancelled).
func IsWorkOrderClosed(err error) bool { return hasCode(err, http.StatusConflict, CodeWorkOrderClosed) }

// IsIncomplete: required photos or forms are missing; the error's Fields say which.
func IsIncomplete(err error) bool {
	return hasCode(err, http.StatusUnprocessableEntity, CodeIncomplete)
}
