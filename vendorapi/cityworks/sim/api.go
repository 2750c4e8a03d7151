package sim

import (
	"crypto/subtle"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

const maxBodyBytes = 64 << 20

// call is one parsed API request, handed to a method handler under the lock.
type call struct {
	op    string // "ServiceRequest/Create"
	data  string
	login string
	file  *filePart
}

type filePart struct {
	name        string
	contentType string
	content     []byte
}

type handler func(s *Server, c *call) (reply, *apiError)

type route struct {
	op       string // canonical "Service/Method"
	area     string // "Ams" or "General"
	fn       handler
	noToken  bool // Authenticate, Validate
	creates  bool // subject to SlowCreate / DropAfterCreate
	uploads  bool // subject to SlowUpload
	comments bool // the Comment service, absent on 2013
}

// routes maps the lower-case "area/service/method" to its handler.
var routes = map[string]route{}

func register(area, op string, fn handler, flags ...string) {
	r := route{op: op, area: area, fn: fn}
	for _, f := range flags {
		switch f {
		case "noToken":
			r.noToken = true
		case "creates":
			r.creates = true
		case "uploads":
			r.uploads = true
		}
	}
	r.comments = strings.HasPrefix(op, "Comment/")
	routes[strings.ToLower(area+"/"+op)] = r
}

func init() {
	register("General", "Authentication/Authenticate", (*Server).apiAuthenticate, "noToken")
	register("General", "Authentication/Validate", (*Server).apiValidate, "noToken")
	registerRequests()
	registerWorkOrders()
	registerActivities()
}

// handleAPI applies, in order: body parsing, latency, front-end faults (IIS pages, 429, proxy HTML), the
// token, session faults, Status 1 injection, the method, then slow/drop faults on commits.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	rest := p[strings.Index(p, "/services/")+len("/services/"):]
	rt, ok := routes[strings.Trim(rest, "/")]
	if !ok || (rt.comments && s.opts.Version == Version2013) {
		simkit.WriteHTML(w, http.StatusNotFound, simkit.IIS404Page)
		return
	}
	c := &call{op: rt.op}
	var formTok string
	if e := s.parseParams(w, r, c, &formTok); e != "" {
		http.Error(w, e, http.StatusBadRequest)
		return
	}
	// Sleep after reading the body: only then does the server notice a client that gave up.
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}

	s.mu.Lock()
	s.stats.Calls[rt.op]++
	if s.frontFaultLocked(w) {
		return // unlocked by frontFaultLocked
	}
	if rt.noToken {
		rep, e := rt.fn(s, c)
		rep.value = s.out(rep.value)
		s.mu.Unlock()
		s.writeEnvelope(w, rt.op, rep, e, 0)
		return
	}
	tok := formTok
	if s.opts.Version == Version23 {
		tok = headerToken(r) // 23 ignores the form field
	}
	t := s.tokens[tok]
	valid := t != nil && !t.revoked && s.opts.Now().Before(t.expires)
	f := &s.faults
	session := s.opts.ExpiredSession
	switch {
	case !valid:
	case simkit.Take(&f.LoginRedirect):
		t.revoked, valid, session = true, false, SessionRedirect
	case simkit.Take(&f.ObjectMoved):
		t.revoked, valid, session = true, false, SessionObjectMoved
	case simkit.Chance(s.rng, f.TokenExpireRate):
		t.revoked, valid = true, false
	}
	if !valid {
		s.stats.Unauthorized++
		s.mu.Unlock()
		s.expiredSession(w, r, rt.op, session)
		return
	}
	c.login = t.login
	if (f.StatusErrorMethod == "" || strings.EqualFold(f.StatusErrorMethod, rt.op)) && simkit.Take(&f.StatusError) {
		s.stats.Faulted++
		e := fail(f.StatusErrorCode, "%s", f.StatusErrorMessage)
		if e.text == "" {
			e.text = "injected failure"
		}
		s.mu.Unlock()
		s.writeEnvelope(w, rt.op, reply{}, e, 0)
		return
	}
	rep, e := rt.fn(s, c)
	var delay time.Duration
	drop := false
	if e == nil {
		switch {
		case rt.creates && simkit.Take(&f.DropAfterCreate):
			drop = true
		case rt.creates && simkit.Take(&f.SlowCreate), rt.uploads && simkit.Take(&f.SlowUpload):
			delay = f.SlowDelay
		}
	}
	padding := f.LargeResponseBytes
	rep.value = s.out(rep.value) // under the lock: the value may point into the state
	s.mu.Unlock()

	if drop {
		simkit.DropConnection(w) // committed, but the client never hears about it
		return
	}
	if delay > 0 && !simkit.Sleep(r.Context(), delay) {
		return // the client gave up; what was committed stays committed
	}
	if e == nil && rep.rawFile != nil {
		writeFile(w, rep.rawFile)
		return
	}
	s.writeEnvelope(w, rt.op, rep, e, padding)
}

// parseParams reads data, the form token and an uploaded file from the query, a urlencoded
// body or a multipart body. It returns a non-empty message for unreadable requests.
func (s *Server) parseParams(w http.ResponseWriter, r *http.Request, c *call, tok *string) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return "bad multipart body: " + err.Error()
		}
		if f, h, err := r.FormFile("file"); err == nil {
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil {
				return "bad file part: " + err.Error()
			}
			c.file = &filePart{name: h.Filename, contentType: h.Header.Get("Content-Type"), content: b}
		}
	} else if err := r.ParseForm(); err != nil {
		return "bad form body: " + err.Error()
	}
	c.data, *tok = r.Form.Get("data"), r.Form.Get("token")
	return ""
}

func headerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "cityworks") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// frontFaultLocked answers with a front-end fault if one fires, unlocking s.mu in that case.
func (s *Server) frontFaultLocked(w http.ResponseWriter) bool {
	f := &s.faults
	answer := simkit.IISFaults{ServerErrors: &f.ServerErrors, Unavailable: &f.Unavailable,
		APIFaults: simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
			ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}}.Inject(s.rng, proxyPage)
	if answer == nil {
		return false
	}
	s.stats.Faulted++
	s.mu.Unlock()
	answer(w)
	return true
}

// expiredSession answers a call whose token is unknown, expired or revoked.
func (s *Server) expiredSession(w http.ResponseWriter, r *http.Request, op, how string) {
	login := "/Login.aspx?ReturnUrl=" + url.QueryEscape(r.URL.Path)
	switch how {
	case SessionRedirect:
		w.Header().Set("Location", login)
		simkit.WriteHTML(w, http.StatusFound, fmt.Sprintf(objectMovedFmt, login))
	case SessionObjectMoved:
		simkit.WriteHTML(w, http.StatusOK, fmt.Sprintf(objectMovedFmt, login))
	default:
		s.writeEnvelope(w, op, reply{}, &apiError{status: 2, text: "Unauthorized: the token is invalid or has expired"}, 0)
	}
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}

// ---- authentication ----

func (s *Server) apiAuthenticate(c *call) (reply, *apiError) {
	var in struct {
		LoginName string
		Password  string
		Expires   int // minutes
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if strings.TrimSpace(in.LoginName) == "" || in.Password == "" {
		return reply{}, fail(codeInvalidField, "LoginName and Password are required")
	}
	want, ok := s.users[in.LoginName]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(in.Password)) != 1 {
		return reply{}, &apiError{status: 3, code: codeInvalidCredentials, name: "InvalidCredentials",
			text: "Invalid login name or password"}
	}
	if slices.Contains(s.opts.InactiveUsers, in.LoginName) {
		return reply{}, &apiError{status: 3, code: codeInactiveUser, name: "InactiveUser", text: "The user is inactive"}
	}
	ttl := s.opts.TokenTTL
	if in.Expires > 0 {
		ttl = time.Duration(in.Expires) * time.Minute
	}
	now := s.opts.Now()
	for k, t := range s.tokens { // keep the map small
		if !now.Before(t.expires) {
			delete(s.tokens, k)
		}
	}
	tok := simkit.RandomHex(24)
	s.tokens[tok] = &token{login: in.LoginName, expires: now.Add(ttl)}
	s.stats.Authentications++
	return reply{value: map[string]any{"Token": tok, "LoginName": in.LoginName}}, nil
}

func (s *Server) apiValidate(c *call) (reply, *apiError) {
	var in struct{ Token string }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	t := s.tokens[in.Token]
	return reply{value: t != nil && !t.revoked && s.opts.Now().Before(t.expires)}, nil
}
