// Package sim is an in-memory Cityworks AMS simulator following shared/contracts/cityworks.md,
// including the unpleasant parts: errors inside HTTP 200 envelopes, tokens that expire
// mid-session, version 23's header-only token, sessions that expire into an HTML login
// redirect, IIS error pages, offset-less local dates and 0001-01-01 nulls, non-idempotent
// creates and slow uploads that commit after the client gave up. Contract tests run the real
// client against it; the dev stack mounts it so humans can play Cityworks staff through /_sim/.
//
// API: POST (or GET) {any prefix}/Services/{Area}/{Service}/{Method}, path case-insensitive,
// form fields data=<JSON> and token (2013/15.x) or header Authorization: cityworks <token> (23).
//
// Staff control (JSON, no token; POSTs also accept the HTML page's form fields):
//
//	GET  /_sim/                                   HTML page with staff buttons
//	GET  /_sim/requests                           all service requests (RequestView)
//	POST /_sim/requests                           {ProblemSid,X,Y,Address,Details,…} create "directly in Cityworks"
//	GET  /_sim/requests/{id}
//	POST /_sim/requests/{id}/status               {"status":"DISPATCH"|"CLOSED"|"CANCEL"|…|"open"|"dispatch"|"close"|"cancel","reason"?}
//	POST /_sim/requests/{id}/comments             {"text","author"?}  e.g. "To SCF: crew on the way"
//	POST /_sim/requests/{id}/attachments          multipart "file" (+comments) or {"filename","contentType","content"(base64),"comments"}
//	GET  /_sim/workorders                         all work orders (WorkOrderView); /_sim/workorders/{id} …
//	POST /_sim/workorders/{id}/status|comments|attachments   as for requests (OPEN, INPROG, CLOSED, CANCEL)
//	GET  /_sim/problems                           SR problem templates with questions and answers
//	PUT  /_sim/problems                           Problem (ProblemSid 0 = new)             (PutProblem)
//	POST /_sim/problems/{sid}/questions           QuestionInput                            (AddQuestion)
//	DELETE /_sim/problems/{sid}/questions/{qid}                                            (DeleteQuestion)
//	GET|PUT /_sim/wotemplates                     WO templates                             (PutWOTemplate)
//	GET|PUT /_sim/faults                          Faults                                   (Faults, SetFaults)
//	POST /_sim/reset | /_sim/expire-tokens        (Reset, ExpireTokens)
//	GET  /_sim/stats                              calls by operation                       (Stats)
//
// It deliberately does not import the client package: the two are independent readings of
// one contract, so a misreading in one shows up as a test failure.
package sim

import (
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Versions the simulator emulates (Options.Version).
const (
	Version2013 = "2013"
	Version2015 = "2015"
	Version15   = "15"
	Version23   = "23"
)

// How an expired or unknown token is answered (Options.ExpiredSession).
const (
	SessionStatus2     = "status"      // HTTP 200, Status 2 (the default)
	SessionRedirect    = "redirect"    // 302 to /Login.aspx?ReturnUrl=…
	SessionObjectMoved = "objectmoved" // 200 HTML "Object moved" page
)

// Defaults used when Options leave a field zero.
const (
	DefaultLoginName = "ticketsync"
	DefaultPassword  = "ticketsync-password"
	DefaultTokenTTL  = time.Hour
	DefaultMaxBatch  = 100
	// DefaultSlowDelay outlasts the client's default upload timeout (2 min) and call timeout.
	DefaultSlowDelay = 150 * time.Second
	// StaffApp is InitiatedByApp of requests created through /_sim (directly in Cityworks).
	StaffApp = "Cityworks"
)

// Options configure a Server. The zero value is usable: version 23, one user
// (DefaultLoginName/DefaultPassword), UTC, seeded templates, real clock.
type Options struct {
	// Version is "2013", "2015", "15" or "23" (default "23"). 23 reads the token only from the
	// Authorization header, the others only from the token form field; 2013 has no Comment/*.
	Version string
	// Users maps LoginName → Password; InactiveUsers are refused with code 3.
	Users         map[string]string
	InactiveUsers []string
	// TokenTTL is a token's lifetime when Authenticate sends no Expires (default 1 h).
	TokenTTL time.Duration
	// Location is the site's time zone: offset-less dates are written and read in it
	// (default UTC). ISODates writes ISO-8601 with Z instead.
	Location *time.Location
	ISODates bool
	// ExpiredSession selects how a bad token is answered: SessionStatus2 (default),
	// SessionRedirect or SessionObjectMoved.
	ExpiredSession string
	// MaxBatch is the most ids one ByIds-style call takes (default 100); more is code 30.
	MaxBatch int
	// Empty starts without the seeded templates, questions and statuses' defaults aside.
	Empty bool
	// Now is the clock (default time.Now); dates have whole seconds.
	Now func() time.Time
	// Seed seeds the RNG of the probabilistic faults.
	Seed uint64
	// Faults are the initial faults.
	Faults Faults
}

// Stats count what the simulator saw.
type Stats struct {
	// Calls counts API calls by operation ("ServiceRequest/Create"), faulted ones included.
	Calls            map[string]int `json:"calls"`
	Authentications  int            `json:"authentications"` // successful logins
	Unauthorized     int            `json:"unauthorized"`    // calls refused for their token
	Faulted          int            `json:"faulted"`         // calls answered by an injected fault
	Creates          int            `json:"creates"`         // committed SR creates
	WorkOrderCreates int            `json:"workOrderCreates"`
	Uploads          int            `json:"uploads"` // committed attachment uploads
}

type token struct {
	login   string
	expires time.Time
	revoked bool
}

// Server is the simulator, an http.Handler.
type Server struct {
	opts Options
	loc  *time.Location

	mu     sync.Mutex
	rng    *mrand.Rand
	faults Faults
	stats  Stats
	tokens map[string]*token
	users  map[string]string
	st     state
}

// New returns a simulator.
func New(opts Options) *Server {
	switch opts.Version {
	case "":
		opts.Version = Version23
	case Version2013, Version2015, Version15, Version23:
	default:
		panic(fmt.Sprintf("cityworks sim: unknown version %q", opts.Version))
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ExpiredSession == "" {
		opts.ExpiredSession = SessionStatus2
	}
	s := &Server{opts: opts, loc: opts.Location, tokens: map[string]*token{}, users: map[string]string{}}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if len(opts.Users) == 0 {
		s.users[DefaultLoginName] = DefaultPassword
	}
	for u, p := range opts.Users {
		s.users[u] = p
	}
	s.rng = simkit.NewRand(opts.Seed)
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// Version is the emulated Cityworks version.
func (s *Server) Version() string { return s.opts.Version }

// AddUser adds or changes a login (e.g. the credentials of a configured connection).
func (s *Server) AddUser(login, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = password
}

// Reset forgets all requests, work orders, comments, attachments, faults and stats and
// restores the seeded templates. Issued tokens stay valid so connected clients carry on.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.st = newState(s.now(), !s.opts.Empty)
	s.faults = Faults{}
	s.stats = Stats{Calls: map[string]int{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Calls = maps.Clone(s.stats.Calls)
	return out
}

// ExpireTokens invalidates every issued token: the next call with one gets the expired-session
// answer (Status 2 or HTML, per Options.ExpiredSession).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAllLocked()
}

func (s *Server) expireAllLocked() {
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// now is the simulator clock at Cityworks' one-second precision.
func (s *Server) now() time.Time { return s.opts.Now().Truncate(time.Second) }

// ServeHTTP routes …/Services/… (the API) and /_sim/… (staff control).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	case strings.Contains(strings.ToLower(p), "/services/"):
		s.handleAPI(w, r)
	default:
		simkit.WriteHTML(w, http.StatusNotFound, simkit.IIS404Page)
	}
}
