// Package sim is an in-memory TheWorxHub simulator that follows the reference contract
// (shared/contracts/theworxhub.md) exactly, including the unpleasant parts: tokens revoked
// before expiry, 429 bursts, HTML maintenance pages, creates that commit and then time out or
// drop the connection, inclusive feed boundaries, modifiedAt ties, expiring cursors and
// unreliable webhooks. Contract tests run the real client against it; the dev stack mounts it
// on its own port so humans can play TWH staff through /_sim/.
//
// Staff control (JSON, no OAuth; POSTs also accept the HTML page's form fields):
//
//	GET  /_sim/                           small HTML page with staff buttons
//	GET  /_sim/workrequests               all requests, full objects      (Requests)
//	GET  /_sim/workrequests/{id}                                          (Request)
//	POST /_sim/workrequests/{id}/category {"category"}                    (SetCategory)
//	POST /_sim/workrequests/{id}/status   {"status","feedback"?,"force"?} (Transition)
//	POST /_sim/workrequests/{id}/feedback {"text","author","visibleToRequestor"} (AddFeedback)
//	GET|PUT /_sim/faults                  Faults as JSON                  (Faults, SetFaults)
//	POST /_sim/reset                                                      (Reset)
//	POST /_sim/revoke-tokens                                              (RevokeAll)
//	GET  /_sim/stats                                                      (Stats)
//
// It deliberately does not import the client package: the two are independent
// implementations of one contract, so a misreading in one shows up as a test failure.
package sim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Work request statuses of the contract.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusOnHold     = "OnHold"
	StatusCompleted  = "Completed"
	StatusCancelled  = "Cancelled"
	StatusRejected   = "Rejected"
)

// Defaults used when Options leave a field zero.
const (
	DefaultClientID     = "ticketsync"
	DefaultClientSecret = "ticketsync-secret"
	DefaultTenant       = "default"
	DefaultTokenTTL     = time.Hour
	DefaultRateLimit    = 120 // requests per minute per OAuth client, sliding window
	DefaultCursorTTL    = 24 * time.Hour
	// DefaultSlowCreateDelay outlasts the client's default 30 s timeout.
	DefaultSlowCreateDelay = 35 * time.Second
)

const (
	maxLimit     = 500
	defaultLimit = 100
	maxBodyBytes = 1 << 20
)

var requestTypes = []string{"Maintenance", "Housekeeping", "IT Support"}

var terminal = map[string]bool{StatusCompleted: true, StatusCancelled: true, StatusRejected: true}

var knownStatus = map[string]bool{StatusPending: true, StatusInProgress: true, StatusOnHold: true,
	StatusCompleted: true, StatusCancelled: true, StatusRejected: true}

// Options configure a Server. The zero value is usable: one client
// (DefaultClientID/DefaultClientSecret) in one tenant, real clock, rate limit on, no webhook.
type Options struct {
	// Clients maps OAuth client id → secret.
	Clients map[string]string
	// Tenants maps client id → tenant; clients without an entry share DefaultTenant. Data
	// (ids aside, which are global) is tenant-scoped, as in TWH.
	Tenants map[string]string
	// TokenTTL is the tokens' expires_in (default 1 h).
	TokenTTL time.Duration
	// RateLimit is the number of API calls per minute per client (default 120).
	RateLimit        int
	DisableRateLimit bool
	// CursorTTL is how long feed cursors stay valid (default 24 h).
	CursorTTL time.Duration

	// WebhookURL, when set, receives a signed thin notification on every change.
	WebhookURL    string
	WebhookSecret string
	// WebhookTimeout bounds each attempt (default 10 s); WebhookRetryDelay is the pause
	// before attempt n+1, multiplied by n (default 1 s). WebhookJitter adds a random delay
	// before the first attempt, which reorders deliveries.
	WebhookTimeout    time.Duration
	WebhookRetryDelay time.Duration
	WebhookJitter     time.Duration
	WebhookClient     *http.Client

	// Now is the clock (default time.Now). Timestamps, token expiry, cursor expiry and the
	// rate-limit window all follow it, so tests can produce ties and expire cursors.
	Now func() time.Time
	// Seed seeds the RNG behind the probabilistic faults, so runs are reproducible.
	Seed uint64
	// Faults are the initial faults (see SetFaults).
	Faults Faults
}

// Person is requestedFor; empty Email/Phone are null on the wire.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// Feedback is a staff → requestor note; Status is the status the transition moved to.
type Feedback struct {
	ID                 string    `json:"id"`
	Text               string    `json:"text"`
	VisibleToRequestor bool      `json:"visibleToRequestor"`
	Status             string    `json:"status"`
	CreatedAt          time.Time `json:"createdAt"`
	Author             string    `json:"author"`
}

// Comment is a requestor → staff note.
type Comment struct {
	ID        string    `json:"id"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"createdAt"`
}

// WorkRequest is the full object as the API returns it. Empty Category/WorkOrderID are null
// on the wire. CancelReason is an extra field (clients must ignore unknown fields).
type WorkRequest struct {
	ID                string     `json:"id"`
	ExternalReference string     `json:"externalReference"`
	RequestType       string     `json:"requestType"`
	Title             string     `json:"title"`
	Description       string     `json:"description"`
	Location          string     `json:"location"`
	RequestedFor      Person     `json:"requestedFor"`
	Status            string     `json:"status"`
	Category          string     `json:"category"`
	WorkOrderID       string     `json:"workOrderId"`
	CreatedAt         time.Time  `json:"createdAt"`
	ModifiedAt        time.Time  `json:"modifiedAt"`
	Feedback          []Feedback `json:"feedback"`
	Comments          []Comment  `json:"comments"`
	CancelReason      string     `json:"cancelReason,omitempty"`
	Tenant            string     `json:"-"`
}

// FeedbackInput is what staff type when they transition a request or add feedback.
type FeedbackInput struct {
	Text               string `json:"text"`
	Author             string `json:"author"`
	VisibleToRequestor bool   `json:"visibleToRequestor"`
}

// Stats count what the simulator saw, so tests can assert "exactly one retry".
type Stats struct {
	TokenRequests   int `json:"tokenRequests"`
	TokensIssued    int `json:"tokensIssued"`
	APICalls        int `json:"apiCalls"` // authenticated API calls, faulted ones included
	Unauthorized    int `json:"unauthorized"`
	RateLimited     int `json:"rateLimited"`
	Creates         int `json:"creates"` // committed creates
	WebhookAttempts int `json:"webhookAttempts"`
	WebhooksDropped int `json:"webhooksDropped"`
}

// Error is a contract error: HTTP status plus the {"error":{…}} body. The Go staff methods
// return it too.
type Error struct {
	Status     int               `json:"-"`
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	Fields     map[string]string `json:"fields,omitempty"`
	ExistingID string            `json:"existingId,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

type token struct {
	client, tenant string
	expires        time.Time
	revoked        bool
}

// Server is the simulator; it is an http.Handler serving /oauth/token, /api/v1/… and /_sim/….
type Server struct {
	opts      Options
	cursorKey []byte

	ctx    context.Context // cancelled by Close; stops webhook deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	rng       *mrand.Rand
	faults    Faults
	stats     Stats
	nextID    int64
	nextSubID int64
	nextWO    int64
	reqs      map[string]*WorkRequest
	byRef     map[string]string // tenant + "\x00" + externalReference → id
	tokens    map[string]*token
	window    map[string][]time.Time // client → API call times within the last minute
}

// New returns a simulator. Call Close when done to stop webhook deliveries.
func New(opts Options) *Server {
	if len(opts.Clients) == 0 {
		opts.Clients = map[string]string{DefaultClientID: DefaultClientSecret}
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.CursorTTL <= 0 {
		opts.CursorTTL = DefaultCursorTTL
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 10 * time.Second
	}
	if opts.WebhookRetryDelay <= 0 {
		opts.WebhookRetryDelay = time.Second
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = &http.Client{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, cursorKey: make([]byte, 32), tokens: map[string]*token{}}
	rand.Read(s.cursorKey)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rng = simkit.NewRand(opts.Seed)
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// Close stops pending webhook deliveries and waits for them to finish.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Reset forgets all work requests, faults, stats and rate-limit windows. Issued tokens stay
// valid so connected clients carry on.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.reqs = map[string]*WorkRequest{}
	s.byRef = map[string]string{}
	s.window = map[string][]time.Time{}
	s.faults = Faults{}
	s.stats = Stats{}
	s.nextID, s.nextSubID, s.nextWO = 104200, 500000, 70000
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// now is the simulator clock at TWH's millisecond precision.
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// touch bumps modifiedAt (never backwards, ties allowed) and announces the change.
func (s *Server) touchLocked(wr *WorkRequest) {
	t := s.now()
	if t.Before(wr.ModifiedAt) {
		t = wr.ModifiedAt
	}
	wr.ModifiedAt = t
	s.notifyLocked(wr)
}

func (s *Server) newSubIDLocked() string {
	s.nextSubID++
	return strconv.FormatInt(s.nextSubID, 10)
}

// ServeHTTP routes /oauth/token, /api/… (OAuth + faults) and /_sim/… (staff control, no auth).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/oauth/token":
		s.handleToken(w, r)
	case strings.HasPrefix(p, "/api/"):
		s.handleAPI(w, r)
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such path %s", p))
	}
}

// ---- OAuth ----

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	simkit.Sleep(r.Context(), s.latency())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // RFC 6749 allows either
		id, secret = u, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.TokenRequests++
	switch gt := r.PostForm.Get("grant_type"); {
	case gt == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return
	case gt != "client_credentials":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	want, ok := s.opts.Clients[id]
	if !ok || id == "" || !hmac.Equal([]byte(want), []byte(secret)) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	now := s.now()
	for k, t := range s.tokens { // keep the map small
		if !now.Before(t.expires) {
			delete(s.tokens, k)
		}
	}
	tok := simkit.RandomHex(24)
	s.tokens[tok] = &token{client: id, tenant: s.tenantOf(id), expires: now.Add(s.opts.TokenTTL)}
	s.stats.TokensIssued++
	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int64(s.opts.TokenTTL / time.Second),
	})
}

func (s *Server) tenantOf(client string) string {
	if t, ok := s.opts.Tenants[client]; ok && t != "" {
		return t
	}
	return DefaultTenant
}

// RevokeAll invalidates every issued token before its expiry (clients get 401 token_expired).
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeAllLocked()
}

func (s *Server) revokeAllLocked() {
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// ---- API ----

// handleAPI applies, in order: latency, maintenance page (a front proxy, before auth), OAuth,
// random token revocation, the sliding rate limit, injected 429/5xx/HTML-200, then the route.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	s.mu.Lock()
	f := &s.faults
	if simkit.Take(&f.Maintenance) {
		answer := simkit.Page(http.StatusServiceUnavailable, maintenancePage, f.RetryAfterSeconds)
		s.mu.Unlock()
		answer(w)
		return
	}
	tk, authErr := s.authLocked(r)
	if authErr == nil && simkit.Chance(s.rng, f.TokenRevokeRate) {
		tk.revoked = true
		authErr = errf(http.StatusUnauthorized, "token_expired", "the access token has been revoked")
	}
	if authErr != nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, authErr)
		return
	}
	s.stats.APICalls++
	if e := s.rateLimitLocked(w.Header(), tk.client); e != nil {
		s.stats.RateLimited++
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	kind, answer := simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
		ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}.Inject(s.rng, faultAnswers)
	if kind == simkit.RateLimited {
		s.stats.RateLimited++
	}
	s.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	s.routeAPI(w, r, tk.tenant)
}

// authLocked resolves the bearer token. Unknown → invalid_token; expired/revoked →
// token_expired (both 401, as in the contract).
func (s *Server) authLocked(r *http.Request) (*token, *Error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errf(http.StatusUnauthorized, "invalid_token", "missing bearer token")
	}
	t, ok := s.tokens[strings.TrimSpace(tok)]
	if !ok {
		return nil, errf(http.StatusUnauthorized, "invalid_token", "unknown access token")
	}
	if t.revoked || !s.now().Before(t.expires) {
		return nil, errf(http.StatusUnauthorized, "token_expired", "the access token has expired")
	}
	return t, nil
}

// rateLimitLocked applies the per-client sliding one-minute window and sets X-RateLimit-*.
func (s *Server) rateLimitLocked(h http.Header, client string) *Error {
	if s.opts.DisableRateLimit {
		return nil
	}
	now := s.opts.Now()
	win := s.window[client]
	i := 0
	for i < len(win) && !win[i].After(now.Add(-time.Minute)) {
		i++
	}
	win = win[i:]
	limit := s.opts.RateLimit
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	if len(win) >= limit {
		reset := win[0].Add(time.Minute)
		wait := int((reset.Sub(now) + time.Second - 1) / time.Second)
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("Retry-After", strconv.Itoa(max(wait, 1)))
		s.window[client] = win
		return errf(http.StatusTooManyRequests, "rate_limited", "rate limit of %d requests per minute exceeded", limit)
	}
	win = append(win, now)
	s.window[client] = win
	h.Set("X-RateLimit-Remaining", strconv.Itoa(limit-len(win)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(win[0].Add(time.Minute).Unix(), 10))
	return nil
}

func (s *Server) routeAPI(w http.ResponseWriter, r *http.Request, tenant string) {
	const base = "/api/v1/workrequests"
	p := r.URL.Path
	if p == base || p == base+"/" {
		switch r.Method {
		case http.MethodGet:
			s.apiList(w, r, tenant)
		case http.MethodPost:
			s.apiCreate(w, r, tenant)
		default:
			methodNotAllowed(w, "GET, POST")
		}
		return
	}
	rest, ok := strings.CutPrefix(p, base+"/")
	if !ok {
		writeError(w, errf(http.StatusNotFound, "not_found", "no such path %s", p))
		return
	}
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case action == "":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		s.mu.Lock()
		wr, err := s.getLocked(tenant, id)
		var out WorkRequest
		if err == nil {
			out = wr.clone()
		}
		s.mu.Unlock()
		if err != nil {
			writeError(w, err)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, out)
	case action == "cancel":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.apiCancel(w, r, tenant, id)
	case action == "comments":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.apiComment(w, r, tenant, id)
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such path %s", p))
	}
}

func (s *Server) getLocked(tenant, id string) (*WorkRequest, *Error) {
	wr, ok := s.reqs[id]
	if !ok || (tenant != "" && wr.Tenant != tenant) {
		return nil, errf(http.StatusNotFound, "not_found", "work request %q not found", id)
	}
	return wr, nil
}

type createInput struct {
	RequestType  string `json:"requestType"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Location     string `json:"location"`
	RequestedFor *struct {
		Name  string  `json:"name"`
		Email *string `json:"email"`
		Phone *string `json:"phone"`
	} `json:"requestedFor"`
	ExternalReference string `json:"externalReference"`
}

func (in *createInput) validate() *Error {
	fields := map[string]string{}
	found := false
	for _, t := range requestTypes {
		found = found || in.RequestType == t
	}
	switch {
	case in.RequestType == "":
		fields["requestType"] = "is required"
	case !found:
		fields["requestType"] = "must be one of " + strings.Join(requestTypes, ", ")
	}
	text := func(name, v string, max int) {
		switch {
		case strings.TrimSpace(v) == "":
			fields[name] = "is required"
		case utf8.RuneCountInString(v) > max:
			fields[name] = fmt.Sprintf("must be at most %d characters", max)
		}
	}
	text("title", in.Title, 200)
	text("description", in.Description, 4000)
	text("location", in.Location, 200)
	text("externalReference", in.ExternalReference, 100)
	if in.RequestedFor == nil {
		fields["requestedFor"] = "is required"
	} else {
		text("requestedFor.name", in.RequestedFor.Name, 200)
	}
	if len(fields) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the work request is invalid")
		e.Fields = fields
		return e
	}
	return nil
}

func (s *Server) apiCreate(w http.ResponseWriter, r *http.Request, tenant string) {
	var in createInput
	if e := decodeBody(w, r, &in, false); e != nil {
		writeError(w, e)
		return
	}
	if e := in.validate(); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	refKey := tenant + "\x00" + in.ExternalReference
	if id, dup := s.byRef[refKey]; dup {
		s.mu.Unlock()
		e := errf(http.StatusConflict, "duplicate_external_reference",
			"a work request with externalReference %q already exists", in.ExternalReference)
		e.ExistingID = id
		writeError(w, e)
		return
	}
	s.nextID++
	now := s.now()
	wr := &WorkRequest{
		ID: strconv.FormatInt(s.nextID, 10), ExternalReference: in.ExternalReference,
		RequestType: in.RequestType, Title: in.Title, Description: in.Description, Location: in.Location,
		RequestedFor: Person{Name: in.RequestedFor.Name, Email: deref(in.RequestedFor.Email), Phone: deref(in.RequestedFor.Phone)},
		Status:       StatusPending, CreatedAt: now, ModifiedAt: now, Tenant: tenant,
	}
	s.reqs[wr.ID] = wr
	s.byRef[refKey] = wr.ID
	s.stats.Creates++
	s.notifyLocked(wr)
	delay := s.faults.SlowCreateDelay
	drop := simkit.Take(&s.faults.DropAfterCreate)
	slow := !drop && simkit.Take(&s.faults.SlowCreate)
	s.mu.Unlock()
	if drop { // committed, but the client never hears about it
		simkit.DropConnection(w)
		return
	}
	if slow && !simkit.Sleep(r.Context(), delay) {
		return // the client gave up; the request stays committed
	}
	w.Header().Set("Location", "/api/v1/workrequests/"+wr.ID)
	simkit.WriteJSON(w, http.StatusCreated, map[string]string{"id": wr.ID, "status": StatusPending})
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request, tenant string) {
	q := r.URL.Query()
	if q.Has("externalReference") {
		ref := q.Get("externalReference")
		items := []WorkRequest{}
		s.mu.Lock()
		if id, ok := s.byRef[tenant+"\x00"+ref]; ok {
			items = append(items, s.reqs[id].clone())
		}
		s.mu.Unlock()
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "nextCursor": nil})
		return
	}
	items, next, e := s.feed(tenant, q)
	if e != nil {
		writeError(w, e)
		return
	}
	var nc any
	if next != "" {
		nc = next
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "nextCursor": nc})
}

// cursorPos is the keyset position after the last item of a page. Keyset paging on
// (modifiedAt, id) is what makes an item modified while paging re-appear later with its new
// modifiedAt, and keeps ties stable.
type cursorPos struct {
	Tenant string `json:"t"`
	Mod    int64  `json:"m"` // unix ms
	ID     string `json:"i"`
	Issued int64  `json:"x"` // unix ms
}

func (s *Server) encodeCursor(p cursorPos) string {
	b, _ := json.Marshal(p)
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

func (s *Server) decodeCursor(c, tenant string) (cursorPos, *Error) {
	bad := errf(http.StatusBadRequest, "invalid_cursor", "cursor is invalid or expired; restart from modifiedSince")
	data, sig, ok := strings.Cut(c, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(data)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return cursorPos{}, bad
	}
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(b)
	var p cursorPos
	if !hmac.Equal(got, mac.Sum(nil)[:12]) || json.Unmarshal(b, &p) != nil || p.Tenant != tenant {
		return cursorPos{}, bad
	}
	if !s.opts.Now().Before(time.UnixMilli(p.Issued).Add(s.opts.CursorTTL)) {
		return cursorPos{}, bad
	}
	return p, nil
}

func (s *Server) feed(tenant string, q url.Values) ([]WorkRequest, string, *Error) {
	limit := defaultLimit
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, "", errf(http.StatusBadRequest, "invalid_limit", "limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	var after *cursorPos
	var since time.Time
	if c := q.Get("cursor"); c != "" {
		s.mu.Lock()
		p, e := s.decodeCursor(c, tenant)
		s.mu.Unlock()
		if e != nil {
			return nil, "", e
		}
		after = &p
	} else if v := q.Get("modifiedSince"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			e := errf(http.StatusBadRequest, "bad_request", "modifiedSince must be an RFC 3339 timestamp")
			e.Fields = map[string]string{"modifiedSince": "invalid timestamp"}
			return nil, "", e
		}
		since = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*WorkRequest, 0, len(s.reqs))
	for _, wr := range s.reqs {
		if wr.Tenant != tenant {
			continue
		}
		if after != nil {
			m := wr.ModifiedAt.UnixMilli()
			if m < after.Mod || (m == after.Mod && !idLess(after.ID, wr.ID)) {
				continue
			}
		} else if wr.ModifiedAt.Before(since) {
			continue
		}
		all = append(all, wr)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.ModifiedAt.Equal(b.ModifiedAt) {
			return a.ModifiedAt.Before(b.ModifiedAt)
		}
		return idLess(a.ID, b.ID)
	})
	next := ""
	if len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		next = s.encodeCursor(cursorPos{Tenant: tenant, Mod: last.ModifiedAt.UnixMilli(), ID: last.ID, Issued: s.opts.Now().UnixMilli()})
	}
	items := make([]WorkRequest, len(all))
	for i, wr := range all {
		items[i] = wr.clone()
	}
	return items, next, nil
}

// idLess orders numeric-string ids numerically ("999" < "1000").
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request, tenant, id string) {
	var in struct {
		Reason string `json:"reason"`
	}
	if e := decodeBody(w, r, &in, true); e != nil {
		writeError(w, e)
		return
	}
	if utf8.RuneCountInString(in.Reason) > 500 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the cancel request is invalid")
		e.Fields = map[string]string{"reason": "must be at most 500 characters"}
		writeError(w, e)
		return
	}
	s.mu.Lock()
	wr, e := s.getLocked(tenant, id)
	if e == nil {
		switch wr.Status {
		case StatusCancelled: // idempotent: unchanged
		case StatusPending, StatusInProgress, StatusOnHold:
			wr.Status = StatusCancelled
			wr.CancelReason = in.Reason
			s.touchLocked(wr)
		default:
			e = errf(http.StatusConflict, "invalid_transition", "cannot cancel a work request that is %s", wr.Status)
		}
	}
	var out WorkRequest
	if e == nil {
		out = wr.clone()
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) apiComment(w http.ResponseWriter, r *http.Request, tenant, id string) {
	var in struct {
		Text   string `json:"text"`
		Author string `json:"author"`
	}
	if e := decodeBody(w, r, &in, false); e != nil {
		writeError(w, e)
		return
	}
	fields := map[string]string{}
	if strings.TrimSpace(in.Text) == "" {
		fields["text"] = "is required"
	} else if utf8.RuneCountInString(in.Text) > 4000 {
		fields["text"] = "must be at most 4000 characters"
	}
	if strings.TrimSpace(in.Author) == "" {
		fields["author"] = "is required"
	}
	if len(fields) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the comment is invalid")
		e.Fields = fields
		writeError(w, e)
		return
	}
	s.mu.Lock()
	wr, e := s.getLocked(tenant, id)
	var c Comment
	if e == nil {
		if terminal[wr.Status] {
			e = errf(http.StatusConflict, "invalid_transition", "cannot comment on a work request that is %s", wr.Status)
		} else {
			c = Comment{ID: s.newSubIDLocked(), Text: in.Text, Author: in.Author, CreatedAt: s.now()}
			wr.Comments = append(wr.Comments, c)
			s.touchLocked(wr)
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	simkit.WriteJSON(w, http.StatusCreated, c)
}

// ---- helpers ----

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}

// decodeBody reads a JSON body; malformed JSON is 400 bad_request (422 is for valid JSON with
// invalid content). allowEmpty accepts an empty body as "{}".
func decodeBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) *Error {
	err := simkit.ReadJSON(w, r, v, maxBodyBytes)
	if err == nil || allowEmpty && errors.Is(err, simkit.ErrEmptyBody) {
		return nil
	}
	return errf(http.StatusBadRequest, "bad_request", "%v", err)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func writeError(w http.ResponseWriter, e *Error) {
	simkit.WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	simkit.WriteJSON(w, status, map[string]string{"error": code})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, errf(http.StatusMethodNotAllowed, "method_not_allowed", "use %s", allow))
}

// faultAnswers are TWH's bodies for the injected 429, 5xx and HTML-on-200.
var faultAnswers = simkit.Answers{
	TooMany: func(w http.ResponseWriter) {
		writeError(w, errf(http.StatusTooManyRequests, "rate_limited", "too many requests"))
	},
	ServerErrors: []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout},
	ServerError: func(w http.ResponseWriter, status int) {
		writeError(w, errf(status, "server_error", "internal error, please retry"))
	},
	HTMLPage: loginPage,
}

const maintenancePage = `<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head>` +
	`<body><h1>Scheduled maintenance</h1><p>TheWorxHub is undergoing scheduled maintenance. Please try again shortly.</p></body></html>`

const loginPage = `<!DOCTYPE html><html><head><title>Sign in</title></head>` +
	`<body><form method="post" action="/login"><input name="user"><input name="password" type="password"></form></body></html>`

// ---- wire encoding ----

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// MarshalJSON renders the contract's wire form: millisecond timestamps, nulls for unset
// category/workOrderId/email/phone, and [] rather than null for empty lists.
func (w WorkRequest) MarshalJSON() ([]byte, error) {
	type person struct {
		Name  string  `json:"name"`
		Email *string `json:"email"`
		Phone *string `json:"phone"`
	}
	fb, cm := w.Feedback, w.Comments
	if fb == nil {
		fb = []Feedback{}
	}
	if cm == nil {
		cm = []Comment{}
	}
	return json.Marshal(struct {
		ID                string     `json:"id"`
		ExternalReference string     `json:"externalReference"`
		RequestType       string     `json:"requestType"`
		Title             string     `json:"title"`
		Description       string     `json:"description"`
		Location          string     `json:"location"`
		RequestedFor      person     `json:"requestedFor"`
		Status            string     `json:"status"`
		Category          *string    `json:"category"`
		WorkOrderID       *string    `json:"workOrderId"`
		CreatedAt         string     `json:"createdAt"`
		ModifiedAt        string     `json:"modifiedAt"`
		Feedback          []Feedback `json:"feedback"`
		Comments          []Comment  `json:"comments"`
		CancelReason      string     `json:"cancelReason,omitempty"`
	}{w.ID, w.ExternalReference, w.RequestType, w.Title, w.Description, w.Location,
		person{w.RequestedFor.Name, nullable(w.RequestedFor.Email), nullable(w.RequestedFor.Phone)},
		w.Status, nullable(w.Category), nullable(w.WorkOrderID), ts(w.CreatedAt), ts(w.ModifiedAt),
		fb, cm, w.CancelReason})
}

// MarshalJSON renders createdAt with milliseconds.
func (f Feedback) MarshalJSON() ([]byte, error) {
	type alias Feedback
	return json.Marshal(struct {
		alias
		CreatedAt string `json:"createdAt"`
	}{alias(f), ts(f.CreatedAt)})
}

// MarshalJSON renders createdAt with milliseconds.
func (c Comment) MarshalJSON() ([]byte, error) {
	type alias Comment
	return json.Marshal(struct {
		alias
		CreatedAt string `json:"createdAt"`
	}{alias(c), ts(c.CreatedAt)})
}

func (w *WorkRequest) clone() WorkRequest {
	c := *w
	c.Feedback = append([]Feedback(nil), w.Feedback...)
	c.Comments = append([]Comment(nil), w.Comments...)
	return c
}
