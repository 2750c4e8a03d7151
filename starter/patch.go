package starter

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ---- fields the work system requires ------------------------------------------------------

// partialRequest is the request as far as the body gives it (validate runs before the body is
// known to be complete).
func (req *CreateTicketRequest) partialRequest() vendorapi.NewRequest {
	r := *req
	if r.Requester == nil {
		r.Requester = &RequesterInput{}
	}
	return r.newRequest()
}

// required adds an error for every field the connection's work system requires that the
// request lacks (connectors.Conn.Required, dotted JSON paths such as "location.address"), so
// a request the work system would refuse is refused here, before anything is created, rather
// than parking its ticket after a 201.
func (v *validator) required(nr vendorapi.NewRequest, conn *connectors.Conn) {
	if conn == nil || len(conn.Required) == 0 {
		return
	}
	raw, err := json.Marshal(nr)
	if err != nil {
		return
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return
	}
	for _, path := range conn.Required {
		if present(doc, path) || slices.ContainsFunc(v.errs, func(e FieldError) bool { return e.Field == path }) {
			continue
		}
		v.add(path, fmt.Sprintf("is required by the %s work system of connection %s", conn.WorkKind, conn.ID))
	}
}

// present reports whether the dotted path holds a non-empty value.
func present(doc map[string]any, path string) bool {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	switch v := cur.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return true
}

// ---- PATCH /v1/tickets/{id} ---------------------------------------------------------------

// TicketPatch is the body of PATCH /v1/tickets/{id}: the request fields to correct. Absent
// fields stay; location is replaced whole; requester fields and answers merge (an answer set
// to null is removed).
type TicketPatch struct {
	RequestType *string                    `json:"requestType"`
	Title       *string                    `json:"title"`
	Description *string                    `json:"description"`
	Location    *LocationInput             `json:"location"`
	Requester   *RequesterInput            `json:"requester"`
	Answers     map[string]json.RawMessage `json:"answers"`
}

// patchTicket corrects the request of a ticket parked on its create (the work system refused
// the request, e.g. a missing field) and hands the corrected request to the workflow (patch
// signal); `retry` then creates it. The corrected request passes the same validation as a
// create. A ticket the work system already has, or one not parked on its create, is 409.
func (a *API) patchTicket(w http.ResponseWriter, r *http.Request) *Problem {
	t, p := a.loadTicket(r)
	if p != nil {
		return p
	}
	var patch TicketPatch
	if p := decodeJSON(w, r, &patch, false); p != nil {
		return p
	}
	changed := patch.fields()
	if len(changed) == 0 {
		return validationProblem([]FieldError{{"(body)", "names no field to correct"}})
	}
	conn, err := a.Connections.Get(t.Connection)
	if err != nil {
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s belongs to connection %s, which is no longer configured", t.ID, t.Connection))
	}
	if ticket.IsTerminal(t.Status) {
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s is %s: its request can no longer be corrected", t.ID, t.Status))
	}
	if t.RemoteID != "" {
		return problem(http.StatusConflict, fmt.Sprintf("the work system already has the request of ticket %s (%s): a correction cannot reach it", t.ID, t.RemoteID))
	}
	// The live state knows the parked step and the current request (after earlier patches);
	// without it, the read model decides and the stored request is the base.
	base, ok := requestOfRow(t)
	parkedOnCreate := t.NeedsAttention && t.RemoteID == ""
	if st, live := a.liveState(r.Context(), t.WorkflowID); live {
		if st.RemoteID != "" {
			return problem(http.StatusConflict, fmt.Sprintf("the work system already has the request of ticket %s (%s): a correction cannot reach it", t.ID, st.RemoteID))
		}
		parkedOnCreate = st.NeedsAttention != nil && st.NeedsAttention.Step == ticket.StepCreate
		if st.Request != nil {
			base, ok = *st.Request, true
		}
	}
	switch {
	case !parkedOnCreate:
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s is not parked on its create: only a request the work system refused can be corrected", t.ID))
	case !ok:
		return problem(http.StatusServiceUnavailable, "could not read the ticket's request; retry later")
	}
	body := patch.apply(bodyOf(t, base))
	if errs := body.validate(conn); len(errs) > 0 {
		return validationProblem(errs)
	}
	nr := body.newRequest()
	if err := engine.CheckRequestSize(nr); err != nil {
		return tooLarge(err)
	}
	err = a.Engine.Signal(r.Context(), t.WorkflowID, ticket.SignalPatch, ticket.PatchSignal{Request: nr, Fields: changed})
	switch {
	case errors.Is(err, engine.ErrWorkflowClosed):
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s has finished: its request can no longer be corrected", t.ID))
	case err != nil:
		a.log().Error("signal patch", "workflowId", t.WorkflowID, "error", err)
		return problem(http.StatusServiceUnavailable, "the workflow engine is unavailable; retry later")
	}
	a.metrics.signals.WithLabelValues(ticket.SignalPatch).Inc()
	writeJSON(w, http.StatusOK, a.view(t))
	return nil
}

// fields names the fields the patch sets, for the timeline.
func (p TicketPatch) fields() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(p.RequestType != nil, "requestType")
	add(p.Title != nil, "title")
	add(p.Description != nil, "description")
	add(p.Location != nil, "location")
	if p.Requester != nil {
		add(p.Requester.Name != "", "requester.name")
		add(p.Requester.Email != "", "requester.email")
		add(p.Requester.Phone != "", "requester.phone")
	}
	for _, k := range slices.Sorted(maps.Keys(p.Answers)) {
		out = append(out, "answers."+k)
	}
	return out
}

// apply returns body with the patch applied.
func (p TicketPatch) apply(body CreateTicketRequest) CreateTicketRequest {
	if p.RequestType != nil {
		body.RequestType = *p.RequestType
	}
	if p.Title != nil {
		body.Title = *p.Title
	}
	if p.Description != nil {
		body.Description = *p.Description
	}
	if p.Location != nil {
		body.Location = p.Location
	}
	if p.Requester != nil {
		req := RequesterInput{}
		if body.Requester != nil {
			req = *body.Requester
		}
		for _, f := range []struct {
			to   *string
			from string
		}{{&req.Name, p.Requester.Name}, {&req.Email, p.Requester.Email}, {&req.Phone, p.Requester.Phone}} {
			if f.from != "" {
				*f.to = f.from
			}
		}
		body.Requester = &req
	}
	if len(p.Answers) > 0 {
		answers := maps.Clone(body.Answers)
		if answers == nil {
			answers = map[string]json.RawMessage{}
		}
		for k, v := range p.Answers {
			if string(v) == "null" {
				delete(answers, k)
			} else {
				answers[k] = v
			}
		}
		body.Answers = answers
	}
	return body
}

// bodyOf turns a ticket's request back into a create body (for validation after a patch).
func bodyOf(t store.Ticket, nr vendorapi.NewRequest) CreateTicketRequest {
	body := CreateTicketRequest{Connection: t.Connection, ExternalID: t.ExternalID, RequestType: nr.RequestType,
		Title: nr.Title, Description: nr.Description,
		Requester: &RequesterInput{Name: nr.Requester.Name, Email: nr.Requester.Email, Phone: nr.Requester.Phone}}
	if l := nr.Location; l.Address != "" || l.Lat != nil || l.Lng != nil {
		body.Location = &LocationInput{Address: l.Address, Lat: l.Lat, Lng: l.Lng}
	}
	if len(nr.Answers) > 0 {
		body.Answers = map[string]json.RawMessage{}
		for k, v := range nr.Answers {
			b, _ := json.Marshal(v)
			body.Answers[k] = b
		}
	}
	for _, att := range nr.Attachments {
		body.Attachments = append(body.Attachments, AttachmentInput{Name: att.Name, URL: att.URL, ContentType: att.ContentType})
	}
	return body
}

// requestOfRow reads the request stored with a ticket's row: the canonical create body
// (engine.RequestHash) or, for a row the workflow's sync repaired, the bare request.
func requestOfRow(t store.Ticket) (vendorapi.NewRequest, bool) {
	var body struct {
		Request *vendorapi.NewRequest `json:"request"`
	}
	if json.Unmarshal(t.Request, &body) == nil && body.Request != nil {
		return *body.Request, true
	}
	var bare vendorapi.NewRequest
	if json.Unmarshal(t.Request, &bare) == nil && bare.Title != "" {
		return bare, true
	}
	return vendorapi.NewRequest{}, false
}
