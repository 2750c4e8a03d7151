// Package sim is an in-memory Cyprexx simulator that follows the reference contract
// (shared/contracts/cyprexx.md), including the unpleasant parts: pushes lost, duplicated,
// reordered or sent with a wrong key; a Validate ping that fails; revoked tokens (401
// forever); 429 bursts; 5xx and HTML 503 pages; slow bodies; cursors that expire; work
// orders updated while a client pages; tasks changed after import; photo uploads that are
// stored and then time out or lose the connection.
//
// Staff control (JSON, no auth; POSTs also accept the HTML page's form fields):
//
//	GET  /_sim/                              HTML page: issue/update/cancel work orders, relays
//	GET  /_sim/workorders                    all work orders                  (WorkOrders)
//	POST /_sim/workorders                    WorkOrder JSON (+ "vendor")      (Issue)
//	GET  /_sim/workorders/{id}                                                (WorkOrder)
//	POST /_sim/workorders/{id}               partial WorkOrder JSON           (Update)
//	POST /_sim/workorders/{id}/cancel                                         (Cancel)
//	POST /_sim/workorders/{id}/tasks         [Task…]                          (SetTasks)
//	GET  /_sim/workorders/{id}/photos        relayed photos (sha256, metadata) (Photos)
//	GET  /_sim/workorders/{id}/surveys       current submissions by form      (Surveys)
//	GET  /_sim/completions                                                    (Completions)
//	GET  /_sim/pushkeys · GET /_sim/deliveries                                (PushKeys, Deliveries)
//	POST /_sim/tokens/revoke                 {"token"}                        (RevokeToken)
//	GET|PUT /_sim/faults · POST /_sim/reset · GET /_sim/stats
//
// Every change a staff member makes is pushed to the vendor's registered callbacks.
// It deliberately does not import the client package: the two are independent
// implementations of one contract.
package sim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Defaults used when Options leave a field zero.
const (
	DefaultToken     = "cyprexx-token"
	DefaultVendor    = "vendor-1"
	DefaultRateLimit = 60 // requests per minute per token
	DefaultCursorTTL = time.Hour
	// DefaultPushRetryDelay spaces 3 attempts over ~5 min (delays d and 2d).
	DefaultPushRetryDelay = 100 * time.Second
	// MaxPhotoBytes is the photo limit ("20 MB", read as MiB).
	MaxPhotoBytes = 20 << 20

	maxLimit     = 200
	defaultLimit = 50
	maxBodyBytes = 1 << 20
)

// Statuses of the contract (an open set: staff may set any other).
const (
	StatusAssigned   = "Assigned"
	StatusInProgress = "In Progress"
	StatusOnHold     = "On Hold"
	StatusCompleted  = "Completed"
	StatusCancelled  = "Cancelled"
)

func closed(status string) bool { return status == StatusCompleted || status == StatusCancelled }

// Options configure a Server. The zero value is usable: one token (DefaultToken) of one
// vendor (DefaultVendor), real clock, rate limit on.
type Options struct {
	// Tokens maps API token → vendor account.
	Tokens map[string]string
	// RateLimit is API calls per minute per token (default 60).
	RateLimit        int
	DisableRateLimit bool
	// CursorTTL is how long feed cursors stay valid (default 1 h).
	CursorTTL time.Duration
	// PingTimeout bounds the Validate ping (default 10 s); PushTimeout each push attempt
	// (default 10 s). PushRetryDelay is the pause before attempt n+1, times n (default 100 s,
	// so 3 attempts span ~5 min). PushJitter delays each push randomly, reordering them.
	PingTimeout    time.Duration
	PushTimeout    time.Duration
	PushRetryDelay time.Duration
	PushJitter     time.Duration
	HTTPClient     *http.Client
	// Now is the clock (default time.Now): timestamps, cursor expiry and the rate window
	// follow it.
	Now func() time.Time
	// Seed seeds the RNG behind the probabilistic faults.
	Seed   uint64
	Faults Faults
}

// Task is a unit of work with its photo requirements.
type Task struct {
	TaskID          string   `json:"taskId"`
	Name            string   `json:"name"`
	Instructions    string   `json:"instructions"`
	PhotoCategories []string `json:"photoCategories"`
	MinPhotos       int      `json:"minPhotos"`
}

// Question is a form question; AnswerType is text, number, yesNo, select, multiSelect,
// date or photo.
type Question struct {
	QuestionID string   `json:"questionId"`
	Text       string   `json:"text"`
	AnswerType string   `json:"answerType"`
	Options    []string `json:"options"`
	Required   bool     `json:"required"`
}

// Form is a survey; Version bumps when its questions change.
type Form struct {
	FormID    string     `json:"formId"`
	Name      string     `json:"name"`
	Version   int        `json:"version"`
	Questions []Question `json:"questions"`
}

// WorkOrder is the contract's work order. Empty lockbox/key codes are null on the wire.
type WorkOrder struct {
	WorkOrderID     string    `json:"workOrderId"`
	WorkOrderNumber string    `json:"workOrderNumber"`
	Service         string    `json:"service"`
	Address1        string    `json:"address1"`
	Address2        string    `json:"address2"`
	City            string    `json:"city"`
	State           string    `json:"state"`
	Zip             string    `json:"zip"`
	ServiceDue      string    `json:"serviceDue"`
	JobNumber       string    `json:"jobNumber"`
	Status          string    `json:"status"`
	LockboxCode     string    `json:"lockboxCode"`
	KeyCode         string    `json:"keyCode"`
	Note            string    `json:"note"`
	Tasks           []Task    `json:"tasks"`
	Forms           []Form    `json:"forms"`
	UpdatedAt       time.Time `json:"updatedAt"`
	Vendor          string    `json:"-"`
}

// Stats count what the simulator saw, so tests and benchmarks can assert call counts.
type Stats struct {
	APICalls        int            `json:"apiCalls"` // authenticated API calls, faulted ones included
	Ops             map[string]int `json:"ops"`      // by operation: list, get, pushkey, pushkey.delete, photo, survey, complete
	Unauthorized    int            `json:"unauthorized"`
	RateLimited     int            `json:"rateLimited"`
	PhotosStored    int            `json:"photosStored"`
	PhotoRetries    int            `json:"photoRetries"` // uploads answered with an already stored photo
	Surveys         int            `json:"surveys"`      // accepted or replacing submissions
	Completions     int            `json:"completions"`
	Pings           int            `json:"pings"`
	PushAttempts    int            `json:"pushAttempts"`
	PushesDelivered int            `json:"pushesDelivered"`
	PushesDropped   int            `json:"pushesDropped"` // by the fault, or after 3 failed attempts
}

// Error is a contract error: HTTP status plus {"error":{code,message,details}}.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// Server is the simulator; it is an http.Handler serving /api/v1/… and /_sim/….
type Server struct {
	opts      Options
	cursorKey []byte

	ctx    context.Context // cancelled by Close; stops push deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	rng         *mrand.Rand
	faults      Faults
	stats       Stats
	cursorEpoch int
	nextID      int64
	nextPhoto   int64
	wos         map[string]*WorkOrder
	revoked     map[string]bool
	window      map[string][]time.Time // token → API call times within the last minute
	pushKeys    map[string]*PushKey    // key → registration
	photos      map[string][]*Photo    // work order → photos, in upload order
	surveys     map[string]map[string]*Submission
	completions []Completion
	deliveries  []*Delivery
}

// New returns a simulator. Call Close when done to stop push deliveries.
func New(opts Options) *Server {
	if len(opts.Tokens) == 0 {
		opts.Tokens = map[string]string{DefaultToken: DefaultVendor}
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.CursorTTL <= 0 {
		opts.CursorTTL = DefaultCursorTTL
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 10 * time.Second
	}
	if opts.PushTimeout <= 0 {
		opts.PushTimeout = 10 * time.Second
	}
	if opts.PushRetryDelay <= 0 {
		opts.PushRetryDelay = DefaultPushRetryDelay
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, cursorKey: make([]byte, 32)}
	rand.Read(s.cursorKey)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rng = simkit.NewRand(opts.Seed)
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// Close stops pending push deliveries and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// WaitPushes waits until every push delivery started so far has finished (delivered or
// given up).
func (s *Server) WaitPushes() { s.wg.Wait() }

// Reset forgets work orders, push keys, relays, revocations, faults and stats.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.wos = map[string]*WorkOrder{}
	s.revoked = map[string]bool{}
	s.window = map[string][]time.Time{}
	s.pushKeys = map[string]*PushKey{}
	s.photos = map[string][]*Photo{}
	s.surveys = map[string]map[string]*Submission{}
	s.completions, s.deliveries = nil, nil
	s.stats = Stats{Ops: map[string]int{}}
	s.setFaultsLocked(Faults{})
	s.nextID, s.nextPhoto = 880000, 5000
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Ops = maps.Clone(s.stats.Ops)
	return st
}

// RevokeToken makes a token fail with 401 invalid_token forever (a regenerated API key).
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	s.revoked[token] = true
	s.mu.Unlock()
}

// now is the simulator clock at millisecond precision.
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// ServeHTTP routes /api/v1/… (token + faults) and /_sim/… (staff control, no auth).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/"):
		s.handleAPI(w, r)
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such path %s", p))
	}
}

// handleAPI applies, in order: latency, maintenance page (a front proxy, before auth), the
// token, the sliding rate limit, injected 429/5xx/HTML-200, then the route.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.faults.Latency
	s.mu.Unlock()
	if !simkit.Sleep(r.Context(), lat) {
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
	token, vendor, authErr := s.authLocked(r)
	if authErr != nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, authErr)
		return
	}
	s.stats.APICalls++
	if e := s.rateLimitLocked(w.Header(), token); e != nil {
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
	if answer != nil {
		s.mu.Unlock()
		answer(w)
		return
	}
	slow, slowDelay := simkit.Take(&f.SlowBody), f.SlowBodyDelay
	s.mu.Unlock()
	if slow {
		w = &slowWriter{ResponseWriter: w, ctx: r.Context(), delay: slowDelay}
	}
	s.routeAPI(w, r, vendor)
}

// faultAnswers are Cyprexx's bodies for the injected 429, 5xx and HTML-on-200 (a sign-in page).
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

// authLocked resolves the bearer token: unknown or revoked → 401 invalid_token.
func (s *Server) authLocked(r *http.Request) (string, string, *Error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", "", errf(http.StatusUnauthorized, "invalid_token", "missing bearer token")
	}
	for t, vendor := range s.opts.Tokens {
		if hmac.Equal([]byte(t), []byte(tok)) {
			if s.revoked[t] {
				return "", "", errf(http.StatusUnauthorized, "invalid_token", "the API token has been revoked; generate a new one")
			}
			return t, vendor, nil
		}
	}
	return "", "", errf(http.StatusUnauthorized, "invalid_token", "unknown API token")
}

// rateLimitLocked applies the per-token sliding one-minute window.
func (s *Server) rateLimitLocked(h http.Header, token string) *Error {
	if s.opts.DisableRateLimit {
		return nil
	}
	now := s.opts.Now()
	win := s.window[token]
	i := 0
	for i < len(win) && !win[i].After(now.Add(-time.Minute)) {
		i++
	}
	win = win[i:]
	if len(win) >= s.opts.RateLimit {
		wait := int((win[0].Add(time.Minute).Sub(now) + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(wait, 1)))
		s.window[token] = win
		return errf(http.StatusTooManyRequests, "rate_limited", "rate limit of %d requests per minute exceeded", s.opts.RateLimit)
	}
	s.window[token] = append(win, now)
	return nil
}

func (s *Server) countOp(op string) {
	s.mu.Lock()
	s.stats.Ops[op]++
	s.mu.Unlock()
}

// routeAPI dispatches /api/v1/… for one vendor. Segments are unescaped one by one, so an
// id or push key containing "/" stays one segment.
func (s *Server) routeAPI(w http.ResponseWriter, r *http.Request, vendor string) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v1/")
	if !ok {
		writeError(w, errf(http.StatusNotFound, "not_found", "no such path %s", r.URL.Path))
		return
	}
	var parts []string
	for _, seg := range strings.Split(strings.Trim(rest, "/"), "/") {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		parts = append(parts, seg)
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	wo := parts[0] == "workorders"
	switch n := len(parts); {
	case get && wo && n == 1:
		s.countOp("list")
		s.apiList(w, r, vendor)
	case get && wo && n == 2:
		s.countOp("get")
		s.apiGet(w, vendor, parts[1])
	case post && parts[0] == "pushkeys" && n == 1:
		s.countOp("pushkey")
		s.apiRegisterPushKey(w, r, vendor)
	case r.Method == http.MethodDelete && parts[0] == "pushkeys" && n == 2:
		s.countOp("pushkey.delete")
		s.apiDeletePushKey(w, vendor, parts[1])
	case post && wo && n == 3 && parts[2] == "photos":
		s.countOp("photo")
		s.apiPhoto(w, r, vendor, parts[1])
	case post && wo && n == 4 && parts[2] == "surveys":
		s.countOp("survey")
		s.apiSurvey(w, r, vendor, parts[1], parts[3])
	case post && wo && n == 3 && parts[2] == "complete":
		s.countOp("complete")
		s.apiComplete(w, r, vendor, parts[1])
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such endpoint %s %s", r.Method, r.URL.Path))
	}
}
