package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Retention and erasure: what the store forgets about a finished ticket (after the retention
// period, or at once when the requester asks) and the trail it keeps of having forgotten.

// Lifecycle is what retention and erasure did to a ticket row.
type Lifecycle struct {
	PrunedAt         *time.Time `json:"prunedAt,omitempty"`
	PrunedEvents     int64      `json:"prunedEvents"`
	ErasedAt         *time.Time `json:"erasedAt,omitempty"`
	ErasedBy         string     `json:"erasedBy,omitempty"`
	HistoryDeletedAt *time.Time `json:"historyDeletedAt,omitempty"`
}

type lifecycleRow struct {
	PrunedAt         sql.NullTime `db:"pruned_at"`
	PrunedEvents     int64        `db:"pruned_events"`
	ErasedAt         sql.NullTime `db:"erased_at"`
	ErasedBy         string       `db:"erased_by"`
	HistoryDeletedAt sql.NullTime `db:"history_deleted_at"`
}

func (r lifecycleRow) lifecycle() Lifecycle {
	return Lifecycle{PrunedAt: fromNull(r.PrunedAt), PrunedEvents: r.PrunedEvents, ErasedAt: fromNull(r.ErasedAt),
		ErasedBy: r.ErasedBy, HistoryDeletedAt: fromNull(r.HistoryDeletedAt)}
}

const lifecycleColumns = `pruned_at, pruned_events, erased_at, erased_by, history_deleted_at`

// TicketLifecycle returns what retention and erasure did to ticket id (ErrNotFound if absent).
func (s *Store) TicketLifecycle(ctx context.Context, id string) (Lifecycle, error) {
	return s.lifecycle(ctx, s.db, id)
}

func (s *Store) lifecycle(ctx context.Context, q sqlx.QueryerContext, id string) (Lifecycle, error) {
	if err := required("ticket id", id); err != nil {
		return Lifecycle{}, fmt.Errorf("store: ticket lifecycle: %w", err)
	}
	var r lifecycleRow
	if err := sqlx.GetContext(ctx, q, &r, s.q(`SELECT `+lifecycleColumns+` FROM tickets WHERE id = ?`), id); err != nil {
		return Lifecycle{}, fmt.Errorf("store: ticket lifecycle %s: %w", id, notFound(err))
	}
	return r.lifecycle(), nil
}

// Erasure replaces a ticket's personal data with what the caller computed (the engine knows
// the payload formats; the store only applies them) and records who asked.
type Erasure struct {
	TicketID string
	// Request replaces the stored create body; the request hash goes too (it was computed
	// from the personal fields).
	Request json.RawMessage
	// AttentionReason replaces the stored needs-attention reason (vendor text may echo input).
	AttentionReason string
	// Events maps timeline event ids to their scrubbed payloads.
	Events map[string]json.RawMessage
	// Audit is the timeline entry recording the erasure (inserted with the erasure).
	Audit Event
	By    string
	At    time.Time
}

// EraseTicket applies an erasure in one transaction. The first erasure wins: a ticket already
// erased is left alone and its Lifecycle returned with erased = false, so a retried request
// never rewrites who erased it or when. ErrNotFound if the ticket does not exist.
func (s *Store) EraseTicket(ctx context.Context, e Erasure) (lc Lifecycle, erased bool, err error) {
	if err := required("ticket id", e.TicketID, "erased by", e.By, "audit event id", e.Audit.ID, "audit event type", e.Audit.Type); err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket: %w", err)
	}
	request, err := jsonText(e.Request)
	if err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: request: %w", e.TicketID, err)
	}
	for id, p := range e.Events {
		if _, err := jsonText(p); err != nil {
			return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: event %s: %w", e.TicketID, id, err)
		}
	}
	at := ts(e.At)
	if e.At.IsZero() {
		at = s.nowTS()
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: begin: %w", e.TicketID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, s.q(`
		UPDATE tickets SET request = ?, request_hash = '', attention_reason = ?, erased_at = ?, erased_by = ?
		WHERE id = ? AND erased_at IS NULL`),
		request, truncate(e.AttentionReason), at, truncate(e.By), e.TicketID)
	if err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: %w", e.TicketID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		// Already erased (or absent): report what is stored.
		lc, lerr := s.lifecycle(ctx, tx, e.TicketID)
		if lerr != nil {
			return Lifecycle{}, false, lerr
		}
		return lc, false, err
	}
	update := s.q(`UPDATE events SET payload = ? WHERE id = ? AND ticket_id = ?`)
	for id, p := range e.Events {
		payload, _ := jsonText(p)
		if _, err := tx.ExecContext(ctx, update, payload, id, e.TicketID); err != nil {
			return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: event %s: %w", e.TicketID, id, err)
		}
	}
	if err := s.insertLocalEvent(ctx, tx, e.TicketID, e.Audit, at); err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: audit: %w", e.TicketID, err)
	}
	lc, err = s.lifecycle(ctx, tx, e.TicketID)
	if err != nil {
		return Lifecycle{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return Lifecycle{}, false, fmt.Errorf("store: erase ticket %s: commit: %w", e.TicketID, err)
	}
	return lc, true, nil
}

// insertLocalEvent records a timeline-only event written outside the workflow (audit
// entries), insert-or-ignore by id.
func (s *Store) insertLocalEvent(ctx context.Context, tx *sqlx.Tx, ticketID string, ev Event, at time.Time) error {
	payload, err := jsonText(ev.Payload)
	if err != nil {
		return err
	}
	occurred := ts(ev.OccurredAt)
	if ev.OccurredAt.IsZero() {
		occurred = at
	}
	_, err = tx.ExecContext(ctx, s.q(`
		INSERT INTO events (`+eventColumns+`, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`),
		ev.ID, ticketID, ev.Seq, ev.Type, payload, occurred, false, DeliveryLocal, 0, "", nil, at)
	if err != nil && isUniqueViolation(err) {
		return fmt.Errorf("%w: ticket %s already has an event with seq %d", ErrConflict, ticketID, ev.Seq)
	}
	return err
}

// HistoryRef names a ticket whose workflow history is still to be deleted.
type HistoryRef struct {
	TicketID   string    `db:"id"`
	Tenant     string    `db:"tenant_id"`
	Connection string    `db:"connection_id"`
	ExternalID string    `db:"external_id"`
	WorkflowID string    `db:"workflow_id"`
	ErasedAt   time.Time `db:"erased_at"`
}

// PendingHistoryDeletions lists erased tickets whose workflow history has not been deleted
// yet, oldest erasure first.
func (s *Store) PendingHistoryDeletions(ctx context.Context, limit int) ([]HistoryRef, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []HistoryRef
	err := s.db.SelectContext(ctx, &out, s.q(fmt.Sprintf(`
		SELECT id, tenant_id, connection_id, external_id, workflow_id, erased_at FROM tickets
		WHERE erased_at IS NOT NULL AND history_deleted_at IS NULL
		ORDER BY erased_at, id LIMIT %d`, limit)))
	if err != nil {
		return nil, fmt.Errorf("store: pending history deletions: %w", err)
	}
	for i := range out {
		out[i].ErasedAt = out[i].ErasedAt.UTC()
	}
	return out, nil
}

// MarkHistoryDeleted records that the ticket's workflow history is gone from Temporal, with
// note (a local timeline event) saying so. Idempotent.
func (s *Store) MarkHistoryDeleted(ctx context.Context, ticketID string, at time.Time, note Event) error {
	if err := required("ticket id", ticketID, "note id", note.ID, "note type", note.Type); err != nil {
		return fmt.Errorf("store: mark history deleted: %w", err)
	}
	when := ts(at)
	if at.IsZero() {
		when = s.nowTS()
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: mark history deleted %s: begin: %w", ticketID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, s.q(`UPDATE tickets SET history_deleted_at = ? WHERE id = ? AND history_deleted_at IS NULL`), when, ticketID)
	if err != nil {
		return fmt.Errorf("store: mark history deleted %s: %w", ticketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.lifecycle(ctx, tx, ticketID); err != nil {
			return err
		}
		return nil // already marked
	}
	if err := s.insertLocalEvent(ctx, tx, ticketID, note, when); err != nil {
		return fmt.Errorf("store: mark history deleted %s: note: %w", ticketID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: mark history deleted %s: commit: %w", ticketID, err)
	}
	return nil
}

// RetentionPolicy says which finished tickets PruneFinished prunes.
type RetentionPolicy struct {
	Before   time.Time // tickets last updated before this
	Statuses []string  // the finished statuses (e.g. Done, Canceled)
	Keep     []string  // event types never pruned (audit entries)
	Batch    int       // tickets per transaction (default 200)
	MaxBatch int       // bound of one call, in batches (default 50)
}

// PruneCounts is what one PruneFinished call removed.
type PruneCounts struct {
	Tickets  int64 `json:"tickets"`
	Events   int64 `json:"events"`
	Requests int64 `json:"requests"`
}

// PruneFinished forgets the timeline rows (but Keep's) and the request body of every finished
// ticket last updated before the policy's time, keeping the ticket row with when it was pruned
// and how many rows went. A pruned ticket is not visited again (finished tickets gain no
// events but audit entries). Batched, so a large backlog never holds one long transaction.
func (s *Store) PruneFinished(ctx context.Context, p RetentionPolicy) (PruneCounts, error) {
	var total PruneCounts
	if len(p.Statuses) == 0 || p.Before.IsZero() {
		return total, fmt.Errorf("store: prune finished: %w: statuses and a time are required", ErrInvalid)
	}
	batch, maxBatches := p.Batch, p.MaxBatch
	if batch <= 0 {
		batch = 200
	}
	if maxBatches <= 0 {
		maxBatches = 50
	}
	args := []any{ts(p.Before)}
	for _, st := range p.Statuses {
		args = append(args, st)
	}
	selectQ := s.q(fmt.Sprintf(`SELECT id FROM tickets
		WHERE pruned_at IS NULL AND updated_at < ? AND status IN (%s)
		ORDER BY updated_at, id LIMIT %d`, placeholders(len(p.Statuses)), batch))
	deleteQ := `DELETE FROM events WHERE ticket_id = ?`
	if len(p.Keep) > 0 {
		deleteQ += ` AND type NOT IN (` + placeholders(len(p.Keep)) + `)`
	}
	deleteQ = s.q(deleteQ)
	markQ := s.q(`UPDATE tickets SET request = '{}', pruned_at = ?, pruned_events = pruned_events + ? WHERE id = ?`)
	for b := 0; b < maxBatches; b++ {
		var ids []string
		if err := s.db.SelectContext(ctx, &ids, selectQ, args...); err != nil {
			return total, fmt.Errorf("store: prune finished: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		c, err := s.pruneBatch(ctx, ids, deleteQ, markQ, p.Keep)
		total.Tickets += c.Tickets
		total.Events += c.Events
		total.Requests += c.Requests
		if err != nil {
			return total, err
		}
		if len(ids) < batch {
			return total, nil
		}
	}
	return total, nil
}

func (s *Store) pruneBatch(ctx context.Context, ids []string, deleteQ, markQ string, keep []string) (PruneCounts, error) {
	var c PruneCounts
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("store: prune finished: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := s.nowTS()
	for _, id := range ids {
		del := append([]any{id}, anySlice(keep)...)
		res, err := tx.ExecContext(ctx, deleteQ, del...)
		if err != nil {
			return PruneCounts{}, fmt.Errorf("store: prune ticket %s: %w", id, err)
		}
		n, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, markQ, now, n, id); err != nil {
			return PruneCounts{}, fmt.Errorf("store: prune ticket %s: %w", id, err)
		}
		c.Tickets++
		c.Requests++
		c.Events += n
	}
	if err := tx.Commit(); err != nil {
		return PruneCounts{}, fmt.Errorf("store: prune finished: commit: %w", err)
	}
	return c, nil
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
