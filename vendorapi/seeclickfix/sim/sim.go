// Package sim is an in-memory SeeClickFix API v2 simulator that follows
// shared/contracts/seeclickfix.md, including the unpleasant parts: 20 requests a minute per
// credential answered with 429 + Retry-After and a 403 blacklist after sustained abuse,
// requests without a User-Agent rejected, redirects, comments without ids that are edited
// later, moderation (202), archived issues hidden by default and auto-archived 7 days after
// closing, inclusive updated_at_after boundaries with whole-second timestamps, 422 on
// forbidden status changes and 304 on conditional GETs. Contract tests run the real client
// against it; the dev stack mounts it so humans can play citizens and city staff at /_sim/.
//
// API (Basic or Bearer auth; organization-scoped routes need a member credential):
//
//	GET  /api/v2[/organizations/{org}]/issues            list (paging, filters, sort)
//	POST /api/v2[/organizations/{org}]/issues            report (JSON, form or multipart)
//	GET  /api/v2[/organizations/{org}]/issues/new        report form: request types at lat/lng
//	GET  /api/v2[/organizations/{org}]/issues/{id}       one issue (details=true)
//	GET|POST …/issues/{id}/comments                      comments (POST: image as multipart)
//	POST …/issues/{id}/close|open|acknowledge            status changes with a comment
//	GET  /api/v2[/organizations/{org}]/request_types/{id} request type with questions
//	PUT  /api/v2/organizations/{org}/integrations/cityworks/request_types/{remote_id}
//	GET  /files/{key}/full|square → 302 → /_media/{key}   images (no auth, not rate limited)
//	     /moved/api/v2/…                                   where the Redirects fault points
//
// Staff and citizen control (JSON, no auth; POSTs also take the HTML page's form fields):
//
//	GET  /_sim/                                   HTML page
//	GET  /_sim/issues, /_sim/issues/{id}          issues as staff see them (Issues, Issue)
//	POST /_sim/issues                             a citizen reports {summary, description, lat,
//	                                              lng, address, requestTypeId, reporter, answers,
//	                                              private, image (base64), imageName} (Report)
//	POST /_sim/issues/{id}/comments               {comment, name, staff, image} (AddComment)
//	POST /_sim/issues/{id}/acknowledge|close|open {comment, name, image} employee (Transition)
//	POST /_sim/issues/{id}/comments/{cid}/edit    {comment} (EditComment)
//	POST /_sim/issues/{id}/comments/{cid}/approve, /_sim/issues/{id}/approve  moderation
//	POST /_sim/issues/{id}/archive                (Archive)
//	GET  /_sim/issues/{id}/posted                 comments and status changes posted (Posted)
//	GET  /_sim/request_types                      (RequestTypes)
//	GET|PUT /_sim/agencies                        (Agencies, SetAgencies)
//	GET|PUT /_sim/faults                          (Faults, SetFaults)
//	GET  /_sim/stats                              (Stats)
//	POST /_sim/reset                              (Reset)
//
// It deliberately does not import the client package: the two are independent readings of
// one contract, so a misreading in one shows up as a test failure.
package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Defaults used when Options leave a field zero.
const (
	DefaultOrganizationID   = 1
	DefaultOrganizationName = "City of Simville"
	DefaultUsername         = "ticketsync"
	DefaultPassword         = "ticketsync-secret"
	DefaultToken            = "scf-token"
	DefaultRateLimit        = 20 // requests per minute per credential, sliding window
	DefaultBlacklistAfter   = 100
	DefaultBlacklistFor     = time.Hour
	DefaultArchiveAfter     = 7 * 24 * time.Hour
	DefaultEditWindow       = 15 * time.Minute
	// Center of the simulated city: staff reports without a location land here.
	DefaultLat = 41.3083
	DefaultLng = -72.9279
	// blacklistWindow is how far back 429s count towards BlacklistAfter.
	blacklistWindow = 10 * time.Minute
)

// Forbidden messages of the contract.
const (
	msgAbuse       = "Request forbidden by administrative rules."
	msgNoUserAgent = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header."
)

// DefaultUser is the API user of a zero Options: a member (Verified Official) that
// authenticates with Basic DefaultUsername/DefaultPassword or Bearer DefaultToken.
func DefaultUser() User {
	return User{ID: 9001, Name: "City API", Username: DefaultUsername, Password: DefaultPassword,
		Token: DefaultToken, Member: true}
}

// Options configure a Server. The zero value is usable: one member credential
// (DefaultUser), organization 1, the seed request types, real clock, 20 requests a minute.
type Options struct {
	OrganizationID   int64
	OrganizationName string
	Users            []User
	// RateLimit is requests per minute per credential (default 20); DisableRateLimit turns
	// the limit (and the blacklist) off.
	RateLimit        int
	DisableRateLimit bool
	// BlacklistAfter 429s within 10 minutes blacklist a credential (403) for BlacklistFor
	// (defaults 100 and 1 h); negative disables.
	BlacklistAfter int
	BlacklistFor   time.Duration
	// ArchiveAfter turns Closed issues into Archived (default 7 days); EditWindow is how long
	// comments stay editable (default 15 min).
	ArchiveAfter time.Duration
	EditWindow   time.Duration
	// RequestTypes seed the catalog (default DefaultRequestTypes); Agencies the service areas.
	RequestTypes []RequestType
	Agencies     []Agency
	// PublicURL is the scheme://host used in rendered links; default: from each request.
	PublicURL string
	// Location is the zone of rendered timestamps (default UTC-5, to exercise offsets).
	Location *time.Location
	// Now is the clock (default time.Now): timestamps, rate windows, archiving follow it.
	Now func() time.Time
	// Seed seeds the RNG behind probabilistic faults, so runs are reproducible.
	Seed   uint64
	Faults Faults
}

// Server is the simulator, an http.Handler.
type Server struct {
	opts  Options
	org   string // "/organizations/{id}"
	orgID int64

	mu          sync.Mutex
	rng         *mrand.Rand
	faults      Faults
	stats       Stats
	issues      map[int64]*Issue
	rtypes      map[int64]*RequestType
	agencies    map[int64]*agency
	media       map[string]*media
	citizens    map[string]int64       // citizen name → user id
	window      map[string][]time.Time // credential → accepted API calls in the last minute
	rejects     map[string][]time.Time // credential → 429s in the blacklist window
	blacklisted map[string]time.Time   // credential → until
	nextIssue   int64
	nextComment int64
	nextUser    int64
	nextRT      int64
	nextKey     int64 // primary keys of imported questions
	nextMedia   int64
}

// Stats count what the simulator saw. Ops counts API calls by operation ("list_issues",
// "get_issue", "create_issue", "report_form", "list_comments", "add_comment", "close", "open",
// "acknowledge", "get_request_type", "upsert_cityworks_request_type", "unknown") for every
// call that passed authentication, faulted and rate-limited ones included.
type Stats struct {
	Ops          map[string]int `json:"ops"`
	APICalls     int            `json:"apiCalls"`
	RateLimited  int            `json:"rateLimited"` // 429s, injected ones included
	Unauthorized int            `json:"unauthorized"`
	Forbidden    int            `json:"forbidden"` // 403s: blacklist, missing User-Agent, non-members
	NotModified  int            `json:"notModified"`
	Redirects    int            `json:"redirects"`
	Faulted      int            `json:"faulted"` // injected 5xx and HTML pages
	MediaFetches int            `json:"mediaFetches"`
	Moderated    int            `json:"moderated"`
}

// New returns a simulator.
func New(opts Options) *Server {
	if opts.OrganizationID <= 0 {
		opts.OrganizationID = DefaultOrganizationID
	}
	if opts.OrganizationName == "" {
		opts.OrganizationName = DefaultOrganizationName
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{DefaultUser()}
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.BlacklistAfter == 0 {
		opts.BlacklistAfter = DefaultBlacklistAfter
	}
	if opts.BlacklistFor <= 0 {
		opts.BlacklistFor = DefaultBlacklistFor
	}
	if opts.ArchiveAfter <= 0 {
		opts.ArchiveAfter = DefaultArchiveAfter
	}
	if opts.EditWindow <= 0 {
		opts.EditWindow = DefaultEditWindow
	}
	if opts.RequestTypes == nil {
		opts.RequestTypes = DefaultRequestTypes()
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("UTC-5", -5*3600)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Server{opts: opts, orgID: opts.OrganizationID,
		org: "/organizations/" + strconv.FormatInt(opts.OrganizationID, 10)}
	s.rng = simkit.NewRand(opts.Seed)
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// Reset restores the seed catalog and agencies and forgets issues, media, faults, stats, rate
// windows and blacklists.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.issues = map[int64]*Issue{}
	s.media = map[string]*media{}
	s.citizens = map[string]int64{}
	s.window = map[string][]time.Time{}
	s.rejects = map[string][]time.Time{}
	s.blacklisted = map[string]time.Time{}
	s.faults = Faults{}
	s.stats = Stats{Ops: map[string]int{}}
	s.nextIssue, s.nextComment, s.nextUser, s.nextKey, s.nextMedia = 20000, 700000, 30000, 9000, 0
	s.rtypes = map[int64]*RequestType{}
	s.nextRT = 1100
	for _, rt := range s.opts.RequestTypes {
		c := rt.clone()
		s.rtypes[c.ID] = &c
		s.nextRT = max(s.nextRT, c.ID)
	}
	s.agencies = map[int64]*agency{}
	for _, a := range s.opts.Agencies {
		if ag, err := parseAgency(a); err == nil {
			s.agencies[a.ID] = ag
		}
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Ops = maps.Clone(s.stats.Ops)
	return st
}

// now is the simulator clock at SCF's whole-second precision.
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// touchLocked bumps updated_at (never backwards; ties are normal at second precision).
func (s *Server) touchLocked(is *Issue) {
	t := s.now()
	if t.Before(is.UpdatedAt) {
		t = is.UpdatedAt
	}
	is.UpdatedAt = t
}

// sweepLocked archives issues closed longer than ArchiveAfter, as SCF's nightly job would
// (updated_at is the moment the sweep saw it, so feeds pick the change up).
func (s *Server) sweepLocked() {
	now := s.now()
	for _, is := range s.issues {
		if is.Status == StatusClosed && !now.Before(is.ClosedAt.Add(s.opts.ArchiveAfter)) {
			is.Status = StatusArchived
			s.touchLocked(is)
		}
	}
}

// ServeHTTP routes the API, media, the redirect alias and the staff control.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v2/") || p == "/api/v2":
		s.handleAPI(w, r, strings.TrimPrefix(p, "/api/v2"))
	case strings.HasPrefix(p, "/moved/"):
		for strings.HasPrefix(p, "/moved/") {
			p = strings.TrimPrefix(p, "/moved")
		}
		if rest, ok := strings.CutPrefix(p, "/api/v2"); ok {
			s.handleAPI(w, r, rest)
			return
		}
		simkit.WriteJSON(w, http.StatusNotFound, errMessage(404, "Not Found").Body)
	case strings.HasPrefix(p, "/files/"):
		s.handleFile(w, r, strings.TrimPrefix(p, "/files/"))
	case strings.HasPrefix(p, "/_media/"):
		s.handleMedia(w, r, strings.TrimPrefix(p, "/_media/"))
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	default:
		simkit.WriteJSON(w, http.StatusNotFound, errMessage(404, "Not Found").Body)
	}
}

// request is one authenticated API call on its way to a handler.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	path   string // after /api/v2 and the organization prefix
	scoped bool
	caller *User // nil: anonymous
	base   string
}

// handleAPI applies, in order: latency, the User-Agent rule, injected HTML pages (a front
// proxy, before auth), auth, the blacklist, the rate limit, injected 403/429/5xx/HTML-200 and
// redirects, then the route.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request, path string) {
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	if strings.TrimSpace(r.Header.Get("User-Agent")) == "" {
		s.count(func(st *Stats) { st.Forbidden++ })
		writeErr(w, errMessage(http.StatusForbidden, msgNoUserAgent))
		return
	}
	req := &request{w: w, r: r, path: path, base: s.baseURL(r)}
	if rest, ok := strings.CutPrefix(path, "/organizations/"); ok {
		id, tail, _ := strings.Cut(rest, "/")
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n != s.orgID {
			writeErr(w, errMessage(http.StatusNotFound, "Not Found"))
			return
		}
		req.scoped, req.path = true, "/"+tail
	}
	op := operation(r.Method, req.path, req.scoped)

	s.mu.Lock()
	s.sweepLocked()
	f := &s.faults
	if simkit.Take(&f.HTMLPages) {
		s.stats.Faulted++
		s.mu.Unlock()
		simkit.WriteHTML(w, http.StatusServiceUnavailable, maintenancePage)
		return
	}
	caller, authErr := s.authLocked(r)
	if authErr == nil && caller == nil && (req.scoped || r.Method != http.MethodGet) {
		authErr = errMessage(http.StatusUnauthorized, "Unauthorized")
	}
	if authErr != nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="SeeClickFix"`)
		writeErr(w, authErr)
		return
	}
	req.caller = caller
	key := credentialKey(caller, r)
	now := s.opts.Now()
	if until, ok := s.blacklisted[key]; ok && now.Before(until) {
		s.stats.Forbidden++
		s.mu.Unlock()
		writeErr(w, errMessage(http.StatusForbidden, msgAbuse))
		return
	}
	s.stats.APICalls++
	s.stats.Ops[op]++
	if wait, limited := s.rateLimitLocked(key, now); limited {
		s.stats.RateLimited++
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeErr(w, errMessage(http.StatusTooManyRequests, "Too Many Requests"))
		return
	}
	if answer := s.injectLocked(r); answer != nil {
		s.mu.Unlock()
		answer(w)
		return
	}
	if req.scoped && (caller == nil || !caller.Member) {
		s.stats.Forbidden++
		s.mu.Unlock()
		writeErr(w, errMessage(http.StatusForbidden, "Forbidden: not a member of this organization"))
		return
	}
	s.mu.Unlock()
	s.route(req, op)
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// operation names an API call for Stats.
func operation(method, path string, scoped bool) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "issues":
		if method == http.MethodPost {
			return "create_issue"
		}
		return "list_issues"
	case len(parts) == 2 && parts[0] == "issues" && parts[1] == "new":
		return "report_form"
	case len(parts) == 2 && parts[0] == "issues":
		return "get_issue"
	case len(parts) == 3 && parts[0] == "issues" && parts[2] == "comments":
		if method == http.MethodPost {
			return "add_comment"
		}
		return "list_comments"
	case len(parts) == 3 && parts[0] == "issues" && (parts[2] == ActionClose || parts[2] == ActionOpen || parts[2] == ActionAcknowledge):
		return parts[2]
	case len(parts) == 2 && parts[0] == "request_types":
		return "get_request_type"
	case scoped && len(parts) == 4 && parts[0] == "integrations" && parts[1] == "cityworks" && parts[2] == "request_types":
		return "upsert_cityworks_request_type"
	}
	return "unknown"
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// ---- responses ----

func writeErr(w http.ResponseWriter, e *Error) { simkit.WriteJSON(w, e.Status, e.Body) }

// writeGet answers a GET with 200 JSON, or 304 when the client's If-None-Match (the body's
// ETag) or If-Modified-Since (lastModified, when known) says it already has it.
func (s *Server) writeGet(req *request, v any, lastModified time.Time) {
	b, err := json.Marshal(v)
	if err != nil {
		simkit.WriteJSON(req.w, http.StatusInternalServerError, nil)
		return
	}
	sum := sha256.Sum256(b)
	etag := `W/"` + hex.EncodeToString(sum[:8]) + `"`
	h := req.w.Header()
	h.Set("ETag", etag)
	if !lastModified.IsZero() {
		h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	}
	notModified := false
	if inm := req.r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			notModified = notModified || strings.TrimSpace(t) == etag || strings.TrimSpace(t) == "*"
		}
	} else if ims := req.r.Header.Get("If-Modified-Since"); ims != "" && !lastModified.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !lastModified.Truncate(time.Second).After(t) {
			notModified = true
		}
	}
	if notModified {
		s.count(func(st *Stats) { st.NotModified++ })
		req.w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	req.w.WriteHeader(http.StatusOK)
	req.w.Write(b)
}

const maintenancePage = `<!DOCTYPE html><html><head><title>SeeClickFix is down for maintenance</title></head>` +
	`<body><h1>We'll be right back</h1><p>SeeClickFix is undergoing maintenance.</p></body></html>`

const signInPage = `<!DOCTYPE html><html><head><title>Sign in | SeeClickFix</title></head>` +
	`<body><form method="post" action="/login"><input name="email"><input name="password" type="password"></form></body></html>`

const errorPage = `<!DOCTYPE html><html><head><title>We're sorry, but something went wrong (500)</title></head>` +
	`<body><h1>We're sorry, but something went wrong.</h1></body></html>`
