package store

import (
	"context"
	"sync"
	"testing"
)

// A burst of concurrent work leaves its PostgreSQL connections idle for the next one instead
// of closing all but a few and dialling them again (a bench on PostgreSQL ran 4× slower).
func TestPostgresKeepsABurstsConnections(t *testing.T) {
	s := openURL(t, newPGSchemaURL(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range postgresConns {
		wg.Go(func() {
			if _, err := s.db.ExecContext(ctx, `SELECT pg_sleep(0.2)`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := s.db.Stats()
	if st.OpenConnections != postgresConns || st.Idle != postgresConns {
		t.Fatalf("after a burst of %d: %d open, %d idle (closed for lack of idle room: %d), want all %d kept idle",
			postgresConns, st.OpenConnections, st.Idle, st.MaxIdleClosed, postgresConns)
	}
}
