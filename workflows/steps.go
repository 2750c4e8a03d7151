package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.NonRetryable()
	}
	return false
}

// errText is the operator-facing text of an activity error (its innermost cause).
func errText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "timed out: " + timeoutErr.Error()
	}
	return err.Error()
}

func vendorActivityOptions(summary string, scheduleToClose time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: scheduleToClose,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    vendorapi.MaxRetryInterval,
		},
		Summary: summary,
	}
}

// createPhase creates the remote request (looking it up first) and parks on failure until a
// retry, a cancel, or the next timer tick (a fixed configuration) lets it through.
func (r *run) createPhase(ctx workflow.Context) error {
	for r.s.RemoteID == "" && !r.s.Finished {
		r.drainSignals(ctx)
		if r.shouldContinueAsNew(ctx) {
			return errContinueAsNew // a create parked for days must not grow one run's history
		}
		if r.s.CancelRequested != nil {
			// The create may have committed remotely even though we saw an error: the cancel
			// activity looks the request up by our reference before giving up on it.
			return r.cancelRemote(ctx)
		}
		if r.s.Paused == nil {
			actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("create request in work system", time.Hour))
			var out activities.CreateRemoteOutput
			err := workflow.ExecuteActivity(actx, acts.CreateRemote, activities.CreateRemoteInput{Ref: r.ref(), Request: r.in.Request}).Get(ctx, &out)
			if err == nil {
				r.s.LastError = ""
				r.unpark(ctx)
				r.s.RemoteID = out.Remote.ID
				for _, t := range out.Truncated {
					r.emitLocal(ctx, ticket.EventTruncated, t)
				}
				// Notes of the create (e.g. a geocode fallback); none in older histories, so
				// replays see no difference.
				for _, n := range out.Notes {
					r.emitLocal(ctx, ticket.EventNote, n)
				}
				r.emitLocal(ctx, ticket.EventRemoteCreated, fmt.Sprintf("%s request %s (reference %s, adopted=%t)", out.Kind, out.Remote.ID, out.Reference, out.Adopted))
				r.apply(ctx, out.Remote)
				r.upsertSearchAttributes(ctx)
				return r.sync(ctx)
			}
			r.s.LastError = errText(err)
			r.park(ctx, ticket.StepCreate, "could not create the request in the work system: "+errText(err))
			if err := r.sync(ctx); err != nil {
				return err
			}
		}
		// Parked (or paused): wait for retry, cancel, resume or the next timer tick.
		r.retryRequested = false
		_ = r.sync(ctx)
		var d time.Duration
		if r.s.Paused == nil {
			d = r.nextPollDelay(ctx)
		}
		r.sleepOrSignal(ctx, d, false)
		r.s.Polls++
		_ = r.sync(ctx)
	}
	return nil
}

// poll reads the remote request and applies what changed.
func (r *run) poll(ctx workflow.Context) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 20 * time.Second},
		Summary:                "poll work system",
	})
	var remote vendorapi.RemoteRequest
	var err error
	feedAware := r.version(ctx, changeFeedAwarePoll) != workflow.DefaultVersion
	in := activities.PollInput{Ref: r.ref(), RemoteID: r.s.RemoteID}
	if r.timerPoll && r.s.NextPoll != nil {
		in.Due = *r.s.NextPoll // a timer poll: measured against when it was due
	}
	bounded := r.version(ctx, changeBoundedState) >= 1
	if bounded {
		// The activity returns only feedback not read yet, a bounded amount of it: a request
		// with thousands of notes must not make a result near the blob limit.
		in.Seen, in.MaxFeedback = r.seenFeedback(), ticket.MaxFeedbackPerPoll
	}
	more := false
	// Version 1: the poll also reports whether the connection's change feed is healthy, so a
	// quiet ticket can relax its safety-net timer (fewer vendor calls and history events).
	if !feedAware {
		err = workflow.ExecuteLocalActivity(lctx, acts.PollRemote, in).Get(ctx, &remote)
		more = bounded && len(remote.Feedback) >= ticket.MaxFeedbackPerPoll
	} else {
		var out activities.PollOutput
		err = workflow.ExecuteLocalActivity(lctx, acts.PollRemoteWithFeedHealth, in).Get(ctx, &out)
		remote, more = out.Remote, out.More
		r.s.FeedHealthy = err == nil && out.FeedHealthy
	}
	now := workflow.Now(ctx).UTC()
	r.s.Polls++
	r.s.LastPoll = &now
	// Version 1: LastPoll is query-only, so a quiet poll no longer writes the read model
	// (6 instead of 7 history events per quiet cycle). Older histories keep the old path.
	if r.version(ctx, changeQuietPoll) == workflow.DefaultVersion {
		r.changed()
	}
	if err != nil {
		r.s.LastError = errText(err)
		if isNonRetryable(err) {
			r.park(ctx, ticket.StepPoll, "cannot read the request from the work system: "+errText(err))
		}
		_ = r.sync(ctx)
		return
	}
	r.s.LastError = ""
	r.unparkStep(ctx, ticket.StepPoll)
	r.applyRead(ctx, remote, more)
	_ = r.sync(ctx)
}

// apply diffs a complete remote snapshot against state (see applyRead).
func (r *run) apply(ctx workflow.Context, remote vendorapi.RemoteRequest) {
	r.applyRead(ctx, remote, false)
}

// applyRead diffs a remote snapshot against state: status translation, new visible feedback,
// parking on unmapped statuses (never guessed) and un-parking when mapped again. more says the
// read left feedback for the next one: the ticket does not finish before it has read it all.
func (r *run) applyRead(ctx workflow.Context, remote vendorapi.RemoteRequest, more bool) {
	if remote.ID != "" && remote.ID != r.s.RemoteID {
		r.s.RemoteID = remote.ID
	}
	if remote.ModifiedAt.After(r.s.RemoteModifiedAt) {
		r.s.RemoteModifiedAt = remote.ModifiedAt
	}
	if remote.Status != r.s.RemoteStatus || remote.Category != r.s.Category {
		r.changed()
	}
	r.s.RemoteStatus = remote.Status
	r.s.Category = remote.Category

	portalStatus, mapped := r.mapping.Translate(remote.Status)
	if !mapped {
		r.park(ctx, ticket.StepStatus, fmt.Sprintf("unmapped remote status %q (mapping %s)", remote.Status, r.mapping.Name))
	} else {
		r.unparkStep(ctx, ticket.StepStatus)
	}

	terminal := mapped && ticket.IsTerminal(portalStatus)
	if mapped && !terminal {
		r.setStatus(ctx, portalStatus)
	}
	// Feedback after the status it came with, so the event carries the new status; before
	// closing, so ticket.closed stays last.
	if r.version(ctx, changeBoundedState) >= 1 {
		full := r.applyFeedbackBounded(ctx, remote.Feedback)
		r.s.FeedbackDeferred = full || more
		if more && !full {
			r.pollNow = true // the read was cut short: read on at once
		}
		switch {
		case r.s.FeedbackDeferred:
		case terminal:
			r.setStatus(ctx, portalStatus)
		case r.s.CancelAccepted: // the cancel's feedback is all read (cancelRemote)
			r.setStatus(ctx, ticket.Canceled)
		}
		return
	}
	for _, fb := range remote.Feedback {
		if slices.Contains(r.s.SeenFeedback, fb.ID) {
			continue
		}
		r.s.SeenFeedback = append(r.s.SeenFeedback, fb.ID)
		if !fb.VisibleToRequestor {
			continue
		}
		ev := r.nextEvent(ctx, ticket.EventFeedbackAdded)
		ev.Feedback = &ticket.Feedback{ID: fb.ID, Text: fb.Text, Author: fb.Author, CreatedAt: fb.CreatedAt.UTC(), Attachments: fb.Attachments}
		r.emit(ev)
	}
	if terminal {
		r.setStatus(ctx, portalStatus)
	}
}

// cancelRemote cancels on behalf of the requester, then finishes as Canceled (or as whatever
// terminal state the work system already reached).
func (r *run) cancelRemote(ctx workflow.Context) error {
	reason := r.s.CancelRequested.Reason
	actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("cancel request in work system", time.Hour))
	var out activities.CancelRemoteOutput
	in := activities.CancelRemoteInput{Ref: r.ref(), RemoteID: r.s.RemoteID, Reason: reason}
	if r.version(ctx, changeBoundedState) >= 1 {
		in.Seen, in.MaxFeedback = r.seenFeedback(), ticket.MaxFeedbackPerPoll
	}
	err := workflow.ExecuteActivity(actx, acts.CancelRemote, in).Get(ctx, &out)
	if err != nil && r.s.RemoteID == "" && isNonRetryable(err) {
		// The request never reached the work system as far as we know, and we cannot look:
		// honour the requester's cancel and leave a trail for the operator.
		r.emitLocal(ctx, ticket.EventNote, "canceled before the work system had the request; lookup failed: "+errText(err))
		r.unpark(ctx)
		r.setStatus(ctx, ticket.Canceled)
		r.s.CancelRequested = nil
		return r.sync(ctx)
	}
	if err != nil {
		r.s.LastError = errText(err)
		r.park(ctx, ticket.StepCancel, "could not cancel the request in the work system: "+errText(err))
		_ = r.sync(ctx)
		// Wait for an operator retry (or the next timer tick), then try again.
		r.retryRequested = false
		r.sleepOrSignal(ctx, r.nextPollDelay(ctx), true)
		r.s.Polls++
		return nil
	}
	r.unparkStep(ctx, ticket.StepCancel)
	r.s.LastError = ""
	readsOn := r.version(ctx, changeCancelReadsOn) >= 1
	if out.Remote != nil {
		r.applyRead(ctx, *out.Remote, readsOn && out.More)
	}
	if r.s.Finished && (out.AlreadyFinished || r.s.Status != ticket.Canceled) && r.version(ctx, changeFinishClean) >= 1 {
		// DESIGN.md §3: the work system had finished the request first; its status stands.
		r.emitLocal(ctx, ticket.EventNote, fmt.Sprintf("%s: the work system had already finished the request (%s), so the ticket ends %s; the requester's reason was %q",
			ticket.NoteCancelTooLate, r.s.RemoteStatus, r.s.Status, reason))
	}
	switch {
	case r.s.Finished:
	case readsOn && r.s.FeedbackDeferred:
		// Feedback is still to be read (applyRead reads on at once, or the outbox makes room
		// first); applyRead ends the ticket Canceled once it has it all.
		r.s.CancelAccepted = true
	default:
		// No remote request existed (create never committed) or the vendor kept a non-terminal
		// status: the requester asked to cancel, so the ticket ends Canceled.
		r.setStatus(ctx, ticket.Canceled)
	}
	r.s.CancelRequested = nil
	return r.sync(ctx)
}

// forwardComments sends queued requester comments once the remote request exists.
func (r *run) forwardComments(ctx workflow.Context) error {
	for len(r.s.PendingComments) > 0 && r.s.RemoteID != "" && !r.s.Finished {
		c := r.s.PendingComments[0]
		actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("forward requester comment", time.Hour))
		var out vendorapi.Comment
		err := workflow.ExecuteActivity(actx, acts.AddRemoteComment, activities.CommentInput{Ref: r.ref(), RemoteID: r.s.RemoteID,
			Comment: vendorapi.Comment{ID: c.ID, Text: c.Text, Author: c.Author, Attachments: c.Attachments}}).Get(ctx, &out)
		if err != nil && !isNonRetryable(err) {
			// The work system stayed unreachable for the whole retry window: keep the comment
			// at the head of the queue, park, and try again at the next wake (or on retry).
			r.s.LastError = errText(err)
			r.park(ctx, ticket.StepComment, "could not forward a requester comment: "+errText(err))
			return r.sync(ctx)
		}
		r.s.PendingComments = r.s.PendingComments[1:]
		// The timeline shows the comment's text, whatever became of it.
		if err != nil {
			// A comment the work system refuses (e.g. request already closed) cannot be
			// delivered later either: record it on the timeline for the operator.
			r.emitLocal(ctx, ticket.EventCommentForwarded, fmt.Sprintf("comment from %s NOT forwarded (%s): %s", c.Author, errText(err), c.Text))
		} else {
			r.unparkStep(ctx, ticket.StepComment)
			r.emitLocal(ctx, ticket.EventCommentForwarded, fmt.Sprintf("comment from %s forwarded as %s: %s", c.Author, out.ID, c.Text))
		}
		r.pollNow = true // the comment bumps modifiedAt; pick up anything else that changed
	}
	return r.sync(ctx)
}
