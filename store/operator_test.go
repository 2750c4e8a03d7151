package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestStaleOpenTickets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		old := time.Now().UTC().Add(-2 * time.Hour)
		for _, tk := range []Ticket{
			{ID: "quiet", Connection: "c1", ExternalID: "1", Status: "InProgress", CreatedAt: old.Add(time.Minute)},
			{ID: "quieter", Connection: "c1", ExternalID: "2", Status: "Requested", CreatedAt: old},
			{ID: "done", Connection: "c1", ExternalID: "3", Status: "Done", CreatedAt: old},
			{ID: "parked", Connection: "c1", ExternalID: "4", Status: "Requested", NeedsAttention: true, CreatedAt: old},
			{ID: "paused", Connection: "c1", ExternalID: "5", Status: "Requested", Paused: true, CreatedAt: old},
			{ID: "fresh", Connection: "c1", ExternalID: "6", Status: "Requested"},
			{ID: "other-conn", Connection: "c3", ExternalID: "7", Status: "Requested", CreatedAt: old},
		} {
			mustCreate(t, s, tk)
		}
		got, err := s.StaleOpenTickets(ctx, StaleFilter{Tenant: "t1", Connection: "c1", UpdatedBefore: time.Now().Add(-time.Hour), Finished: finished})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tk := range got {
			ids = append(ids, tk.ID)
		}
		if !slices.Equal(ids, []string{"quieter", "quiet"}) {
			t.Fatalf("stale tickets %v, want oldest first [quieter quiet]", ids)
		}
		if got, _ := s.StaleOpenTickets(ctx, StaleFilter{Tenant: "t2", Connection: "c1", UpdatedBefore: time.Now()}); len(got) != 0 {
			t.Fatalf("another tenant sees %d tickets", len(got))
		}
		if _, err := s.StaleOpenTickets(ctx, StaleFilter{Connection: "c1"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("no tenant: %v", err)
		}
	})
}

func TestDeliverableEventsSinceAndReplayAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
		mustCreate(t, s, Ticket{ID: "a", Connection: "c1", ExternalID: "a"})
		mustCreate(t, s, Ticket{ID: "b", Connection: "c3", ExternalID: "b"})
		mustCreate(t, s, Ticket{ID: "x", Connection: "c2", ExternalID: "x"})
		p := json.RawMessage(`{}`)
		if err := s.AppendEvents(ctx, []Event{
			{ID: "a1", TicketID: "a", Seq: 1, Type: "ticket.status_changed", Payload: p, OccurredAt: base, Deliver: true},
			{ID: "a2", TicketID: "a", Seq: 2, Type: "ticket.note", Payload: p, OccurredAt: base.Add(time.Minute)},
			{ID: "a3", TicketID: "a", Seq: 3, Type: "ticket.feedback_added", Payload: p, OccurredAt: base.Add(2 * time.Minute), Deliver: true},
			{ID: "b1", TicketID: "b", Seq: 1, Type: "ticket.status_changed", Payload: p, OccurredAt: base.Add(time.Minute), Deliver: true},
			{ID: "x1", TicketID: "x", Seq: 1, Type: "ticket.status_changed", Payload: p, OccurredAt: base.Add(time.Minute), Deliver: true},
		}); err != nil {
			t.Fatal(err)
		}
		ids := func(q EventQuery) []string {
			t.Helper()
			evs, err := s.DeliverableEventsSince(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				out = append(out, e.ID)
				if e.ID == "a1" && (e.Connection != "c1" || e.Tenant != "t1" || e.WorkflowID != "ticket/c1/a" || e.ExternalID != "a") {
					t.Errorf("ticket of a1: %+v", e)
				}
			}
			return out
		}
		if got := ids(EventQuery{Tenant: "t1", Connections: []string{"c1", "c3"}, Since: base}); !slices.Equal(got, []string{"a1", "b1", "a3"}) {
			t.Fatalf("tenant t1 since base: %v", got)
		}
		if got := ids(EventQuery{Tenant: "t1", Connections: []string{"c1"}, Since: base.Add(time.Second)}); !slices.Equal(got, []string{"a3"}) {
			t.Fatalf("c1 after base: %v", got)
		}
		if got := ids(EventQuery{Tenant: "t1", Connections: []string{"c2"}, Since: base}); len(got) != 0 {
			t.Fatalf("another tenant's connection: %v", got)
		}
		if got := ids(EventQuery{Tenant: "t1", Connections: []string{"c1", "c3"}, Since: base, Limit: 2}); !slices.Equal(got, []string{"a1", "b1"}) {
			t.Fatalf("limited: %v", got)
		}
		if err := s.MarkEventDelivery(ctx, "a1", DeliveryDelivered, 1, "", base); err != nil {
			t.Fatal(err)
		}
		if got := ids(EventQuery{Tenant: "t1", Connections: []string{"c1", "c3"}, Since: base, States: []string{DeliveryDelivered, DeliveryAbandoned}}); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("delivered or abandoned only: %v", got)
		}

		now := time.Now().UTC().Truncate(time.Millisecond)
		// a1: delivered before; a failed replay keeps it delivered, a good one counts.
		if err := s.MarkEventDelivery(ctx, "a1", DeliveryDelivered, 1, "", base); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordReplayAttempt(ctx, "a1", "HTTP 503", now); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordReplayAttempt(ctx, "a1", "", now); err != nil {
			t.Fatal(err)
		}
		e, _ := s.GetEvent(ctx, "a1")
		if e.Attempts != 3 || e.DeliveryState != DeliveryDelivered || e.LastError != "" || !e.DeliveredAt.Equal(base) {
			t.Fatalf("a1 after replays: %+v", e)
		}
		// b1: abandoned by the workflow; the replay got it through.
		if err := s.MarkEventDelivery(ctx, "b1", DeliveryAbandoned, 5, "HTTP 500", base); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordReplayAttempt(ctx, "b1", "", now); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.GetEvent(ctx, "b1"); e.Attempts != 6 || e.DeliveryState != DeliveryDelivered || e.DeliveredAt == nil || !e.DeliveredAt.Equal(now) {
			t.Fatalf("b1 after replay: %+v", e)
		}
		// a3: still pending with the workflow; a replay leaves it alone.
		if err := s.RecordReplayAttempt(ctx, "a3", "", now); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.GetEvent(ctx, "a3"); e.Attempts != 0 || e.DeliveryState != DeliveryPending {
			t.Fatalf("pending a3 touched by a replay: %+v", e)
		}
		if err := s.RecordReplayAttempt(ctx, "nope", "", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown event: %v", err)
		}

		if err := s.SetTicketMapping(ctx, "a", "theworxhub-v2"); err != nil {
			t.Fatal(err)
		}
		if tk, _ := s.GetTicketAnyTenant(ctx, "a"); tk.MappingVersion != "theworxhub-v2" {
			t.Fatalf("mapping %q", tk.MappingVersion)
		}
		if err := s.SetTicketMapping(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ticket: %v", err)
		}
	})
}
