package sim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// ---- Azure AD token endpoint ----

// handleToken serves POST /{tenantId}/oauth2/v2.0/token (client credentials, form encoded)
// with Azure AD's answers: 200 {token_type, expires_in, ext_expires_in, access_token}, or
// {error, error_description, error_codes} with 400 (invalid_client, invalid_scope,
// unsupported_grant_type, unknown tenant) or 503 (outage fault).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		aadError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain form parameters.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.TokenRequests++
	fail := func(status int, code string, aadsts int, msg string) {
		s.stats.TokenErrors++
		aadError(w, status, code, aadsts, msg)
	}
	switch {
	case simkit.Take(&s.faults.TokenOutage):
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", 50001, "The service is temporarily unavailable.")
	case !strings.EqualFold(tenant, s.opts.TenantID):
		fail(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
	case f.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	case f.Get("client_id") != s.opts.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", 700016, "Application was not found in the directory.")
	case subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(s.opts.ClientSecret)) != 1:
		fail(http.StatusBadRequest, "invalid_client", 7000215, "Invalid client secret provided.")
	case s.faults.SecretExpired:
		fail(http.StatusBadRequest, "invalid_client", 7000222, "The provided client secret keys are expired.")
	case f.Get("scope") != s.opts.ClientID+"/.default" && f.Get("scope") != "api://"+s.opts.ClientID+"/.default":
		fail(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid.", f.Get("scope")))
	default:
		now := s.now()
		for k, t := range s.tokens { // keep the map small
			if !now.Before(t.expires) {
				delete(s.tokens, k)
			}
		}
		tok := "eyJ0eXAiOiJKV1QifQ." + s.hexLocked(24)
		s.tokens[tok] = &token{expires: now.Add(s.opts.TokenTTL)}
		s.stats.TokensIssued++
		secs := int64(s.opts.TokenTTL / time.Second)
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	}
}

func aadError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	simkit.WriteJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: %s", aadsts, msg, time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
	})
}

// ---- S2S API ----

// apiError is Cubu's error answer; ErrorCode is omitted when zero.
type apiError struct {
	Status    int    `json:"-"`
	ErrorCode int    `json:"errorCode,omitempty"`
	Message   string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d: %s", e.Status, e.ErrorCode, e.Message) }

func writeAPIError(w http.ResponseWriter, e *apiError) { simkit.WriteJSON(w, e.Status, e) }

// handleAPI applies, in order: latency, the maintenance page (front door, before auth),
// bearer auth (with random revocation), injected 429/5xx/HTML-200, then the route and role.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	app, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op, role, handler := s.route(r.Method, rest)
	s.mu.Lock()
	f := &s.faults
	if simkit.Take(&f.Maintenance) {
		answer := simkit.Page(http.StatusServiceUnavailable, maintenancePage, f.RetryAfterSeconds)
		s.mu.Unlock()
		answer(w)
		return
	}
	tk, msg := s.authLocked(r)
	if tk != nil && simkit.Chance(s.rng, f.TokenRevokeRate) {
		tk.revoked = true
		tk, msg = nil, "the access token has been revoked"
	}
	if tk == nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeAPIError(w, &apiError{Status: http.StatusUnauthorized, Message: msg})
		return
	}
	s.stats.APICalls++
	if op != "" {
		s.stats.Ops[op]++
	}
	kind, answer := simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
		ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}.Inject(s.rng, faultAnswers)
	switch kind {
	case simkit.RateLimited:
		s.stats.RateLimited++
	case simkit.ServerError:
		s.stats.ServerErrors++
	}
	if answer != nil {
		s.mu.Unlock()
		answer(w)
		return
	}
	appOK := strings.EqualFold(app, s.opts.ApplicationID)
	hasRole := role == "" || containsFold(s.opts.Roles, role)
	if appOK && handler != nil && !hasRole {
		s.stats.Forbidden++
	}
	s.mu.Unlock()
	switch {
	case !appOK:
		writeAPIError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("application %q not found", app)})
	case handler == nil:
		writeAPIError(w, &apiError{Status: http.StatusNotFound, Message: "no such endpoint " + r.Method + " " + r.URL.Path})
	case !hasRole:
		writeAPIError(w, &apiError{Status: http.StatusForbidden, Message: "the application lacks the role " + role})
	default:
		handler(w, r)
	}
}

// faultAnswers are Cubu's bodies for the injected 429, 5xx and HTML-on-200 (a sign-in page).
var faultAnswers = simkit.Answers{
	TooMany: func(w http.ResponseWriter) {
		writeAPIError(w, &apiError{Status: http.StatusTooManyRequests, Message: "Rate limit is exceeded. Try again later."})
	},
	ServerErrors: []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable},
	ServerError: func(w http.ResponseWriter, status int) {
		writeAPIError(w, &apiError{Status: status, Message: "An unexpected error occurred."})
	},
	HTMLPage: loginPage,
}

// route maps "<rest of path>" to an operation name, the role it needs and its handler.
func (s *Server) route(method, rest string) (op, role string, h http.HandlerFunc) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case method == http.MethodPost && len(parts) == 6 && parts[0] == "agents" && parts[2] == "cases" &&
		parts[4] == "actions" && parts[5] == "resolve":
		return "resolve", RoleAgentImpersonator, func(w http.ResponseWriter, r *http.Request) { s.apiResolve(w, r, parts[1], parts[3]) }
	case method == http.MethodGet && len(parts) == 3 && parts[0] == "agents" && parts[2] == "activeCases":
		return "activeCases", RoleAgentImpersonator, func(w http.ResponseWriter, r *http.Request) { s.apiActiveCases(w, parts[1]) }
	case method == http.MethodPost && len(parts) == 3 && parts[0] == "services" && parts[2] == "cases":
		return "queueUp", RoleCaseManager, func(w http.ResponseWriter, r *http.Request) { s.apiQueueUp(w, r, parts[1]) }
	}
	return "", "", nil
}

// authLocked resolves the bearer token; nil with a reason when it is missing, unknown,
// expired or revoked.
func (s *Server) authLocked(r *http.Request) (*token, string) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, "missing bearer token"
	}
	t, ok := s.tokens[tok]
	switch {
	case !ok:
		return nil, "invalid access token"
	case t.revoked:
		return nil, "the access token has been revoked"
	case !s.now().Before(t.expires):
		return nil, "the access token has expired"
	}
	return t, ""
}

func (s *Server) apiResolve(w http.ResponseWriter, r *http.Request, userID, caseID string) {
	var ignored map[string]any // the body is optional and has no documented fields
	if err := readJSON(w, r, &ignored, true); err != nil {
		writeAPIError(w, &apiError{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	c, err := s.resolve(caseID, userID, viaS2S)
	if err != nil {
		e := toAPIError(err)
		if e.Status == http.StatusConflict {
			s.mu.Lock()
			s.stats.Conflicts++
			s.mu.Unlock()
		}
		writeAPIError(w, e)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"caseTimestamp": timestamp(c.UpdatedAt)})
}

// activeCase is an entry of the active-cases list: fields and tags are null there.
type activeCase struct {
	CaseID        string  `json:"caseId"`
	Status        string  `json:"status"`
	ServiceID     string  `json:"serviceId"`
	ServiceTypeID string  `json:"serviceTypeId"`
	Channel       string  `json:"channel"`
	Ticket        Ticket  `json:"ticket"`
	Fields        *string `json:"fields"`
	TagIDs        *string `json:"tagIds"`
}

func (s *Server) apiActiveCases(w http.ResponseWriter, userID string) {
	if _, ok := s.agent(userID); !ok {
		writeAPIError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("user %q not found", userID)})
		return
	}
	s.mu.Lock()
	out := []activeCase{}
	for _, id := range s.order {
		c := s.cases[id]
		if c.Status == StatusActive && strings.EqualFold(c.LockedBy, userID) {
			out = append(out, activeCase{CaseID: c.ID, Status: c.Status, ServiceID: c.ServiceID,
				ServiceTypeID: c.ServiceTypeID, Channel: c.Channel, Ticket: c.Ticket})
		}
	}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) apiQueueUp(w http.ResponseWriter, r *http.Request, serviceID string) {
	var in struct {
		ServiceTypeID    string            `json:"serviceTypeId"`
		Locale           string            `json:"locale"`
		Channel          string            `json:"channel"`
		CustomerRecordID string            `json:"customerRecordId"`
		Fields           map[string]string `json:"fields"`
	}
	if err := readJSON(w, r, &in, false); err != nil {
		writeAPIError(w, &apiError{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	c, err := s.QueueUp(NewCase{ServiceID: serviceID, ServiceTypeID: in.ServiceTypeID, Channel: in.Channel,
		Language: in.Locale, CustomerRecordID: in.CustomerRecordID, Fields: in.Fields, by: viaS2S})
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	simkit.WriteJSON(w, http.StatusCreated, map[string]any{"caseId": c.ID, "status": c.Status, "ticket": c.Ticket,
		"caseTimestamp": timestamp(c.UpdatedAt)})
}

// toAPIError renders a driver error in the S2S error shape.
func toAPIError(err error) *apiError {
	if ae, ok := err.(*ActionError); ok {
		return &apiError{Status: ae.Status, ErrorCode: ae.ErrorCode, Message: ae.Message}
	}
	return &apiError{Status: http.StatusInternalServerError, Message: err.Error()}
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

const maintenancePage = `<!DOCTYPE html><html><head><title>Service Unavailable</title></head>` +
	`<body><h1>Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p></body></html>`

const loginPage = `<!DOCTYPE html><html><head><title>Sign in to your account</title></head>` +
	`<body><form method="post" action="/login"><input name="loginfmt"><input name="passwd" type="password"></form></body></html>`
