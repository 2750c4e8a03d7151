package workflows

import (
	"errors"
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

// deliveryRetryCap: an hour between a webhook's attempts (contracts/portal.md), the vendor-call
// cap for request systems notified through their API (ticket.Input.DeliveryRetryCap).
func (r *run) deliveryRetryCap() time.Duration {
	if r.in.DeliveryRetryCap > 0 {
		return r.in.DeliveryRetryCap
	}
	return time.Hour
}

// deliveryLoop sends outbox events to the request system in order, one at a time, in its own
// coroutine so delivery retries never block polling.
func (r *run) deliveryLoop(ctx workflow.Context) {
	for {
		if r.s.EndpointWait && r.s.DeliveryBlocked && len(r.s.Outbox) > 0 {
			// Carried from the previous run (only runs since changeEndpointWait carry it): keep
			// waiting for the endpoint, re-checked hourly.
			if !r.waitForEndpoint(ctx) {
				return
			}
			continue
		}
		if err := workflow.Await(ctx, func() bool { return len(r.s.Outbox) > 0 && !r.s.DeliveryBlocked && !r.handingOver }); err != nil {
			return
		}
		ev := r.s.Outbox[0]
		attemptsCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: r.eventMaxAge(),
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    10 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    r.deliveryRetryCap(),
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
			r.delivered(ctx)
			continue
		}
		if isEndpointDisabled(err) && r.version(ctx, changeEndpointWait) >= 1 {
			if !r.waitForEndpoint(ctx) {
				return
			}
			continue
		}
		// Abandoned (24 h of failures, 410 Gone, or a refused target): later events wait for
		// an operator's retry or skip. Visible in Temporal Web via TicketNeedsAttention.
		r.s.DeliveryBlocked = true
		r.park(ctx, ticket.StepDelivery, fmt.Sprintf("event %s (%s) could not be delivered: %s", ev.ID, ev.Type, errText(err)))
		_ = r.sync(ctx)
	}
}

// EndpointRecheck is how often a ticket whose deliveries wait for a disabled endpoint asks
// the store again (re-enabling the endpoint also sends retry to every waiting ticket).
const EndpointRecheck = time.Hour

// isEndpointDisabled: the delivery found the connection's endpoint disabled, or disabled it
// (410 Gone).
func isEndpointDisabled(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && (appErr.Type() == activities.ErrTypeGone || appErr.Type() == activities.ErrTypeEndpointDisabled)
}

// waitForEndpoint parks deliveries while the connection's endpoint is disabled (contracts/
// portal.md: a 410 disables the tenant's endpoint until an operator re-enables it). The event
// is not abandoned: it is sent again after a retry (the operator's enable-endpoint sends one)
// or the hourly re-check, each with a fresh retry window. The reason is the same for every
// check, so a waiting ticket parks once. It reports false when the workflow is ending.
func (r *run) waitForEndpoint(ctx workflow.Context) bool {
	r.s.DeliveryBlocked, r.s.EndpointWait = true, true
	r.park(ctx, ticket.StepDelivery, fmt.Sprintf("%s: deliveries of every ticket of connection %s wait until an operator re-enables it (ticketsync connections enable-endpoint %s)",
		ticket.ReasonEndpointDisabled, r.s.Connection, r.s.Connection))
	_ = r.sync(ctx)
	recheck, err := workflow.AwaitWithTimeout(ctx, EndpointRecheck, func() bool { return !r.s.DeliveryBlocked || len(r.s.Outbox) == 0 })
	if err != nil {
		return false
	}
	if !recheck && r.s.EndpointWait {
		r.s.DeliveryBlocked = false // time to ask again
	}
	return true
}

// delivered follows a successful delivery: a wait for the endpoint is over, and feedback left
// unread for lack of room is read once the outbox is down to half its budget.
func (r *run) delivered(ctx workflow.Context) {
	if r.s.EndpointWait {
		r.s.EndpointWait = false
		r.unparkStep(ctx, ticket.StepDelivery)
		_ = r.sync(ctx) // the main loop may sleep for an hour
	}
	if r.s.FeedbackDeferred && r.outboxHasRoom() {
		r.s.FeedbackDeferred = false
		r.pollNow = true
		r.wake.SendAsync(true)
	}
}
