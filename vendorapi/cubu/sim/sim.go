// Package sim is an in-memory Cubu: the S2S API with its Azure AD token endpoint, and a
// "Cubu" driver that plays agents and customers and sends HMAC-signed service webhooks to a
// configurable receiver (ticketsync), following shared/contracts/cubu.md.
//
// S2S side (what the client calls):
//
//	POST /{tenantId}/oauth2/v2.0/token                              client credentials (form)
//	POST /{applicationId}/agents/{userId}/cases/{caseId}/actions/resolve   role Agent Impersonator
//	GET  /{applicationId}/agents/{userId}/activeCases                      role Agent Impersonator
//	POST /{applicationId}/services/{serviceId}/cases                       role Case Manager (queue up)
//
// Driver and staff control (JSON, no auth; POSTs also take the HTML page's form fields):
//
//	GET  /_sim/                            HTML page: create cases, act as an agent, see hook answers
//	GET  /_sim/cases  ·  GET /_sim/cases/{id}
//	POST /_sim/cases                       {kind:"walkIn"|"appointment", serviceId?, serviceTypeId?, channel?,
//	                                        fields?, contactEmail?, contactPhoneNumber?, agent?, appointment?}
//	POST /_sim/cases/{id}/{action}         action: check-in | start-work | resolve | close | fields | assign
//	                                       body {agent?, fields?}
//	GET  /_sim/deliveries                  webhook deliveries, newest last, with the receiver's answers
//	POST /_sim/deliveries/{seq}/replay     send a delivery again, byte-identical
//	GET|PUT /_sim/faults · GET /_sim/stats · POST /_sim/reset · POST /_sim/revoke-tokens
//
// An action whose before-hook answers non-2xx, times out or says {"cancel":true} is blocked
// (409 with the hook's outcome); otherwise the answer's fields/tagIds/serviceTypeId/channel are
// applied and recorded, the action happens and the after-hook is sent in the background.
// Actions made through the S2S API send only after-hooks (what Cubu does with a blocked
// before-hook there is undocumented).
//
// It deliberately does not import the client package: the two are independent readings of
// one contract.
package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Case statuses. A booked appointment is Pending until check-in; walk-ins and checked-in
// customers wait (Waiting); an agent serves (Active); then Resolved and Closed.
const (
	StatusPending  = "Pending"
	StatusWaiting  = "Waiting"
	StatusActive   = "Active"
	StatusResolved = "Resolved"
	StatusClosed   = "Closed"
)

// App roles of the S2S application registration.
const (
	RoleAgentImpersonator = "Agent Impersonator"
	RoleCaseManager       = "Case Manager"
)

// Defaults used when Options leave a field zero. The ids are stable so a dev configuration
// can map them (e.g. DefaultServiceTypeMaintenance → requestType "Maintenance").
const (
	DefaultTenantID      = "7d1c5f0e-2b3a-4c9d-8e6f-1a2b3c4d5e6f"
	DefaultApplicationID = "5e0f7a2b-8c1d-4e3f-9a6b-2c7d8e9f0a1b"
	DefaultClientID      = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
	DefaultClientSecret  = "sim~client~secret"
	DefaultAgentID       = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
	DefaultAgentEmail    = "agent@example.org"
	SecondAgentID        = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"
	SecondAgentEmail     = "second.agent@example.org"

	DefaultServiceID               = "c4d8e2f1-7a90-4b3c-a5e6-1f2d3c4b5a69"
	DefaultUnitID                  = "9b1e4c2d-0a37-4f6e-8d15-2c7b9e0f1a63"
	DefaultServiceCategoryID       = "72406b29-b8c7-4358-8ac1-0d9e8f7a6b5c"
	DefaultServiceTypeMaintenance  = "0a526645-8401-4df6-a060-5e4d3c2b1a0f"
	DefaultServiceTypeHousekeeping = "1b637756-9512-4e07-b171-6f5e4d3c2b1a"
	DefaultServiceTypeITSupport    = "2c748867-a623-4f18-8282-7a6f5e4d3c2b"

	FieldDescription = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
	FieldAddress     = "f2a3b4c5-d6e7-4f8a-9b0c-1d2e3f4a5b6c"
	FieldName        = "a3b4c5d6-e7f8-4a9b-8c1d-2e3f4a5b6c7d"
	FieldPreferred   = "b4c5d6e7-f8a9-4b0c-9d2e-3f4a5b6c7d8e"

	DefaultTokenTTL          = time.Hour
	DefaultBeforeHookTimeout = 5 * time.Second
	DefaultHookTimeout       = 10 * time.Second
)

const (
	maxBodyBytes    = 1 << 20
	maxDeliveries   = 500
	maxHookAnswer   = 64 << 10
	timeZoneDefault = "America/New_York"
)

// Options configure a Server. The zero value is usable: one application with both roles,
// two agents, one maintenance service, real clock, webhooks off.
type Options struct {
	TenantID      string
	ApplicationID string
	ClientID      string
	ClientSecret  string
	// Roles granted to the application (default both).
	Roles []string
	// TokenTTL is expires_in of issued tokens (default 1 h).
	TokenTTL time.Duration
	Agents   []Agent
	Services []Service

	// HookBaseURL is Cubu's webhook "Base URL" (e.g. http://127.0.0.1:8080/v1/hooks/cubu/demo);
	// hooks go to <HookBaseURL>/service/actions/<hook>. Empty: webhooks disabled.
	HookBaseURL string
	// HMACSecret signs hooks ("Authorization: HMAC …"); empty means Authorization "None".
	HMACSecret string
	// CanonicalPaths posts afterStartWork and beforeResolve under those names instead of the
	// documented "startWork" and "beforeResolved" (receivers must accept both).
	CanonicalPaths bool
	// BeforeHookTimeout is how long an action waits for a before-hook (default 5 s); after it
	// the action is blocked.
	BeforeHookTimeout time.Duration
	// HookTimeout bounds an after-hook delivery (default 10 s).
	HookTimeout time.Duration
	HookClient  *http.Client

	// Now is the clock for token expiry and timestamps (default time.Now).
	Now func() time.Time
	// Seed seeds the RNG behind ids and probabilistic faults, for reproducible runs.
	Seed uint64
	// Faults are the initial faults.
	Faults Faults
}

type token struct {
	expires time.Time
	revoked bool
}

// Server is the simulator: an http.Handler for the token endpoint, the S2S API and /_sim/.
type Server struct {
	opts Options

	ctx    context.Context // cancelled by Close: stops hook deliveries
	cancel context.CancelFunc
	hooks  sync.WaitGroup

	mu         sync.Mutex
	rng        *mrand.Rand
	faults     Faults
	stats      Stats
	cases      map[string]*Case
	order      []string // case ids in creation order
	tickets    map[string]int
	tokens     map[string]*token
	deliveries []Delivery
	seq        int
}

// New returns a simulator; call Close when done.
func New(opts Options) *Server {
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.ApplicationID == "" {
		opts.ApplicationID = DefaultApplicationID
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Roles == nil {
		opts.Roles = []string{RoleAgentImpersonator, RoleCaseManager}
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if len(opts.Agents) == 0 {
		opts.Agents = []Agent{{DefaultAgentID, DefaultAgentEmail}, {SecondAgentID, SecondAgentEmail}}
	}
	if len(opts.Services) == 0 {
		opts.Services = []Service{DefaultService()}
	}
	if opts.BeforeHookTimeout <= 0 {
		opts.BeforeHookTimeout = DefaultBeforeHookTimeout
	}
	if opts.HookTimeout <= 0 {
		opts.HookTimeout = DefaultHookTimeout
	}
	if opts.HookClient == nil {
		opts.HookClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.HookBaseURL = strings.TrimRight(opts.HookBaseURL, "/")
	s := &Server{opts: opts, tokens: map[string]*token{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rng = simkit.NewRand(opts.Seed)
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// DefaultService is the service New uses when Options.Services is empty.
func DefaultService() Service {
	return Service{
		ID: DefaultServiceID, Name: "Maintenance desk", UnitID: DefaultUnitID, CategoryID: DefaultServiceCategoryID,
		TicketPrefix: "A",
		Types: []ServiceType{{DefaultServiceTypeMaintenance, "Maintenance"}, {DefaultServiceTypeHousekeeping, "Housekeeping"},
			{DefaultServiceTypeITSupport, "IT Support"}},
		Fields: []FieldType{{FieldDescription, "What needs doing?"}, {FieldAddress, "Where (building, apartment)"},
			{FieldName, "Your name"}, {FieldPreferred, "Preferred time"}},
	}
}

// Close stops hook deliveries and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.hooks.Wait()
}

// WaitHooks waits until every after-hook sent so far has been delivered (or failed).
func (s *Server) WaitHooks() { s.hooks.Wait() }

// Reset forgets cases, deliveries, faults and stats. Issued tokens stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.cases = map[string]*Case{}
	s.order = nil
	s.tickets = map[string]int{}
	s.deliveries = nil
	s.faults = Faults{}
	s.stats = Stats{Ops: map[string]int{}}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Ops = maps.Clone(s.stats.Ops)
	return st
}

// Cases returns every case in creation order.
func (s *Server) Cases() []Case {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Case, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.cases[id].clone())
	}
	return out
}

// Case returns one case.
func (s *Server) Case(id string) (Case, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cases[strings.ToLower(id)]
	if !ok {
		return Case{}, false
	}
	return c.clone(), true
}

// ServeHTTP routes /_sim/… (control), …/oauth2/v2.0/token and /{applicationId}/… (S2S).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		s.handleToken(w, r)
	default:
		s.handleAPI(w, r)
	}
}

// ---- helpers ----

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// guidLocked returns a random (seeded) version-4 GUID in lower case.
func (s *Server) guidLocked() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *Server) hexLocked(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	return fmt.Sprintf("%x", b)
}

func (s *Server) service(id string) (Service, bool) {
	for _, sv := range s.opts.Services {
		if strings.EqualFold(sv.ID, id) {
			return sv, true
		}
	}
	return Service{}, false
}

func (s *Server) agent(id string) (Agent, bool) {
	for _, a := range s.opts.Agents {
		if strings.EqualFold(a.ID, id) {
			return a, true
		}
	}
	return Agent{}, false
}

// readJSON decodes a JSON body of at most maxBodyBytes; empty counts as {} when allowEmpty.
func readJSON(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	err := simkit.ReadJSON(w, r, v, maxBodyBytes)
	if allowEmpty && errors.Is(err, simkit.ErrEmptyBody) {
		return nil
	}
	return err
}
