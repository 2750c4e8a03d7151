package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// API serves DESIGN.md §6.
type API struct {
	Store        *store.Store
	Engine       *engine.Engine
	Connections  *connectors.Registry
	Logger       *slog.Logger
	PollInterval time.Duration // default poll interval for new tickets (connection may override)
	EventMaxAge  time.Duration // how long one event's delivery is retried (0 = workflow default)
	// Ready reports whether the workflow engine answers (for /readyz, component "temporal");
	// nil = not checked.
	Ready func(ctx context.Context) error
	// OperatorKeys are the operator API keys (TICKETSYNC_OPERATOR_API_KEYS): operator routes,
	// every tenant (operator.go).
	OperatorKeys []string
	// TemporalWebURL and Namespace build each ticket's Temporal Web link
	// (defaults: DefaultTemporalWebURL, "default").
	TemporalWebURL string
	Namespace      string
	// Codec serves the payload codec for Temporal Web at /codec/ (codec.NewHandler, which does
	// its own token auth); nil = not served.
	Codec http.Handler

	metrics        *apiMetrics
	hookLimits     hookLimiters
	operatorOnce   sync.Once
	operatorHashes [][32]byte
}

type apiMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	created  prometheus.Counter
	signals  *prometheus.CounterVec
}

func newAPIMetrics() *apiMetrics {
	m := &apiMetrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ticketsync_http_requests_total",
		Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	m.created = prometheus.NewCounter(prometheus.CounterOpts{Name: "ticketsync_tickets_created_total",
		Help: "Tickets created through the API (replays excluded)."})
	m.signals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ticketsync_signals_total",
		Help: "Signals sent to ticket workflows by name."}, []string{"signal"})
	// Go and process collectors come with metrics.Default(), served beside this registry.
	m.registry.MustRegister(m.requests, m.created, m.signals)
	return m
}

type ctxKey int

const tenantKey ctxKey = 1

func tenantOf(r *http.Request) string { s, _ := r.Context().Value(tenantKey).(string); return s }

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	if a.metrics == nil {
		a.metrics = newAPIMetrics()
	}
	mux := http.NewServeMux()
	route := func(pattern string, auth bool, h func(http.ResponseWriter, *http.Request) *Problem) {
		var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := h(w, r); p != nil {
				if p.Status >= 500 {
					a.log().Error("request failed", "route", pattern, "detail", p.Detail)
				}
				writeProblem(w, p)
			}
		})
		if auth {
			handler = a.authenticate(handler)
		}
		mux.Handle(pattern, a.count(pattern, handler))
	}
	route("POST /v1/tickets", true, a.createTicket)
	route("GET /v1/tickets", true, a.listOrLookup)
	route("GET /v1/tickets/stuck", true, a.stuckTickets)
	route("GET /v1/tickets/{id}", true, a.getTicket)
	route("PATCH /v1/tickets/{id}", true, a.patchTicket)
	route("GET /v1/tickets/{id}/events", true, a.ticketEvents)
	route("POST /v1/tickets/{id}/comments", true, a.signalHandler(ticket.SignalComment))
	route("POST /v1/tickets/{id}/cancel", true, a.signalHandler(ticket.SignalCancel))
	route("POST /v1/tickets/{id}/hold", true, a.signalHandler(ticket.SignalHold))
	route("POST /v1/tickets/{id}/resume", true, a.signalHandler(ticket.SignalResume))
	route("POST /v1/tickets/{id}/retry", true, a.signalHandler(ticket.SignalRetry))
	route("POST /v1/tickets/{id}/skip", true, a.operatorOnly(a.signalHandler(ticket.SignalSkip)))
	route("POST /v1/tickets/{id}/remap", true, a.remapTicket)
	route("DELETE /v1/tickets/{id}/personal-data", true, a.erasePersonalData)
	route("POST /v1/events/replay", true, a.replayEvents)
	route("POST /v1/events/{eventId}/replay", true, a.replayEvent)
	route("GET /v1/connections", true, a.listConnections)
	route("GET /v1/connections/{id}", true, a.getConnection)
	route("POST /v1/connections/{id}/validate", true, a.validateConnection)
	route("POST /v1/connections/{id}/refresh", true, a.refreshConnection)
	route("POST /v1/connections/{id}/sync-catalog", true, a.syncCatalog)
	route("POST /v1/connections/{id}/enable-endpoint", true, a.operatorOnly(a.enableEndpoint))
	// Inbound hooks: one route, dispatched to the vendor package owning {kind}. The bare form
	// keeps TheWorxHub's original /v1/hooks/theworxhub/{connection} working.
	route("/v1/hooks/{kind}/{connection}", false, a.hook)
	route("/v1/hooks/{kind}/{connection}/{path...}", false, a.hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.Codec != nil {
		mux.Handle("/codec/", a.Codec) // outside tenant auth: codec tokens, not API keys
	}
	mux.Handle("GET /metrics", metrics.Handler(prometheus.Gatherers{a.metrics.registry, metrics.Default()}))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDocument)
	})
	// Everything else: RFC 9457 404/405 instead of the mux's plain text.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			if allowed := allowedMethods(mux, r); allowed != "" {
				w.Header().Set("Allow", allowed)
				writeProblem(w, problem(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allowed)))
				return
			}
			writeProblem(w, problem(http.StatusNotFound, "no such endpoint: "+r.URL.Path))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

func (a *API) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (a *API) count(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				a.log().Error("panic in handler", "route", route, "panic", v)
				writeProblem(rec, problem(http.StatusInternalServerError, "internal error"))
			}
			a.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		}()
		next.ServeHTTP(rec, r)
	})
}

// authenticate resolves the Bearer key to its tenant (401 otherwise).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, key, ok := strings.Cut(h, " ")
		key = strings.TrimSpace(key)
		if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
			writeProblem(w, problem(http.StatusUnauthorized, "missing or malformed Authorization header; use 'Authorization: Bearer <API key>'"))
			return
		}
		if a.matchOperatorKey(key) {
			next.ServeHTTP(w, withOperator(r))
			return
		}
		tenant, err := a.Store.TenantByAPIKey(r.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, problem(http.StatusUnauthorized, "unknown API key"))
			return
		}
		if err != nil {
			writeProblem(w, problem(http.StatusServiceUnavailable, "cannot check the API key right now; retry"))
			a.log().Error("api key lookup", "error", err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey, tenant)))
	})
}

// readyz reports each dependency by name ("database", "temporal") as "ok" or "unavailable":
// 200 when all are ok, else 503 with the same members. Never a driver's or the SDK's error
// text (it may name hosts or users): that goes to the log.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]any{}
	var down []string
	check := func(name string, f func(context.Context) error) {
		body[name] = "ok"
		if err := f(ctx); err != nil {
			body[name] = "unavailable"
			down = append(down, name)
			a.log().Warn("readiness check failed", "component", name, "error", err)
		}
	}
	check("database", a.Store.Ping)
	if a.Ready != nil {
		check("temporal", a.Ready)
	}
	if len(down) > 0 {
		body["type"], body["title"], body["status"] = "about:blank", http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable
		body["detail"] = "not ready: " + strings.Join(down, ", ") + " unavailable"
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	body["status"] = "ready"
	writeJSON(w, http.StatusOK, body)
}

// ---- create ----------------------------------------------------------------------------------

// CreateTicketRequest is the body of POST /v1/tickets.
type CreateTicketRequest struct {
	Connection  string                     `json:"connection"`
	ExternalID  string                     `json:"externalId"`
	RequestType string                     `json:"requestType"`
	Title       string                     `json:"title"`
	Description string                     `json:"description"`
	Location    *LocationInput             `json:"location,omitempty"`
	Requester   *RequesterInput            `json:"requester"`
	Answers     map[string]json.RawMessage `json:"answers,omitempty"`
	Attachments []AttachmentInput          `json:"attachments,omitempty"`
}

// LocationInput is where the work is needed.
type LocationInput struct {
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lng     *float64 `json:"lng,omitempty"`
}

// RequesterInput is the person who raised the request.
type RequesterInput struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// AttachmentInput is a file reference.
type AttachmentInput struct {
	Name        string `json:"name,omitempty"`
	URL         string `json:"url"`
	ContentType string `json:"contentType,omitempty"`
}

// Limits on ticket fields (work systems truncate further; the full text stays in the timeline).
const (
	MaxExternalID   = 200
	MaxTitle        = 1000
	MaxDescription  = 100000
	MaxShortText    = 500
	MaxAnswers      = 200
	MaxAttachments  = 50
	MaxCommentText  = 4000
	MaxReason       = 500
	maxAnswerLength = 4000
)

type validator struct{ errs []FieldError }

func (v *validator) add(field, msg string) { v.errs = append(v.errs, FieldError{field, msg}) }

// text checks a string field: required, length, no control characters (NUL breaks databases).
func (v *validator) text(field, s string, required bool, max int, multiline bool) {
	if strings.TrimSpace(s) == "" {
		if required {
			v.add(field, "is required")
		}
		return
	}
	if !utf8.ValidString(s) {
		v.add(field, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(field, fmt.Sprintf("is %d characters; at most %d allowed", n, max))
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			v.add(field, fmt.Sprintf("contains a control character (U+%04X)", r))
			return
		}
	}
}

func (req *CreateTicketRequest) validate(conn *connectors.Conn) []FieldError {
	v := &validator{}
	v.text("connection", req.Connection, true, 63, false)
	switch {
	case req.ExternalID == "":
		v.add("externalId", "is required")
	case len(req.ExternalID) > MaxExternalID:
		v.add("externalId", fmt.Sprintf("is %d characters; at most %d allowed", len(req.ExternalID), MaxExternalID))
	default:
		for _, r := range req.ExternalID {
			if r < 0x21 || r > 0x7e {
				v.add("externalId", "may contain only visible ASCII characters (no spaces or control characters)")
				break
			}
		}
	}
	v.text("requestType", req.RequestType, true, 100, false)
	if req.RequestType != "" && conn != nil && len(conn.RequestTypes) > 0 && !contains(conn.RequestTypes, req.RequestType) {
		v.add("requestType", fmt.Sprintf("must be one of %s for a %s connection", strings.Join(quoteAll(conn.RequestTypes), ", "), conn.WorkKind))
	}
	v.text("title", req.Title, true, MaxTitle, false)
	v.text("description", req.Description, true, MaxDescription, true)
	if req.Requester == nil {
		v.add("requester.name", "is required")
	} else {
		v.text("requester.name", req.Requester.Name, true, 200, false)
		v.text("requester.email", req.Requester.Email, false, 254, false)
		if e := strings.TrimSpace(req.Requester.Email); e != "" {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
				v.add("requester.email", "is not a valid email address")
			}
		}
		v.text("requester.phone", req.Requester.Phone, false, 50, false)
	}
	if l := req.Location; l != nil {
		v.text("location.address", l.Address, false, MaxShortText, false)
		if l.Lat != nil && (*l.Lat < -90 || *l.Lat > 90) {
			v.add("location.lat", "must be between -90 and 90")
		}
		if l.Lng != nil && (*l.Lng < -180 || *l.Lng > 180) {
			v.add("location.lng", "must be between -180 and 180")
		}
		if (l.Lat == nil) != (l.Lng == nil) {
			v.add("location", "lat and lng must be given together")
		}
	}
	if len(req.Answers) > MaxAnswers {
		v.add("answers", fmt.Sprintf("has %d entries; at most %d allowed", len(req.Answers), MaxAnswers))
	}
	for _, k := range slices.Sorted(maps.Keys(req.Answers)) {
		field := "answers." + k
		v.text(field+" (key)", k, true, 200, false)
		if _, ok := answerText(req.Answers[k]); !ok {
			v.add(field, "must be a string, number or boolean")
		} else if s, _ := answerText(req.Answers[k]); utf8.RuneCountInString(s) > maxAnswerLength {
			v.add(field, fmt.Sprintf("is longer than %d characters", maxAnswerLength))
		} else if strings.ContainsRune(s, 0) {
			v.add(field, "contains a NUL character")
		}
	}
	if len(req.Attachments) > MaxAttachments {
		v.add("attachments", fmt.Sprintf("has %d entries; at most %d allowed", len(req.Attachments), MaxAttachments))
	}
	for i, att := range req.Attachments {
		field := fmt.Sprintf("attachments[%d]", i)
		u, err := url.Parse(att.URL)
		if att.URL == "" {
			v.add(field+".url", "is required")
		} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add(field+".url", "must be an absolute http(s) URL")
		}
		v.text(field+".name", att.Name, false, 255, false)
		v.text(field+".contentType", att.ContentType, false, 255, false)
	}
	v.required(req.partialRequest(), conn)
	return v.errs
}

func answerText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b), true
	}
	return "", false
}

// newRequest converts the validated body to the vendor-neutral request.
func (req *CreateTicketRequest) newRequest() vendorapi.NewRequest {
	out := vendorapi.NewRequest{
		RequestType: req.RequestType, Title: strings.TrimSpace(req.Title), Description: req.Description,
		Requester: vendorapi.Person{Name: strings.TrimSpace(req.Requester.Name),
			Email: strings.TrimSpace(req.Requester.Email), Phone: strings.TrimSpace(req.Requester.Phone)},
	}
	if req.Location != nil {
		out.Location = vendorapi.Location{Address: req.Location.Address, Lat: req.Location.Lat, Lng: req.Location.Lng}
	}
	if len(req.Answers) > 0 {
		out.Answers = map[string]string{}
		for k, raw := range req.Answers {
			s, _ := answerText(raw)
			out.Answers[k] = s
		}
	}
	for _, att := range req.Attachments {
		out.Attachments = append(out.Attachments, vendorapi.Attachment{Name: att.Name, URL: att.URL, ContentType: att.ContentType})
	}
	return out
}

// requestHash fingerprints the semantic request (canonical JSON: map keys sorted by
// encoding/json) so an identical replay is 200 and a different body under the same id is 409.
func (a *API) createTicket(w http.ResponseWriter, r *http.Request) *Problem {
	var req CreateTicketRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		return p
	}
	var conn *connectors.Conn
	if req.Connection != "" {
		c, err := a.Connections.Get(req.Connection)
		if err != nil || !canSee(r, c.Tenant) {
			return problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", req.Connection))
		}
		conn = c
	}
	if errs := req.validate(conn); len(errs) > 0 {
		return validationProblem(errs)
	}
	nr := req.newRequest()
	if err := engine.CheckRequestSize(nr); err != nil {
		return tooLarge(err)
	}
	got, created, err := a.Engine.CreateTicket(r.Context(), conn, req.ExternalID, nr)
	switch {
	case errors.Is(err, engine.ErrRequestTooLarge):
		return tooLarge(err)
	case errors.Is(err, engine.ErrConflict):
		return problem(http.StatusConflict, fmt.Sprintf("a ticket with externalId %q already exists on connection %q with a different body", req.ExternalID, req.Connection))
	case err != nil:
		a.log().Error("create ticket", append(ticket.NewRef(conn.Tenant, conn.ID, req.ExternalID).LogAttrs(), "error", err)...)
		return problem(http.StatusServiceUnavailable, "the ticket could not be recorded or started; nothing was created, retry later")
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		a.metrics.created.Inc()
		w.Header().Set("Location", "/v1/tickets/"+got.ID)
	}
	writeJSON(w, status, a.view(got))
	return nil
}

// ---- read ------------------------------------------------------------------------------------

// TicketView is the API's representation of a ticket.
type TicketView struct {
	ID             string           `json:"id"`
	WorkflowID     string           `json:"workflowId"`
	Tenant         string           `json:"tenant"`
	Connection     string           `json:"connection"`
	ExternalID     string           `json:"externalId"`
	Status         string           `json:"status"`
	RemoteID       *string          `json:"remoteId"`
	RemoteStatus   *string          `json:"remoteStatus"`
	Category       *string          `json:"category"`
	MappingVersion string           `json:"mappingVersion"`
	NeedsAttention *SinceReasonView `json:"needsAttention"`
	Paused         *SinceReasonView `json:"paused"`
	CreatedAt      time.Time        `json:"createdAt"`
	UpdatedAt      time.Time        `json:"updatedAt"`
	Links          *TicketLinks     `json:"links,omitempty"`
}

// SinceReasonView is {since, reason}. Pending marks the state a signal just sent leads to
// (hold's 202 answer) before the workflow has applied it.
type SinceReasonView struct {
	Since   time.Time `json:"since"`
	Reason  string    `json:"reason"`
	Pending bool      `json:"pending,omitempty"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewOf(t store.Ticket) TicketView {
	v := TicketView{ID: t.ID, WorkflowID: t.WorkflowID, Tenant: t.Tenant, Connection: t.Connection,
		ExternalID: t.ExternalID, Status: t.Status, RemoteID: nullable(t.RemoteID),
		RemoteStatus: nullable(t.RemoteStatus), Category: nullable(t.Category), MappingVersion: t.MappingVersion,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if t.NeedsAttention && !ticket.IsTerminal(t.Status) { // a finished ticket never needs attention
		v.NeedsAttention = &SinceReasonView{Reason: t.AttentionReason}
		if t.AttentionSince != nil {
			v.NeedsAttention.Since = t.AttentionSince.UTC()
		}
	}
	if t.Paused {
		v.Paused = &SinceReasonView{Reason: t.PausedReason}
		if t.PausedSince != nil {
			v.Paused.Since = t.PausedSince.UTC()
		}
	}
	return v
}

func (a *API) loadTicket(r *http.Request) (store.Ticket, *Problem) {
	id := r.PathValue("id")
	var t store.Ticket
	var err error
	if isOperator(r) {
		t, err = a.Store.GetTicketAnyTenant(r.Context(), id)
	} else {
		t, err = a.Store.GetTicket(r.Context(), tenantOf(r), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return t, problem(http.StatusNotFound, fmt.Sprintf("ticket %q not found", id))
	}
	if err != nil {
		return t, problem(http.StatusServiceUnavailable, "could not read the ticket; retry later")
	}
	return t, nil
}

func (a *API) getTicket(w http.ResponseWriter, r *http.Request) *Problem {
	t, p := a.loadTicket(r)
	if p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, a.view(t))
	return nil
}

// ListResponse is a page of tickets.
type ListResponse struct {
	Items      []TicketView `json:"items"`
	NextCursor *string      `json:"nextCursor"`
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request) *Problem {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return problem(http.StatusBadRequest, "malformed query string: "+err.Error())
	}
	v := &validator{}
	for key := range q {
		switch key {
		case "connection", "status", "needsAttention", "limit", "cursor":
		default:
			v.add(key, "unknown query parameter (allowed: connection, status, needsAttention, limit, cursor)")
		}
	}
	f := store.TicketFilter{Tenant: tenantOf(r), Connection: q.Get("connection"), Status: q.Get("status"), Cursor: q.Get("cursor")}
	if isOperator(r) {
		f.Tenant, f.AllTenants = "", true
	}
	if f.Status != "" && !slices.Contains(ticket.Statuses, f.Status) {
		v.add("status", "must be one of "+strings.Join(ticket.Statuses, ", "))
	}
	if s := q.Get("needsAttention"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			v.add("needsAttention", "must be true or false")
		} else {
			f.NeedsAttention = &b
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			v.add("limit", "must be an integer from 1 to 500")
		} else {
			f.Limit = n
		}
	}
	if len(v.errs) > 0 {
		return validationProblem(v.errs)
	}
	if f.Connection != "" {
		c, err := a.Connections.Get(f.Connection)
		if err != nil || !canSee(r, c.Tenant) {
			return problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", f.Connection))
		}
	}
	items, next, err := a.Store.ListTickets(r.Context(), f)
	if errors.Is(err, store.ErrInvalid) {
		return validationProblem([]FieldError{{"cursor", err.Error()}})
	}
	if errors.Is(err, store.ErrBadCursor) {
		return validationProblem([]FieldError{{"cursor", "is not a cursor this API returned"}})
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not list tickets; retry later")
	}
	resp := ListResponse{Items: make([]TicketView, 0, len(items)), NextCursor: nullable(next)}
	for _, t := range items {
		if f.NeedsAttention != nil && *f.NeedsAttention && ticket.IsTerminal(t.Status) {
			continue // a row written before finished tickets were cleared: it needs none
		}
		resp.Items = append(resp.Items, a.view(t))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// EventView is one timeline entry.
type EventView struct {
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"`
	Delivery   *DeliveryView   `json:"delivery"`
	Data       json.RawMessage `json:"data"`
}

// DeliveryView is the delivery state of an event sent to the request system.
type DeliveryView struct {
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"lastError,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt"`
}

func (a *API) ticketEvents(w http.ResponseWriter, r *http.Request) *Problem {
	t, p := a.loadTicket(r)
	if p != nil {
		return p
	}
	evs, err := a.Store.ListEvents(r.Context(), t.ID)
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not read the timeline; retry later")
	}
	out := struct {
		Items []EventView `json:"items"`
	}{Items: make([]EventView, 0, len(evs))}
	for _, e := range evs {
		ev := EventView{ID: e.ID, Seq: e.Seq, Type: e.Type, OccurredAt: e.OccurredAt.UTC(), Data: e.Payload}
		if e.Deliver || e.DeliveryState != "local" {
			ev.Delivery = &DeliveryView{State: e.DeliveryState, Attempts: e.Attempts, LastError: e.LastError, DeliveredAt: e.DeliveredAt}
		}
		out.Items = append(out.Items, ev)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- signals ---------------------------------------------------------------------------------

// SignalRequest is the body of the signal endpoints (fields per endpoint).
type SignalRequest struct {
	Text   string `json:"text,omitempty"`
	Author string `json:"author,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// signalHandler validates the body for one signal and sends it (202; 409 when finished).
func (a *API) signalHandler(name string) func(http.ResponseWriter, *http.Request) *Problem {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		t, p := a.loadTicket(r)
		if p != nil {
			return p
		}
		var arg any
		v := &validator{}
		switch name {
		case ticket.SignalComment:
			var body struct {
				Text   string `json:"text"`
				Author string `json:"author"`
			}
			if p := decodeJSON(w, r, &body, false); p != nil {
				return p
			}
			v.text("text", body.Text, true, MaxCommentText, true)
			v.text("author", body.Author, false, 200, false)
			c := ticket.CommentSignal{Text: body.Text, Author: strings.TrimSpace(body.Author)}
			if len(v.errs) == 0 && !ticket.IsTerminal(t.Status) {
				if p := a.commentRoom(w, r, t, c); p != nil {
					return p
				}
			}
			arg = c
		case ticket.SignalCancel, ticket.SignalHold:
			var body struct {
				Reason string `json:"reason"`
			}
			if p := decodeJSON(w, r, &body, true); p != nil {
				return p
			}
			v.text("reason", body.Reason, false, MaxReason, true)
			if name == ticket.SignalCancel {
				arg = ticket.CancelSignal{Reason: strings.TrimSpace(body.Reason)}
			} else {
				arg = ticket.HoldSignal{Reason: strings.TrimSpace(body.Reason)}
			}
		default:
			var body struct{}
			if p := decodeJSON(w, r, &body, true); p != nil {
				return p
			}
		}
		if len(v.errs) > 0 {
			return validationProblem(v.errs)
		}
		if ticket.IsTerminal(t.Status) {
			return problem(http.StatusConflict, fmt.Sprintf("ticket %s is %s: it no longer accepts %s", t.ID, t.Status, name))
		}
		if name == ticket.SignalResume {
			if p := a.mustBePaused(r, t); p != nil {
				return p
			}
		}
		err := a.Engine.Signal(r.Context(), t.WorkflowID, name, arg)
		if errors.Is(err, engine.ErrWorkflowClosed) {
			return problem(http.StatusConflict, fmt.Sprintf("ticket %s has finished: it no longer accepts %s", t.ID, name))
		}
		if err != nil {
			a.log().Error("signal", append(refOf(t).LogAttrs(), "signal", name, "error", err)...)
			return problem(http.StatusServiceUnavailable, "the workflow engine is unavailable; retry later")
		}
		a.metrics.signals.WithLabelValues(name).Inc()
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "signal": name, "ticket": a.leadsTo(t, name, arg)})
		return nil
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}
