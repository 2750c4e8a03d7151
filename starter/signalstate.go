package starter

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// liveStateTimeout bounds a handler's state query: without a worker nobody answers it.
const liveStateTimeout = 3 * time.Second

// liveState asks the ticket's workflow for its state; ok is false when it does not answer in
// time (no worker, finished, engine down): callers then decide without it.
func (a *API) liveState(ctx context.Context, workflowID string) (ticket.State, bool) {
	ctx, cancel := context.WithTimeout(ctx, liveStateTimeout)
	defer cancel()
	st, err := a.Engine.State(ctx, workflowID)
	if err != nil {
		a.log().Debug("live state unavailable", "workflowId", workflowID, "error", err)
		return ticket.State{}, false
	}
	return st, true
}

// commentRoom answers 429 while the ticket's comments queue is near its budget (the work
// system has been unreachable for a while): the caller retries later instead of growing a
// queue the workflow must bound. When the workflow cannot say, the comment is sent: the
// workflow's own bound (ticket.MaxPendingComments) still holds.
func (a *API) commentRoom(w http.ResponseWriter, r *http.Request, t store.Ticket, c ticket.CommentSignal) *Problem {
	st, ok := a.liveState(r.Context(), t.WorkflowID)
	if !ok {
		return nil
	}
	n, bytes := len(st.PendingComments), ticket.CommentBytes(c)
	for _, p := range st.PendingComments {
		bytes += ticket.CommentBytes(p)
	}
	if n >= ticket.SoftPendingComments || bytes > ticket.SoftPendingBytes {
		w.Header().Set("Retry-After", "60")
		return problem(http.StatusTooManyRequests, fmt.Sprintf("%d comments of ticket %s are still waiting for the work system; retry later", n, t.ID))
	}
	return nil
}

// mustBePaused refuses resume of a ticket that is not paused (409). The read model may lag a
// hold just sent, so a ticket it shows unpaused is asked; when the workflow cannot say, the
// signal is sent (resume of an unpaused ticket changes nothing).
func (a *API) mustBePaused(r *http.Request, t store.Ticket) *Problem {
	if t.Paused {
		return nil
	}
	if st, ok := a.liveState(r.Context(), t.WorkflowID); ok && st.Paused == nil {
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s is not paused: nothing to resume", t.ID))
	}
	return nil
}

// leadsTo is the ticket view a 202 answers: the state the signal leads to, marked pending
// until the workflow applied it (hold), rather than the state before it.
func (a *API) leadsTo(t store.Ticket, name string, arg any) TicketView {
	v := a.view(t)
	switch name {
	case ticket.SignalHold:
		if v.Paused == nil {
			reason := "paused by operator" // the workflow's default
			if h, ok := arg.(ticket.HoldSignal); ok && h.Reason != "" {
				reason = h.Reason
			}
			v.Paused = &SinceReasonView{Since: time.Now().UTC(), Reason: reason, Pending: true}
		}
	case ticket.SignalResume:
		v.Paused = nil
	}
	return v
}

// tooLarge is the 413 of a request over the workflow engine's budget.
func tooLarge(err error) *Problem {
	return problem(http.StatusRequestEntityTooLarge, err.Error()+": shorten the description or the answers")
}
