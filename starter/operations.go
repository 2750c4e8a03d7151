package starter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// Operator endpoints on tickets: links to Temporal Web, lookup by the request system's id,
// stuck tickets and remap.

// DefaultTemporalWebURL is Temporal Web as `ticketsync dev` serves it
// (TICKETSYNC_TEMPORAL_WEB_URL overrides it).
const DefaultTemporalWebURL = "http://127.0.0.1:8233"

// TicketLinks point from a ticket to the tools that show more of it.
type TicketLinks struct {
	TemporalWeb string `json:"temporalWeb,omitempty"`
}

// links builds the ticket's Temporal Web link: <base>/namespaces/<ns>/workflows/<workflow id>,
// the id escaped (it holds slashes).
func (a *API) links(workflowID string) *TicketLinks {
	base := strings.TrimRight(a.TemporalWebURL, "/")
	if base == "" {
		base = DefaultTemporalWebURL
	}
	ns := a.Namespace
	if ns == "" {
		ns = "default"
	}
	return &TicketLinks{TemporalWeb: base + "/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(workflowID)}
}

// view is the ticket as the API shows it, with its links.
func (a *API) view(t store.Ticket) TicketView {
	v := viewOf(t)
	v.Links = a.links(t.WorkflowID)
	return v
}

// ---- lookup by external id --------------------------------------------------------------------

// listOrLookup serves GET /v1/tickets: with externalId (and connection) it finds the one
// ticket the request system knows by that id (a page of at most one item, empty when there
// is none), otherwise it lists.
func (a *API) listOrLookup(w http.ResponseWriter, r *http.Request) *Problem {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || !q.Has("externalId") {
		return a.listTickets(w, r)
	}
	v := &validator{}
	for key := range q {
		switch key {
		case "connection", "externalId", "status", "needsAttention", "limit", "cursor":
		default:
			v.add(key, "unknown query parameter (allowed: connection, externalId, status, needsAttention, limit, cursor)")
		}
	}
	conn, ext, status := q.Get("connection"), q.Get("externalId"), q.Get("status")
	if conn == "" {
		v.add("connection", "is required with externalId (an external id is unique per connection)")
	}
	if ext == "" || len(ext) > MaxExternalID {
		v.add("externalId", fmt.Sprintf("must be 1 to %d characters", MaxExternalID))
	}
	if status != "" && !slices.Contains(ticket.Statuses, status) {
		v.add("status", "must be one of "+strings.Join(ticket.Statuses, ", "))
	}
	var attention *bool
	if s := q.Get("needsAttention"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			v.add("needsAttention", "must be true or false")
		}
		attention = &b
	}
	if s := q.Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > store.MaxPageSize {
			v.add("limit", fmt.Sprintf("must be an integer from 1 to %d", store.MaxPageSize))
		}
	}
	if len(v.errs) > 0 {
		return validationProblem(v.errs)
	}
	if c, err := a.Connections.Get(conn); err != nil || !canSee(r, c.Tenant) {
		return problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", conn))
	}
	resp := ListResponse{Items: []TicketView{}}
	t, err := a.Store.GetTicketByExternalID(r.Context(), conn, ext)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return problem(http.StatusServiceUnavailable, "could not look the ticket up; retry later")
	case canSee(r, t.Tenant) && (status == "" || t.Status == status) && (attention == nil || t.NeedsAttention == *attention):
		resp.Items = append(resp.Items, a.view(t))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// ---- stuck tickets --------------------------------------------------------------------------

// StuckTicketView is one ticket that needs an operator.
type StuckTicketView struct {
	Ticket TicketView `json:"ticket"`
	Kind   string     `json:"kind"` // parked | overdue
	Reason string     `json:"reason"`
	Since  time.Time  `json:"since"`
}

// Bounds of GET /v1/tickets/stuck: it must answer within the HTTP write timeout even when no
// worker answers queries.
const (
	maxStuck          = 500              // items listed
	maxOverdueChecks  = 40               // state queries per call
	stateQueryTimeout = 3 * time.Second  // per query
	stuckQueryBudget  = 12 * time.Second // all queries
	stuckQueryWorkers = 10
)

// overdueGrace is how late a safety-net poll may be before it counts as overdue: a timer fires
// within seconds while a worker runs, so minutes late means nothing is running the ticket.
func overdueGrace(interval time.Duration) time.Duration { return max(2*time.Minute, interval/4) }

// stuckTickets lists the tenant's tickets (every tenant's, for an operator key) that need an
// operator, oldest first: parked ones (needs attention, from the read model) and overdue ones. The read model alone cannot tell
// an overdue safety net (a quiet poll does not write it), so open tickets whose row has not
// changed for more than twice their poll interval are candidates, and each candidate's live
// state (next poll, parked, paused) decides.
func (a *API) stuckTickets(w http.ResponseWriter, r *http.Request) *Problem {
	ctx := r.Context()
	var items []StuckTicketView
	yes := true
	f := store.TicketFilter{Tenant: tenantOf(r), NeedsAttention: &yes, Limit: store.MaxPageSize}
	if isOperator(r) {
		f.Tenant, f.AllTenants = "", true
	}
	for len(items) < maxStuck {
		rows, next, err := a.Store.ListTickets(ctx, f)
		if err != nil {
			return problem(http.StatusServiceUnavailable, "could not list tickets; retry later")
		}
		for _, t := range rows {
			since := t.UpdatedAt
			if t.AttentionSince != nil {
				since = *t.AttentionSince
			}
			items = append(items, StuckTicketView{Ticket: a.view(t), Kind: "parked", Reason: t.AttentionReason, Since: since.UTC()})
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	overdue, err := a.overdueTickets(ctx, func(tenant string) bool { return canSee(r, tenant) })
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not list tickets; retry later")
	}
	items = append(items, overdue...)
	slices.SortStableFunc(items, func(x, y StuckTicketView) int { return x.Since.Compare(y.Since) })
	if len(items) > maxStuck {
		items = items[:maxStuck]
	}
	if items == nil {
		items = []StuckTicketView{}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []StuckTicketView `json:"items"`
	}{items})
	return nil
}

type candidate struct {
	t        store.Ticket
	interval time.Duration
}

// overdueTickets checks the open tickets of the connections visible to the caller whose read
// model is stale.
func (a *API) overdueTickets(ctx context.Context, visible func(tenant string) bool) ([]StuckTicketView, error) {
	var cands []candidate
	now := time.Now().UTC()
	for _, id := range a.Connections.IDs() {
		c, err := a.Connections.Get(id)
		if err != nil || !visible(c.Tenant) {
			continue
		}
		interval := c.PollIntervalOr(a.PollInterval)
		if interval <= 0 {
			interval = 15 * time.Minute
		}
		rows, err := a.Store.StaleOpenTickets(ctx, store.StaleFilter{Tenant: c.Tenant, Connection: id,
			UpdatedBefore: now.Add(-2 * interval), Finished: []string{ticket.Done, ticket.Canceled}, Limit: maxOverdueChecks})
		if err != nil {
			return nil, err
		}
		for _, t := range rows {
			cands = append(cands, candidate{t, interval})
		}
	}
	slices.SortFunc(cands, func(x, y candidate) int { return x.t.UpdatedAt.Compare(y.t.UpdatedAt) })
	if len(cands) > maxOverdueChecks {
		cands = cands[:maxOverdueChecks]
	}
	out := make([]*StuckTicketView, len(cands))
	budget, cancel := context.WithTimeout(ctx, stuckQueryBudget)
	defer cancel()
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(stuckQueryWorkers, len(cands)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = a.checkOverdue(budget, cands[i], now)
			}
		}()
	}
	for i := range cands {
		work <- i
	}
	close(work)
	wg.Wait()
	var items []StuckTicketView
	for _, v := range out {
		if v != nil {
			items = append(items, *v)
		}
	}
	return items, nil
}

// checkOverdue asks one candidate's workflow for its state and says whether (and why) it is
// stuck; nil when it is merely quiet.
func (a *API) checkOverdue(ctx context.Context, c candidate, now time.Time) *StuckTicketView {
	t := c.t
	stale := fmt.Sprintf("the read model has not changed since %s (more than twice the %s poll interval)", t.UpdatedAt.UTC().Format(time.RFC3339), c.interval)
	item := func(kind, reason string, since time.Time) *StuckTicketView {
		return &StuckTicketView{Ticket: a.view(t), Kind: kind, Reason: reason, Since: since.UTC()}
	}
	if ctx.Err() != nil {
		return item("overdue", stale+"; its workflow was not asked (time budget of this listing spent)", t.UpdatedAt.Add(2*c.interval))
	}
	qctx, cancel := context.WithTimeout(ctx, stateQueryTimeout)
	defer cancel()
	st, err := a.Engine.State(qctx, t.WorkflowID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return item("overdue", stale+"; Temporal has no workflow "+t.WorkflowID+" (terminated, or deleted by retention)", t.UpdatedAt)
	case err != nil:
		ref := ticket.Ref{TicketID: t.ID, WorkflowID: t.WorkflowID, Tenant: t.Tenant, Connection: t.Connection, ExternalID: t.ExternalID}
		ref.Logger(a.log()).Warn("stuck check: state query failed", "error", err)
		return item("overdue", stale+fmt.Sprintf("; the workflow did not answer a state query within %s (is a worker running?): %v", stateQueryTimeout, err), t.UpdatedAt.Add(2*c.interval))
	case st.Paused != nil:
		return nil
	case st.NeedsAttention != nil:
		return item("parked", st.NeedsAttention.Reason, st.NeedsAttention.Since)
	case st.Finished || ticket.IsTerminal(st.Status):
		return item("overdue", fmt.Sprintf("the workflow is %s but the read model still says %s (its last write failed)", st.Status, t.Status), t.UpdatedAt)
	case st.NextPoll != nil && now.Sub(*st.NextPoll) > overdueGrace(c.interval):
		return item("overdue", fmt.Sprintf("the safety-net poll was due at %s, %s ago: no worker is running the ticket",
			st.NextPoll.UTC().Format(time.RFC3339), now.Sub(*st.NextPoll).Round(time.Second)), *st.NextPoll)
	}
	return nil
}

// ---- remap -----------------------------------------------------------------------------------

// remapTicket moves a ticket to another status-mapping version of its work system.
func (a *API) remapTicket(w http.ResponseWriter, r *http.Request) *Problem {
	t, p := a.loadTicket(r)
	if p != nil {
		return p
	}
	var body ticket.RemapSignal
	if p := decodeJSON(w, r, &body, false); p != nil {
		return p
	}
	v := &validator{}
	v.text("mapping", body.Mapping, true, 100, false)
	if len(v.errs) > 0 {
		return validationProblem(v.errs)
	}
	name := strings.TrimSpace(body.Mapping)
	err := a.Engine.Remap(r.Context(), t, name)
	switch {
	case errors.Is(err, engine.ErrBadMapping):
		return validationProblem([]FieldError{{"mapping", strings.TrimPrefix(err.Error(), engine.ErrBadMapping.Error()+": ")}})
	case errors.Is(err, connectors.ErrUnknownConnection):
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s's connection %s is no longer configured", t.ID, t.Connection))
	case errors.Is(err, engine.ErrWorkflowClosed):
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s has finished (%s): it can no longer be remapped", t.ID, t.Status))
	case err != nil:
		a.log().Error("remap", append(refOf(t).LogAttrs(), "error", err)...)
		return problem(http.StatusServiceUnavailable, "the workflow engine is unavailable; retry later")
	}
	a.metrics.signals.WithLabelValues(ticket.SignalRemap).Inc()
	t.MappingVersion = name
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "signal": ticket.SignalRemap, "ticket": a.view(t)})
	return nil
}

// refOf is the Ref of a stored ticket (for log attributes).
func refOf(t store.Ticket) ticket.Ref {
	return ticket.Ref{TicketID: t.ID, WorkflowID: t.WorkflowID, Tenant: t.Tenant, Connection: t.Connection, ExternalID: t.ExternalID}
}
