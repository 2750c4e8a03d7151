package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// SyncInput is the read-model view of a ticket plus timeline rows to record.
type SyncInput struct {
	Ref            ticket.Ref           `json:"ref"`
	MappingVersion string               `json:"mappingVersion"`
	Request        vendorapi.NewRequest `json:"request"`
	Status         string               `json:"status"`
	RemoteID       string               `json:"remoteId"`
	RemoteStatus   string               `json:"remoteStatus"`
	Category       string               `json:"category"`
	NeedsAttention *ticket.Attention    `json:"needsAttention"`
	Paused         *ticket.Pause        `json:"paused"`
	UpdatedAt      time.Time            `json:"updatedAt"`
	Events         []ticket.Event       `json:"events"`
	// Version orders the writes (store.TicketState.Version): the workflow's own counter,
	// carried across continue-as-new. 0 from workflows older than it (ordered by time).
	Version int64 `json:"version,omitempty"`
}

// SyncTicket writes the ticket's read model and appends timeline rows (insert-or-ignore by
// event id, so replays and retries never duplicate).
func (a *Activities) SyncTicket(ctx context.Context, in SyncInput) error {
	row := store.Ticket{ID: in.Ref.TicketID, Tenant: in.Ref.Tenant, Connection: in.Ref.Connection,
		ExternalID: in.Ref.ExternalID, WorkflowID: in.Ref.WorkflowID, Status: in.Status,
		MappingVersion: in.MappingVersion, CreatedAt: in.UpdatedAt, UpdatedAt: in.UpdatedAt}
	if raw, err := json.Marshal(in.Request); err == nil {
		row.Request = raw
	}
	// The API inserts the row before starting the workflow; this repairs a row lost to a crash.
	if _, _, err := a.Store.CreateTicket(ctx, row); err != nil {
		return fmt.Errorf("ensure ticket row: %w", err)
	}
	st := store.TicketState{ID: in.Ref.TicketID, Status: in.Status, RemoteID: in.RemoteID,
		RemoteStatus: in.RemoteStatus, Category: in.Category, UpdatedAt: in.UpdatedAt, Version: in.Version}
	// A finished ticket never needs attention (workflows older than finish-clean may still
	// hold a reason from a step that has nothing left to do).
	if in.NeedsAttention != nil && !ticket.IsTerminal(in.Status) {
		st.NeedsAttention = true
		st.AttentionReason = in.NeedsAttention.Reason
		since := in.NeedsAttention.Since
		st.AttentionSince = &since
	}
	if in.Paused != nil {
		st.Paused = true
		st.PausedReason = in.Paused.Reason
		since := in.Paused.Since
		st.PausedSince = &since
	}
	if err := a.Store.UpdateTicketState(ctx, st); err != nil {
		return fmt.Errorf("update ticket state: %w", err)
	}
	if len(in.Events) == 0 {
		return nil
	}
	rows := make([]store.Event, 0, len(in.Events))
	for _, ev := range in.Events {
		row, err := eventRow(in.Ref, ev)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	return a.Store.AppendEvents(ctx, rows)
}

// eventRow is the timeline row of an event.
func eventRow(ref ticket.Ref, ev ticket.Event) (store.Event, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return store.Event{}, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	state := store.DeliveryLocal
	if ticket.Delivered(ev.Type) && !(ev.Type == ticket.EventNeedsAttention && ev.Attention != nil && ev.Attention.Step == "delivery") {
		state = store.DeliveryPending
	}
	return store.Event{ID: ev.ID, TicketID: ref.TicketID, Seq: ev.Seq, Type: ev.Type, Payload: payload,
		OccurredAt: ev.OccurredAt, Deliver: state == store.DeliveryPending, DeliveryState: state}, nil
}
