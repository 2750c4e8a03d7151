package workflows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

func TestCancelFromPortalCancelsRemoteFirst(t *testing.T) {
	h := newHarness(t, "req-cancel")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(time.Minute+time.Second, h.poke)
	h.at(2*time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "resident fixed it"})
	})
	res := h.run()
	wr := h.remote()
	if wr.Status != twhsim.StatusCancelled || wr.CancelReason != "resident fixed it" {
		t.Fatalf("remote after cancel: status %s reason %q", wr.Status, wr.CancelReason)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:InProgress<Requested",
		"ticket.status_changed:Canceled<InProgress", "ticket.closed:Canceled<InProgress")
}

func TestCancelAfterRemoteCompletedEndsDone(t *testing.T) {
	h := newHarness(t, "req-cancel-late")
	h.at(time.Minute, h.staff(func(id string) error { _, err := h.kit.TWH.SetCategory(id, "Plumbing"); return err }))
	h.at(2*time.Minute, h.staff(func(id string) error {
		_, err := h.kit.TWH.Transition(id, twhsim.StatusCompleted, nil, false)
		return err
	}))
	// The portal cancels before we polled the completion: the vendor answers 409; we read back.
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "fixed it myself"}) })
	res := h.run()
	if res.Status != ticket.Done || res.RemoteStatus != "Completed" {
		t.Fatalf("result %+v", res)
	}
	// DESIGN.md §3: the timeline records that the cancel came too late.
	note := eventDetail(t, h, ticket.EventNote, ticket.NoteCancelTooLate)
	if !strings.Contains(note, "Completed") || !strings.Contains(note, "fixed it myself") {
		t.Fatalf("the too-late note should name the work system's status and the reason: %q", note)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Done<Requested",
		"ticket.closed:Done<Requested")
}

// A cancel that arrives in time leaves no too-late note.
func TestCancelInTimeHasNoTooLateNote(t *testing.T) {
	h := newHarness(t, "req-cancel-in-time")
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	if res := h.run(); res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	for _, d := range eventDetails(t, h, ticket.EventNote) {
		if strings.Contains(d, ticket.NoteCancelTooLate) {
			t.Fatalf("a cancel in time is not too late: %q", d)
		}
	}
}

// A ticket parked on its create (the work system refused the request: no location) and then
// canceled ends Canceled with no need for attention: not in the state query, not in the read
// model (the list filter), not in the search attribute.
func TestFinishedTicketNeverNeedsAttention(t *testing.T) {
	h := newHarness(t, "req-parked-then-canceled")
	h.in.Request.Location = vendorapi.Location{}
	var parked ticket.State
	h.at(time.Minute, func() { parked = h.state() })
	h.at(2*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != ticket.StepCreate {
		t.Fatalf("the create should have parked: %+v", parked.NeedsAttention)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	if st := h.state(); st.NeedsAttention != nil {
		t.Fatalf("state query of a finished ticket: needsAttention %+v", st.NeedsAttention)
	}
	row, err := h.kit.Store.GetTicketAnyTenant(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if row.NeedsAttention || row.Status != ticket.Canceled {
		t.Fatalf("read model of a finished ticket: %+v", row)
	}
	yes := true
	list, _, err := h.kit.Store.ListTickets(context.Background(), store.TicketFilter{Tenant: testkit.Tenant, NeedsAttention: &yes})
	if err != nil || len(list) != 0 {
		t.Fatalf("needsAttention=true lists %d tickets (%v)", len(list), err)
	}
}

// eventDetails returns the details of the ticket's timeline events of a type.
func eventDetails(t *testing.T, h *harness, typ string) []string {
	t.Helper()
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		var ev ticket.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Detail)
	}
	return out
}

// eventDetail returns the detail of the one event of a type that contains substr.
func eventDetail(t *testing.T, h *harness, typ, substr string) string {
	t.Helper()
	for _, d := range eventDetails(t, h, typ) {
		if strings.Contains(d, substr) {
			return d
		}
	}
	t.Fatalf("no %s on the timeline contains %q: %q", typ, substr, eventDetails(t, h, typ))
	return ""
}

func TestCancelWhileCreateParkedEndsCanceled(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-parked-cancel")
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "never mind"}) })
	res := h.run()
	if res.Status != ticket.Canceled || res.RemoteID != "" {
		t.Fatalf("result %+v", res)
	}
}

// A cancel whose answer brings more unread feedback than one read returns (staff wrote 250
// notes since the last poll) reads the rest before the ticket ends Canceled: every visible
// note reaches the request system, then the cancel, with ticket.closed last.
func TestCancelReadsTheFeedbackLeftBeforeEnding(t *testing.T) {
	h := newHarness(t, "req-cancel-notes")
	work, fake := withBulkSystems(t, h)
	h.at(time.Minute, func() {
		work.addFeedback(250)
		h.env.SignalWorkflow(ticket.SignalCancel, ticket.CancelSignal{Reason: "moved out"})
	})
	h.env.SetTestTimeout(5 * time.Minute)
	res := h.run()
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
	kinds := fake.kinds()
	var notes int
	for _, k := range kinds {
		if strings.HasPrefix(k, vendorapi.NotifyFeedbackAdded) {
			notes++
		}
	}
	if notes != 225 {
		t.Fatalf("%d notes delivered, want the 225 visible ones; kinds %q", notes, kinds)
	}
	if last := kinds[len(kinds)-1]; !strings.HasPrefix(last, vendorapi.NotifyClosed) {
		t.Fatalf("last notification %q, want closed", last)
	}
}
