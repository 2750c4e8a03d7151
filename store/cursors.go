package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// GetCursor returns the saved watermark of a connection's change feed or
// poller (name distinguishes several feeds per connection), or "" if none.
func (s *Store) GetCursor(ctx context.Context, connection, name string) (string, error) {
	if err := required("connection", connection, "cursor name", name); err != nil {
		return "", fmt.Errorf("store: get cursor: %w", err)
	}
	var value string
	err := s.db.GetContext(ctx, &value, s.q(`SELECT value FROM sync_cursors WHERE connection_id = ? AND name = ?`), connection, name)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return "", fmt.Errorf("store: get cursor %s/%s: %w", connection, name, err)
	}
	return value, nil
}

// SaveCursor stores (upserts) a watermark.
func (s *Store) SaveCursor(ctx context.Context, connection, name, value string) error {
	if err := required("connection", connection, "cursor name", name); err != nil {
		return fmt.Errorf("store: save cursor: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO sync_cursors (connection_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connection_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		connection, name, value, s.nowTS())
	if err != nil {
		return fmt.Errorf("store: save cursor %s/%s: %w", connection, name, err)
	}
	return nil
}

// DeliverySeen reports whether an inbound webhook delivery was recorded
// (RecordDelivery) and not yet pruned. A receiver checks it first, acts (pokes
// the ticket), and records the delivery only once acting succeeded: recording
// first would make the vendor's retry of a delivery we failed to act on look
// like a duplicate. Two concurrent copies may both act; acting (a poke) is
// idempotent, so that costs a read, never a lost change.
func (s *Store) DeliverySeen(ctx context.Context, source, deliveryID string) (bool, error) {
	if err := required("source", source, "delivery id", deliveryID); err != nil {
		return false, fmt.Errorf("store: delivery seen: %w", err)
	}
	var one int
	err := s.db.GetContext(ctx, &one, s.q(`SELECT 1 FROM webhook_deliveries WHERE source = ? AND delivery_id = ?`), source, deliveryID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: delivery seen %s/%s: %w", source, deliveryID, err)
	}
	return true, nil
}

// RecordDelivery remembers an inbound webhook delivery; first is false when
// (source, deliveryID) was seen before. Call it after the delivery was acted
// on (see DeliverySeen). source is e.g. "theworxhub:<connection>"; at is when
// it was received (zero = now).
func (s *Store) RecordDelivery(ctx context.Context, source, deliveryID string, at time.Time) (bool, error) {
	if err := required("source", source, "delivery id", deliveryID); err != nil {
		return false, fmt.Errorf("store: record delivery: %w", err)
	}
	received := ts(at)
	if at.IsZero() {
		received = s.nowTS()
	}
	res, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO webhook_deliveries (source, delivery_id, received_at) VALUES (?, ?, ?)
		ON CONFLICT (source, delivery_id) DO NOTHING`),
		source, deliveryID, received)
	if err != nil {
		return false, fmt.Errorf("store: record delivery %s/%s: %w", source, deliveryID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: record delivery %s/%s: %w", source, deliveryID, err)
	}
	return n == 1, nil
}

// PruneDeliveries forgets deliveries received before olderThan (beyond any
// vendor's redelivery window) and returns how many were removed.
func (s *Store) PruneDeliveries(ctx context.Context, olderThan time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE received_at < ?`), ts(olderThan))
	if err != nil {
		return 0, fmt.Errorf("store: prune deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune deliveries: %w", err)
	}
	return n, nil
}
