package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Replay of events (Standard Webhooks' "resend", Svix's "recover"): an operator sends events
// the request system already had (or that the workflow gave up on) again, with their original
// ids so receivers dedupe. The notification is rebuilt from the stored timeline row and handed
// to the connection's Request.Notify directly, outside the workflow: a replay never changes a
// ticket's state, only the event's delivery record.

// MaxReplay bounds one bulk replay: the oldest MaxReplay matching events are sent; for more,
// replay again from the last one's occurredAt (receivers dedupe the one sent twice).
const MaxReplay = 1000

// replayTimeout bounds one Notify call of a replay; bulkReplayTimeout one whole bulk replay.
const (
	replayTimeout     = 30 * time.Second
	bulkReplayTimeout = time.Hour
)

// ReplayStates are the delivery states a replay sends: delivered (the receiver lost it) and
// abandoned (the workflow gave up). Pending events are the workflow's to deliver.
var ReplayStates = []string{store.DeliveryDelivered, store.DeliveryAbandoned}

// Errors of single-event replays.
var (
	// ErrNotReplayable: a local timeline entry, or an event the workflow is still delivering.
	ErrNotReplayable = errors.New("event cannot be replayed")
	// ErrEndpointDisabled: the connection's endpoint answered 410 Gone; an operator must
	// re-enable it first.
	ErrEndpointDisabled = errors.New("the request system's endpoint is disabled")
	// ErrReplayBusy: too many bulk replays are running.
	ErrReplayBusy = errors.New("too many replays are running")
)

// bulkReplays bounds concurrent bulk replays per process (each is already bounded in size).
var bulkReplays = make(chan struct{}, 2)

// notificationKinds maps delivered event types to the request side's vendor-neutral kinds.
var notificationKinds = map[string]string{
	ticket.EventStatusChanged:  vendorapi.NotifyStatusChanged,
	ticket.EventFeedbackAdded:  vendorapi.NotifyFeedbackAdded,
	ticket.EventNeedsAttention: vendorapi.NotifyNeedsAttention,
	ticket.EventClosed:         vendorapi.NotifyClosed,
}

// Notification renders a timeline event as the request side's vendor-neutral notification, for
// the workflow's delivery (activities.DeliverEvent) and for replays alike: the internal
// Submitted status is never sent, and a needs-attention reason goes out as its short class
// only (the vendor's full error text, which may name internal hosts, stays on the timeline).
func Notification(ref ticket.Ref, ev ticket.Event, attempt int) vendorapi.Notification {
	n := vendorapi.Notification{
		ID: ev.ID, Kind: notificationKinds[ev.Type], OccurredAt: ev.OccurredAt.UTC(), Attempt: attempt,
		TicketID: ref.TicketID, Tenant: ref.Tenant, Connection: ref.Connection, ExternalID: ref.ExternalID,
		Status: ev.Status, PreviousStatus: ev.PreviousStatus, RemoteID: ev.RemoteID, Category: ev.Category,
	}
	if n.Status == ticket.Submitted {
		n.Status = ""
	}
	if ev.Feedback != nil {
		n.Feedback = &vendorapi.Feedback{ID: ev.Feedback.ID, Text: ev.Feedback.Text, Author: ev.Feedback.Author,
			CreatedAt: ev.Feedback.CreatedAt.UTC(), VisibleToRequestor: true, Attachments: ev.Feedback.Attachments}
	}
	if ev.Attention != nil {
		n.Reason = ReasonClass(ev.Attention.Reason)
		n.Since = ev.Attention.Since.UTC()
	}
	return n
}

// ReasonClass is the part of a park reason that is ours, without the vendor's error text
// that follows the first ": ".
func ReasonClass(reason string) string {
	class, _, _ := strings.Cut(reason, ": ")
	return class
}

// refOf is the ticket a stored event belongs to.
func refOf(ev store.TicketEvent) ticket.Ref {
	return ticket.Ref{TicketID: ev.TicketID, WorkflowID: ev.WorkflowID, Tenant: ev.Tenant,
		Connection: ev.Connection, ExternalID: ev.ExternalID}
}

// eventOf rebuilds the workflow's event from its timeline row; the row's own columns (id,
// sequence, type, time) win over the payload.
func eventOf(row store.Event) (ticket.Event, error) {
	var ev ticket.Event
	if len(row.Payload) > 0 {
		if err := json.Unmarshal(row.Payload, &ev); err != nil {
			return ticket.Event{}, fmt.Errorf("event %s: stored payload is not an event: %w", row.ID, err)
		}
	}
	ev.ID, ev.Seq, ev.Type, ev.OccurredAt = row.ID, row.Seq, row.Type, row.OccurredAt
	return ev, nil
}

// ReplaySelection is what a bulk replay sends: a tenant's connections since a time.
type ReplaySelection struct {
	Tenant      string
	Connections []string
	Since       time.Time
}

// SelectReplay returns the events a bulk replay sends, oldest first, at most MaxReplay.
func (e *Engine) SelectReplay(ctx context.Context, sel ReplaySelection) ([]store.TicketEvent, error) {
	return e.Store.DeliverableEventsSince(ctx, store.EventQuery{Tenant: sel.Tenant, Connections: sel.Connections,
		Since: sel.Since, States: ReplayStates, Limit: MaxReplay})
}

// CheckReplayable says why one stored event cannot be replayed (nil when it can).
func CheckReplayable(ev store.Event) error {
	switch {
	case !ev.Deliver:
		return fmt.Errorf("%w: %s is a timeline entry (%s), never sent to the request system", ErrNotReplayable, ev.ID, ev.Type)
	case ev.DeliveryState == store.DeliveryPending:
		return fmt.Errorf("%w: %s is still being delivered by its ticket's workflow (see the ticket's timeline; retry or skip the ticket instead)", ErrNotReplayable, ev.ID)
	}
	return nil
}

// ReplayCounts summarise a bulk replay.
type ReplayCounts struct {
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"` // endpoint disabled, connection gone, or an earlier event of the ticket failed
}

// ReplayOne sends one event again and records the attempt on its timeline row. The error is
// the request system's (classified like every vendor error) or ErrEndpointDisabled.
func (e *Engine) ReplayOne(ctx context.Context, ev store.TicketEvent) error {
	if err := CheckReplayable(ev.Event); err != nil {
		return err
	}
	if err := e.checkNotErased(ctx, ev, nil); err != nil {
		return err
	}
	return e.replay(ctx, ev)
}

// checkNotErased refuses an event whose content went with an erasure: a feedback_added
// without its text would post an empty comment to the requester. Status events of an erased
// ticket replay as they were. erased caches lookups per ticket (nil: none).
func (e *Engine) checkNotErased(ctx context.Context, ev store.TicketEvent, erased map[string]bool) error {
	if ev.Type != ticket.EventFeedbackAdded {
		return nil
	}
	was, ok := erased[ev.TicketID]
	if !ok {
		lc, err := e.Store.TicketLifecycle(ctx, ev.TicketID)
		if err != nil {
			return err
		}
		was = lc.ErasedAt != nil
		if erased != nil {
			erased[ev.TicketID] = was
		}
	}
	if was {
		return fmt.Errorf("%w: %s carried feedback text that was erased with the ticket's personal data", ErrNotReplayable, ev.ID)
	}
	return nil
}

func (e *Engine) replay(ctx context.Context, row store.TicketEvent) error {
	ref := refOf(row)
	log := ref.Logger(e.log())
	conn, err := e.Connections.Get(row.Connection)
	if err != nil {
		return fmt.Errorf("replay %s: %w", row.ID, err)
	}
	state, err := e.Store.EndpointDisabled(ctx, row.Tenant, row.Connection)
	if err != nil {
		return fmt.Errorf("replay %s: %w", row.ID, err)
	}
	if state.Disabled {
		return fmt.Errorf("%w: connection %s: %s; re-enable it first (connections enable-endpoint)", ErrEndpointDisabled, row.Connection, state.Reason)
	}
	ev, err := eventOf(row.Event)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	sendErr := conn.Request.Notify(cctx, Notification(ref, ev, row.Attempts+1))
	record := ""
	if sendErr != nil {
		record = sendErr.Error()
	}
	if err := e.Store.RecordReplayAttempt(context.WithoutCancel(ctx), row.ID, record, time.Now().UTC()); err != nil {
		log.Warn("record replay attempt", "event", row.ID, "error", err)
	}
	if sendErr != nil {
		log.Warn("replay failed", "event", row.ID, "type", row.Type, "error", sendErr)
		if vendorapi.IsGone(sendErr) {
			if err := e.Store.DisableEndpoint(context.WithoutCancel(ctx), row.Tenant, row.Connection, "the request system answered 410 Gone to a replay of "+row.ID); err != nil {
				log.Warn("disable endpoint", "error", err)
			}
		}
		return fmt.Errorf("replay %s: %w", row.ID, sendErr)
	}
	log.Info("event replayed", "event", row.ID, "type", row.Type)
	return nil
}

// Replay sends events again in the order given, each with its original id, recording every
// attempt on the event's timeline row. A ticket whose event failed gets none of its later
// events (a receiver must not see them out of order); a connection whose endpoint is disabled,
// or answers 410 Gone, gets nothing more.
func (e *Engine) Replay(ctx context.Context, events []store.TicketEvent) ReplayCounts {
	var c ReplayCounts
	failedTickets, blockedConns, erased := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ev := range events {
		if ctx.Err() != nil || failedTickets[ev.TicketID] || blockedConns[ev.Connection] || CheckReplayable(ev.Event) != nil ||
			e.checkNotErased(ctx, ev, erased) != nil {
			c.Skipped++
			continue
		}
		err := e.replay(ctx, ev)
		switch {
		case err == nil:
			c.Sent++
		case errors.Is(err, ErrEndpointDisabled) || vendorapi.IsGone(err):
			blockedConns[ev.Connection] = true
			c.Skipped++
		default:
			failedTickets[ev.TicketID] = true
			c.Failed++
		}
	}
	return c
}

// ReplayInBackground starts Replay of events detached from the caller (an HTTP request ends
// long before a thousand deliveries do), bounded in time and in how many run at once. done,
// when set, is called with the counts at the end.
func (e *Engine) ReplayInBackground(ctx context.Context, events []store.TicketEvent, done func(ReplayCounts)) error {
	select {
	case bulkReplays <- struct{}{}:
	default:
		return ErrReplayBusy
	}
	go func() {
		defer func() { <-bulkReplays }()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bulkReplayTimeout)
		defer cancel()
		started := time.Now()
		c := e.Replay(rctx, events)
		e.log().Info("replay finished", "events", len(events), "sent", c.Sent, "failed", c.Failed, "skipped", c.Skipped,
			"duration", time.Since(started).Round(time.Millisecond).String())
		if done != nil {
			done(c)
		}
	}()
	return nil
}
