package workflows

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/ticket"
)

// signals holds the Ticket workflow's signal channels.
type signals struct {
	cancel, comment, hold, resume, poke, retry, skip workflow.ReceiveChannel
}

func newSignals(ctx workflow.Context) signals {
	// Descriptions show up in Temporal Web's signal dialog (workflow metadata).
	ch := func(name, desc string) workflow.ReceiveChannel {
		return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: desc})
	}
	return signals{
		cancel:  ch(ticket.SignalCancel, `Cancel the request (remote first). Input: {"reason": "…"}`),
		comment: ch(ticket.SignalComment, `Forward a requester comment. Input: {"text": "…", "author": "…"}`),
		hold:    ch(ticket.SignalHold, `Pause syncing. Input: {"reason": "…"}`),
		resume:  ch(ticket.SignalResume, "Resume syncing and poll now."),
		poke:    ch(ticket.SignalPoke, "Poll the work system now (something changed there)."),
		retry:   ch(ticket.SignalRetry, "Re-run the parked step now (create, poll, cancel, comment or a blocked delivery)."),
		skip:    ch(ticket.SignalSkip, "Drop the event whose delivery was abandoned so later events can flow."),
	}
}

// addOperator wires retry/skip/hold/resume into a selector (used in every wait).
func (s signals) addOperator(ctx workflow.Context, sel workflow.Selector, r *run) {
	sel.AddReceive(s.retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onRetry(ctx) })
	sel.AddReceive(s.skip, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onSkip(ctx) })
	sel.AddReceive(s.hold, func(c workflow.ReceiveChannel, _ bool) { r.onHold(ctx, receiveRaw(ctx, c)) })
	sel.AddReceive(s.resume, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onResume(ctx) })
}

// addRequester wires cancel/comment into a selector.
func (s signals) addRequester(ctx workflow.Context, sel workflow.Selector, r *run) {
	sel.AddReceive(s.cancel, func(c workflow.ReceiveChannel, _ bool) { r.onCancel(receiveRaw(ctx, c)) })
	sel.AddReceive(s.comment, func(c workflow.ReceiveChannel, _ bool) { r.onComment(ctx, receiveRaw(ctx, c)) })
}

func receiveRaw(ctx workflow.Context, c workflow.ReceiveChannel) json.RawMessage {
	var raw json.RawMessage
	c.Receive(ctx, &raw)
	return raw
}

// sleepOrSignal is the ticket's one wait: it blocks until d passes (no timer when d <= 0) or a
// signal arrives, applies the signal to state, and reports whether the timer fired. With
// operatorOnly, requester signals and pokes stay buffered (a parked cancel waits for an
// operator or the timer, not for the requester).
func (r *run) sleepOrSignal(ctx workflow.Context, d time.Duration, operatorOnly bool) (timerFired bool) {
	seen := false // the signal was a poke announcing nothing new (seenPoke)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel := workflow.NewSelector(ctx)
	if d > 0 {
		next := workflow.Now(ctx).Add(d)
		r.s.NextPoll = &next
		sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) { timerFired = true })
	}
	if !operatorOnly {
		r.sig.addRequester(ctx, sel, r)
	}
	r.sig.addOperator(ctx, sel, r)
	if !operatorOnly {
		sel.AddReceive(r.sig.poke, func(c workflow.ReceiveChannel, _ bool) {
			if r.seenPoke(ctx, receiveRaw(ctx, c)) {
				seen = true // nothing new: keep waiting on the same timer
				return
			}
			r.onPoke()
		})
		// Deliveries made room for feedback left unread (only sent since changeBoundedState).
		sel.AddReceive(r.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	}
	for {
		seen = false
		sel.Select(ctx)
		if !seen {
			return timerFired
		}
	}
}

// waitForWake blocks until the poll timer fires or a signal arrives.
func (r *run) waitForWake(ctx workflow.Context) {
	_ = r.sync(ctx) // whatever changed before sleeping is visible while we sleep
	var d time.Duration
	if r.s.Paused == nil {
		d = r.nextPollDelay(ctx)
	}
	r.timerPoll = r.sleepOrSignal(ctx, d, false)
	if r.timerPoll {
		r.pollNow = true
	}
	r.drainSignals(ctx)
	if r.s.Paused != nil {
		r.pollNow = false
	}
	_ = r.sync(ctx)
}

// nextPollDelay is the poll interval with a deterministic ±10 % jitter derived from the workflow
// id and poll count (no SideEffect needed: the same inputs give the same delay on replay).
func (r *run) nextPollDelay(ctx workflow.Context) time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", r.s.WorkflowID, r.s.Polls)
	frac := float64(h.Sum64()%10001)/10000*2 - 1 // [-1, 1]
	interval := r.pollInterval
	if r.s.FeedHealthy && r.s.NeedsAttention == nil {
		// The feed (and webhook) poke this ticket within seconds of a change: the timer is
		// only the safety net, so it can be relaxed. The feed wakes every open ticket when it
		// fails for long, so the relaxed timer never outlives a feed outage by much.
		if r.version(ctx, changeRelaxedSafetyNet) >= 1 {
			interval = RelaxedPollInterval(interval)
		} else {
			interval *= FeedHealthyRelaxFactor
		}
	}
	d := time.Duration(float64(interval) * (1 + PollJitter*frac))
	if d < time.Second {
		d = time.Second
	}
	return d
}

// drainSignals moves every buffered signal into state without blocking.
func (r *run) drainSignals(ctx workflow.Context) {
	for {
		got := false
		var raw json.RawMessage
		for r.sig.cancel.ReceiveAsync(&raw) {
			got = true
			r.onCancel(raw)
		}
		for r.sig.comment.ReceiveAsync(&raw) {
			got = true
			r.onComment(ctx, raw)
		}
		for r.sig.hold.ReceiveAsync(&raw) {
			got = true
			r.onHold(ctx, raw)
		}
		for r.sig.resume.ReceiveAsync(nil) {
			got = true
			r.onResume(ctx)
		}
		for {
			var poke json.RawMessage
			if !r.sig.poke.ReceiveAsync(&poke) {
				break
			}
			got = true
			if !r.seenPoke(ctx, poke) {
				r.pollNow = true
			}
		}
		for r.sig.retry.ReceiveAsync(nil) {
			got = true
			r.onRetry(ctx)
		}
		for r.sig.skip.ReceiveAsync(nil) {
			got = true
			r.onSkip(ctx)
		}
		got = r.receiveRemaps(ctx) || got
		got = r.receivePatches(ctx) || got
		if !got {
			return
		}
	}
}

// decodeSignal accepts either a JSON object or a bare JSON string (handy from the temporal CLI:
// `--input '"reason"'`) for payloads with one main text field.
func decodeSignal(raw json.RawMessage, into any, setText func(string)) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		setText(s)
		return
	}
	_ = json.Unmarshal(raw, into)
}

func (r *run) onCancel(raw json.RawMessage) {
	var c ticket.CancelSignal
	decodeSignal(raw, &c, func(s string) { c.Reason = s })
	if r.s.Finished || r.s.CancelRequested != nil {
		return
	}
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Reason == "" {
		c.Reason = "canceled by requester"
	}
	r.s.CancelRequested = &c
}

func (r *run) onComment(ctx workflow.Context, raw json.RawMessage) {
	var c ticket.CommentSignal
	decodeSignal(raw, &c, func(s string) { c.Text = s })
	c.Text = strings.TrimSpace(c.Text)
	if c.Text == "" || r.s.Finished {
		return
	}
	if c.Author == "" {
		c.Author = "Requester"
	}
	if r.version(ctx, changeBoundedState) >= 1 {
		r.queueComment(ctx, c)
		return
	}
	if c.ID != "" {
		// A request system's own comment id makes the comment cross exactly once, however
		// often intake or a hook reports it.
		if slices.Contains(r.s.SeenComments, c.ID) {
			return
		}
		r.s.SeenComments = append(r.s.SeenComments, c.ID)
	}
	r.s.PendingComments = append(r.s.PendingComments, c)
}

func (r *run) onHold(ctx workflow.Context, raw json.RawMessage) {
	var h ticket.HoldSignal
	decodeSignal(raw, &h, func(s string) { h.Reason = s })
	if r.s.Paused != nil || r.s.Finished {
		return
	}
	if h.Reason == "" {
		h.Reason = "paused by operator"
	}
	r.s.Paused = &ticket.Pause{Since: workflow.Now(ctx), Reason: h.Reason}
	r.s.NextPoll = nil
	r.emitLocal(ctx, ticket.EventPaused, h.Reason)
	r.changed()
}

func (r *run) onResume(ctx workflow.Context) {
	if r.s.Paused == nil {
		return
	}
	r.s.Paused = nil
	r.emitLocal(ctx, ticket.EventResumed, "")
	r.pollNow = true
	r.changed()
}

// seenPoke reports whether a poke announces a modification the ticket has already read
// (ticket.PokeSignal): the change feed's, which a push has usually brought seconds before, and
// a push's own when it says (TheWorxHub's, the first of them announcing our create). Pokes
// without one (operators, pushes that do not say) always read.
func (r *run) seenPoke(ctx workflow.Context, raw json.RawMessage) bool {
	var p ticket.PokeSignal
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil || p.ModifiedAt.IsZero() {
		return false
	}
	if r.s.RemoteID == "" || p.ModifiedAt.After(r.s.RemoteModifiedAt) {
		return false
	}
	return r.version(ctx, changeSkipSeenPoke) >= 1
}

// onPoke: the work system changed; poll now unless paused or not created yet (the create step
// has its own retry).
func (r *run) onPoke() {
	if r.s.Paused == nil && r.s.RemoteID != "" {
		r.pollNow = true
	}
}

func (r *run) onRetry(ctx workflow.Context) {
	r.retryRequested = true
	if r.s.DeliveryBlocked {
		r.s.DeliveryBlocked = false
		r.unparkStep(ctx, ticket.StepDelivery)
	}
}

func (r *run) onSkip(ctx workflow.Context) {
	if !r.s.DeliveryBlocked || len(r.s.Outbox) == 0 {
		return
	}
	head := r.s.Outbox[0]
	r.s.Outbox = r.s.Outbox[1:]
	r.s.Events.Skipped++
	r.s.DeliveryBlocked = false
	r.unparkStep(ctx, ticket.StepDelivery)
	r.emitLocal(ctx, ticket.EventSkipped, "operator skipped event "+head.ID+" ("+head.Type+")")
}
