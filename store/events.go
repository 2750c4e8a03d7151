package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Delivery states of an event.
const (
	DeliveryPending   = "pending"   // to be delivered to the request system
	DeliveryDelivered = "delivered" // acknowledged by the receiver (final)
	DeliveryAbandoned = "abandoned" // gave up; an operator retry may revive it
	DeliveryLocal     = "local"     // timeline only, never delivered
)

func validDeliveryState(s string) bool {
	switch s {
	case DeliveryPending, DeliveryDelivered, DeliveryAbandoned, DeliveryLocal:
		return true
	}
	return false
}

// Event is one entry of a ticket's timeline. ID is the stable, globally
// unique event id (derived from workflow id + Seq) that receivers dedupe on.
type Event struct {
	ID            string          `db:"id" json:"id"`
	TicketID      string          `db:"ticket_id" json:"ticketId"`
	Seq           int64           `db:"seq" json:"seq"`
	Type          string          `db:"type" json:"type"`
	Payload       json.RawMessage `db:"payload" json:"payload"`
	OccurredAt    time.Time       `db:"occurred_at" json:"occurredAt"`
	Deliver       bool            `db:"deliver" json:"deliver"`
	DeliveryState string          `db:"delivery_state" json:"deliveryState"`
	Attempts      int             `db:"attempts" json:"attempts"`
	LastError     string          `db:"last_error" json:"lastError,omitempty"`
	DeliveredAt   *time.Time      `db:"delivered_at" json:"deliveredAt,omitempty"`
}

type eventRow struct {
	ID            string       `db:"id"`
	TicketID      string       `db:"ticket_id"`
	Seq           int64        `db:"seq"`
	Type          string       `db:"type"`
	Payload       string       `db:"payload"`
	OccurredAt    time.Time    `db:"occurred_at"`
	Deliver       bool         `db:"deliver"`
	DeliveryState string       `db:"delivery_state"`
	Attempts      int          `db:"attempts"`
	LastError     string       `db:"last_error"`
	DeliveredAt   sql.NullTime `db:"delivered_at"`
}

func (r eventRow) event() Event {
	return Event{
		ID:            r.ID,
		TicketID:      r.TicketID,
		Seq:           r.Seq,
		Type:          r.Type,
		Payload:       json.RawMessage(r.Payload),
		OccurredAt:    r.OccurredAt.UTC(),
		Deliver:       r.Deliver,
		DeliveryState: r.DeliveryState,
		Attempts:      r.Attempts,
		LastError:     r.LastError,
		DeliveredAt:   fromNull(r.DeliveredAt),
	}
}

const eventColumns = `id, ticket_id, seq, type, payload, occurred_at, deliver, delivery_state, attempts, last_error, delivered_at`

// maxErrorLen bounds stored error texts (vendor error bodies can be large).
const maxErrorLen = 2000

// AppendEvents stores events in one transaction, ignoring any whose ID is
// already stored, so activity retries and workflow replays never duplicate.
// A different event claiming an existing (TicketID, Seq) is ErrConflict.
// An empty DeliveryState defaults to pending when Deliver is set, else local;
// a zero OccurredAt to now.
func (s *Store) AppendEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		e := &events[i]
		if err := required("event id", e.ID, "ticket id", e.TicketID, "event type", e.Type); err != nil {
			return fmt.Errorf("store: append events (#%d): %w", i, err)
		}
		if e.DeliveryState != "" && !validDeliveryState(e.DeliveryState) {
			return fmt.Errorf("store: append event %s: %w: delivery state %q", e.ID, ErrInvalid, e.DeliveryState)
		}
		if _, err := jsonText(e.Payload); err != nil {
			return fmt.Errorf("store: append event %s: payload: %w", e.ID, err)
		}
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: append events: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	insert := s.q(`
		INSERT INTO events (` + eventColumns + `, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`)
	now := s.nowTS()
	for _, e := range events {
		state := e.DeliveryState
		if state == "" {
			state = DeliveryLocal
			if e.Deliver {
				state = DeliveryPending
			}
		}
		occurred := ts(e.OccurredAt)
		if e.OccurredAt.IsZero() {
			occurred = now
		}
		payload, _ := jsonText(e.Payload)
		_, err := tx.ExecContext(ctx, insert,
			e.ID, e.TicketID, e.Seq, e.Type, payload, occurred, e.Deliver, state,
			e.Attempts, truncate(e.LastError), tsPtr(e.DeliveredAt), now)
		if err != nil {
			if isForeignKeyViolation(err) {
				err = fmt.Errorf("ticket %s: %w", e.TicketID, ErrNotFound)
			} else if isUniqueViolation(err) {
				err = fmt.Errorf("%w: ticket %s already has another event with seq %d: %v", ErrConflict, e.TicketID, e.Seq, err)
			}
			return fmt.Errorf("store: append event %s: %w", e.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: append events: commit: %w", err)
	}
	return nil
}

// MarkEventDelivery records a delivery attempt's outcome. Attempts never
// decreases and "delivered" is final (a late, retried failure report cannot
// undo it), so out-of-order activity retries are harmless. at is the delivery
// time, stored when state is "delivered". ErrNotFound if the event is unknown.
func (s *Store) MarkEventDelivery(ctx context.Context, id, state string, attempts int, lastError string, at time.Time) error {
	if err := required("event id", id); err != nil {
		return fmt.Errorf("store: mark event delivery: %w", err)
	}
	if !validDeliveryState(state) {
		return fmt.Errorf("store: mark event %s delivery: %w: delivery state %q", id, ErrInvalid, state)
	}
	if attempts < 0 {
		return fmt.Errorf("store: mark event %s delivery: %w: negative attempts", id, ErrInvalid)
	}
	var deliveredAt *time.Time
	if state == DeliveryDelivered {
		if at.IsZero() {
			at = s.now()
		}
		deliveredAt = tsPtr(&at)
	}
	res, err := s.db.ExecContext(ctx, s.q(`
		UPDATE events SET
			attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END,
			delivery_state = CASE WHEN delivery_state = 'delivered' THEN delivery_state ELSE ? END,
			last_error = CASE WHEN delivery_state = 'delivered' THEN last_error ELSE ? END,
			delivered_at = CASE WHEN delivery_state = 'delivered' THEN delivered_at ELSE ? END
		WHERE id = ?`),
		attempts, attempts, state, truncate(lastError), deliveredAt, id)
	if err != nil {
		return fmt.Errorf("store: mark event %s delivery: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: mark event %s delivery: %w", id, ErrNotFound)
	}
	return nil
}

// ListEvents returns a ticket's timeline ordered by Seq (empty if none).
func (s *Store) ListEvents(ctx context.Context, ticketID string) ([]Event, error) {
	if err := required("ticket id", ticketID); err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	var rows []eventRow
	err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+eventColumns+` FROM events WHERE ticket_id = ? ORDER BY seq`), ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: list events of ticket %s: %w", ticketID, err)
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.event())
	}
	return out, nil
}

// GetEvent returns one event or ErrNotFound.
func (s *Store) GetEvent(ctx context.Context, id string) (Event, error) {
	if err := required("event id", id); err != nil {
		return Event{}, fmt.Errorf("store: get event: %w", err)
	}
	var r eventRow
	if err := s.db.GetContext(ctx, &r, s.q(`SELECT `+eventColumns+` FROM events WHERE id = ?`), id); err != nil {
		return Event{}, fmt.Errorf("store: get event %s: %w", id, notFound(err))
	}
	return r.event(), nil
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	// Cut on a rune boundary so the text stays valid UTF-8 (PostgreSQL rejects invalid).
	cut := maxErrorLen
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
