package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

// The one rendering of timeline events for the request side (workflow delivery and replays).
func TestNotificationRendering(t *testing.T) {
	ref := ticket.NewRef("sunrise", "sunrise-twh", "REQ-1")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	for _, ev := range []ticket.Event{
		{ID: "e1", Seq: 1, Type: ticket.EventStatusChanged, OccurredAt: at, Status: ticket.Requested, RemoteID: "104201"},
		{ID: "e2", Seq: 2, Type: ticket.EventStatusChanged, OccurredAt: at, Status: ticket.Submitted, Category: "Plumbing"},
		{ID: "e3", Seq: 3, Type: ticket.EventFeedbackAdded, OccurredAt: at, Status: ticket.OnHold, PreviousStatus: ticket.InProgress,
			Feedback: &ticket.Feedback{ID: "fb", Text: "Which sink?", Author: "J. Rivera", CreatedAt: at,
				Attachments: []vendorapi.Attachment{{Name: "sink.jpg", URL: "https://x.example/sink.jpg"}}}},
		{ID: "e4", Seq: 4, Type: ticket.EventNeedsAttention, OccurredAt: at, Attention: &ticket.Attention{Since: at, Reason: "could not create: HTTP 422 from https://internal", Step: ticket.StepCreate}},
		{ID: "e5", Seq: 5, Type: ticket.EventClosed, OccurredAt: at, Status: ticket.Done, PreviousStatus: ticket.InProgress},
	} {
		n := engine.Notification(ref, ev, 3)
		if n.ID != ev.ID || n.Attempt != 3 || n.TicketID != ref.TicketID || n.ExternalID != "REQ-1" || !n.OccurredAt.Equal(at) || n.OccurredAt.Location() != time.UTC {
			t.Errorf("%s: identity %+v", ev.ID, n)
		}
		switch ev.ID {
		case "e1":
			if n.Kind != vendorapi.NotifyStatusChanged || n.Status != ticket.Requested || n.RemoteID != "104201" {
				t.Errorf("status change %+v", n)
			}
		case "e2":
			if n.Status != "" || n.Category != "Plumbing" {
				t.Errorf("the internal Submitted status must never be sent: %+v", n)
			}
		case "e3":
			if n.Kind != vendorapi.NotifyFeedbackAdded || n.Feedback == nil || n.Feedback.Text != "Which sink?" || !n.Feedback.VisibleToRequestor || n.PreviousStatus != ticket.InProgress ||
				len(n.Feedback.Attachments) != 1 || n.Feedback.Attachments[0].Name != "sink.jpg" {
				t.Errorf("feedback %+v", n)
			}
		case "e4":
			if n.Kind != vendorapi.NotifyNeedsAttention || n.Reason != "could not create" || !n.Since.Equal(at) {
				t.Errorf("a needs-attention reason goes out as its class only: %+v", n)
			}
		case "e5":
			if n.Kind != vendorapi.NotifyClosed || n.Status != ticket.Done {
				t.Errorf("closed %+v", n)
			}
		}
	}
}

// replayKit is the test kit with an engine that needs no Temporal (replays call the request
// system directly).
func replayKit(t *testing.T) (*testkit.Kit, *engine.Engine) {
	kit := testkit.New(t, testkit.Options{})
	return kit, &engine.Engine{Store: kit.Store, Connections: kit.Registry}
}

// delivered records a ticket with delivered status events and returns them as replay input.
func delivered(t *testing.T, kit *testkit.Kit, ext string, statuses ...string) []store.TicketEvent {
	t.Helper()
	ctx := context.Background()
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, ext)
	if _, _, err := kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ext, WorkflowID: ref.WorkflowID}); err != nil {
		t.Fatal(err)
	}
	var out []store.TicketEvent
	prev := ""
	for i, st := range statuses {
		ev := ticket.Event{ID: ticket.EventID(ref.WorkflowID, int64(i+1)), Seq: int64(i + 1), Type: ticket.EventStatusChanged,
			OccurredAt: time.Now().UTC().Add(time.Duration(i) * time.Second), Status: st, PreviousStatus: prev}
		prev = st
		payload, _ := json.Marshal(ev)
		row := store.Event{ID: ev.ID, TicketID: ref.TicketID, Seq: ev.Seq, Type: ev.Type, Payload: payload, OccurredAt: ev.OccurredAt,
			Deliver: true, DeliveryState: store.DeliveryDelivered, Attempts: 1}
		if err := kit.Store.AppendEvents(ctx, []store.Event{row}); err != nil {
			t.Fatal(err)
		}
		out = append(out, store.TicketEvent{Event: row, Tenant: ref.Tenant, Connection: ref.Connection, ExternalID: ext, WorkflowID: ref.WorkflowID})
	}
	return out
}

// After a failed event, the ticket's later events wait (never out of order); other tickets go
// on. A 410 Gone disables the endpoint and stops the connection.
func TestReplayKeepsOrderPerTicketAndStopsOnGone(t *testing.T) {
	kit, eng := replayKit(t)
	a := delivered(t, kit, "a", ticket.Requested, ticket.InProgress)
	b := delivered(t, kit, "b", ticket.Requested, ticket.InProgress)
	kit.Portal.SetFaults(portalsim.Faults{FailNext: 1}) // a's first fails
	c := eng.Replay(context.Background(), []store.TicketEvent{a[0], b[0], a[1], b[1]})
	if c != (engine.ReplayCounts{Sent: 2, Failed: 1, Skipped: 1}) {
		t.Fatalf("counts %+v", c)
	}
	var got []string
	for _, r := range kit.Portal.Events() {
		got = append(got, r.ID)
	}
	if !reflect.DeepEqual(got, []string{b[0].ID, b[1].ID}) {
		t.Fatalf("portal got %v, want only b's events in order", got)
	}
	ev, _ := kit.Store.GetEvent(context.Background(), a[0].ID)
	if ev.Attempts != 2 || ev.LastError == "" {
		t.Fatalf("the failed attempt is not on the timeline: %+v", ev)
	}

	kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	if c := eng.Replay(context.Background(), append(a, b...)); c != (engine.ReplayCounts{Skipped: 4}) {
		t.Fatalf("counts after gone %+v", c)
	}
	if st, _ := kit.Store.EndpointDisabled(context.Background(), testkit.Tenant, testkit.Connection); !st.Disabled {
		t.Fatal("410 Gone did not disable the endpoint")
	}
	if err := eng.ReplayOne(context.Background(), b[0]); !errors.Is(err, engine.ErrEndpointDisabled) {
		t.Fatalf("replay to a disabled endpoint: %v", err)
	}
	if n := len(kit.Portal.Requests()); n != 4 { // 3 in the first replay, the one answered 410
		t.Fatalf("%d requests reached the portal; nothing more after the 410", n)
	}
}

func TestReplayInBackgroundIsBoundedInConcurrency(t *testing.T) {
	kit, eng := replayKit(t)
	evs := delivered(t, kit, "bg", ticket.Requested)
	kit.Portal.SetFaults(portalsim.Faults{SlowNext: 2, SlowDelay: 2 * time.Second})
	done := make(chan engine.ReplayCounts, 3)
	for range 2 {
		if err := eng.ReplayInBackground(context.Background(), evs, func(c engine.ReplayCounts) { done <- c }); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.ReplayInBackground(context.Background(), evs, nil); !errors.Is(err, engine.ErrReplayBusy) {
		t.Fatalf("a third concurrent replay: %v", err)
	}
	for range 2 {
		select {
		case c := <-done:
			if c.Sent != 1 {
				t.Errorf("background replay: %+v", c)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("background replay never finished")
		}
	}
	testkit.WaitFor(t, 5*time.Second, "a free slot", func() bool {
		return eng.ReplayInBackground(context.Background(), evs, nil) == nil
	})
}
