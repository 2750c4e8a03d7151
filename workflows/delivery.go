package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
)

func (r *run) eventMaxAge() time.Duration {
	if r.in.EventMaxAge > 0 {
		return r.in.EventMaxAge
	}
	return DefaultEventMaxAge
}

// deliveryLoop sends outbox events to the request system in order, one at a time, in its own
// coroutine so delivery retries never block polling.
func (r *run) deliveryLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.s.Outbox) > 0 && !r.s.DeliveryBlocked }); err != nil {
			return
		}
		ev := r.s.Outbox[0]
		attemptsCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: r.eventMaxAge(),
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    10 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    time.Hour,
			},
			Summary: "deliver " + ev.Type + " to request system",
		})
		r.deliveryInFlight = true
		err := workflow.ExecuteActivity(attemptsCtx, acts.DeliverEvent, activities.DeliverInput{Ref: r.ref(), Event: ev}).Get(ctx, nil)
		r.deliveryInFlight = false
		if err != nil && ctx.Err() != nil {
			return
		}
		if len(r.s.Outbox) == 0 || r.s.Outbox[0].ID != ev.ID {
			continue // skipped by an operator meanwhile
		}
		if err == nil {
			r.s.Outbox = r.s.Outbox[1:]
			r.s.Events.Delivered++
			continue
		}
		// Abandoned (24 h of failures, 410 Gone, or a refused target): later events wait for
		// an operator's retry or skip. Visible in Temporal Web via TicketNeedsAttention.
		r.s.DeliveryBlocked = true
		r.park(ctx, ticket.StepDelivery, fmt.Sprintf("event %s (%s) could not be delivered: %s", ev.ID, ev.Type, errText(err)))
		_ = r.sync(ctx)
	}
}
