package store

import (
	"context"
	"fmt"
)

// GroupCount is the number of tickets of one connection with one value of a column.
type GroupCount struct {
	Connection string `db:"connection_id"`
	Value      string `db:"value"`
	N          int    `db:"n"`
}

// CountByStatus counts every tenant's tickets by connection and portal status (operator
// metrics: ticketsync_tickets).
func (s *Store) CountByStatus(ctx context.Context) ([]GroupCount, error) {
	var out []GroupCount
	err := s.db.SelectContext(ctx, &out, `SELECT connection_id, status AS value, COUNT(*) AS n FROM tickets GROUP BY connection_id, status`)
	if err != nil {
		return nil, fmt.Errorf("store: count tickets by status: %w", err)
	}
	return out, nil
}

// CountParked counts every tenant's parked tickets by connection and full reason (the caller
// folds reasons into classes).
func (s *Store) CountParked(ctx context.Context) ([]GroupCount, error) {
	var out []GroupCount
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT connection_id, attention_reason AS value, COUNT(*) AS n FROM tickets
		WHERE needs_attention = ? GROUP BY connection_id, attention_reason`), true)
	if err != nil {
		return nil, fmt.Errorf("store: count parked tickets: %w", err)
	}
	return out, nil
}
