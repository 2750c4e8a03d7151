package starter_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// personal is what the erased ticket below holds about its requester.
var personal = []string{"Ada Lovelace", "ada@example.org", "+31 6 5555 1234", "drips behind the fridge",
	"12 Baker Street", "call me after 5", "sink.jpg", "Guest bathroom leaks"}

// erasable records a finished ticket whose request and timeline carry personal data.
func erasable(t *testing.T, o *ops, ext string) store.Ticket {
	t.Helper()
	ctx := context.Background()
	ref := ticket.NewRef("sunrise", "sunrise-twh", ext)
	hash, body := engine.RequestHash(ref.Connection, ext, requestWithPersonalData())
	if _, _, err := o.kit.Store.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection,
		ExternalID: ext, WorkflowID: ref.WorkflowID, RequestHash: hash, Request: body, MappingVersion: "theworxhub-v1"}); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Hour)
	if err := o.kit.Store.UpdateTicketState(ctx, store.TicketState{ID: ref.TicketID, Status: ticket.Done, RemoteID: "104201",
		RemoteStatus: "Completed", NeedsAttention: true, AttentionReason: "could not create the request in the work system: requester.email ada@example.org is invalid",
		AttentionSince: &since, Version: 9}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour)
	events := []ticket.Event{
		{Type: ticket.EventTruncated, Detail: "description truncated to 4000 characters for TheWorxHub; full text: Guest bathroom leaks; drips behind the fridge"},
		{Type: ticket.EventRemoteCreated, Detail: "theworxhub request 104201 (reference ts:sunrise-twh:" + ext + ", adopted=false)"},
		{Type: ticket.EventStatusChanged, Status: ticket.Requested, RemoteID: "104201"},
		{Type: ticket.EventNeedsAttention, Status: ticket.Requested, Attention: &ticket.Attention{Since: since, Reason: "could not forward a requester comment: HTTP 422 call me after 5", Step: ticket.StepComment}},
		{Type: ticket.EventFeedbackAdded, Status: ticket.InProgress, Feedback: &ticket.Feedback{ID: "fb1", Text: "Ada Lovelace, we come at 9", Author: "J. Rivera"}},
		{Type: ticket.EventCommentForwarded, Detail: "comment NOT forwarded: closed: call me after 5"},
		{Type: ticket.EventStatusChanged, Status: ticket.Done, PreviousStatus: ticket.InProgress},
	}
	var rows []store.Event
	for i, ev := range events {
		ev.Seq, ev.OccurredAt = int64(i+1), at.Add(time.Duration(i)*time.Minute)
		ev.ID = ticket.EventID(ref.WorkflowID, ev.Seq)
		payload, _ := json.Marshal(ev)
		rows = append(rows, store.Event{ID: ev.ID, TicketID: ref.TicketID, Seq: ev.Seq, Type: ev.Type, Payload: payload,
			OccurredAt: ev.OccurredAt, Deliver: ticket.Delivered(ev.Type)})
	}
	if err := o.kit.Store.AppendEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	tk, err := o.kit.Store.GetTicketAnyTenant(ctx, ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func requestWithPersonalData() vendorapi.NewRequest {
	return vendorapi.NewRequest{RequestType: "Maintenance", Title: "Guest bathroom leaks", Description: "It drips behind the fridge.",
		Location:  vendorapi.Location{Address: "12 Baker Street"},
		Requester: vendorapi.Person{Name: "Ada Lovelace", Email: "ada@example.org", Phone: "+31 6 5555 1234"},
		Answers:   map[string]string{"when": "call me after 5"}, Attachments: []vendorapi.Attachment{{Name: "sink.jpg", URL: "https://files.example/sink.jpg"}}}
}

// dump writes every column of every row as text.
func dump(t *testing.T, b *strings.Builder, rows *sql.Rows) {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(b, "%s=%v\n", cols[i], v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// everything the store holds about a ticket, as text.
func storedText(t *testing.T, o *ops, id string) string {
	t.Helper()
	var b strings.Builder
	rows, err := o.kit.Store.DB().QueryContext(context.Background(), o.kit.Store.DB().Rebind(`SELECT * FROM tickets WHERE id = ?`), id)
	if err != nil {
		t.Fatal(err)
	}
	dump(t, &b, rows)
	rows, err = o.kit.Store.DB().QueryContext(context.Background(), o.kit.Store.DB().Rebind(`SELECT * FROM events WHERE ticket_id = ?`), id)
	if err != nil {
		t.Fatal(err)
	}
	dump(t, &b, rows)
	return b.String()
}

func TestErasePersonalDataOfAFinishedTicket(t *testing.T) {
	o := newOps(t)
	tk := erasable(t, o, "erase-1")
	before := storedText(t, o, tk.ID)
	for _, p := range personal[:6] {
		if !strings.Contains(before, p) {
			t.Fatalf("the fixture lacks %q", p)
		}
	}

	code, got := o.call("DELETE", "/v1/tickets/"+tk.ID+"/personal-data", "")
	if code != 200 {
		t.Fatalf("erase: %d %v", code, got)
	}
	erasedAt, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(got["erasedAt"]))
	view := got["ticket"].(map[string]any)
	if time.Since(erasedAt) > time.Minute || view["id"] != tk.ID || view["status"] != ticket.Done || view["links"] == nil {
		t.Fatalf("answer: %v", got)
	}
	after := storedText(t, o, tk.ID)
	for _, p := range personal {
		if strings.Contains(after, p) {
			t.Errorf("%q is still in the store after erasure", p)
		}
	}
	// What stays: the anonymous row, the ids and statuses, our own notes, the audit entry.
	for _, keep := range []string{"Maintenance", "104201", "adopted=false", "could not create the request in the work system", "ticket.erased"} {
		if !strings.Contains(after, keep) {
			t.Errorf("%q went too (only personal data goes)", keep)
		}
	}
	evs, _ := o.kit.Store.ListEvents(context.Background(), tk.ID)
	audit := evs[len(evs)-1]
	var entry engine.ErasureEvent
	if err := json.Unmarshal(audit.Payload, &entry); err != nil || audit.Type != ticket.EventErased || audit.DeliveryState != store.DeliveryLocal {
		t.Fatalf("audit entry %+v: %v", audit, err)
	}
	if !strings.Contains(entry.ErasedBy, store.APIKeyID(o.kit.APIKey)) || strings.Contains(entry.ErasedBy, o.kit.APIKey) || !entry.ErasedAt.Equal(erasedAt) {
		t.Fatalf("audit says %+v: want the key's id (never the key) and the time", entry)
	}
	lc, _ := o.kit.Store.TicketLifecycle(context.Background(), tk.ID)
	if lc.ErasedAt == nil || lc.HistoryDeletedAt != nil {
		t.Fatalf("lifecycle %+v: the history deletion is pending until the workflow has closed", lc)
	}
	// The request stays valid for the code that reads it (hook environments, the timeline).
	var req struct {
		Request struct{ RequestType string } `json:"request"`
	}
	if row, _ := o.kit.Store.GetTicketAnyTenant(context.Background(), tk.ID); json.Unmarshal(row.Request, &req) != nil || req.Request.RequestType != "Maintenance" || row.RequestHash != "" {
		t.Fatalf("anonymous request %s (hash %q)", row.Request, row.RequestHash)
	}

	// Again: the same answer, the first erasure stays on record.
	if code, again := o.call("DELETE", "/v1/tickets/"+tk.ID+"/personal-data", ""); code != 200 || again["erasedAt"] != got["erasedAt"] {
		t.Fatalf("second erase: %d %v", code, again)
	}
	if evs2, _ := o.kit.Store.ListEvents(context.Background(), tk.ID); len(evs2) != len(evs) {
		t.Fatalf("a second erasure added timeline rows: %d → %d", len(evs), len(evs2))
	}
}

func TestEraseRefusals(t *testing.T) {
	o := newOps(t)
	open := o.ticketRow("erase-open", ticket.InProgress, time.Now())
	if code, got := o.call("DELETE", "/v1/tickets/"+open.ID+"/personal-data", ""); code != 409 || !strings.Contains(fmt.Sprint(got["detail"]), "cancel it first") {
		t.Fatalf("open ticket: %d %v", code, got)
	}
	if lc, _ := o.kit.Store.TicketLifecycle(context.Background(), open.ID); lc.ErasedAt != nil {
		t.Fatal("an open ticket was erased")
	}
	done := erasable(t, o, "erase-2")
	if code, _ := o.call("DELETE", "/v1/tickets/"+done.ID+"/personal-data", "", o.kit.OtherAPIKey); code != 404 {
		t.Errorf("another tenant's ticket: %d", code)
	}
	if code, _ := o.call("DELETE", "/v1/tickets/tkt_nope/personal-data", ""); code != 404 {
		t.Errorf("unknown ticket: %d", code)
	}
	if code, _ := o.call("GET", "/v1/tickets/"+done.ID+"/personal-data", ""); code != 405 {
		t.Errorf("GET on the erase route: %d", code)
	}
}
