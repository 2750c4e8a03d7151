// Package theworxhub is the connector for Brightly TheWorxHub (TWH) work requests.
//
// TWH publishes no API, so the wire format follows our reference contract
// (shared/contracts/theworxhub.md). The client is deliberately defensive: TWH sits behind
// proxies that answer with HTML maintenance pages, revokes OAuth tokens before they expire and
// rate-limits per client, so every failure is returned as a classified *vendorapi.Error that
// tells the workflow whether to retry (with the vendor's Retry-After) or to park the ticket.
//
// The simulator in ./sim implements the same contract; contract_test.go runs this client
// against it over real HTTP.
package theworxhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "theworxhub"

// RequestTypes are TWH's request types (DESIGN.md §6); RequiredFields are the request fields a
// create needs (contract: all required but requestedFor.email/phone), so the API refuses a
// ticket without them instead of parking it after a 201.
var (
	RequestTypes   = []string{"Maintenance", "Housekeeping", "IT Support"}
	RequiredFields = []string{"requestType", "title", "description", "location.address", "requester.name"}
)

// RateLimitPerMinute is TWH's documented limit per OAuth client.
const RateLimitPerMinute = 120

// Field limits of the contract, in characters (runes).
const (
	MaxExternalReference = 100
	MaxTitle             = 200
	MaxDescription       = 4000
	MaxLocation          = 200
	MaxCancelReason      = 500
	MaxCommentText       = 4000
	// MaxPageSize is the largest feed page TWH serves; a larger limit is a 400 invalid_limit.
	MaxPageSize = 500
)

// TWH error codes the callers may want to branch on.
const (
	CodeDuplicateReference = "duplicate_external_reference"
	CodeInvalidTransition  = "invalid_transition"
	CodeInvalidCursor      = "invalid_cursor"
	CodeInvalidLimit       = "invalid_limit"
	CodeValidationFailed   = "validation_failed"
	CodeNotFound           = "not_found"
	CodeNotJSON            = "not_json"
)

const (
	tokenPath       = "/oauth/token"
	requestsPath    = "/api/v1/workrequests"
	maxResponseBody = 10 << 20 // a feed page of 500 full objects is a few MiB at most
	defaultTimeout  = 30 * time.Second
	defaultUA       = "ticketsync-theworxhub/1"
	// Tokens without expires_in are still cached briefly; a 401 recovers if they die sooner.
	defaultTokenTTL = time.Minute
	// Refresh this long before expiry (capped at 10% of the lifetime) so that a request
	// never leaves with a token that expires in flight.
	tokenRefreshMargin = time.Minute
)

// Config configures a Client. BaseURL is the tenant's root, e.g. https://acme.theworxhub.com
// (one OAuth client = one tenant).
type Config struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
	// WebhookSecret verifies TWH's pushes (HandleHook); pushes never verify without it.
	WebhookSecret string
	// HTTPClient is used for all calls; nil means a private client that does not follow
	// redirects (a redirected POST would silently turn into a GET).
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt (token fetch and API call separately); 0 means 30 s.
	Timeout time.Duration
	// UserAgent defaults to "ticketsync-theworxhub/1".
	UserAgent string
}

// Client talks to one TWH tenant. It is safe for concurrent use and implements
// vendorapi.WorkSystem and vendorapi.ChangeFeed.
type Client struct {
	Hooks          // pushes on /v1/hooks/theworxhub/{connection}
	base    string // scheme://host[/prefix] without trailing slash
	id      string
	secret  string
	hc      *http.Client
	timeout time.Duration
	ua      string
	now     func() time.Time
	tokens  *vendorapi.TokenCache
}

var (
	_ vendorapi.WorkSystem      = (*Client)(nil)
	_ vendorapi.ChangeFeed      = (*Client)(nil)
	_ vendorapi.OrderedFeed     = (*Client)(nil)
	_ vendorapi.ReferenceParser = (*Client)(nil)
	_ vendorapi.Truncator       = (*Client)(nil)
	_ vendorapi.HookHandler     = (*Client)(nil)
	_ vendorapi.Validator       = (*Client)(nil)
)

// New validates cfg and returns a client. No network call is made: credentials are checked on
// first use (a wrong secret then surfaces as a non-retryable "Auth" error).
func New(cfg Config) (*Client, error) {
	var problems []string
	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		problems = append(problems, "BaseURL is required")
	} else if u, err := url.Parse(base); err != nil {
		problems = append(problems, fmt.Sprintf("BaseURL %q is not a valid URL: %v", base, err))
	} else if u.Scheme != "https" && u.Scheme != "http" {
		problems = append(problems, fmt.Sprintf("BaseURL %q must use http or https", base))
	} else if u.Host == "" {
		problems = append(problems, fmt.Sprintf("BaseURL %q has no host", base))
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		problems = append(problems, fmt.Sprintf("BaseURL %q must not contain credentials, a query or a fragment", base))
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		problems = append(problems, "ClientID is required")
	}
	if cfg.ClientSecret == "" {
		problems = append(problems, "ClientSecret is required")
	}
	if cfg.Timeout < 0 {
		problems = append(problems, "Timeout must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("theworxhub: invalid config: %s", strings.Join(problems, "; "))
	}
	c := &Client{
		Hooks:   Hooks{Secret: cfg.WebhookSecret},
		base:    strings.TrimRight(base, "/"),
		id:      cfg.ClientID,
		secret:  cfg.ClientSecret,
		hc:      cfg.HTTPClient,
		timeout: cfg.Timeout,
		ua:      cfg.UserAgent,
		now:     time.Now,
	}
	c.tokens = vendorapi.NewTokenCache(Vendor, "fetch token", func() time.Time { return c.now() }, c.newToken)
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.ua == "" {
		c.ua = defaultUA
	}
	return c, nil
}

// Kind implements vendorapi.WorkSystem.
func (c *Client) Kind() string { return Vendor }

// Reference implements vendorapi.WorkSystem; see ExternalReference.
func (c *Client) Reference(connectionID, externalID string) string {
	return ExternalReference(connectionID, externalID)
}

// ExternalReference is our idempotency key in TWH: "ticketsync:<connection>:<externalId>", or,
// when that exceeds TWH's 100-character limit, "ticketsync:" + the first 40 hex digits of the
// SHA-256 of that long form. It never changes for a given pair, which is what makes a retried
// create find the request the first attempt made.
func ExternalReference(connectionID, externalID string) string {
	long := "ticketsync:" + connectionID + ":" + externalID
	if utf8.RuneCountInString(long) <= MaxExternalReference {
		return long
	}
	sum := sha256.Sum256([]byte(long))
	return "ticketsync:" + hex.EncodeToString(sum[:])[:40]
}

// ParseReference reads the external id back from a reference of this connection; hashed
// references (and other connections') are not readable.
func (c *Client) ParseReference(connectionID, reference string) (string, bool) {
	prefix := "ticketsync:" + connectionID + ":"
	if !strings.HasPrefix(reference, prefix) {
		return "", false
	}
	ext := strings.TrimPrefix(reference, prefix)
	if ext == "" || ExternalReference(connectionID, ext) != reference {
		return "", false
	}
	return ext, true
}

// Truncate shortens s to at most max characters (runes), ending it with "…" when it had to
// cut, and reports whether it did. TWH rejects over-long fields with a 422 that would park
// the ticket; the caller records the full text in the ticket timeline instead.
func Truncate(s string, max int) (string, bool) {
	if utf8.RuneCountInString(s) <= max {
		return s, false
	}
	if max <= 0 {
		return "", true
	}
	keep := max - 1 // room for the ellipsis
	i, n := 0, 0
	for i = range s {
		if n == keep {
			break
		}
		n++
	}
	return strings.TrimRightFunc(s[:i], isSpace) + "…", true
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// IsInvalidCursor reports whether err is TWH's 400 invalid_cursor (cursors expire after 24 h):
// the caller restarts the feed from its saved modifiedAt watermark.
func IsInvalidCursor(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.HTTPStatus == http.StatusBadRequest && ve.Code == CodeInvalidCursor
}

// HasComment reports whether r already carries comment c (same author and the text as
// AddComment stores it). AddComment is not idempotent remotely, so callers check this before
// retrying one whose outcome is unknown.
func HasComment(r *vendorapi.RemoteRequest, c vendorapi.Comment) bool {
	if r == nil {
		return false
	}
	text, _ := Truncate(c.Text, MaxCommentText)
	for _, have := range r.Comments {
		if have.Author == c.Author && have.Text == text {
			return true
		}
	}
	return false
}

// ---- WorkSystem ----

// Create creates a work request and returns its TWH id. A 409 duplicate_external_reference
// means an earlier attempt (e.g. one that timed out after TWH committed it) already created
// it: that id is returned with no error. Over-long texts are truncated (see Truncate).
// ComposeDescription is the work request's description: TheWorxHub has no fields for intake
// answers or attachments, so they follow the requester's text (answers sorted by question).
func ComposeDescription(req vendorapi.NewRequest) string {
	var b strings.Builder
	b.WriteString(req.Description)
	if len(req.Answers) > 0 {
		keys := make([]string, 0, len(req.Answers))
		for k := range req.Answers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\n\nAnswers:")
		for _, k := range keys {
			fmt.Fprintf(&b, "\n- %s: %s", k, req.Answers[k])
		}
	}
	if len(req.Attachments) > 0 {
		b.WriteString("\n\nAttachments:")
		for _, a := range req.Attachments {
			name := a.Name
			if name == "" {
				name = "file"
			}
			fmt.Fprintf(&b, "\n- %s: %s", name, a.URL)
		}
	}
	return b.String()
}

// Truncations describes every field Create shortens to TheWorxHub's limits, with the full
// text, so the ticket's timeline keeps what the work system could not.
func (c *Client) Truncations(req vendorapi.NewRequest) []string {
	var out []string
	for _, f := range []struct {
		name, text string
		max        int
	}{
		{"title", req.Title, MaxTitle},
		{"description", ComposeDescription(req), MaxDescription},
		{"location", req.Location.Address, MaxLocation},
	} {
		if _, cut := Truncate(f.text, f.max); cut {
			out = append(out, fmt.Sprintf("%s truncated to %d characters for TheWorxHub; full text: %s", f.name, f.max, f.text))
		}
	}
	return out
}

func (c *Client) Create(ctx context.Context, req vendorapi.NewRequest) (string, error) {
	const op = "create work request"
	title, _ := Truncate(req.Title, MaxTitle)
	desc, _ := Truncate(ComposeDescription(req), MaxDescription)
	loc, _ := Truncate(req.Location.Address, MaxLocation)
	body := createBody{
		RequestType:       req.RequestType,
		Title:             title,
		Description:       desc,
		Location:          loc,
		RequestedFor:      personBody{Name: req.Requester.Name, Email: nullable(req.Requester.Email), Phone: nullable(req.Requester.Phone)},
		ExternalReference: req.ExternalReference,
	}
	resp, err := c.call(ctx, op, http.MethodPost, requestsPath, nil, body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusConflict && vendorapi.IsJSON(resp.Response) {
		eb := parseErrorBody(resp.body)
		if eb.Code == CodeDuplicateReference {
			if eb.ExistingID != "" {
				return eb.ExistingID, nil
			}
			// The contract promises existingId; if it is missing, look the request up.
			if found, ferr := c.FindByReference(ctx, req.ExternalReference); ferr != nil {
				return "", ferr
			} else if found != nil {
				return found.ID, nil
			}
			e := c.fail(op, resp)
			e.Retryable = true // it exists but is not visible yet; looking again may work
			return "", e
		}
	}
	var created struct {
		ID flexString `json:"id"`
	}
	if err := c.decode(op, resp, &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", badResponse(op, resp, "created work request has no id")
	}
	return string(created.ID), nil
}

// FindByReference returns the request carrying reference, or (nil, nil). It is how a caller
// whose create timed out learns whether TWH committed it.
func (c *Client) FindByReference(ctx context.Context, reference string) (*vendorapi.RemoteRequest, error) {
	const op = "find work request by reference"
	if reference == "" {
		return nil, invalidArgument(op, "empty external reference")
	}
	var page pageBody
	if err := c.do(ctx, op, http.MethodGet, requestsPath, url.Values{"externalReference": {reference}}, nil, &page); err != nil {
		return nil, err
	}
	// Filter rather than trust: a server that ignored the parameter would return the feed.
	for _, it := range page.Items {
		if it.ExternalReference == reference {
			r := it.remote()
			return &r, nil
		}
	}
	return nil, nil
}

// Get returns the current state of a request; a missing one is a non-retryable 404.
func (c *Client) Get(ctx context.Context, id string) (*vendorapi.RemoteRequest, error) {
	const op = "get work request"
	if id == "" {
		return nil, invalidArgument(op, "empty id")
	}
	return c.object(ctx, op, http.MethodGet, requestsPath+"/"+url.PathEscape(id), nil)
}

// Cancel cancels on behalf of the requester. TWH treats cancelling a cancelled request as a
// no-op (200); a completed or rejected one is a non-retryable 409 invalid_transition.
func (c *Client) Cancel(ctx context.Context, id, reason string) (*vendorapi.RemoteRequest, error) {
	const op = "cancel work request"
	if id == "" {
		return nil, invalidArgument(op, "empty id")
	}
	reason, _ = Truncate(reason, MaxCancelReason)
	return c.object(ctx, op, http.MethodPost, requestsPath+"/"+url.PathEscape(id)+"/cancel", cancelBody{Reason: reason})
}

// AddComment posts a requester comment (text truncated to 4000 characters). TWH adds a second
// comment when a POST is retried, so before retrying one with an unknown outcome the caller
// checks the request with HasComment.
func (c *Client) AddComment(ctx context.Context, id string, cm vendorapi.Comment) (vendorapi.Comment, error) {
	const op = "add comment"
	if id == "" {
		return vendorapi.Comment{}, invalidArgument(op, "empty id")
	}
	text, _ := Truncate(cm.Text, MaxCommentText)
	var out commentBody
	if err := c.do(ctx, op, http.MethodPost, requestsPath+"/"+url.PathEscape(id)+"/comments", nil,
		commentBody{Text: text, Author: cm.Author}, &out); err != nil {
		return vendorapi.Comment{}, err
	}
	return out.comment(), nil
}

// ---- ChangeFeed ----

// FeedInModificationOrder: TWH orders the feed by (modifiedAt, id) (vendorapi.OrderedFeed).
func (c *Client) FeedInModificationOrder() bool { return true }

// Changes lists requests with modifiedAt >= since (inclusive: the boundary item repeats, so
// callers dedupe by id+modifiedAt), or continues from cursor, in which case since is ignored.
// limit <= 0 means TWH's default (100); above MaxPageSize TWH answers 400 invalid_limit.
// An expired cursor yields an error for which IsInvalidCursor is true.
func (c *Client) Changes(ctx context.Context, since time.Time, cursor string, limit int) (vendorapi.ChangePage, error) {
	const op = "list changes"
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	} else if !since.IsZero() {
		q.Set("modifiedSince", FormatTime(since))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page pageBody
	if err := c.do(ctx, op, http.MethodGet, requestsPath, q, nil, &page); err != nil {
		return vendorapi.ChangePage{}, err
	}
	out := vendorapi.ChangePage{Items: make([]vendorapi.RemoteRequest, 0, len(page.Items))}
	for _, it := range page.Items {
		out.Items = append(out.Items, it.remote())
	}
	if page.NextCursor != nil {
		out.NextCursor = *page.NextCursor
	}
	return out, nil
}

// FormatTime renders t as TWH expects: RFC 3339, UTC, milliseconds. Sub-millisecond digits
// are dropped (not rounded), which with the inclusive modifiedSince can only add items.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// ---- HTTP plumbing ----

type response struct {
	*http.Response // body already read and closed
	body           []byte
}

// object performs a call whose success body is a full work request.
func (c *Client) object(ctx context.Context, op, method, path string, in any) (*vendorapi.RemoteRequest, error) {
	resp, err := c.call(ctx, op, method, path, nil, in)
	if err != nil {
		return nil, err
	}
	var wr workRequest
	if err := c.decode(op, resp, &wr); err != nil {
		return nil, err
	}
	if wr.ID == "" {
		return nil, badResponse(op, resp, "work request without id")
	}
	r := wr.remote()
	return &r, nil
}

// do performs a call and decodes a 2xx JSON body into out, classifying anything else.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, in, out any) error {
	resp, err := c.call(ctx, op, method, path, q, in)
	if err != nil {
		return err
	}
	return c.decode(op, resp, out)
}

// call performs an authenticated API call and returns any HTTP response; err is set only when
// there was none (or no token could be had). A 401 drops the cached token and retries exactly
// once with a fresh one: TWH revokes tokens before expires_in, and a second 401 means the
// credentials are broken, which no retry fixes.
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, in any) (*response, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode request body", Err: err}
		}
	}
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var resp *response
	err := c.tokens.Call(ctx, func(tok string) (bool, error) {
		var err error
		resp, err = c.roundTrip(ctx, op, method, target, "application/json", payload, tok)
		return err == nil && resp.StatusCode == http.StatusUnauthorized, err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// roundTrip sends one request within the per-attempt timeout and reads at most
// maxResponseBody bytes of the answer.
func (c *Client) roundTrip(ctx context.Context, op, method, target, contentType string, payload []byte, bearer string) (*response, error) {
	auth := ""
	if bearer != "" {
		auth = "Bearer " + bearer
	}
	res, data, err := vendorapi.Send(ctx, c.hc, Vendor, op, vendorapi.Attempt{Method: method, URL: target,
		ContentType: contentType, Body: payload, Authorization: auth, UserAgent: c.ua, Timeout: c.timeout,
		MaxBody: maxResponseBody})
	if err != nil {
		return nil, err
	}
	return &response{Response: res, body: data}, nil
}

// decode turns a response into out (2xx JSON) or a classified error.
func (c *Client) decode(op string, resp *response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.fail(op, resp)
	}
	if !vendorapi.IsJSON(resp.Response) {
		// A proxy or SSO page answering 200 in TWH's place: transient, retry.
		e := vendorapi.NotJSON(Vendor, op, resp.Response)
		e.Message += vendorapi.PageTitle(resp.body)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return badResponse(op, resp, "undecodable JSON body: "+err.Error())
	}
	return nil
}

// fail classifies a non-2xx response and fills Code/Message/Fields from TWH's error body.
func (c *Client) fail(op string, resp *response) *vendorapi.Error {
	e := vendorapi.ClassifyStatus(Vendor, op, resp.Response)
	if !vendorapi.IsJSON(resp.Response) {
		// E.g. the 503 "Scheduled maintenance" HTML page; the status decides retryability.
		e.Code = CodeNotJSON
		e.Message = fmt.Sprintf("non-JSON %q response", resp.Header.Get("Content-Type")) + vendorapi.PageTitle(resp.body)
		return e
	}
	eb := parseErrorBody(resp.body)
	e.Code, e.Message, e.Fields = eb.Code, eb.Message, eb.Fields
	return e
}

// badResponse is a 2xx whose content is unusable: retry (the request may well have worked,
// and every operation here is safe to repeat or checked by the caller before repeating).
func badResponse(op string, resp *response, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
		Message: msg, Retryable: true}
}

// invalidArgument is a caller bug detected before any call; retrying cannot help.
func invalidArgument(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: msg}
}

// ---- OAuth ----

// newToken fetches a token for the cache, to be replaced a little before it expires.
func (c *Client) newToken(ctx context.Context) (string, time.Time, error) {
	tok, ttl, err := c.fetchToken(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, vendorapi.RefreshAt(c.now(), ttl, tokenRefreshMargin), nil
}

// fetchToken runs the client-credentials grant. A 401 invalid_client (wrong id/secret) is a
// non-retryable "Auth" error: the connection's configuration must be fixed.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	const op = "fetch token"
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.id},
		"client_secret": {c.secret},
	}
	resp, err := c.roundTrip(ctx, op, http.MethodPost, c.base+tokenPath,
		"application/x-www-form-urlencoded", []byte(form.Encode()), "")
	if err != nil {
		return "", 0, err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.decode(op, resp, &tr); err != nil {
		return "", 0, err
	}
	if tr.AccessToken == "" {
		return "", 0, badResponse(op, resp, "token response without access_token")
	}
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = defaultTokenTTL
	}
	return tr.AccessToken, ttl, nil
}

// ---- wire types ----

type createBody struct {
	RequestType       string     `json:"requestType"`
	Title             string     `json:"title"`
	Description       string     `json:"description"`
	Location          string     `json:"location"`
	RequestedFor      personBody `json:"requestedFor"`
	ExternalReference string     `json:"externalReference"`
}

type personBody struct {
	Name  string  `json:"name"`
	Email *string `json:"email"`
	Phone *string `json:"phone"`
}

type cancelBody struct {
	Reason string `json:"reason"`
}

type commentBody struct {
	ID        flexString `json:"id,omitempty"`
	Text      string     `json:"text"`
	Author    string     `json:"author"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
}

func (b commentBody) comment() vendorapi.Comment {
	c := vendorapi.Comment{ID: string(b.ID), Text: b.Text, Author: b.Author}
	if b.CreatedAt != nil {
		c.CreatedAt = b.CreatedAt.UTC()
	}
	return c
}

type feedbackBody struct {
	ID                 flexString `json:"id"`
	Text               string     `json:"text"`
	VisibleToRequestor bool       `json:"visibleToRequestor"`
	Status             string     `json:"status"`
	CreatedAt          time.Time  `json:"createdAt"`
	Author             string     `json:"author"`
}

type workRequest struct {
	ID                flexString     `json:"id"`
	ExternalReference string         `json:"externalReference"`
	Status            string         `json:"status"`
	Category          *string        `json:"category"`
	WorkOrderID       *flexString    `json:"workOrderId"`
	CreatedAt         time.Time      `json:"createdAt"`
	ModifiedAt        time.Time      `json:"modifiedAt"`
	Feedback          []feedbackBody `json:"feedback"`
	Comments          []commentBody  `json:"comments"`
}

func (w workRequest) remote() vendorapi.RemoteRequest {
	r := vendorapi.RemoteRequest{
		ID:                string(w.ID),
		ExternalReference: w.ExternalReference,
		Status:            w.Status,
		CreatedAt:         w.CreatedAt.UTC(),
		ModifiedAt:        w.ModifiedAt.UTC(),
	}
	if w.Category != nil {
		r.Category = *w.Category
	}
	if w.WorkOrderID != nil {
		r.WorkOrderID = string(*w.WorkOrderID)
	}
	for _, f := range w.Feedback {
		r.Feedback = append(r.Feedback, vendorapi.Feedback{ID: string(f.ID), Text: f.Text, Author: f.Author,
			Status: f.Status, VisibleToRequestor: f.VisibleToRequestor, CreatedAt: f.CreatedAt.UTC()})
	}
	for _, cm := range w.Comments {
		r.Comments = append(r.Comments, cm.comment())
	}
	return r
}

type pageBody struct {
	Items      []workRequest `json:"items"`
	NextCursor *string       `json:"nextCursor"`
}

// flexString accepts a JSON string or number: ids are opaque strings by contract, but a
// numeric id must not make a whole feed page undecodable.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// errorBody is TWH's API error {"error":{code,message,fields,existingId}} or the OAuth shape
// {"error":"invalid_client","error_description":"…"} of the token endpoint.
type errorBody struct {
	Code       string
	Message    string
	Fields     map[string]string
	ExistingID string
}

func parseErrorBody(b []byte) errorBody {
	var raw struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(b, &raw) != nil || len(raw.Error) == 0 {
		return errorBody{}
	}
	var code string
	if json.Unmarshal(raw.Error, &code) == nil {
		return errorBody{Code: code, Message: raw.ErrorDescription}
	}
	var obj struct {
		Code       string                     `json:"code"`
		Message    string                     `json:"message"`
		Fields     map[string]json.RawMessage `json:"fields"`
		ExistingID flexString                 `json:"existingId"`
	}
	if json.Unmarshal(raw.Error, &obj) != nil {
		return errorBody{}
	}
	eb := errorBody{Code: obj.Code, Message: obj.Message, ExistingID: string(obj.ExistingID)}
	if len(obj.Fields) > 0 {
		eb.Fields = make(map[string]string, len(obj.Fields))
		for k, v := range obj.Fields {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v) // e.g. a list of messages: keep it readable rather than drop it
			}
			eb.Fields[k] = s
		}
	}
	return eb
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
