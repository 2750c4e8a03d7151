package activities

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

func testStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// The feed reads less often while every change it shows was announced by a push, and snaps
// back to its base pace at the first change no push announced.
func TestFeedPaceStretchesWhilePushesKeepUp(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	conn := &connectors.Conn{ID: "c1", WorkKind: "theworxhub"}
	p := newFeedPace(time.Second, conn)
	now := time.Now()

	p.judge(ctx, st, nil, now)
	if p.interval() != time.Second {
		t.Fatalf("no push ever: interval %s, want the base", p.interval())
	}
	push := func(id string, at time.Time) {
		t.Helper()
		if _, err := st.RecordDelivery(ctx, "theworxhub:c1", id, at); err != nil {
			t.Fatal(err)
		}
	}
	push("d1", time.Now())
	for want := 2 * time.Second; want <= 64*time.Second; want *= 2 {
		p.judge(ctx, st, nil, time.Now())
		if got := min(want, 60*time.Second); p.interval() != got {
			t.Fatalf("quiet with pushes: interval %s, want %s", p.interval(), got)
		}
	}
	// One change, announced by d1: still stretched. A change too young to judge is held.
	old := time.Now().Add(-5 * time.Second)
	p.judge(ctx, st, []time.Time{old, time.Now()}, time.Now())
	if p.interval() != 60*time.Second || len(p.young) != 1 {
		t.Fatalf("announced change: interval %s, %d held", p.interval(), len(p.young))
	}
	// The held change ripens with no push of its own: snap back.
	p.judge(ctx, st, nil, time.Now().Add(3*time.Second))
	if p.interval() != time.Second {
		t.Fatalf("a change no push announced: interval %s, want the base", p.interval())
	}
	later := time.Now().Add(4 * time.Second)
	push("d2", later)
	p.judge(ctx, st, []time.Time{old}, later)
	if p.interval() != 2*time.Second {
		t.Fatalf("after the snap, an announced change: interval %s", p.interval())
	}
}

// fakeFeed lists its items (one page) and reads references "<connection>:<external id>".
type fakeFeed struct {
	vendorapi.WorkSystem
	mu     sync.Mutex
	items  []vendorapi.RemoteRequest
	limits []int
}

func (f *fakeFeed) Changes(_ context.Context, since time.Time, _ string, limit int) (vendorapi.ChangePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, limit)
	var out vendorapi.ChangePage
	for _, it := range f.items {
		if !it.ModifiedAt.Before(since) {
			out.Items = append(out.Items, it)
		}
	}
	return out, nil
}

func (f *fakeFeed) ParseReference(conn, ref string) (string, bool) {
	return strings.CutPrefix(ref, conn+":")
}

// The sweep's first run only learns what the feed holds; later runs poke (with the
// modification) only changes the regular reads did not poke and that lie behind their window.
func TestSweepPokesOnlyWhatTheReadsMissed(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	feed := &fakeFeed{items: []vendorapi.RemoteRequest{
		{ID: "R1", ExternalReference: "c1:a", ModifiedAt: base},
		{ID: "R2", ExternalReference: "c1:b", ModifiedAt: base},
		{ID: "R9", ExternalReference: "other:z", ModifiedAt: base},
	}}
	mc := mocks.NewClient(t)
	a := &Activities{Engine: &engine.Engine{Client: mc}}
	conn := &connectors.Conn{ID: "c1", WorkKind: "fake", Work: feed}
	s := newFeedSweep(time.Minute)
	if s.every != 4*time.Minute || s.window != 96*time.Minute {
		t.Fatalf("sweep every %s over %s", s.every, s.window)
	}
	watermark := time.Now()
	if n, err := a.sweep(ctx, conn, feed, s, watermark); err != nil || n != 0 {
		t.Fatalf("first sweep: %d pokes, %v", n, err)
	}
	// R1 changed behind the watermark (a late commit) and the reads never saw it; R2 changed
	// and the reads poked it; R3 is new and ahead of the watermark's overlap (the reads' job).
	late := base.Add(10 * time.Minute)
	feed.items[0].ModifiedAt = late
	feed.items[1].ModifiedAt = late
	s.remember(feed.items[1])
	feed.items = append(feed.items, vendorapi.RemoteRequest{ID: "R3", ExternalReference: "c1:c", ModifiedAt: watermark})
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a"), "", ticket.SignalPoke, FeedPoke{ModifiedAt: late}).Return(nil).Once()
	n, err := a.sweep(ctx, conn, feed, s, watermark)
	if err != nil || n != 1 {
		t.Fatalf("second sweep: %d pokes, %v", n, err)
	}
	for _, l := range feed.limits {
		if l != SweepPage {
			t.Fatalf("the sweep asked for pages of %d, want %d", l, SweepPage)
		}
	}
	if n, err := a.sweep(ctx, conn, feed, s, watermark.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("third sweep pokes again: %d, %v", n, err)
	}
}

// When the feed keeps failing, every open ticket (and no finished one) is poked without a
// modification, so each reads and tightens its timer.
func TestWakeOpenTicketsPokesEveryOpenTicket(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	if err := st.UpsertTenant(ctx, store.Tenant{ID: "t1", Name: "T"}); err != nil {
		t.Fatal(err)
	}
	mc := mocks.NewClient(t)
	want := map[string]bool{}
	for i, status := range []string{"Requested", "InProgress", "Done", "Canceled", "OnHold"} {
		ext := string(rune('a' + i))
		tk, _, err := st.CreateTicket(ctx, store.Ticket{ID: "tk-" + ext, Tenant: "t1", Connection: "c1", ExternalID: ext})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateTicketState(ctx, store.TicketState{ID: tk.ID, Status: status}); err != nil {
			t.Fatal(err)
		}
		if !ticket.IsTerminal(status) {
			want[tk.WorkflowID] = true
			mc.On("SignalWorkflow", mock.Anything, tk.WorkflowID, "", ticket.SignalPoke, nil).Return(nil).Once()
		}
	}
	a := &Activities{Store: st, Engine: &engine.Engine{Client: mc}}
	n, err := a.wakeOpenTickets(ctx, &connectors.Conn{ID: "c1", Tenant: "t1"}, func() {})
	if err != nil || n != len(want) {
		t.Fatalf("woke %d tickets (%v), want %d", n, err, len(want))
	}
}
