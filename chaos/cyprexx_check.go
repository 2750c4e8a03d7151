package chaos

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
)

// check compares a ticket with both simulators: one project, every relayed photo at Cyprexx
// once (by source id and by bytes, unaltered), no other photo there, the survey there, exactly
// one completion with Pruvan's date for a completed order and none for a cancelled one, the
// project closed with the order's final status, the last note in Pruvan, and the store's
// status following. What is missing while the workflow still runs is late, else lost.
func (p *cyprexxPair) check(ctx context.Context, c *checker, t *tracked, row store.Ticket, why func(string, ...any)) bool {
	v := c.v
	p.mu.Lock()
	o := *p.orders[t.label]
	photos, shas := maps.Clone(o.photos), maps.Clone(o.shas)
	p.mu.Unlock()
	running := c.running(ctx, cxConnID, o.wo)
	ok := true
	bad := func(format string, a ...any) { ok = false; why(format, a...) }
	var pending []string // not there (yet)
	missing := func(lostAs, what string) {
		pending = append(pending, what)
		if !running {
			v.lose(lostAs, 1)
		}
	}
	for _, name := range []string{"lost photos", "lost surveys", "lost completions", "lost project closes", "lost note changes"} {
		v.lose(name, 0)
	}

	projects := 0
	for _, pr := range p.pv.Projects() {
		if pr.ClientCode == cxConnID && strings.HasPrefix(pr.WorkOrder.WorkOrderNumber, o.wo+"-") {
			projects++
		}
	}
	v.dupCreates += max(projects-1, 0)
	pr, imported := p.pv.Project(o.key)
	if !imported {
		pending = append(pending, "the project in Pruvan")
		if !running {
			v.lostCreates++
		}
	}

	// Photos: each of a relayed category once, by its uuid and by its bytes; no other.
	bySource, bySHA := map[string]int{}, map[string]int{}
	for _, ph := range p.cx.Photos(o.wo) {
		bySource[ph.SourceID]++
		bySHA[ph.SHA256]++
		switch cat, ours := photos[ph.SourceID]; {
		case !ours || !cxRelays(cat):
			bad("photo %s (%q) relayed to Cyprexx against the QA settings", ph.SourceID, cat)
		case ph.SHA256 != shas[ph.SourceID]:
			bad("photo %s altered on the way: sha256 %s, Pruvan sent %s", ph.SourceID, ph.SHA256, shas[ph.SourceID])
		}
	}
	dupSource, dupSHA := 0, 0
	for uuid, cat := range photos {
		switch n := bySource[uuid]; {
		case !cxRelays(cat):
		case n == 0:
			missing("lost photos", cat+" photo "+uuid)
		default:
			dupSource += n - 1
		}
	}
	for _, n := range bySHA {
		dupSHA += n - 1
	}
	v.duplicate("duplicate photos (by source id)", dupSource)
	v.duplicate("duplicate photos (by sha256)", dupSHA)

	// The survey: there, submitted once (a second submission would replace the first).
	sub, hasSurvey := p.cx.Surveys(o.wo)[cxForm]
	if o.survey && !hasSurvey {
		missing("lost surveys", "the survey")
	}
	v.duplicate("duplicate surveys", len(sub.Replaced))

	// The completion: exactly one, with Pruvan's date, for a completed order; none otherwise.
	var done []cxsim.Completion
	for _, cp := range p.cx.Completions() {
		if cp.WorkOrderID == o.wo {
			done = append(done, cp)
		}
	}
	v.duplicate("duplicate completions", len(done)-1)
	final, want := cxsim.StatusCompleted, ticket.Done
	switch {
	case o.cancelled:
		final, want = cxsim.StatusCancelled, ticket.Canceled
		if len(done) > 0 {
			bad("cancelled order %s got a completion", o.wo)
		}
	case o.completedAt.IsZero():
		bad("the script ended before the crew completed the project")
	case len(done) == 0:
		missing("lost completions", "the completion")
	case !done[0].CompletedAt.Equal(o.completedAt):
		bad("completion date %s at Cyprexx, Pruvan's %s", done[0].CompletedAt.Format(time.RFC3339), o.completedAt.Format(time.RFC3339))
	}
	if wo, _ := p.cx.WorkOrder(o.wo); wo.Status != final {
		pending = append(pending, "order "+o.wo+" "+wo.Status+" at Cyprexx")
	}

	// Pruvan: the project closed as the order ended, with the last note.
	if imported && pr.WorkOrder.ClientStatus != final {
		missing("lost project closes", fmt.Sprintf("project closed as %s (Pruvan shows %q)", final, pr.WorkOrder.ClientStatus))
	}
	if imported && pr.WorkOrder.Instructions != o.note {
		missing("lost note changes", fmt.Sprintf("note %q in Pruvan (it shows %q)", o.note, pr.WorkOrder.Instructions))
	}
	if row.Status != want || row.RemoteID != o.project {
		pending = append(pending, fmt.Sprintf("store %s/%q, want %s/%q", row.Status, row.RemoteID, want, o.project))
	}
	switch {
	case len(pending) == 0:
	case running:
		ok = false
		v.late++
		why("still retrying: %s", strings.Join(pending, "; "))
	default:
		ok = false
		why("%s", strings.Join(pending, "; "))
	}
	return ok
}
