package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PushesSince counts the inbound webhook deliveries of source (RecordDelivery) received at or
// after since, and returns when the latest one of all arrived (zero when none is recorded).
// The change feed reads them as evidence that the vendor's pushes keep up with its changes,
// and reads the feed less often while they do (activities/feedpace.go).
func (s *Store) PushesSince(ctx context.Context, source string, since time.Time) (int, time.Time, error) {
	if err := required("source", source); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: pushes since: %w", err)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.q(`SELECT COUNT(*) FROM webhook_deliveries WHERE received_at >= ? AND source = ?`),
		ts(since), source); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: pushes since %s: %w", source, err)
	}
	var last sql.NullTime
	err := s.db.GetContext(ctx, &last, s.q(`SELECT received_at FROM webhook_deliveries WHERE source = ? ORDER BY received_at DESC LIMIT 1`), source)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, fmt.Errorf("store: last push of %s: %w", source, err)
	}
	if !last.Valid {
		return n, time.Time{}, nil
	}
	return n, last.Time.UTC(), nil
}
