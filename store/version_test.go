package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The API host's clock runs an hour ahead: it stamps the row it inserts in
// the future. The workflow's writes carry its own (correct) time, so ordering
// by time would drop every one of them; ordering by version does not.
func TestVersionedStateIgnoresAPIHostClockSkew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		workflowNow := time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)
		apiNow := workflowNow.Add(time.Hour)
		mustCreate(t, s, Ticket{ID: "skewed", Connection: "c1", ExternalID: "e-skew", CreatedAt: apiNow})
		mustCreate(t, s, Ticket{ID: "skewed-unversioned", Connection: "c1", ExternalID: "e-skew-2", CreatedAt: apiNow})

		requested := TicketState{ID: "skewed", Status: "Requested", RemoteID: "WR-1", RemoteStatus: "Pending",
			UpdatedAt: workflowNow.Add(time.Second), Version: 1}
		if err := s.UpdateTicketState(ctx, requested); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTicket(ctx, "t1", "skewed")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "Requested" || got.RemoteID != "WR-1" || got.Version != 1 || !got.UpdatedAt.Equal(requested.UpdatedAt) {
			t.Errorf("versioned write under a skewed API clock: %+v", got)
		}

		// The same write without a version keeps the old, time-ordered rule: it
		// is lost, which is the failure versions fix.
		unversioned := requested
		unversioned.ID, unversioned.Version = "skewed-unversioned", 0
		if err := s.UpdateTicketState(ctx, unversioned); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetTicketAnyTenant(ctx, "skewed-unversioned"); got.Status != StatusSubmitted || got.RemoteID != "" {
			t.Errorf("unversioned write older than the API's stamp was applied: %+v", got)
		}
	})
}

func TestVersionOrdersStateWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		t0 := time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)
		mustCreate(t, s, Ticket{ID: "tk", Connection: "c1", ExternalID: "e", CreatedAt: t0, Version: 99})
		if got, _ := s.GetTicketAnyTenant(ctx, "tk"); got.Version != 0 {
			t.Fatalf("CreateTicket must start at version 0, got %d", got.Version)
		}
		write := func(st TicketState) {
			t.Helper()
			st.ID = "tk"
			if err := s.UpdateTicketState(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		status := func() (string, int64) {
			t.Helper()
			got, err := s.GetTicketAnyTenant(ctx, "tk")
			if err != nil {
				t.Fatal(err)
			}
			return got.Status, got.Version
		}
		write(TicketState{Status: "Requested", RemoteID: "WR-1", UpdatedAt: t0.Add(time.Minute), Version: 1})
		// Version 3 was stamped by a worker whose clock is behind: it still wins.
		write(TicketState{Status: "OnHold", RemoteID: "WR-1", UpdatedAt: t0.Add(-time.Hour), Version: 3})
		if st, v := status(); st != "OnHold" || v != 3 {
			t.Fatalf("after version 3: %s v%d", st, v)
		}
		// Older (a retried activity arriving late) and equal versions are ignored,
		// whatever their times.
		write(TicketState{Status: "InProgress", RemoteID: "WR-1", UpdatedAt: t0.Add(time.Hour), Version: 2})
		write(TicketState{Status: "Done", RemoteID: "WR-1", UpdatedAt: t0.Add(time.Hour), Version: 3})
		if st, v := status(); st != "OnHold" || v != 3 {
			t.Errorf("an older or equal version was applied: %s v%d", st, v)
		}
		// Once versioned, unversioned writes cannot be ordered against it: ignored.
		write(TicketState{Status: "Canceled", UpdatedAt: t0.Add(24 * time.Hour)})
		if st, v := status(); st != "OnHold" || v != 3 {
			t.Errorf("an unversioned write overrode a versioned row: %s v%d", st, v)
		}
		write(TicketState{Status: "Done", RemoteID: "WR-1", UpdatedAt: t0.Add(2 * time.Hour), Version: 4})
		if st, v := status(); st != "Done" || v != 4 {
			t.Errorf("a newer version was not applied: %s v%d", st, v)
		}
		if err := s.UpdateTicketState(ctx, TicketState{ID: "tk", Status: "Done", Version: -1}); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative version: err = %v, want ErrInvalid", err)
		}
		if err := s.UpdateTicketState(ctx, TicketState{ID: "nope", Status: "Done", Version: 5}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ticket: err = %v, want ErrNotFound", err)
		}
	})
}
