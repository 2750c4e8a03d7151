package cubu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Cubu S2S error codes (409 bodies) callers may branch on.
const (
	CodeInvalidStatus         = 1001 // the case must be Active, Pending or Waiting
	CodeLockedByAnotherUser   = 1002
	CodeAssignedToAnotherUser = 1004
)

const (
	maxResponseBody = 8 << 20
	defaultTimeout  = 30 * time.Second
	defaultUA       = "ticketsync-cubu/1"
	// Azure AD always sends expires_in; without it, cache briefly and let a 401 recover.
	defaultTokenTTL    = time.Minute
	tokenRefreshMargin = time.Minute
)

// DefaultTokenURL is Azure AD's v2 token endpoint for tenantID, used when Config.TokenURL is
// empty.
func DefaultTokenURL(tenantID string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenantID) + "/oauth2/v2.0/token"
}

// Config configures a Client (the connection's requestSystem.s2s block).
type Config struct {
	// BaseURL is the S2S API root without the application id, e.g. https://s2s.api.app.cubu.com.
	BaseURL       string
	ApplicationID string
	// TenantID is the Azure AD tenant; it only builds the default token URL.
	TenantID     string
	ClientID     string
	ClientSecret string
	// AgentUserID is the Cubu user ResolveCase impersonates (the app needs the Agent
	// Impersonator role).
	AgentUserID string
	// TokenURL overrides DefaultTokenURL(TenantID) (simulators, sovereign clouds).
	TokenURL string
	// Scope defaults to ClientID + "/.default", as the contract documents.
	Scope string
	// HTTPClient is used for all calls; nil means a private client that never follows
	// redirects (a redirect could carry the bearer token or the secret elsewhere).
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt; 0 means 30 s.
	Timeout time.Duration
	// UserAgent defaults to "ticketsync-cubu/1".
	UserAgent string
}

// Client calls Cubu's S2S API for one registered application. It is safe for concurrent use.
type Client struct {
	base     string // scheme://host[/prefix]/<applicationId>, no trailing slash
	tokenURL string
	id       string
	secret   string
	scope    string
	agent    string
	hc       *http.Client
	timeout  time.Duration
	ua       string
	now      func() time.Time
	tokens   *vendorapi.TokenCache
}

// New validates cfg (listing every problem) and returns a client. No network call is made.
func New(cfg Config) (*Client, error) {
	var problems []string
	base, err := checkURL("BaseURL", cfg.BaseURL)
	if err != nil {
		problems = append(problems, err.Error())
	}
	app := strings.TrimSpace(cfg.ApplicationID)
	if app == "" {
		problems = append(problems, "ApplicationID is required")
	}
	tokenURL := strings.TrimSpace(cfg.TokenURL)
	if tokenURL == "" {
		if strings.TrimSpace(cfg.TenantID) == "" {
			problems = append(problems, "TenantID is required (or set TokenURL)")
		} else {
			tokenURL = DefaultTokenURL(strings.TrimSpace(cfg.TenantID))
		}
	}
	if tokenURL != "" {
		if _, err := checkURL("TokenURL", tokenURL); err != nil {
			problems = append(problems, err.Error())
		}
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
		return nil, fmt.Errorf("cubu: invalid S2S config: %s", strings.Join(problems, "; "))
	}
	// Operators often paste the full documented base ".../<applicationId>/": do not double it.
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/"+url.PathEscape(app)) {
		base += "/" + url.PathEscape(app)
	}
	c := &Client{
		base: base, tokenURL: tokenURL, id: strings.TrimSpace(cfg.ClientID), secret: cfg.ClientSecret,
		scope: cfg.Scope, agent: strings.TrimSpace(cfg.AgentUserID), hc: cfg.HTTPClient,
		timeout: cfg.Timeout, ua: cfg.UserAgent, now: time.Now,
	}
	c.tokens = vendorapi.NewTokenCache(Vendor, "fetch token", func() time.Time { return c.now() }, c.newToken)
	if c.scope == "" {
		c.scope = c.id + "/.default"
	}
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

// checkURL requires an absolute https URL without credentials, query or fragment; plain http
// is accepted only on loopback (simulators and local tests).
func checkURL(name, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%s is required", name)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s %q is not a valid URL", name, raw)
	case u.Host == "":
		return "", fmt.Errorf("%s %q has no host", name, raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%s must not contain credentials, a query or a fragment", name)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", fmt.Errorf("%s %q must use https (http only on loopback)", name, raw)
	default:
		return "", fmt.Errorf("%s %q must use https", name, raw)
	}
	return raw, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ---- API ----

// Resolved is the answer to a resolve.
type Resolved struct {
	CaseTimestamp string `json:"caseTimestamp"`
}

// ResolveCase resolves a case as the configured agent (Config.AgentUserID). Cubu answers 409
// with CodeInvalidStatus when the case is not Active, Pending or Waiting — which is also what
// a retry of a resolve that did commit sees, so callers treat that code as "already done"
// when they know they sent one (see ErrorCode).
func (c *Client) ResolveCase(ctx context.Context, caseID string) (Resolved, error) {
	return c.ResolveCaseAs(ctx, c.agent, caseID)
}

// ResolveCaseAs resolves a case impersonating agent userID.
func (c *Client) ResolveCaseAs(ctx context.Context, userID, caseID string) (Resolved, error) {
	const op = "resolve case"
	if userID == "" || caseID == "" {
		return Resolved{}, invalidArgument(op, "agent user id and case id are required (set s2s.agentUserId)")
	}
	var out Resolved
	err := c.do(ctx, op, http.MethodPost, "/agents/"+url.PathEscape(userID)+"/cases/"+url.PathEscape(caseID)+"/actions/resolve",
		struct{}{}, &out)
	return out, err
}

// QueueUp is the body of a Queue Up call (role Case Manager).
type QueueUp struct {
	ServiceTypeID    string            `json:"serviceTypeId"`
	Channel          Channel           `json:"channel"`
	Locale           string            `json:"locale,omitempty"`
	CustomerRecordID string            `json:"customerRecordId,omitempty"`
	Fields           map[string]string `json:"fields,omitempty"`
}

// QueuedCase is what Queue Up answers. The shape is inferred (the contract does not show it);
// the case id is read from "caseId" or "id".
type QueuedCase struct {
	CaseID        string `json:"caseId"`
	Status        string `json:"status,omitempty"`
	Ticket        Ticket `json:"ticket"`
	CaseTimestamp string `json:"caseTimestamp,omitempty"`
}

// QueueUpCase queues up a walk-in case for serviceID.
func (c *Client) QueueUpCase(ctx context.Context, serviceID string, in QueueUp) (QueuedCase, error) {
	const op = "queue up case"
	if serviceID == "" || in.ServiceTypeID == "" || in.Channel == "" {
		return QueuedCase{}, invalidArgument(op, "service id, service type id and channel are required")
	}
	var out struct {
		QueuedCase
		ID string `json:"id"`
	}
	if err := c.do(ctx, op, http.MethodPost, "/services/"+url.PathEscape(serviceID)+"/cases", in, &out); err != nil {
		return QueuedCase{}, err
	}
	q := out.QueuedCase
	if q.CaseID == "" {
		q.CaseID = out.ID
	}
	if q.CaseID == "" {
		return QueuedCase{}, &vendorapi.Error{Vendor: Vendor, Op: op, Code: "bad_response",
			Message: "queued case has no id", Retryable: true}
	}
	return q, nil
}

// ActiveCase is one entry of an agent's active cases (Cubu leaves fields and tags null there).
type ActiveCase struct {
	CaseID        string  `json:"caseId"`
	Status        string  `json:"status"`
	ServiceID     string  `json:"serviceId"`
	ServiceTypeID string  `json:"serviceTypeId"`
	Channel       Channel `json:"channel"`
	Ticket        Ticket  `json:"ticket"`
}

// ActiveCases lists the cases agent userID is working on ("" = the configured agent).
func (c *Client) ActiveCases(ctx context.Context, userID string) ([]ActiveCase, error) {
	const op = "list active cases"
	if userID == "" {
		userID = c.agent
	}
	if userID == "" {
		return nil, invalidArgument(op, "agent user id is required (set s2s.agentUserId)")
	}
	var raw json.RawMessage
	if err := c.do(ctx, op, http.MethodGet, "/agents/"+url.PathEscape(userID)+"/activeCases", nil, &raw); err != nil {
		return nil, err
	}
	var list []ActiveCase
	if err := json.Unmarshal(raw, &list); err != nil {
		// Tolerate a wrapped list ({"cases":[…]} or {"items":[…]}): the shape is not documented.
		var wrapped struct {
			Cases []ActiveCase `json:"cases"`
			Items []ActiveCase `json:"items"`
		}
		if json.Unmarshal(raw, &wrapped) != nil {
			return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Code: "bad_response",
				Message: "active cases is neither a list nor {cases|items}", Retryable: true}
		}
		list = append(wrapped.Cases, wrapped.Items...)
	}
	return list, nil
}

// CheckCredentials fetches a fresh token: a cheap way to validate a connection's S2S settings.
func (c *Client) CheckCredentials(ctx context.Context) error {
	c.tokens.Clear()
	_, err := c.tokens.Token(ctx)
	return err
}

// ErrorCode returns Cubu's errorCode from a failed call (e.g. CodeInvalidStatus), or 0.
func ErrorCode(err error) int {
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		return 0
	}
	n, _ := strconv.Atoi(ve.Code)
	return n
}

// ---- HTTP plumbing ----

type response struct {
	*http.Response // body already read and closed
	body           []byte
}

// do performs an authenticated call and decodes a 2xx JSON body into out. A 401 drops the
// cached token and retries exactly once with a fresh one (Azure tokens can be revoked before
// expires_in); a second 401 means the app registration is broken, which no retry fixes.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode request body", Err: err}
		}
	}
	var resp *response
	err := c.tokens.Call(ctx, func(tok string) (bool, error) {
		var err error
		resp, err = c.roundTrip(ctx, op, method, c.base+path, "application/json", payload, tok)
		return err == nil && resp.StatusCode == http.StatusUnauthorized, err
	})
	if err != nil {
		return err
	}
	return c.decode(op, resp, out)
}

// roundTrip sends one request within the per-attempt timeout, reading at most
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

// decode turns a response into out (2xx JSON; an empty 2xx body leaves out zero) or a
// classified error.
func (c *Client) decode(op string, resp *response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.fail(op, resp)
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return nil // e.g. 204: success with nothing to read (out stays zero)
	}
	if !vendorapi.IsJSON(resp.Response) {
		// A proxy or sign-in page answering in Cubu's place: transient, retry.
		e := vendorapi.NotJSON(Vendor, op, resp.Response)
		e.Message += vendorapi.PageTitle(resp.body)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
			Message: "undecodable JSON body: " + err.Error(), Retryable: true}
	}
	return nil
}

// fail classifies a non-2xx response, reading Cubu's {"errorCode","message"} or Azure AD's
// {"error","error_description"} when present.
func (c *Client) fail(op string, resp *response) *vendorapi.Error {
	e := vendorapi.ClassifyStatus(Vendor, op, resp.Response)
	if !vendorapi.IsJSON(resp.Response) {
		e.Code = "not_json"
		e.Message = fmt.Sprintf("non-JSON %q response", resp.Header.Get("Content-Type")) + vendorapi.PageTitle(resp.body)
		return e
	}
	var eb struct {
		ErrorCode        json.Number `json:"errorCode"`
		Message          string      `json:"message"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
	}
	if json.Unmarshal(resp.body, &eb) == nil {
		switch {
		case eb.ErrorCode != "":
			e.Code, e.Message = eb.ErrorCode.String(), eb.Message
		case eb.Error != "":
			e.Code, e.Message = eb.Error, firstLine(eb.ErrorDescription)
		default:
			e.Message = eb.Message
		}
	}
	return e
}

func invalidArgument(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: msg}
}
