package store

import (
	"context"
	"fmt"
	"time"
)

// Queries behind the operator endpoints: stuck tickets, event replay, remap.

// StaleFilter selects open tickets whose read model has not changed for a while.
type StaleFilter struct {
	Tenant        string
	Connection    string
	UpdatedBefore time.Time
	Finished      []string // statuses that end a ticket (excluded)
	Limit         int      // default 100, at most MaxPageSize
}

// StaleOpenTickets lists a connection's open, unparked, unpaused tickets whose read model was
// last written before f.UpdatedBefore, oldest first: the candidates for an overdue safety net.
func (s *Store) StaleOpenTickets(ctx context.Context, f StaleFilter) ([]Ticket, error) {
	if err := requireTenant(f.Tenant); err != nil {
		return nil, fmt.Errorf("store: stale tickets: %w", err)
	}
	if err := required("connection", f.Connection); err != nil {
		return nil, fmt.Errorf("store: stale tickets: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxPageSize)
	query := `SELECT ` + ticketSelectColumns + ` FROM tickets
		WHERE tenant_id = ? AND connection_id = ? AND needs_attention = ? AND paused = ? AND updated_at < ?`
	args := []any{f.Tenant, f.Connection, false, false, ts(f.UpdatedBefore)}
	if len(f.Finished) > 0 {
		query += ` AND status NOT IN (` + placeholders(len(f.Finished)) + `)`
		args = append(args, anySlice(f.Finished)...)
	}
	query += fmt.Sprintf(` ORDER BY updated_at, id LIMIT %d`, limit)
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("store: stale tickets of %s: %w", f.Connection, err)
	}
	out := make([]Ticket, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.ticket())
	}
	return out, nil
}

// TicketEvent is a timeline event with the ticket it belongs to (for replay).
type TicketEvent struct {
	Event
	Tenant     string
	Connection string
	ExternalID string
	WorkflowID string
}

// EventQuery selects the events a replay sends: those meant for the request system, of a
// tenant's connections, that occurred at or after Since, oldest first.
type EventQuery struct {
	Tenant      string
	Connections []string // at least one
	Since       time.Time
	States      []string // only these delivery states (default: any)
	Limit       int      // at most this many (default 1000)
}

// DeliverableEventsSince returns the events q selects, ordered by time, then ticket and
// sequence (so each ticket's events keep their order).
func (s *Store) DeliverableEventsSince(ctx context.Context, q EventQuery) ([]TicketEvent, error) {
	if err := requireTenant(q.Tenant); err != nil {
		return nil, fmt.Errorf("store: events since: %w", err)
	}
	if len(q.Connections) == 0 {
		return nil, fmt.Errorf("store: events since: %w: at least one connection", ErrInvalid)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	args := []any{q.Tenant}
	args = append(args, anySlice(q.Connections)...)
	args = append(args, true, ts(q.Since))
	states := ""
	if len(q.States) > 0 {
		states = ` AND e.delivery_state IN (` + placeholders(len(q.States)) + `)`
		args = append(args, anySlice(q.States)...)
	}
	query := fmt.Sprintf(`
		SELECT e.id, e.ticket_id, e.seq, e.type, e.payload, e.occurred_at, e.deliver, e.delivery_state,
			e.attempts, e.last_error, e.delivered_at,
			t.tenant_id, t.connection_id, t.external_id, t.workflow_id
		FROM events e JOIN tickets t ON t.id = e.ticket_id
		WHERE t.tenant_id = ? AND t.connection_id IN (%s) AND e.deliver = ? AND e.occurred_at >= ?%s
		ORDER BY e.occurred_at, e.ticket_id, e.seq LIMIT %d`, placeholders(len(q.Connections)), states, limit)
	var rows []struct {
		eventRow
		Tenant     string `db:"tenant_id"`
		Connection string `db:"connection_id"`
		ExternalID string `db:"external_id"`
		WorkflowID string `db:"workflow_id"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("store: events since %s: %w", q.Since.Format(time.RFC3339), err)
	}
	out := make([]TicketEvent, 0, len(rows))
	for _, r := range rows {
		out = append(out, TicketEvent{Event: r.event(), Tenant: r.Tenant, Connection: r.Connection,
			ExternalID: r.ExternalID, WorkflowID: r.WorkflowID})
	}
	return out, nil
}

// RecordReplayAttempt records one replay of an event on its timeline row: the attempt count
// grows, a success marks it delivered (for an event the workflow abandoned too: the receiver
// has it now) and a failure keeps its state with the error. A pending event is the workflow's
// to deliver: replays never touch it. ErrNotFound if the event is unknown.
func (s *Store) RecordReplayAttempt(ctx context.Context, id string, deliveryErr string, at time.Time) error {
	if err := required("event id", id); err != nil {
		return fmt.Errorf("store: record replay: %w", err)
	}
	when := ts(at)
	if at.IsZero() {
		when = s.nowTS()
	}
	var res interface{ RowsAffected() (int64, error) }
	var err error
	if deliveryErr == "" {
		res, err = s.db.ExecContext(ctx, s.q(`
			UPDATE events SET attempts = attempts + 1, last_error = '',
				delivered_at = CASE WHEN delivery_state = 'delivered' THEN delivered_at ELSE ? END,
				delivery_state = 'delivered'
			WHERE id = ? AND delivery_state <> 'pending'`), when, id)
	} else {
		res, err = s.db.ExecContext(ctx, s.q(`
			UPDATE events SET attempts = attempts + 1, last_error = ?
			WHERE id = ? AND delivery_state <> 'pending'`), truncate("replay: "+deliveryErr), id)
	}
	if err != nil {
		return fmt.Errorf("store: record replay of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetEvent(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// SetTicketMapping records the status-mapping version a ticket was moved to (remap).
// ErrNotFound if the ticket does not exist.
func (s *Store) SetTicketMapping(ctx context.Context, id, mappingVersion string) error {
	if err := required("ticket id", id, "mapping", mappingVersion); err != nil {
		return fmt.Errorf("store: set ticket mapping: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tickets SET mapping_version = ? WHERE id = ?`), mappingVersion, id)
	if err != nil {
		return fmt.Errorf("store: set mapping of ticket %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set mapping of ticket %s: %w", id, ErrNotFound)
	}
	return nil
}
