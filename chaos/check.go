package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// verdict is the checked state of every ticket of the run against the simulators' truth.
type verdict struct {
	tickets, created, scripted int
	converged                  int
	notConverged               []string // "ext: why", a few shown

	dupCreates, dupComments, dupFeedback   int
	lostEvents, lostFeedback, lostComments int
	lostCreates                            int
	held                                   int // undelivered behind a needs-attention park
	orderViolations                        int
	redeliveries                           int // repeats of an accepted event id
	idChanges                              int // one event delivered under two ids
	stuck                                  int // open, no needs-attention reason
	attention                              []string
	timelineGaps                           int // delivered events the store's timeline lacks
	scriptErrors                           []string
}

func (v *verdict) duplicates() int { return v.dupCreates + v.dupComments + v.dupFeedback + v.idChanges }
func (v *verdict) lost() int {
	return v.lostEvents + v.lostFeedback + v.lostComments + v.lostCreates
}

// ok reports whether every invariant holds.
func (v *verdict) ok() bool {
	return v.converged == v.tickets && v.duplicates() == 0 && v.lost() == 0 && v.orderViolations == 0 &&
		v.stuck == 0 && v.timelineGaps == 0
}

// check compares every ticket with the simulator's truth, the portal's record and the store.
func check(ctx context.Context, st *stack, d *driver) (*verdict, error) {
	m, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return nil, err
	}
	v := &verdict{tickets: len(d.tickets)}
	byRef := map[string][]twhsim.WorkRequest{}
	for _, wr := range st.twh.Requests() {
		byRef[wr.ExternalReference] = append(byRef[wr.ExternalReference], wr)
	}
	repeats := st.portal.Duplicates()
	violations := map[string]int{}
	for _, vi := range st.portal.Violations() {
		violations[vi.TicketID]++
	}
	why := func(t *tracked, format string, a ...any) {
		v.notConverged = append(v.notConverged, t.ext+": "+fmt.Sprintf(format, a...))
	}
	for _, t := range d.tickets {
		t.mu.Lock()
		comments, done, serr := slices.Clone(t.comments), t.done, t.err
		t.mu.Unlock()
		if done {
			v.scripted++
		} else if serr != "" {
			v.scriptErrors = append(v.scriptErrors, t.ext+": "+serr)
		}
		if !t.created.Load() {
			why(t, "never accepted by the API")
			continue
		}
		v.created++
		remotes := byRef["ticketsync:"+connectionID+":"+t.ext]
		if len(remotes) > 1 {
			v.dupCreates += len(remotes) - 1
		}
		row, err := st.api.Store.GetTicketAnyTenant(ctx, t.id)
		if err != nil {
			return nil, fmt.Errorf("read ticket %s: %w", t.id, err)
		}
		if row.NeedsAttention && !ticket.IsTerminal(row.Status) {
			v.attention = append(v.attention, t.ext+": "+row.AttentionReason)
		} else if !ticket.IsTerminal(row.Status) {
			v.stuck++ // every script ends its ticket: open with nothing for a human to do is stuck
		}
		if len(remotes) == 0 {
			v.lostCreates++
			why(t, "no request in the work system (status %s)", row.Status)
			continue
		}
		wr := remotes[0]
		want, mapped := m.Translate(wr.Status)
		if !mapped {
			why(t, "unmapped simulator status %q", wr.Status)
			continue
		}

		timeline, err := st.api.Store.ListEvents(ctx, t.id)
		if err != nil {
			return nil, fmt.Errorf("read timeline of %s: %w", t.id, err)
		}
		seqOf := map[string]int64{}
		for _, e := range timeline {
			seqOf[e.ID] = e.Seq
		}
		got := st.portal.EventsFor(t.id)
		at := map[string]bool{}
		lastStatus, closed, closedLast := "", false, false
		var lastSeq int64 = -1
		sameContent := map[string]string{}
		feedbackSeen := map[string]int{}
		for i, e := range got {
			at[e.ID] = true
			v.redeliveries += repeats[e.ID]
			seq, known := seqOf[e.ID]
			if !known {
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
		v.orderViolations += violations[t.id]
		for _, e := range timeline {
			if !ticket.Delivered(e.Type) || at[e.ID] {
				continue
			}
			if row.NeedsAttention {
				v.held++
			} else {
				v.lostEvents++
			}
		}
		for _, fb := range wr.Feedback {
			if !fb.VisibleToRequestor {
				continue
			}
			switch n := feedbackSeen[fb.ID]; {
			case n == 0 && row.NeedsAttention:
				v.held++
			case n == 0:
				v.lostFeedback++
			case n > 1:
				v.dupFeedback += n - 1
			}
		}
		for _, c := range comments {
			n := 0
			for _, rc := range wr.Comments {
				if rc.Text == c {
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
		case row.Status != want:
			why(t, "store status %s, simulator %s → %s", row.Status, wr.Status, want)
		case row.RemoteID != wr.ID:
			why(t, "store remote id %q, simulator %q", row.RemoteID, wr.ID)
		case lastStatus != want:
			why(t, "portal's last status %q, want %s", lastStatus, want)
		case ticket.IsTerminal(want) && (!closed || !closedLast):
			why(t, "portal has no ticket.closed last (closed=%v)", closed)
		default:
			v.converged++
		}
	}
	return v, nil
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
