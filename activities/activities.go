// Package activities holds the Ticket and ConnectionSync workflows' effects: thin, idempotent
// wrappers that call a vendorapi client or write the store. Every vendor error is classified so
// the workflow can tell "retry with backoff" from "park the ticket for a human".
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
)

// Activities holds the clients every activity needs. Methods are registered on the worker.
type Activities struct {
	Store       *store.Store
	Connections *connectors.Registry
	Sender      *portal.Sender
	// Temporal is used by the change-feed follower to poke tickets.
	Temporal client.Client
	Logger   *slog.Logger
	// FeedInterval is how often FollowChangeFeed reads a change feed.
	FeedInterval time.Duration
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// asTemporalError converts a classified vendor error into an ApplicationError carrying the
// retry decision (and the vendor's Retry-After as the next retry delay).
func asTemporalError(err error) error {
	if err == nil {
		return nil
	}
	var ve *vendorapi.Error
	if errors.As(err, &ve) {
		return temporal.NewApplicationErrorWithOptions(ve.Error(), ve.Kind(), temporal.ApplicationErrorOptions{
			NonRetryable:   !ve.Retryable,
			NextRetryDelay: ve.RetryAfter,
			Cause:          err,
		})
	}
	if errors.Is(err, connectors.ErrUnknownConnection) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	return err
}

func (a *Activities) workSystem(conn string) (vendorapi.WorkSystem, error) {
	c, err := a.Connections.Get(conn)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	return c.Work, nil
}

// CreateRemoteInput asks for the remote request of a ticket.
type CreateRemoteInput struct {
	Ref     ticket.Ref           `json:"ref"`
	Request vendorapi.NewRequest `json:"request"`
}

// CreateRemoteOutput is the remote request as it exists after the call.
type CreateRemoteOutput struct {
	Kind      string                  `json:"kind"`
	Reference string                  `json:"reference"`
	Adopted   bool                    `json:"adopted"` // it existed already (earlier attempt or run)
	Remote    vendorapi.RemoteRequest `json:"remote"`
	Truncated []string                `json:"truncated,omitempty"`
}

// CreateRemote creates the ticket's request in the work system exactly once: it looks the
// request up by our external reference first and creates only when absent; a duplicate-reference
// answer from the vendor (a create that committed but whose response was lost) is adopted.
func (a *Activities) CreateRemote(ctx context.Context, in CreateRemoteInput) (CreateRemoteOutput, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return CreateRemoteOutput{}, err
	}
	ref := ws.Reference(in.Ref.Connection, in.Ref.ExternalID)
	out := CreateRemoteOutput{Kind: ws.Kind(), Reference: ref}
	existing, err := ws.FindByReference(ctx, ref)
	if err != nil {
		return out, asTemporalError(fmt.Errorf("look up %s: %w", ref, err))
	}
	if existing != nil {
		out.Adopted = true
		out.Remote = *existing
		return out, nil
	}
	req := in.Request
	req.ExternalReference = ref
	if t, ok := ws.(interface {
		Truncations(vendorapi.NewRequest) []string
	}); ok {
		out.Truncated = t.Truncations(req)
	}
	id, err := ws.Create(ctx, req)
	if err != nil {
		return out, asTemporalError(err)
	}
	remote, err := ws.Get(ctx, id)
	if err != nil {
		return out, asTemporalError(fmt.Errorf("read back created request %s: %w", id, err))
	}
	out.Remote = *remote
	activity.GetLogger(ctx).Info("remote request ready", "remoteId", id, "reference", ref)
	return out, nil
}

// PollInput names the remote request to read.
type PollInput struct {
	Ref      ticket.Ref `json:"ref"`
	RemoteID string     `json:"remoteId"`
}

// PollRemote reads the remote request (the workflow diffs it).
func (a *Activities) PollRemote(ctx context.Context, in PollInput) (vendorapi.RemoteRequest, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return vendorapi.RemoteRequest{}, err
	}
	remote, err := ws.Get(ctx, in.RemoteID)
	if err != nil {
		return vendorapi.RemoteRequest{}, asTemporalError(err)
	}
	return *remote, nil
}

// PollOutput is a poll's snapshot plus whether the connection's change feed is healthy.
type PollOutput struct {
	Remote      vendorapi.RemoteRequest `json:"remote"`
	FeedHealthy bool                    `json:"feedHealthy"`
}

// PollRemoteWithFeedHealth reads the remote request and reports the feed's health: the
// follower read the feed recently and without error.
func (a *Activities) PollRemoteWithFeedHealth(ctx context.Context, in PollInput) (PollOutput, error) {
	remote, err := a.PollRemote(ctx, in)
	if err != nil {
		return PollOutput{}, err
	}
	return PollOutput{Remote: remote, FeedHealthy: a.feedHealthy(ctx, in.Ref.Connection)}, nil
}

// feedHealthy: the last successful read is recent (the follower records it every 30 s at
// most) and no error is outstanding.
func (a *Activities) feedHealthy(ctx context.Context, conn string) bool {
	last, err := a.Store.GetCursor(ctx, conn, FeedLastReadCursor)
	if err != nil || last == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, last)
	if err != nil {
		return false
	}
	interval := a.FeedInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if time.Since(t) > 2*time.Minute+3*interval {
		return false
	}
	lastErr, err := a.Store.GetCursor(ctx, conn, FeedLastErrorCursor)
	return err == nil && lastErr == ""
}

// CancelRemoteInput asks to cancel the remote request.
type CancelRemoteInput struct {
	Ref      ticket.Ref `json:"ref"`
	RemoteID string     `json:"remoteId"` // empty: look it up by reference (create may have committed)
	Reason   string     `json:"reason"`
}

// CancelRemoteOutput is the remote request after the cancel (nil when none ever existed).
type CancelRemoteOutput struct {
	Remote *vendorapi.RemoteRequest `json:"remote"`
}

// CancelRemote cancels the remote request. Cancelling a cancelled request is a no-op at the
// vendor; a request that already reached another terminal state (409) is read back instead.
func (a *Activities) CancelRemote(ctx context.Context, in CancelRemoteInput) (CancelRemoteOutput, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return CancelRemoteOutput{}, err
	}
	id := in.RemoteID
	if id == "" {
		existing, err := ws.FindByReference(ctx, ws.Reference(in.Ref.Connection, in.Ref.ExternalID))
		if err != nil {
			return CancelRemoteOutput{}, asTemporalError(err)
		}
		if existing == nil {
			return CancelRemoteOutput{}, nil
		}
		id = existing.ID
	}
	remote, err := ws.Cancel(ctx, id, in.Reason)
	if vendorapi.IsConflict(err) {
		remote, err = ws.Get(ctx, id)
	}
	if err != nil {
		return CancelRemoteOutput{}, asTemporalError(err)
	}
	return CancelRemoteOutput{Remote: remote}, nil
}

// CommentInput is a requester comment to forward.
type CommentInput struct {
	Ref      ticket.Ref        `json:"ref"`
	RemoteID string            `json:"remoteId"`
	Comment  vendorapi.Comment `json:"comment"`
}

// AddRemoteComment forwards a requester comment. The vendor's POST is not idempotent, so a
// retried attempt first checks whether an earlier attempt already landed (same text+author).
func (a *Activities) AddRemoteComment(ctx context.Context, in CommentInput) (vendorapi.Comment, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return vendorapi.Comment{}, err
	}
	if activity.GetInfo(ctx).Attempt > 1 {
		remote, err := ws.Get(ctx, in.RemoteID)
		if err != nil {
			return vendorapi.Comment{}, asTemporalError(err)
		}
		for i := len(remote.Comments) - 1; i >= 0; i-- {
			c := remote.Comments[i]
			if c.Text == in.Comment.Text && c.Author == in.Comment.Author {
				return c, nil
			}
		}
	}
	c, err := ws.AddComment(ctx, in.RemoteID, in.Comment)
	return c, asTemporalError(err)
}

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
		RemoteStatus: in.RemoteStatus, Category: in.Category, UpdatedAt: in.UpdatedAt}
	if in.NeedsAttention != nil {
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

// DeliverInput is one event to deliver.
type DeliverInput struct {
	Ref   ticket.Ref   `json:"ref"`
	Event ticket.Event `json:"event"`
}

// DeliverEvent signs and posts one event to the request system. Each attempt is recorded on the
// timeline; the retry policy (10 s × 2ⁿ, capped at 1 h, for 24 h) lives in the workflow.
func (a *Activities) DeliverEvent(ctx context.Context, in DeliverInput) error {
	conn, err := a.Connections.Get(in.Ref.Connection)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	// The delivery may start before the workflow's read-model sync recorded the row.
	if row, err := eventRow(in.Ref, in.Event); err == nil {
		if err := a.Store.AppendEvents(ctx, []store.Event{row}); err != nil {
			a.log().Warn("record event before delivery", "event", in.Event.ID, "error", err)
		}
	}
	ev := PortalEvent(in.Ref, in.Event)
	err = a.Sender.Deliver(ctx, conn.Portal, ev, attempt)
	now := time.Now().UTC()
	if err != nil {
		if markErr := a.Store.MarkEventDelivery(ctx, in.Event.ID, store.DeliveryPending, attempt, err.Error(), now); markErr != nil {
			a.log().Warn("record delivery attempt", "event", in.Event.ID, "error", markErr)
		}
		if portal.IsGone(err) || !vendorapi.IsRetryable(err) {
			if markErr := a.Store.MarkEventDelivery(ctx, in.Event.ID, store.DeliveryAbandoned, attempt, err.Error(), now); markErr != nil {
				a.log().Warn("record abandoned delivery", "event", in.Event.ID, "error", markErr)
			}
		}
		if portal.IsGone(err) {
			return temporal.NewNonRetryableApplicationError("request system answered 410 Gone: endpoint disabled until an operator re-enables it", "Gone", err)
		}
		return asTemporalError(err)
	}
	if err := a.Store.MarkEventDelivery(ctx, in.Event.ID, store.DeliveryDelivered, attempt, "", now); err != nil {
		// Delivered but not recorded: the receiver has it; the timeline catches up on replay.
		a.log().Warn("record delivery", "event", in.Event.ID, "error", err)
	}
	return nil
}

// PortalEvent renders a timeline event in the request system's vocabulary (contracts/portal.md).
func PortalEvent(ref ticket.Ref, ev ticket.Event) portal.Event {
	out := portal.Event{
		ID:         ev.ID,
		Type:       ev.Type,
		OccurredAt: ev.OccurredAt.UTC(),
		Ticket: portal.Ticket{
			ID:             ref.TicketID,
			Tenant:         ref.Tenant,
			ExternalID:     ref.ExternalID,
			Status:         ev.Status,
			PreviousStatus: ev.PreviousStatus,
			RemoteID:       ev.RemoteID,
			Category:       ev.Category,
		},
	}
	if ev.Status == "Submitted" {
		out.Ticket.Status = "" // internal status, never sent
	}
	if ev.Feedback != nil {
		out.Feedback = &portal.Feedback{ID: ev.Feedback.ID, Text: ev.Feedback.Text,
			Author: ev.Feedback.Author, CreatedAt: ev.Feedback.CreatedAt.UTC()}
	}
	if ev.Attention != nil {
		out.Attention = &portal.Attention{Reason: ev.Attention.Reason, Since: ev.Attention.Since.UTC()}
	}
	return out
}
