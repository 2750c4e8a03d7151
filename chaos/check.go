package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// verdict is the checked state of every ticket of the run against the simulators' truth.
type verdict struct {
	tickets, created, scripted int
	perConnection              map[string]int
	converged                  int
	notConverged               []string // "label: why", a few shown

	dupCreates, dupComments, dupFeedback   int
	lostEvents, lostFeedback, lostComments int
	lostCreates                            int
	lostResolves                           int // Cubu cases of Done tickets never resolved
	held                                   int // undelivered behind a needs-attention park
	late                                   int // undelivered, its workflow still retrying when the run ended
	orderViolations                        int
	redeliveries                           int // repeats of an accepted event id
	idChanges                              int // one event delivered under two ids
	stuck                                  int // open, no needs-attention reason
	attention                              []string
	blocked                                []string // deliveries abandoned with no needs-attention shown
	timelineGaps                           int      // delivered events the store's timeline lacks
	scriptErrors                           []string
	// What the extra pairs lose or duplicate besides, by the report's name ("lost photos").
	lostBy, dupBy map[string]int
}

// lose and duplicate count what an extra pair lost or repeated; a check that found nothing
// adds 0, so the report still shows the line.
func (v *verdict) lose(name string, n int)      { v.lostBy[name] += max(n, 0) }
func (v *verdict) duplicate(name string, n int) { v.dupBy[name] += max(n, 0) }

func (v *verdict) duplicates() int {
	return v.dupCreates + v.dupComments + v.dupFeedback + v.idChanges + sum(v.dupBy)
}

func (v *verdict) lost() int {
	return v.lostEvents + v.lostFeedback + v.lostComments + v.lostCreates + v.lostResolves + sum(v.lostBy)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ok reports whether every invariant holds.
func (v *verdict) ok() bool {
	return v.converged == v.tickets && v.duplicates() == 0 && v.lost() == 0 && v.orderViolations == 0 &&
		v.stuck == 0 && v.timelineGaps == 0
}

// checker holds what one check reads once from the simulators.
type checker struct {
	st         *stack
	m          mapping.Mapping
	v          *verdict
	byRef      map[string][]twhsim.WorkRequest
	repeats    map[string]int
	violations map[string]int
	open       map[string]bool // workflow id → still running
}

// check compares every ticket with the simulators' truth, the portal's record and the store.
func check(ctx context.Context, st *stack, d *driver) (*verdict, error) {
	m, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return nil, err
	}
	c := &checker{st: st, m: m, v: &verdict{tickets: len(d.tickets), perConnection: map[string]int{}, lostBy: map[string]int{}, dupBy: map[string]int{}},
		byRef: map[string][]twhsim.WorkRequest{}, repeats: st.portal.Duplicates(), violations: map[string]int{},
		open: map[string]bool{}}
	for _, wr := range st.twh.Requests() {
		c.byRef[wr.ExternalReference] = append(c.byRef[wr.ExternalReference], wr)
	}
	for _, vi := range st.portal.Violations() {
		c.violations[vi.TicketID]++
	}
	for _, t := range d.tickets {
		if err := c.ticket(ctx, t); err != nil {
			return nil, err
		}
	}
	return c.v, nil
}

func (c *checker) ticket(ctx context.Context, t *tracked) error {
	v := c.v
	v.perConnection[t.conn]++
	why := func(format string, a ...any) {
		v.notConverged = append(v.notConverged, t.label+": "+fmt.Sprintf(format, a...))
	}
	t.mu.Lock()
	comments, done, serr, ext, id := slices.Clone(t.comments), t.done, t.err, t.ext, t.id
	t.mu.Unlock()
	if done {
		v.scripted++
	} else if serr != "" {
		v.scriptErrors = append(v.scriptErrors, t.label+": "+serr)
	}
	if !t.created.Load() {
		why("never accepted by the API")
		return nil
	}
	v.created++
	row, err := c.st.api.Store.GetTicketAnyTenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		v.lostCreates++
		why("accepted, but no ticket in the store")
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ticket %s: %w", id, err)
	}
	if row.NeedsAttention && !ticket.IsTerminal(row.Status) {
		v.attention = append(v.attention, t.label+": "+row.AttentionReason)
	} else if !ticket.IsTerminal(row.Status) {
		v.stuck++ // every script ends its ticket: open with nothing for a human to do is stuck
	}
	if p := c.st.pairFor(t.conn); p != nil {
		if p.check(ctx, c, t, row, why) {
			v.converged++
		}
		return nil
	}
	remotes := c.byRef[theworxhub.ExternalReference(t.conn, ext)]
	if len(remotes) > 1 {
		v.dupCreates += len(remotes) - 1
	}
	if len(remotes) == 0 {
		v.lostCreates++
		why("no request in the work system (status %s)", row.Status)
		return nil
	}
	wr := remotes[0]
	want, mapped := c.m.Translate(wr.Status)
	switch {
	case !mapped:
		why("unmapped simulator status %q", wr.Status)
		return nil
	case row.Status != want:
		why("store status %s, simulator %s → %s", row.Status, wr.Status, want)
		return nil
	case row.RemoteID != wr.ID:
		why("store remote id %q, simulator %q", row.RemoteID, wr.ID)
		return nil
	}
	if t.conn == cubuConnID {
		// Cubu hears one thing: a Done ticket resolves its case.
		cs, ok := c.st.cubu.Case(ext)
		resolved := ok && (cs.Status == cubusim.StatusResolved || cs.Status == cubusim.StatusClosed)
		switch {
		case want == ticket.Done && !resolved && c.running(ctx, t.conn, ext):
			v.late++
			why("Done, case %s still %s in Cubu: the resolve is still being retried", ext, cs.Status)
		case want == ticket.Done && !resolved:
			v.lostResolves++
			why("Done, but case %s is %s in Cubu and its workflow has ended", ext, cs.Status)
		case want != ticket.Done && resolved:
			why("%s, yet case %s was resolved in Cubu", want, ext)
		default:
			v.converged++
		}
		return nil
	}
	if c.portal(ctx, t, ext, id, row, wr, want, comments) {
		v.converged++
	}
	return nil
}

// portal checks what the fake portal received for one ticket against the store's timeline and
// the simulator: every deliverable event once, in order, under its one id; every visible
// feedback and every accepted comment exactly once. It reports whether the portal shows the
// ticket's final status (and, once finished, ticket.closed last).
func (c *checker) portal(ctx context.Context, t *tracked, ext, id string, row store.Ticket, wr twhsim.WorkRequest, want string, comments []string) bool {
	v := c.v
	// A delivery ticketsync gave up on blocks every later event until an operator acts: that
	// is only fine when the ticket says so (needs attention).
	blocked := "" // set below from the timeline
	// What is not at the portal is held behind a park, lost behind an unexplained block or once
	// the workflow has ended, and late while it still retries.
	missing := func() *int {
		switch {
		case row.NeedsAttention:
			return &v.held
		case blocked == "" && c.running(ctx, t.conn, ext):
			return &v.late
		}
		return nil
	}
	timeline, err := c.st.api.Store.ListEvents(ctx, id)
	if err != nil {
		v.notConverged = append(v.notConverged, t.label+": timeline unreadable: "+err.Error())
		return false
	}
	seqOf := map[string]int64{}
	for _, e := range timeline {
		seqOf[e.ID] = e.Seq
		if blocked == "" && ticket.Delivered(e.Type) && e.DeliveryState == "abandoned" {
			blocked = e.LastError
		}
	}
	if blocked != "" && !row.NeedsAttention {
		if ticket.IsTerminal(row.Status) { // (an open one is counted as stuck already)
			v.stuck++
		}
		v.blocked = append(v.blocked, t.label+": "+blocked)
	}
	got := c.st.portal.EventsFor(id)
	at := map[string]bool{}
	lastStatus, closed, closedLast := "", false, false
	var lastSeq int64 = -1
	sameContent := map[string]string{}
	feedbackSeen := map[string]int{}
	for i, e := range got {
		at[e.ID] = true
		v.redeliveries += c.repeats[e.ID]
		if seq, known := seqOf[e.ID]; !known {
			v.timelineGaps++
		} else {
			if seq <= lastSeq {
				v.orderViolations++
			}
			lastSeq = seq
		}
		// The same observation under two ids is a redelivery that lost its id: the body
		// (occurredAt included) is built once and must go out byte-identical.
		key := fmt.Sprintf("%s|%s|%s|%s", e.Event.Type, e.Event.Ticket.Status, e.Event.Ticket.PreviousStatus, e.Event.OccurredAt.Format(time.RFC3339Nano))
		if e.Event.Feedback != nil {
			key += "|" + e.Event.Feedback.ID
			feedbackSeen[e.Event.Feedback.ID]++
		}
		if other, dup := sameContent[key]; dup && other != e.ID {
			v.idChanges++
		}
		sameContent[key] = e.ID
		switch e.Event.Type {
		case ticket.EventStatusChanged:
			lastStatus = e.Event.Ticket.Status
		case ticket.EventClosed:
			closed, closedLast = true, i == len(got)-1
		}
	}
	v.orderViolations += c.violations[id]
	for _, e := range timeline {
		if !ticket.Delivered(e.Type) || at[e.ID] {
			continue
		}
		if p := missing(); p != nil {
			*p++
		} else {
			v.lostEvents++
		}
	}
	for _, fb := range wr.Feedback {
		if !fb.VisibleToRequestor {
			continue
		}
		switch n := feedbackSeen[fb.ID]; {
		case n == 0:
			if p := missing(); p != nil {
				*p++
			} else {
				v.lostFeedback++
			}
		case n > 1:
			v.dupFeedback += n - 1
		}
	}
	for _, text := range comments {
		n := 0
		for _, rc := range wr.Comments {
			if rc.Text == text {
				n++
			}
		}
		switch {
		case n == 0:
			v.lostComments++
		case n > 1:
			v.dupComments += n - 1
		}
	}
	switch {
	case lastStatus != want:
		v.notConverged = append(v.notConverged, fmt.Sprintf("%s: portal's last status %q, want %s", t.label, lastStatus, want))
	case ticket.IsTerminal(want) && (!closed || !closedLast):
		v.notConverged = append(v.notConverged, fmt.Sprintf("%s: portal has no ticket.closed last (closed=%v)", t.label, closed))
	default:
		return true
	}
	return false
}

// running reports whether the ticket's workflow is still open (then what it has not delivered
// yet may still come). Unknown counts as ended: a check must not excuse what it cannot see.
func (c *checker) running(ctx context.Context, conn, ext string) bool {
	wf := ticket.WorkflowID(conn, ext)
	if r, ok := c.open[wf]; ok {
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := c.st.api.Temporal.DescribeWorkflowExecution(ctx, wf, "")
	r := err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	c.open[wf] = r
	return r
}

// summary is the one-line state shown while waiting for convergence.
func (v *verdict) summary() string {
	return fmt.Sprintf("converged %d/%d, duplicates %d, lost %d, stuck %d, needs attention %d",
		v.converged, v.tickets, v.duplicates(), v.lost(), v.stuck, len(v.attention))
}

func firstN(lines []string, n int) string {
	if len(lines) > n {
		return strings.Join(lines[:n], "; ") + fmt.Sprintf("; … %d more", len(lines)-n)
	}
	return strings.Join(lines, "; ")
}
