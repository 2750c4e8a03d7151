package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// PushesSince counts a source's deliveries in the window and names the latest of all.
func TestPushesSince(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		n, last, err := s.PushesSince(ctx, "theworxhub:c1", t0)
		if err != nil || n != 0 || !last.IsZero() {
			t.Fatalf("no push yet: %d, %v, %v", n, last, err)
		}
		for i, at := range []time.Time{t0.Add(-time.Minute), t0, t0.Add(time.Minute)} {
			if _, err := s.RecordDelivery(ctx, "theworxhub:c1", "d"+string(rune('0'+i)), at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RecordDelivery(ctx, "theworxhub:c2", "x", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, last, err = s.PushesSince(ctx, "theworxhub:c1", t0)
		if err != nil || n != 2 || !last.Equal(t0.Add(time.Minute)) {
			t.Fatalf("two pushes since t0, the last at t0+1m: got %d, %v, %v", n, last, err)
		}
		if _, _, err := s.PushesSince(ctx, "", t0); err == nil {
			t.Fatal("an empty source is refused")
		}
	})
}

// A push's ticket look-up uses the (connection, remote id) index, not a walk over the
// connection's tickets (SQLite's planner otherwise prefers the index that gives the order).
func TestRemoteIDLookupUsesItsIndex(t *testing.T) {
	s := openURL(t, backends[0].newURL(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT `+ticketSelectColumns+
		` FROM tickets WHERE connection_id = ? AND remote_id = ? ORDER BY created_at, id LIMIT 1`, "c1", "R1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "tickets_remote_order_idx (connection_id=? AND remote_id=?)") {
		t.Fatalf("plan: %s", got)
	}
}
