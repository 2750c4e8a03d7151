package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

func TestCommentKeptAndParkedWhileWorkSystemIsDown(t *testing.T) {
	h := newHarness(t, "req-comment-down")
	var parked, recovered ticket.State
	h.at(time.Minute, func() {
		h.kit.TWH.SetFaults(twhsim.Faults{Maintenance: 1 << 30})
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "Still leaking", Author: "Ada"})
	})
	h.at(3*time.Hour, func() {
		parked = h.state()
		h.kit.TWH.SetFaults(twhsim.Faults{})
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Hour+time.Minute, func() {
		recovered = h.state()
		h.env.SignalWorkflow(ticket.SignalCancel, nil)
	})
	h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != "comment" || len(parked.PendingComments) != 1 {
		t.Fatalf("while the work system is down the comment must be kept and the ticket parked: %+v %+v", parked.NeedsAttention, parked.PendingComments)
	}
	if recovered.NeedsAttention != nil || len(recovered.PendingComments) != 0 {
		t.Fatalf("after retry: %+v %+v", recovered.NeedsAttention, recovered.PendingComments)
	}
	wr := h.remote()
	if len(wr.Comments) != 1 || wr.Comments[0].Text != "Still leaking" {
		t.Fatalf("comments at TheWorxHub: %+v", wr.Comments)
	}
}

// The timeline shows what the requester wrote, with its author and the work system's id.
func TestTimelineShowsCommentText(t *testing.T) {
	h := newHarness(t, "req-comment-text")
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(ticket.SignalComment, ticket.CommentSignal{Text: "The guest bathroom, behind the door", Author: "Ada"})
	})
	h.at(5*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	d := eventDetail(t, h, ticket.EventCommentForwarded, "The guest bathroom, behind the door")
	if !strings.Contains(d, "Ada") || !strings.Contains(d, h.remote().Comments[0].ID) {
		t.Fatalf("timeline: %q", d)
	}
}
