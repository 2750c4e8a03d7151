package starter

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Replay of events to the request system, with their original ids (receivers dedupe on them).

// ReplayRequest is the body of POST /v1/events/replay: a connection or the whole tenant,
// since a time.
type ReplayRequest struct {
	Connection string    `json:"connection,omitempty"`
	Tenant     string    `json:"tenant,omitempty"`
	Since      time.Time `json:"since"`
	DryRun     bool      `json:"dryRun,omitempty"`
}

// ReplayResult lists the events a replay sends (or, dry, would send).
type ReplayResult struct {
	Count  int             `json:"count"`
	DryRun bool            `json:"dryRun"`
	Events []ReplayedEvent `json:"events"`
}

// ReplayedEvent is one replayed event.
type ReplayedEvent struct {
	ID         string    `json:"id"`
	Ticket     string    `json:"ticket"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
}

func replayResult(events []store.TicketEvent, dry bool) ReplayResult {
	out := ReplayResult{Count: len(events), DryRun: dry, Events: make([]ReplayedEvent, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, ReplayedEvent{ID: e.ID, Ticket: e.TicketID, Type: e.Type, OccurredAt: e.OccurredAt.UTC()})
	}
	return out
}

// replayEvent sends one event again, now: 202 once the request system took it, 502 with its
// answer when it did not (the attempt is on the ticket's timeline either way).
func (a *API) replayEvent(w http.ResponseWriter, r *http.Request) *Problem {
	id := r.PathValue("eventId")
	notFound := problem(http.StatusNotFound, fmt.Sprintf("event %q not found", id))
	ev, err := a.Store.GetEvent(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not read the event; retry later")
	}
	t, err := a.Store.GetTicketAnyTenant(r.Context(), ev.TicketID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !canSee(r, t.Tenant)) {
		return notFound // another tenant's event
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not read the event's ticket; retry later")
	}
	row := store.TicketEvent{Event: ev, Tenant: t.Tenant, Connection: t.Connection, ExternalID: t.ExternalID, WorkflowID: t.WorkflowID}
	err = a.Engine.ReplayOne(r.Context(), row)
	var ve *vendorapi.Error
	switch {
	case err == nil:
	case errors.Is(err, engine.ErrNotReplayable), errors.Is(err, engine.ErrEndpointDisabled):
		return problem(http.StatusConflict, err.Error())
	case errors.Is(err, connectors.ErrUnknownConnection):
		return problem(http.StatusConflict, fmt.Sprintf("event %s's connection %s is no longer configured", id, t.Connection))
	case errors.As(err, &ve) || vendorapi.IsRetryable(err):
		return problem(http.StatusBadGateway, fmt.Sprintf("the request system did not take event %s (the attempt is on the ticket's timeline): %v", id, err))
	default:
		a.log().Error("replay event", append(refOf(t).LogAttrs(), "event", id, "error", err)...)
		return problem(http.StatusServiceUnavailable, "could not replay the event; retry later")
	}
	writeJSON(w, http.StatusAccepted, replayResult([]store.TicketEvent{row}, false))
	return nil
}

// replayEvents resends every event of a connection or of the tenant since a time (oldest first,
// at most engine.MaxReplay per call), in the background; a dry run lists them. An operator key
// names any tenant or connection.
func (a *API) replayEvents(w http.ResponseWriter, r *http.Request) *Problem {
	var req ReplayRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		return p
	}
	var tenant string // the tenant or the connection's below
	v := &validator{}
	switch {
	case req.Connection == "" && req.Tenant == "":
		v.add("connection", "give connection or tenant: whose events to replay")
	case req.Connection != "" && req.Tenant != "":
		v.add("tenant", "give connection or tenant, not both")
	}
	switch {
	case req.Since.IsZero():
		v.add("since", "is required (RFC 3339, e.g. 2026-01-02T00:00:00Z)")
	case req.Since.After(time.Now().Add(time.Minute)):
		v.add("since", "is in the future: nothing happened since then")
	}
	if len(v.errs) > 0 {
		return validationProblem(v.errs)
	}
	var conns []string
	switch {
	case req.Tenant != "" && !canSee(r, req.Tenant):
		return problem(http.StatusNotFound, fmt.Sprintf("tenant %q not found", req.Tenant))
	case req.Tenant != "":
		tenant = req.Tenant
		for _, id := range a.Connections.IDs() {
			if c, err := a.Connections.Get(id); err == nil && c.Tenant == tenant {
				conns = append(conns, id)
			}
		}
		if len(conns) == 0 && isOperator(r) {
			return problem(http.StatusNotFound, fmt.Sprintf("tenant %q has no connections", req.Tenant))
		}
	default:
		c, err := a.Connections.Get(req.Connection)
		if err != nil || !canSee(r, c.Tenant) {
			return problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", req.Connection))
		}
		tenant, conns = c.Tenant, []string{req.Connection}
	}
	var events []store.TicketEvent
	if len(conns) > 0 {
		var err error
		events, err = a.Engine.SelectReplay(r.Context(), engine.ReplaySelection{Tenant: tenant, Connections: slices.Sorted(slices.Values(conns)), Since: req.Since})
		if err != nil {
			return problem(http.StatusServiceUnavailable, "could not read the events; retry later")
		}
	}
	if req.DryRun {
		writeJSON(w, http.StatusOK, replayResult(events, true))
		return nil
	}
	if len(events) > 0 {
		log := a.log().With("tenant", tenant, "connections", conns, "since", req.Since.UTC().Format(time.RFC3339))
		err := a.Engine.ReplayInBackground(r.Context(), events, func(c engine.ReplayCounts) {
			log.Info("replay done", "sent", c.Sent, "failed", c.Failed, "skipped", c.Skipped)
		})
		if errors.Is(err, engine.ErrReplayBusy) {
			return problem(http.StatusServiceUnavailable, "other replays are still running; retry when they end")
		}
		if err != nil {
			return problem(http.StatusServiceUnavailable, "could not start the replay; retry later")
		}
		log.Info("replay started", "events", len(events))
	}
	writeJSON(w, http.StatusAccepted, replayResult(events, false))
	return nil
}
