package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/ticket"
)

func (r *run) nextEvent(ctx workflow.Context, typ string) ticket.Event {
	r.s.Seq++
	return ticket.Event{
		ID:             ticket.EventID(r.s.WorkflowID, r.s.Seq),
		Seq:            r.s.Seq,
		Type:           typ,
		OccurredAt:     workflow.Now(ctx).UTC(),
		Status:         r.s.Status,
		PreviousStatus: r.s.PreviousStatus,
		RemoteID:       r.s.RemoteID,
		Category:       r.s.Category,
	}
}

// emit queues an event for the request system (and the timeline).
func (r *run) emit(ev ticket.Event) {
	r.s.Outbox = append(r.s.Outbox, ev)
	r.newEvents = append(r.newEvents, ev)
	r.changed()
}

// emitLocal records a timeline-only event.
func (r *run) emitLocal(ctx workflow.Context, typ, detail string) {
	ev := r.nextEvent(ctx, typ)
	ev.Detail = detail
	r.newEvents = append(r.newEvents, ev)
	r.changed()
}

func (r *run) setStatus(ctx workflow.Context, status string) {
	if status == r.s.Status {
		return
	}
	prev := r.s.Status
	r.s.Status = status
	r.s.PreviousStatus = ""
	if prev != ticket.Submitted {
		r.s.PreviousStatus = prev // Submitted is internal: the first event has previousStatus null
	}
	if ticket.IsTerminal(status) && r.version(ctx, changeFinishClean) >= 1 {
		// A finished ticket never needs attention: whatever step was parked has nothing left
		// to do (the search attribute is cleared by the upsert below).
		r.s.NeedsAttention = nil
	}
	r.emit(r.nextEvent(ctx, ticket.EventStatusChanged))
	r.upsertSearchAttributes(ctx)
	if ticket.IsTerminal(status) {
		r.emit(r.nextEvent(ctx, ticket.EventClosed))
		r.s.Finished = true
		r.s.NextPoll = nil
	}
}

// park marks the ticket as needing a human and tells the request system once per reason.
func (r *run) park(ctx workflow.Context, step, reason string) {
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Reason == reason {
		return
	}
	if r.s.Finished && r.version(ctx, changeFinishClean) >= 1 {
		// Only a delivery can still fail after the end: the timeline (and the state query's
		// deliveryBlocked) says so, but a finished ticket never needs attention.
		if r.s.LastError != reason {
			r.s.LastError = reason
			r.emitLocal(ctx, ticket.EventNote, reason+"; later events wait for retry or skip")
		}
		return
	}
	r.s.NeedsAttention = &ticket.Attention{Since: workflow.Now(ctx).UTC(), Reason: reason, Step: step}
	r.logger.Warn("ticket needs attention", "step", step, "reason", reason)
	ev := r.nextEvent(ctx, ticket.EventNeedsAttention)
	ev.Attention = r.s.NeedsAttention
	if step == ticket.StepDelivery {
		// The channel to the request system itself is broken: timeline only.
		r.newEvents = append(r.newEvents, ev)
	} else {
		r.emit(ev)
	}
	r.changed()
	r.upsertSearchAttributes(ctx)
}

// unparkStep clears needs-attention when it was parked by step.
func (r *run) unparkStep(ctx workflow.Context, step string) {
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == step {
		r.unpark(ctx)
	}
}

func (r *run) unpark(ctx workflow.Context) {
	if r.s.NeedsAttention == nil {
		return
	}
	r.s.NeedsAttention = nil
	r.changed()
	r.upsertSearchAttributes(ctx)
}
