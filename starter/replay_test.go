package starter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

// timelineOf records events on a ticket as the workflow does, with a delivery state each.
func timelineOf(t *testing.T, o *ops, tk store.Ticket, at time.Time, states []string, evs ...ticket.Event) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i, ev := range evs {
		ev.Seq = int64(i + 1)
		ev.ID = ticket.EventID(tk.WorkflowID, ev.Seq)
		ev.OccurredAt = at.Add(time.Duration(i) * time.Minute)
		payload, _ := json.Marshal(ev)
		row := store.Event{ID: ev.ID, TicketID: tk.ID, Seq: ev.Seq, Type: ev.Type, Payload: payload, OccurredAt: ev.OccurredAt, Deliver: ticket.Delivered(ev.Type)}
		if err := o.kit.Store.AppendEvents(ctx, []store.Event{row}); err != nil {
			t.Fatal(err)
		}
		if states[i] != store.DeliveryPending && states[i] != store.DeliveryLocal {
			if err := o.kit.Store.MarkEventDelivery(ctx, ev.ID, states[i], 1, "", ev.OccurredAt); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

func lifeOf(status string) []ticket.Event {
	return []ticket.Event{
		{Type: ticket.EventStatusChanged, Status: ticket.Requested, RemoteID: "104201"},
		{Type: ticket.EventRemoteCreated, Detail: "theworxhub request 104201"},
		{Type: ticket.EventFeedbackAdded, Status: ticket.Requested, RemoteID: "104201", Feedback: &ticket.Feedback{ID: "fb1", Text: "We come at 9", Author: "J. Rivera", CreatedAt: time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)}},
		{Type: ticket.EventStatusChanged, Status: status, PreviousStatus: ticket.Requested, RemoteID: "104201"},
	}
}

func TestReplayOneEventKeepsItsIDAndBody(t *testing.T) {
	o := newOps(t)
	tk := o.ticketRow("replay-1", ticket.InProgress, time.Now())
	ids := timelineOf(t, o, tk, time.Now().Add(-time.Hour), []string{store.DeliveryDelivered, store.DeliveryLocal, store.DeliveryDelivered, store.DeliveryPending}, lifeOf(ticket.InProgress)...)

	code, got := o.call("POST", "/v1/events/"+ids[2]+"/replay", "")
	if code != 202 || got["count"] != 1.0 || got["dryRun"] != false {
		t.Fatalf("replay: %d %v", code, got)
	}
	recv := o.kit.Portal.EventsFor(tk.ID)
	if len(recv) != 1 || recv[0].ID != ids[2] || recv[0].Type != "ticket.feedback_added" || recv[0].Event.Feedback == nil ||
		recv[0].Event.Feedback.Text != "We come at 9" || recv[0].Event.Ticket.Status != ticket.Requested || recv[0].Attempt != 2 {
		t.Fatalf("portal got %+v", recv)
	}
	ev, _ := o.kit.Store.GetEvent(context.Background(), ids[2])
	if ev.Attempts != 2 || ev.DeliveryState != store.DeliveryDelivered {
		t.Fatalf("timeline row after replay: %+v", ev)
	}

	for id, want := range map[string]int{ids[1]: 409, ids[3]: 409, "evt_nope": 404} { // local, pending, unknown
		if code, got := o.call("POST", "/v1/events/"+id+"/replay", ""); code != want {
			t.Errorf("replay %s: %d %v, want %d", id, code, got, want)
		}
	}
	if code, _ := o.call("POST", "/v1/events/"+ids[0]+"/replay", "", o.kit.OtherAPIKey); code != 404 {
		t.Errorf("another tenant's event: %d", code)
	}

	// The portal fails: 502 with its answer, the attempt on the timeline.
	o.kit.Portal.SetFaults(portalsim.Faults{FailNext: 1})
	if code, got := o.call("POST", "/v1/events/"+ids[0]+"/replay", ""); code != 502 || !strings.Contains(fmt.Sprint(got["detail"]), "500") {
		t.Fatalf("failing portal: %d %v", code, got)
	}
	if ev, _ := o.kit.Store.GetEvent(context.Background(), ids[0]); ev.Attempts != 2 || !strings.Contains(ev.LastError, "replay:") || ev.DeliveryState != store.DeliveryDelivered {
		t.Fatalf("failed replay on the timeline: %+v", ev)
	}
	// 410 Gone disables the endpoint; replays then wait for an operator.
	o.kit.Portal.SetFaults(portalsim.Faults{Gone: true})
	if code, _ := o.call("POST", "/v1/events/"+ids[0]+"/replay", ""); code != 502 {
		t.Fatalf("gone: %d", code)
	}
	if st, _ := o.kit.Store.EndpointDisabled(context.Background(), testkit.Tenant, testkit.Connection); !st.Disabled {
		t.Fatal("410 Gone did not disable the endpoint")
	}
	o.kit.Portal.SetFaults(portalsim.Faults{})
	if code, got := o.call("POST", "/v1/events/"+ids[0]+"/replay", ""); code != 409 || !strings.Contains(fmt.Sprint(got["detail"]), "enable") {
		t.Fatalf("disabled endpoint: %d %v", code, got)
	}
}

func TestReplayEventsOfAConnectionSince(t *testing.T) {
	o := newOps(t)
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	a := o.ticketRow("replay-a", ticket.Done, base)
	b := o.ticketRow("replay-b", ticket.InProgress, base)
	delivered := []string{store.DeliveryDelivered, store.DeliveryLocal, store.DeliveryDelivered, store.DeliveryDelivered}
	aIDs := timelineOf(t, o, a, base, delivered, lifeOf(ticket.Done)...)
	bIDs := timelineOf(t, o, b, base.Add(30*time.Second), []string{store.DeliveryDelivered, store.DeliveryLocal, store.DeliveryAbandoned, store.DeliveryPending}, lifeOf(ticket.InProgress)...)

	since := base.Add(20 * time.Second).Format(time.RFC3339)
	code, dry := o.call("POST", "/v1/events/replay", `{"connection":"sunrise-twh","since":"`+since+`","dryRun":true}`)
	if code != 200 || dry["dryRun"] != true {
		t.Fatalf("dry run: %d %v", code, dry)
	}
	var listed []string
	for _, e := range dry["events"].([]any) {
		listed = append(listed, e.(map[string]any)["id"].(string))
	}
	// Oldest first from since on; local rows and the event b's workflow still delivers are not sent.
	if want := []string{bIDs[0] /* +0:30 */, aIDs[2] /* +2:00 */, bIDs[2] /* +2:30 */, aIDs[3] /* +3:00 */}; strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Fatalf("dry run lists %v, want %v", listed, want)
	}
	if n := len(o.kit.Portal.Events()); n != 0 {
		t.Fatalf("a dry run sent %d events", n)
	}

	code, res := o.call("POST", "/v1/events/replay", `{"tenant":"sunrise","since":"`+since+`"}`)
	if code != 202 || res["count"] != 4.0 {
		t.Fatalf("replay: %d %v", code, res)
	}
	testkit.WaitFor(t, 10*time.Second, "the replayed events at the portal", func() bool { return len(o.kit.Portal.Events()) == 4 })
	for _, r := range o.kit.Portal.Events() {
		if !strings.Contains(strings.Join(listed, ","), r.ID) {
			t.Errorf("the portal got %s, which was not listed", r.ID)
		}
	}
	testkit.WaitFor(t, 5*time.Second, "the replay recorded on the timeline", func() bool {
		ev, _ := o.kit.Store.GetEvent(context.Background(), bIDs[2])
		return ev.DeliveryState == store.DeliveryDelivered // abandoned by the workflow, delivered by the replay
	})

	for body, want := range map[string]int{
		`{"since":"` + since + `"}`: 422, // whose?
		`{"connection":"sunrise-twh","tenant":"sunrise","since":"` + since + `"}`: 422,
		`{"connection":"sunrise-twh"}`:                                            422, // since when?
		`{"connection":"sunrise-twh","since":"2999-01-01T00:00:00Z"}`:             422,
		`{"connection":"sunrise-twh","since":"yesterday"}`:                        400,
		`{"connection":"sunrise-twh","since":"` + since + `","x":1}`:              400,
		`{"connection":"moonrise-twh","since":"` + since + `"}`:                   404, // another tenant's
		`{"tenant":"moonrise","since":"` + since + `"}`:                           404,
	} {
		if code, got := o.call("POST", "/v1/events/replay", body); code != want {
			t.Errorf("%s: %d %v, want %d", body, code, got, want)
		}
	}
}

func TestReplayIsBounded(t *testing.T) {
	o := newOps(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	tk := o.ticketRow("replay-many", ticket.InProgress, base)
	var rows []store.Event
	for i := 1; i <= engine.MaxReplay+5; i++ {
		ev := ticket.Event{ID: ticket.EventID(tk.WorkflowID, int64(i)), Seq: int64(i), Type: ticket.EventFeedbackAdded, OccurredAt: base.Add(time.Duration(i) * time.Millisecond)}
		payload, _ := json.Marshal(ev)
		rows = append(rows, store.Event{ID: ev.ID, TicketID: tk.ID, Seq: ev.Seq, Type: ev.Type, Payload: payload, OccurredAt: ev.OccurredAt, Deliver: true, DeliveryState: store.DeliveryDelivered})
	}
	if err := o.kit.Store.AppendEvents(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	code, got := o.call("POST", "/v1/events/replay", `{"connection":"sunrise-twh","since":"`+base.Format(time.RFC3339)+`","dryRun":true}`)
	evs, _ := got["events"].([]any)
	if code != 200 || got["count"] != float64(engine.MaxReplay) || len(evs) != engine.MaxReplay || evs[0].(map[string]any)["id"] != rows[0].ID {
		t.Fatalf("dry run over the bound: %d, count %v, %d events", code, got["count"], len(evs))
	}
	// The next call starts at the last one's time and gets the rest.
	last := evs[len(evs)-1].(map[string]any)["occurredAt"].(string)
	if code, got := o.call("POST", "/v1/events/replay", `{"connection":"sunrise-twh","since":"`+last+`","dryRun":true}`); code != 200 || got["count"] != 6.0 {
		t.Fatalf("continuation: %d %v", code, got["count"])
	}
}
