package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// DeliverInput is one event to deliver.
type DeliverInput struct {
	Ref   ticket.Ref   `json:"ref"`
	Event ticket.Event `json:"event"`
}

// DeliverEvent hands one event to the connection's request system (the portal's signed
// webhook, or a native call such as a SeeClickFix comment). Every request system gets the
// same semantics: in order (the workflow sends one at a time), each attempt recorded on the
// timeline, retried by the workflow's policy (10 s × 2ⁿ, capped at 1 h, for 24 h), parked on a
// non-retryable answer, and a 410 Gone disables the connection's endpoint in the store: every
// ticket of the connection then finds it disabled here and waits, sending nothing, until an
// operator re-enables it (contracts/portal.md). An attempt cut short by a stopping worker is
// retried, never abandoned.
func (a *Activities) DeliverEvent(ctx context.Context, in DeliverInput) error {
	conn, err := a.conn(in.Ref.Connection)
	if err != nil {
		return err
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	// The delivery may start before the workflow's read-model sync recorded the row.
	if row, err := eventRow(in.Ref, in.Event); err == nil {
		if err := a.Store.AppendEvents(ctx, []store.Event{row}); err != nil {
			a.log().Warn("record event before delivery", "event", in.Event.ID, "error", err)
		}
	}
	ep, err := a.Store.EndpointDisabled(ctx, in.Ref.Tenant, in.Ref.Connection)
	if err != nil {
		return asTemporalError(ctx, fmt.Errorf("read the endpoint state of %s: %w", in.Ref.Connection, err))
	}
	if ep.Disabled {
		since := ""
		if ep.DisabledAt != nil {
			since = " since " + ep.DisabledAt.UTC().Format(time.RFC3339)
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the endpoint of connection %s is disabled%s (%s): event not sent; an operator re-enables it",
			in.Ref.Connection, since, ep.Reason), ErrTypeEndpointDisabled, nil)
	}
	err = conn.Request.Notify(ctx, engine.Notification(in.Ref, in.Event, attempt))
	now := time.Now().UTC()
	if err == nil {
		metrics.ObserveEventDelivery(in.Ref.Connection, now.Sub(in.Event.OccurredAt))
		if err := a.Store.MarkEventDelivery(ctx, in.Event.ID, store.DeliveryDelivered, attempt, "", now); err != nil {
			// Delivered but not recorded: the receiver has it; the timeline catches up on replay.
			a.log().Warn("record delivery", "event", in.Event.ID, "error", err)
		}
		return nil
	}
	mark := func(state string) {
		if markErr := a.Store.MarkEventDelivery(context.WithoutCancel(ctx), in.Event.ID, state, attempt, err.Error(), now); markErr != nil {
			a.log().Warn("record delivery attempt", "event", in.Event.ID, "state", state, "error", markErr)
		}
	}
	mark(store.DeliveryPending)
	metrics.CountEventDeliveryRetry(in.Ref.Connection)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return asTemporalError(ctx, err) // interrupted: retried, not abandoned
	}
	if vendorapi.IsGone(err) {
		reason := fmt.Sprintf("the request system answered 410 Gone to event %s of ticket %s", in.Event.ID, in.Ref.TicketID)
		if derr := a.Store.DisableEndpoint(ctx, in.Ref.Tenant, in.Ref.Connection, reason); derr != nil {
			// Not recorded: retry, and the next attempt's 410 disables it.
			return asTemporalError(ctx, fmt.Errorf("disable the endpoint after a 410: %w", derr))
		}
		a.log().Warn("request system answered 410 Gone: endpoint disabled until an operator re-enables it",
			"connection", in.Ref.Connection, "tenant", in.Ref.Tenant, "event", in.Event.ID)
		return temporal.NewNonRetryableApplicationError("request system answered 410 Gone: endpoint disabled until an operator re-enables it", ErrTypeGone, err)
	}
	if !vendorapi.IsRetryable(err) {
		mark(store.DeliveryAbandoned)
	}
	return asTemporalError(ctx, err)
}
