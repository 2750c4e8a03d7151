package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// What a ticket keeps in its state is bounded (changeBoundedState; budgets in ticket/limits.go)
// so that no continue-as-new input, signal or activity payload approaches Temporal's 2 MiB
// blob limit, whatever happens over the ticket's life: seen ids are bounded hash sets, the
// outbox takes new feedback only while it has room (the work system keeps the rest, read once
// deliveries catch up), and a comment that finds the queue full is recorded on the timeline.

// seenFeedback returns the bounded set of feedback ids read, built from the list an older
// run carried.
func (r *run) seenFeedback() *ticket.IDSet {
	if r.s.SeenFeedbackIDs == nil {
		r.s.SeenFeedbackIDs = &ticket.IDSet{}
		for _, id := range r.s.SeenFeedback {
			r.s.SeenFeedbackIDs.Add(id, time.Time{})
		}
		r.s.SeenFeedback = nil
	}
	return r.s.SeenFeedbackIDs
}

// seenComments returns the bounded set of request-system comment ids received.
func (r *run) seenComments() *ticket.IDSet {
	if r.s.SeenCommentIDs == nil {
		r.s.SeenCommentIDs = &ticket.IDSet{}
		for _, id := range r.s.SeenComments {
			r.s.SeenCommentIDs.Add(id, time.Time{})
		}
		r.s.SeenComments = nil
	}
	return r.s.SeenCommentIDs
}

// queueComment queues a requester comment within the pending budget. A comment with the
// request system's id crosses exactly once; one that finds the queue full is not queued (the
// API answers 429 long before; other paths report again later since its id is not marked
// seen) and its text is kept on the timeline.
func (r *run) queueComment(ctx workflow.Context, c ticket.CommentSignal) {
	c.Text, _ = ticket.Clip(c.Text, ticket.MaxCommentText)
	if c.ID != "" && r.seenComments().Has(c.ID, time.Time{}) {
		return
	}
	bytes := ticket.CommentBytes(c)
	for _, p := range r.s.PendingComments {
		bytes += ticket.CommentBytes(p)
	}
	if len(r.s.PendingComments) >= ticket.MaxPendingComments || bytes > ticket.MaxPendingCommentBytes {
		r.emitLocal(ctx, ticket.EventNote, fmt.Sprintf("comment from %s NOT accepted: %d comments already wait for the work system; its text: %s",
			c.Author, len(r.s.PendingComments), c.Text))
		return
	}
	if c.ID != "" {
		r.seenComments().Add(c.ID, time.Time{})
	}
	r.s.PendingComments = append(r.s.PendingComments, c)
}

// outboxBytes is the encoded size of the events waiting for the request system.
func (r *run) outboxBytes() int {
	n := 0
	for _, ev := range r.s.Outbox {
		n += ticket.EventBytes(ev)
	}
	return n
}

// outboxFull: no new feedback is taken until deliveries make room.
func (r *run) outboxFull() bool {
	return len(r.s.Outbox) >= ticket.MaxOutboxEvents || r.outboxBytes() >= ticket.MaxOutboxBytes
}

// outboxHasRoom is the hysteresis of outboxFull: deferred feedback is read again once the
// outbox is down to half its budget.
func (r *run) outboxHasRoom() bool {
	return len(r.s.Outbox) <= ticket.MaxOutboxEvents/2 && r.outboxBytes() <= ticket.MaxOutboxBytes/2
}

// applyFeedbackBounded emits the new requester-visible feedback of a snapshot while the outbox
// has room and reports whether some was left unread (it is not marked seen: a later read
// takes it). Hidden feedback is only marked seen.
func (r *run) applyFeedbackBounded(ctx workflow.Context, feedback []vendorapi.Feedback) (deferred bool) {
	seen := r.seenFeedback()
	for _, fb := range feedback {
		if seen.Has(fb.ID, fb.CreatedAt) {
			continue
		}
		if fb.VisibleToRequestor && (deferred || r.outboxFull()) {
			deferred = true // order is kept: nothing after the first deferred one is emitted
			continue
		}
		seen.Add(fb.ID, fb.CreatedAt)
		if !fb.VisibleToRequestor {
			continue
		}
		if r.s.Status == ticket.Submitted && r.version(ctx, changeFeedbackAfterRequested) >= 1 {
			r.setStatus(ctx, ticket.Requested) // the work system has the request
		}
		text, _ := ticket.Clip(fb.Text, ticket.MaxFeedbackText)
		ev := r.nextEvent(ctx, ticket.EventFeedbackAdded)
		ev.Feedback = &ticket.Feedback{ID: fb.ID, Text: text, Author: fb.Author, CreatedAt: fb.CreatedAt.UTC(),
			Attachments: slices.Clone(fb.Attachments)}
		r.emit(ev)
	}
	return deferred
}
