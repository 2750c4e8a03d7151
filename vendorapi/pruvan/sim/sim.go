// Package sim is an in-memory Pruvan simulator that plays Pruvan in both directions of the
// integration (shared/contracts/pruvan.md):
//
//   - it serves Pruvan's push API, GET|POST /api/?apiKey=<key>: a valid key answers
//     {"response":true,"error":"success"} and (GET) starts an incremental import soon after,
//     a POST upserts projects from the form field workOrders; a bad key answers HTTP 200
//     {"response":false,"error":"invalid clientCode"};
//   - it is Pruvan's client of an order source: given the order source's URL and
//     credentials it calls validate, getWorkOrders (incremental and full), status and
//     uploadPictures the way Pruvan does, and records the projects it imported and what it
//     sent (photo bytes' sha256, surveys, completions).
//
// Imports follow Pruvan's field ownership: source-owned fields always update, shared fields
// only with Auto-Admin, and tasks never change after import (the attempt is recorded).
//
// Staff control (JSON; POSTs also accept the HTML page's form fields):
//
//	GET  /_sim/                                  HTML page with staff buttons
//	GET  /_sim/integrations                      (Integrations)
//	PUT  /_sim/integrations/{code}               Integration JSON       (SetIntegration)
//	POST /_sim/integrations/{code}/validate                             (Validate)
//	POST /_sim/integrations/{code}/refresh       {"full"?} or ?full=true (Refresh)
//	POST /_sim/integrations/{code}/full-refresh                         (Refresh, full)
//	GET  /_sim/projects                                                  (Projects)
//	GET  /_sim/projects/{key}                    key = "{code}::{workOrderNumber}", escaped
//	POST /_sim/projects/{key}/edit               {"field":"value",…}     (Edit: a Pruvan user's edit)
//	POST /_sim/projects/{key}/complete           {"completedDate"?}      (Complete)
//	POST /_sim/projects/{key}/status             {"status"}              (SetStatus)
//	POST /_sim/projects/{key}/photos             {"count","category","task","size"?} (UploadPhotos)
//	POST /_sim/projects/{key}/survey             {"task","answers":{id:answer},"template"?} (SubmitSurvey)
//	GET  /_sim/calls                             recent order-source calls (Calls)
//	GET|PUT /_sim/faults · POST /_sim/reset · GET /_sim/stats
//
// It deliberately does not import the pruvan package: the two are independent readings of
// one contract.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Defaults used when Options leave a field zero.
const (
	// DefaultCallTimeout is how long Pruvan waits for an order-source answer.
	DefaultCallTimeout = 30 * time.Second
	// StatusUnassigned is a new project's Pruvan status.
	StatusUnassigned = "Un-assigned"
	StatusAssigned   = "Assigned"
	StatusComplete   = "complete"
	maxCalls         = 200
	maxFormBytes     = 16 << 20
)

// Integration is one order source Pruvan imports from, as a Pruvan admin configures it.
type Integration struct {
	// ClientCode names the integration; projects show as "{clientCode}::{workOrderNumber}".
	ClientCode string `json:"clientCode"`
	// URL is the order source's web service URL; methods are POSTed to {URL}/{method}{Extension}.
	URL       string `json:"url"`
	Extension string `json:"extension"`
	Username  string `json:"username"`
	Password  string `json:"password"` // the hash Pruvan sends
	Token     string `json:"token"`
	// APIKey is the push key's key; generated when empty.
	APIKey    string `json:"apiKey"`
	AutoAdmin bool   `json:"autoAdmin"`
	// Validated is set by a successful validate; LastImport is the start of the last
	// successful getWorkOrders (the next incremental import's timestamp).
	Validated  bool      `json:"validated"`
	LastImport time.Time `json:"lastImport"`
}

// Options configure a Server. The zero value is usable: no integrations (add them with
// SetIntegration), real clock.
type Options struct {
	Integrations []Integration
	// BaseURL is this simulator's public root, used in the push keys it issues
	// ({BaseURL}/api/?apiKey=…). Empty: taken from the Host of staff requests (SetBaseURL
	// sets it from Go).
	BaseURL string
	// HTTPClient makes the order-source calls (default: a plain client, redirects not followed).
	HTTPClient *http.Client
	// CallTimeout bounds each order-source call (default 30 s, Pruvan's getWorkOrders wait).
	CallTimeout time.Duration
	// PullDelay is the pause between an accepted push key call and its import.
	PullDelay time.Duration
	Now       func() time.Time
	// Seed seeds the RNG (faults, photo bytes, uuids), so runs are reproducible; 0 picks a
	// random seed, so that a restarted dev stack does not resend the uuids of the last run.
	Seed   uint64
	Faults Faults
}

// WorkOrder is a project as Pruvan stores it (the contract's WorkOrder object).
type WorkOrder struct {
	WorkOrderNumber    string    `json:"workOrderNumber"`
	Address1           string    `json:"address1,omitempty"`
	Address2           string    `json:"address2,omitempty"`
	City               string    `json:"city,omitempty"`
	State              string    `json:"state,omitempty"`
	Zip                string    `json:"zip,omitempty"`
	Country            string    `json:"country,omitempty"`
	WorkOrderInfo      string    `json:"workOrderInfo,omitempty"`
	Reference          string    `json:"reference,omitempty"`
	Description        string    `json:"description,omitempty"`
	Instructions       string    `json:"instructions,omitempty"`
	ClientInstructions string    `json:"clientInstructions,omitempty"`
	Status             string    `json:"status,omitempty"`
	ClientStatus       string    `json:"clientStatus,omitempty"`
	DueDate            string    `json:"dueDate,omitempty"`
	ClientDueDate      string    `json:"clientDueDate,omitempty"`
	AssignedTo         string    `json:"assignedTo,omitempty"`
	Services           []Service `json:"services,omitempty"`
}

// Service is a project task.
type Service struct {
	ServiceName     string          `json:"serviceName"`
	Instructions    string          `json:"instructions,omitempty"`
	Survey          string          `json:"survey,omitempty"`
	SurveyDynamic   json.RawMessage `json:"surveyDynamic,omitempty"`
	Options         json.RawMessage `json:"options,omitempty"`
	SourceService   string          `json:"source_service,omitempty"`
	SourceServiceID string          `json:"source_service_id,omitempty"`
}

// Project is a Pruvan project with what the simulator did with it.
type Project struct {
	Key        string    `json:"key"` // "{clientCode}::{workOrderNumber}"
	ClientCode string    `json:"clientCode"`
	WorkOrder  WorkOrder `json:"workOrder"`
	// Status is Pruvan's project status (Un-assigned, Assigned, complete, …).
	Status        string    `json:"status"`
	CompletedDate string    `json:"completedDate,omitempty"`
	ImportedAt    time.Time `json:"importedAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	// Notes record what an import did not apply: tasks changes, shared fields without
	// Auto-Admin.
	Notes []string `json:"notes,omitempty"`
	// Sent are the items uploaded to the order source for this project.
	Sent []SentItem `json:"sent,omitempty"`
}

// SentItem is one uploadPictures call (one per attempt).
type SentItem struct {
	UUID       string    `json:"uuid"`
	Kind       string    `json:"kind"` // "photo" or "survey"
	Task       string    `json:"task"`
	Category   string    `json:"category"` // evidenceType
	FileName   string    `json:"fileName,omitempty"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256,omitempty"`
	Template   string    `json:"template,omitempty"`
	Survey     string    `json:"survey,omitempty"` // the survey JSON sent
	SentAt     time.Time `json:"sentAt"`
	HTTPStatus int       `json:"httpStatus"`
	Accepted   bool      `json:"accepted"`
	Error      string    `json:"error,omitempty"`
}

// Call is one order-source call, for the staff page and tests.
type Call struct {
	Method     string        `json:"method"`
	ClientCode string        `json:"clientCode"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
	HTTPStatus int           `json:"httpStatus"`
	OK         bool          `json:"ok"`
	Error      string        `json:"error,omitempty"`
}

// Stats count what the simulator saw and did.
type Stats struct {
	PushCalls     int `json:"pushCalls"` // calls of /api/, faulted ones included
	Triggers      int `json:"triggers"`  // accepted GETs
	Upserts       int `json:"upserts"`   // accepted POSTs
	InvalidKeys   int `json:"invalidKeys"`
	RateLimited   int `json:"rateLimited"`
	PullsDropped  int `json:"pullsDropped"`
	Validates     int `json:"validates"` // order-source calls by method
	GetWorkOrders int `json:"getWorkOrders"`
	FullRefreshes int `json:"fullRefreshes"`
	StatusCalls   int `json:"statusCalls"`
	Uploads       int `json:"uploads"`
	CallFailures  int `json:"callFailures"`
	Created       int `json:"created"` // projects
	Updated       int `json:"updated"`
}

// Error is what the staff API answers on failure; the Go staff methods return it too.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// Server is the simulator, an http.Handler serving /api/ and /_sim/.
type Server struct {
	opts Options

	ctx    context.Context // cancelled by Close; stops background imports
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	rng      *mrand.Rand
	faults   Faults
	stats    Stats
	baseURL  string
	integr   map[string]*Integration
	projects map[string]*Project
	order    []string // project keys in creation order
	calls    []Call
	resend   map[string]resendable // uuid → what Resend sends again
}

// New returns a simulator. Call Close when done to stop background imports.
func New(opts Options) *Server {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, baseURL: strings.TrimRight(opts.BaseURL, "/")}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s.rng = simkit.NewRand(seed)
	s.resetLocked()
	s.faults = opts.Faults
	return s
}

// Close stops background imports and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// WaitIdle waits until no background import (started by a push key call) is running.
func (s *Server) WaitIdle() { s.wg.Wait() }

// Reset forgets projects, calls, faults and stats and restores the configured integrations.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.integr = map[string]*Integration{}
	for _, in := range s.opts.Integrations {
		in := in
		s.setIntegrationLocked(&in)
	}
	s.projects = map[string]*Project{}
	s.order = nil
	s.calls = nil
	s.resend = map[string]resendable{}
	s.faults = Faults{}
	s.stats = Stats{}
}

// SetBaseURL sets the public root used in issued push keys (e.g. an httptest server's URL).
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// ServeHTTP routes /api/ (push API) and /_sim/ (staff control, no auth).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/api" || p == "/api/":
		s.handlePush(w, r)
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	default:
		simkit.WriteJSON(w, http.StatusNotFound, map[string]any{"response": false, "error": "not found"})
	}
}

// ---- integrations ----

// SetIntegration adds or replaces an integration (its api key is kept when in.APIKey is
// empty and one exists, else generated).
func (s *Server) SetIntegration(in Integration) (Integration, error) {
	in.ClientCode = strings.TrimSpace(in.ClientCode)
	if in.ClientCode == "" || strings.Contains(in.ClientCode, "::") || strings.Contains(in.ClientCode, "/") {
		return Integration{}, errf(http.StatusUnprocessableEntity, "validation_failed", "clientCode is required and must not contain :: or /")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.integr[in.ClientCode]; ok {
		if in.APIKey == "" {
			in.APIKey = old.APIKey
		}
		if in.LastImport.IsZero() {
			in.LastImport = old.LastImport
		}
	}
	s.setIntegrationLocked(&in)
	return in, nil
}

func (s *Server) setIntegrationLocked(in *Integration) {
	if in.APIKey == "" {
		in.APIKey = simkit.RandomHex(16)
	}
	in.URL = strings.TrimRight(in.URL, "/")
	s.integr[in.ClientCode] = in
}

// Integrations lists the integrations by client code.
func (s *Server) Integrations() []Integration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Integration, 0, len(s.integr))
	for _, in := range s.integr {
		out = append(out, *in)
	}
	sortBy(out, func(i Integration) string { return i.ClientCode })
	return out
}

// PushKey is the push key of an integration: {BaseURL}/api/?apiKey=<key>.
func (s *Server) PushKey(code string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.integr[code]
	if !ok {
		return "", errf(http.StatusNotFound, "not_found", "no integration %q", code)
	}
	if s.baseURL == "" {
		return "", errf(http.StatusConflict, "no_base_url", "the simulator does not know its own URL (Options.BaseURL)")
	}
	return s.baseURL + "/api/?" + url.Values{"apiKey": {in.APIKey}}.Encode(), nil
}

// ---- helpers ----

const maintenancePage = `<!DOCTYPE html><html><head><title>Pruvan maintenance</title></head>` +
	`<body><h1>Pruvan is down for maintenance</h1><p>Please try again shortly.</p></body></html>`

const loginPage = `<!DOCTYPE html><html><head><title>Pruvan - Sign in</title></head>` +
	`<body><form method="post" action="/login"><input name="user"><input name="password" type="password"></form></body></html>`
