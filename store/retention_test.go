package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var finished = []string{"Done", "Canceled"}

// timeline appends n delivered events (seq 1…n) to a ticket.
func timeline(t *testing.T, s *Store, ticketID string, n int, at time.Time) {
	t.Helper()
	var evs []Event
	for i := 1; i <= n; i++ {
		evs = append(evs, Event{ID: fmt.Sprintf("evt_%s_%d", ticketID, i), TicketID: ticketID, Seq: int64(i),
			Type: "ticket.feedback_added", Payload: json.RawMessage(`{"feedback":{"text":"call Ada on 555"}}`),
			OccurredAt: at.Add(time.Duration(i) * time.Second), Deliver: true})
	}
	if err := s.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func TestPruneFinishedKeepsRowsCountsAndAuditEntries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		old := time.Now().UTC().Add(-40 * 24 * time.Hour)
		for _, tk := range []Ticket{
			{ID: "done-old", Connection: "c1", ExternalID: "1", Status: "Done", Request: json.RawMessage(`{"request":{"title":"Sink"}}`), RequestHash: "h1", CreatedAt: old},
			{ID: "canceled-old", Connection: "c1", ExternalID: "2", Status: "Canceled", CreatedAt: old},
			{ID: "open-old", Connection: "c1", ExternalID: "3", Status: "InProgress", Request: json.RawMessage(`{"request":{"title":"Door"}}`), CreatedAt: old},
			{ID: "done-new", Connection: "c2", ExternalID: "4", Status: "Done", Request: json.RawMessage(`{"request":{"title":"Tap"}}`)},
		} {
			mustCreate(t, s, tk)
			timeline(t, s, tk.ID, 3, tk.CreatedAt)
		}
		// An audit entry survives retention.
		if _, _, err := s.EraseTicket(ctx, Erasure{TicketID: "done-old", By: "op", Request: json.RawMessage(`{}`),
			Audit: Event{ID: "evt_audit", Seq: 1 << 40, Type: "ticket.erased", Payload: json.RawMessage(`{"by":"op"}`)}}); err != nil {
			t.Fatal(err)
		}
		policy := RetentionPolicy{Before: time.Now().UTC().Add(-30 * 24 * time.Hour), Statuses: finished, Keep: []string{"ticket.erased"}, Batch: 1}
		got, err := s.PruneFinished(ctx, policy)
		if err != nil {
			t.Fatal(err)
		}
		if got != (PruneCounts{Tickets: 2, Events: 6, Requests: 2}) {
			t.Fatalf("pruned %+v", got)
		}
		for id, wantEvents := range map[string][]string{"done-old": {"ticket.erased"}, "canceled-old": nil, "open-old": {"ticket.feedback_added", "ticket.feedback_added", "ticket.feedback_added"}, "done-new": {"ticket.feedback_added", "ticket.feedback_added", "ticket.feedback_added"}} {
			evs, err := s.ListEvents(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			if strings.Join(types, ",") != strings.Join(wantEvents, ",") {
				t.Errorf("%s: events %v, want %v", id, types, wantEvents)
			}
		}
		tk, err := s.GetTicketAnyTenant(ctx, "canceled-old")
		if err != nil || string(tk.Request) != "{}" || tk.Status != "Canceled" {
			t.Fatalf("pruned row: %+v %v", tk, err)
		}
		if tk, _ := s.GetTicketAnyTenant(ctx, "open-old"); !strings.Contains(string(tk.Request), "Door") {
			t.Errorf("an open ticket lost its request: %s", tk.Request)
		}
		lc, err := s.TicketLifecycle(ctx, "canceled-old")
		if err != nil || lc.PrunedAt == nil || lc.PrunedEvents != 3 {
			t.Fatalf("lifecycle %+v %v", lc, err)
		}
		// A second pass finds nothing more to do.
		if again, err := s.PruneFinished(ctx, policy); err != nil || again != (PruneCounts{}) {
			t.Fatalf("second prune: %+v %v", again, err)
		}
		if _, err := s.PruneFinished(ctx, RetentionPolicy{Statuses: finished}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a policy without a time: %v", err)
		}
	})
}

func TestEraseTicketOnceWithAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		mustCreate(t, s, Ticket{ID: "tk", Connection: "c1", ExternalID: "1", Status: "Done", RequestHash: "h",
			Request: json.RawMessage(`{"request":{"title":"Sink","requester":{"name":"Ada"}}}`)})
		timeline(t, s, "tk", 2, time.Now().Add(-time.Hour))
		at := time.Now().UTC().Truncate(time.Second)
		e := Erasure{TicketID: "tk", By: "api key key_1 (tenant t1)", At: at, Request: json.RawMessage(`{"request":{}}`),
			AttentionReason: "could not create", Events: map[string]json.RawMessage{"evt_tk_1": json.RawMessage(`{"feedback":{}}`)},
			Audit: Event{ID: "evt_erased", Seq: 1 << 40, Type: "ticket.erased", Payload: json.RawMessage(`{"by":"api key key_1"}`)}}
		lc, erased, err := s.EraseTicket(ctx, e)
		if err != nil || !erased || lc.ErasedAt == nil || !lc.ErasedAt.Equal(at) || lc.ErasedBy != e.By || lc.HistoryDeletedAt != nil {
			t.Fatalf("erase: %+v %v %v", lc, erased, err)
		}
		tk, _ := s.GetTicketAnyTenant(ctx, "tk")
		if strings.Contains(string(tk.Request), "Ada") || tk.RequestHash != "" || tk.AttentionReason != "could not create" {
			t.Fatalf("row after erasure: %+v", tk)
		}
		evs, _ := s.ListEvents(ctx, "tk")
		if len(evs) != 3 || string(evs[0].Payload) != `{"feedback":{}}` || !strings.Contains(string(evs[1].Payload), "Ada") || evs[2].Type != "ticket.erased" || evs[2].DeliveryState != DeliveryLocal {
			t.Fatalf("timeline after erasure: %+v", evs)
		}
		// Again: nothing changes, the first erasure stays on record.
		e.By, e.At = "someone else", at.Add(time.Hour)
		lc2, erased, err := s.EraseTicket(ctx, e)
		if err != nil || erased || !lc2.ErasedAt.Equal(at) || lc2.ErasedBy != lc.ErasedBy {
			t.Fatalf("second erase: %+v %v %v", lc2, erased, err)
		}
		if _, _, err := s.EraseTicket(ctx, Erasure{TicketID: "nope", By: "x", Audit: Event{ID: "a", Type: "ticket.erased"}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("erase of an unknown ticket: %v", err)
		}

		pending, err := s.PendingHistoryDeletions(ctx, 10)
		if err != nil || len(pending) != 1 || pending[0].TicketID != "tk" || pending[0].WorkflowID != "ticket/c1/1" || pending[0].Tenant != "t1" {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		note := Event{ID: "evt_hist", Seq: 1<<40 + 1, Type: "ticket.note", Payload: json.RawMessage(`{"detail":"history deleted"}`)}
		for range 2 {
			if err := s.MarkHistoryDeleted(ctx, "tk", at, note); err != nil {
				t.Fatal(err)
			}
		}
		if pending, _ := s.PendingHistoryDeletions(ctx, 10); len(pending) != 0 {
			t.Fatalf("still pending: %+v", pending)
		}
		if lc, _ := s.TicketLifecycle(ctx, "tk"); lc.HistoryDeletedAt == nil {
			t.Fatalf("history deletion not recorded: %+v", lc)
		}
		if evs, _ := s.ListEvents(ctx, "tk"); len(evs) != 4 || evs[3].ID != "evt_hist" {
			t.Fatalf("timeline after history deletion: %+v", evs)
		}
		if err := s.MarkHistoryDeleted(ctx, "nope", at, note); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ticket: %v", err)
		}
	})
}
