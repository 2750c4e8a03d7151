package cyprexx_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// Refresh and Full Refresh through the engine, as `ticketsync connections refresh <id>
// [--full]` runs them: the first imports, running either again changes nothing (no new
// ticket, no poke, nothing pushed to Pruvan), and only a real change is an update.
func TestRefreshAndFullRefreshAreIdempotent(t *testing.T) {
	p := newPair(t, pairOpts{})
	var wos []csim.WorkOrder
	for range 3 {
		wos = append(wos, p.issue(nil))
	}
	if c := p.refresh(false); c != (engine.Counts{New: 3}) {
		t.Fatalf("first Refresh (a full import: no watermark yet): %+v", c)
	}
	for _, wo := range wos {
		p.create(wo.WorkOrderID)
	}
	starts, pushes := p.starts(), p.pv.Stats().Triggers
	pokes := len(p.signals(wos[0].WorkOrderID)) + len(p.signals(wos[1].WorkOrderID)) + len(p.signals(wos[2].WorkOrderID))

	for i, full := range []bool{false, false, true, true} {
		c := p.refresh(full)
		if c.New != 0 || c.Updated != 0 || c.Failed != 0 {
			t.Fatalf("run %d (full=%v) changed something: %+v", i, full, c)
		}
		if full && c.Unchanged != 3 {
			t.Fatalf("Full Refresh lists every open order as unchanged: %+v", c)
		}
	}
	newPokes := len(p.signals(wos[0].WorkOrderID)) + len(p.signals(wos[1].WorkOrderID)) + len(p.signals(wos[2].WorkOrderID))
	if newPokes != pokes || p.pv.Stats().Triggers != pushes {
		t.Fatalf("idempotent runs poked tickets (%d→%d) or called the push key (%d→%d)", pokes, newPokes, pushes, p.pv.Stats().Triggers)
	}
	// Unchanged orders restart their (existing) tickets with the very request they started with.
	if p.starts() <= starts {
		t.Fatal("an unchanged order confirms its ticket's workflow (start, use existing)")
	}
	rows, _, err := p.st.ListTickets(p.ctx, store.TicketFilter{Tenant: pairTenant, Connection: pairConn})
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d ticket rows, want 3 (%v)", len(rows), err)
	}

	// A real change: one update, one poke, Pruvan asked to pull; then quiet again.
	before := len(p.signals(wos[1].WorkOrderID))
	if _, err := p.cx.Update(wos[1].WorkOrderID, json.RawMessage(`{"status":"In Progress"}`)); err != nil {
		t.Fatal(err)
	}
	if c := p.refresh(false); c.Updated != 1 || c.New != 0 || c.Failed != 0 {
		t.Fatalf("Refresh after one change: %+v", c)
	}
	if s := p.signals(wos[1].WorkOrderID)[before:]; len(s) != 1 || s[0] != ticket.SignalPoke {
		t.Fatalf("the changed order's ticket is poked once: %v", s)
	}
	p.pv.WaitIdle()
	if proj, _ := p.pv.Project(p.key(wos[1].WorkOrderID + "-Grass Cut")); proj.WorkOrder.ClientStatus != "In Progress" {
		t.Fatalf("client status follows Cyprexx: %+v", proj.WorkOrder)
	}
	if c := p.refresh(false); c.Updated != 0 || c.New != 0 {
		t.Fatalf("Refresh again: %+v", c)
	}
	if c := p.refresh(true); c != (engine.Counts{Unchanged: 3}) {
		t.Fatalf("Full Refresh again: %+v", c)
	}

	// Cancelled in Cyprexx: the ticket is cancelled (and the order leaves Full Refresh).
	if _, err := p.cx.Cancel(wos[2].WorkOrderID); err != nil {
		t.Fatal(err)
	}
	if c := p.refresh(false); c.Updated != 1 {
		t.Fatalf("Refresh after a cancel: %+v", c)
	}
	if s := p.signals(wos[2].WorkOrderID); len(s) == 0 || s[len(s)-1] != ticket.SignalCancel {
		t.Fatalf("cancel signal: %v", s)
	}
	if c := p.refresh(true); c != (engine.Counts{Unchanged: 2}) {
		t.Fatalf("Full Refresh after the cancel: %+v", c)
	}
}

// An expired page cursor (Cyprexx keeps them an hour) restarts the read between pages;
// nothing is lost and nothing is created twice.
func TestRefreshSurvivesExpiredCursors(t *testing.T) {
	p := newPair(t, pairOpts{})
	for range 5 {
		p.issue(nil)
	}
	// Pages of two orders, so the cursor matters.
	small, err := cyprexx.NewRequestSystem(cyprexx.RequestConfig{Connection: pairConn, Client: p.client(), PushKey: pairPushKey,
		Records: p.st.Records(pairConn), PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	small.UseWorkSystem(p.work)
	conn := *p.conn
	conn.Request = small
	for _, full := range []bool{false, true, false} {
		var once sync.Once // after the first page, every cursor issued so far expires
		expireOnce := func(engine.Counts) { once.Do(func() { p.cx.SetFaults(csim.Faults{ExpireCursors: true}) }) }
		c, err := p.eng.RunIntake(p.ctx, &conn, full, expireOnce)
		if err != nil {
			t.Fatalf("full=%v: %v", full, err)
		}
		if c.Failed != 0 || c.New+c.Unchanged < 5 && full {
			t.Fatalf("full=%v: %+v", full, c)
		}
	}
	rows, _, err := p.st.ListTickets(p.ctx, store.TicketFilter{Tenant: pairTenant, Connection: pairConn})
	if err != nil || len(rows) != 5 {
		t.Fatalf("%d tickets, want 5 (%v)", len(rows), err)
	}
}

// Pushes may open tickets before the connection's intake ever ran (it failed, or ran late).
// The first run is a Full Refresh, which lists active orders only: an order whose ticket a
// push opened and whose cancel push was lost must still reach its ticket through the next
// Refresh (a chaos run found the first watermark set to the newest active order, past it).
func TestFirstRefreshStartsBeforeTicketsPushesOpened(t *testing.T) {
	p := newPair(t, pairOpts{callback: true})
	for _, c := range p.req.Validate(p.ctx) {
		if !c.OK {
			t.Fatalf("check failed: %+v", c)
		}
	}
	gone, kept := p.issue(nil), p.issue(nil)
	p.cx.WaitPushes()
	if p.starts() != 2 {
		t.Fatalf("pushes started %d tickets, want 2", p.starts())
	}
	p.cx.SetFaults(csim.Faults{PushDropRate: 1})
	if _, err := p.cx.Cancel(gone.WorkOrderID); err != nil {
		t.Fatal(err)
	}
	// Another order changes after the cancel (Cyprexx's times are in milliseconds): the newest
	// active order, where the first watermark used to land.
	time.Sleep(5 * time.Millisecond)
	if _, err := p.cx.Update(kept.WorkOrderID, json.RawMessage(`{"note":"Side gate"}`)); err != nil {
		t.Fatal(err)
	}
	p.cx.WaitPushes()
	if s := p.signals(gone.WorkOrderID); slices.Contains(s, ticket.SignalCancel) {
		t.Fatalf("the cancel's push was to be lost: %v", s)
	}

	if c := p.refresh(false); c.Unchanged+c.Updated != 1 || c.Failed != 0 {
		t.Fatalf("first run (Full Refresh: the one active order): %+v", c)
	}
	if c := p.refresh(false); c.Updated < 1 || c.Failed != 0 {
		t.Fatalf("the Refresh after it: %+v", c)
	}
	if s := p.signals(gone.WorkOrderID); !slices.Contains(s, ticket.SignalCancel) {
		t.Fatalf("the cancelled order's ticket was never cancelled: %v", s)
	}
	if r := p.get(gone.WorkOrderID + "-Grass Cut"); r.Status != pruvan.StatusCancelled {
		t.Fatalf("the project is %q, want it closed as %s", r.Status, pruvan.StatusCancelled)
	}
}
