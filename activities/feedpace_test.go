package activities

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
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

// The feed reads less often while every change it shows was announced by a push in the same
// span, and snaps back to its base pace at the first change no push announced — even after a
// long run of surplus pushes.
func TestFeedPaceStretchesWhilePushesKeepUp(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	conn := &connectors.Conn{ID: "c1", WorkKind: "theworxhub"}
	t0 := time.Now().Add(-time.Hour)
	p := newFeedPace(time.Second, conn)
	p.judged = t0
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	push := func(id string, when time.Time) {
		t.Helper()
		if _, err := st.RecordDelivery(ctx, "theworxhub:c1", id, when); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, want time.Duration) {
		t.Helper()
		if p.interval() != want {
			t.Fatalf("%s: interval %s, want %s", what, p.interval(), want)
		}
	}

	p.judge(ctx, st, nil, at(time.Second))
	expect("no push ever", time.Second)

	// Many pushes, few feed items (several changes of one request between two reads).
	for i := range 10 {
		push(fmt.Sprintf("d%d", i), at(2*time.Second))
	}
	p.judge(ctx, st, []time.Time{at(1500 * time.Millisecond)}, at(10*time.Second))
	expect("an announced change", 2*time.Second)
	for i := 1; i <= 6; i++ {
		p.judge(ctx, st, nil, at(time.Duration(10+i*10)*time.Second))
	}
	expect("quiet with pushes", 60*time.Second)

	// A change whose push never came: the surplus of the earlier span does not hide it.
	p.judge(ctx, st, []time.Time{at(75 * time.Second)}, at(80*time.Second))
	expect("a change no push announced", time.Second)

	// A change too fresh to judge is held; its push comes before the next read.
	p.judge(ctx, st, []time.Time{at(99500 * time.Millisecond)}, at(100*time.Second))
	if len(p.young) != 1 {
		t.Fatalf("%d changes held, want 1", len(p.young))
	}
	push("late", at(101*time.Second))
	p.judge(ctx, st, nil, at(103*time.Second))
	expect("a held change announced after the read", 4*time.Second)
	p.judge(ctx, st, []time.Time{at(100 * time.Second)}, at(110*time.Second))
	expect("a change of the next span without its push (the last span's push is not counted twice)", time.Second)

	// A held change whose push came in the same span as its read is credited, not lost.
	push("quick", at(120*time.Second))
	p.judge(ctx, st, []time.Time{at(119500 * time.Millisecond)}, at(120500*time.Millisecond))
	p.judge(ctx, st, nil, at(125*time.Second))
	expect("a held change announced before its judgement", 4*time.Second)
}

// fakeFeed lists its items from since (in pages of page items when page is set, the cursor an
// offset) and reads references "<connection>:<external id>". ordered: it says its items are
// oldest first (vendorapi.OrderedFeed); the test lists them so.
type fakeFeed struct {
	vendorapi.WorkSystem
	mu      sync.Mutex
	items   []vendorapi.RemoteRequest
	limits  []int
	page    int
	ordered bool
}

func (f *fakeFeed) Changes(_ context.Context, since time.Time, cursor string, limit int) (vendorapi.ChangePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, limit)
	var all []vendorapi.RemoteRequest
	for _, it := range f.items {
		if !it.ModifiedAt.Before(since) {
			all = append(all, it)
		}
	}
	if f.page == 0 {
		return vendorapi.ChangePage{Items: all}, nil
	}
	from, _ := strconv.Atoi(cursor)
	var out vendorapi.ChangePage
	out.Items = all[from:min(len(all), from+f.page)]
	if next := from + len(out.Items); next < len(all) {
		out.NextCursor = strconv.Itoa(next)
	}
	return out, nil
}

func (f *fakeFeed) FeedInModificationOrder() bool { return f.ordered }

func (f *fakeFeed) ParseReference(conn, ref string) (string, bool) {
	return strings.CutPrefix(ref, conn+":")
}

// The sweep's first run only learns what the feed holds; later runs poke (with the
// modification, the connection pushing) only changes the regular reads did not poke and that lie behind their window.
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
	if n, err := a.sweep(ctx, conn, feed, s, watermark, true, func() {}); err != nil || n != 0 {
		t.Fatalf("first sweep: %d pokes, %v", n, err)
	}
	// R1 changed behind the watermark (a late commit) and the reads never saw it; R2 changed
	// and the reads poked it; R3 is new and ahead of the watermark's overlap (the reads' job).
	late := base.Add(10 * time.Minute)
	feed.items[0].ModifiedAt = late
	feed.items[1].ModifiedAt = late
	s.remember(feed.items[1])
	feed.items = append(feed.items, vendorapi.RemoteRequest{ID: "R3", ExternalReference: "c1:c", ModifiedAt: watermark})
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a"), "", ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: late}).Return(nil).Once()
	n, err := a.sweep(ctx, conn, feed, s, watermark, true, func() {})
	if err != nil || n != 1 {
		t.Fatalf("second sweep: %d pokes, %v", n, err)
	}
	for _, l := range feed.limits {
		if l != SweepPage {
			t.Fatalf("the sweep asked for pages of %d, want %d", l, SweepPage)
		}
	}
	if n, err := a.sweep(ctx, conn, feed, s, watermark.Add(time.Minute), true, func() {}); err != nil || n != 0 {
		t.Fatalf("third sweep pokes again: %d, %v", n, err)
	}
}

// A sweep's poke that fails is not remembered: the next sweep pokes it again (and only it).
func TestSweepPokesAgainWhatFailedToPoke(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	feed := &fakeFeed{items: feedItems(base, 3)}
	mc := mocks.NewClient(t)
	a := &Activities{Engine: &engine.Engine{Client: mc}}
	conn := &connectors.Conn{ID: "c1", WorkKind: "fake", Work: feed}
	s := newFeedSweep(time.Minute)
	watermark := time.Now()
	if _, err := a.sweep(ctx, conn, feed, s, watermark, false, func() {}); err != nil {
		t.Fatal(err)
	}
	for i := range feed.items {
		feed.items[i].ModifiedAt = feed.items[i].ModifiedAt.Add(10 * time.Minute) // late commits the reads missed
	}
	poke := func(ext string) *mock.Call {
		return mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", ext), "", ticket.SignalPoke, nil)
	}
	poke("a0").Return(nil).Once()
	poke("a1").Return(errors.New("unavailable")).Once()
	poke("a2").Return(nil).Once()
	if n, err := a.sweep(ctx, conn, feed, s, watermark, false, func() {}); err == nil || n != 2 {
		t.Fatalf("a failing sweep: %d pokes, %v; want 2 and the error", n, err)
	}
	poke("a1").Return(nil).Once()
	if n, err := a.sweep(ctx, conn, feed, s, watermark, false, func() {}); err != nil || n != 1 {
		t.Fatalf("the next sweep: %d pokes, %v; want only the failed one", n, err)
	}
}

// A feed's pokes carry the modification only while the connection's work system pushes. A
// Cityworks connection pushes nothing and dates whole seconds: a stamp would let a ticket that
// read its request earlier in the same second (the create, a staff note) drop the close as
// already seen, so its pokes carry nothing and the ticket reads.
func TestFeedPokesCarryTheModificationOnlyWhileTheWorkSystemPushes(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	second := time.Now().Truncate(time.Second)
	feed := &fakeFeed{items: []vendorapi.RemoteRequest{{ID: "SR-1", ExternalReference: "c1:a", Status: "CLOSED", ModifiedAt: second}}}
	mc := mocks.NewClient(t)
	a := &Activities{Store: st, Engine: &engine.Engine{Client: mc}}
	conn := &connectors.Conn{ID: "c1", WorkKind: "cityworks", Work: feed}
	read := func(p *feedPace) {
		t.Helper()
		prog := &FeedProgress{Watermark: second.Add(-time.Minute)}
		if _, _, err := a.readFeedOnce(ctx, conn, feed, prog, map[string]time.Time{}, newFeedSweep(time.Minute), p.pushing(time.Now()), func() {}); err != nil {
			t.Fatal(err)
		}
	}

	quiet := newFeedPace(time.Second, conn)
	quiet.prime(ctx, st, time.Now())
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a"), "", ticket.SignalPoke, nil).Return(nil).Once()
	read(quiet)

	// Once the work system pushes, a follower (re)started knows it before its first read.
	if _, err := st.RecordDelivery(ctx, "cityworks:c1", "d1", time.Now()); err != nil {
		t.Fatal(err)
	}
	pushing := newFeedPace(time.Second, conn)
	pushing.prime(ctx, st, time.Now())
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a"), "", ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: second}).Return(nil).Once()
	read(pushing)
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

// The follower vouches for the feed at most every feedLivenessEvery, and it does so from
// every page's beat: a read poking thousands of changes keeps the mark fresh, so the tickets
// it pokes do not judge the feed down and tighten their timers all at once.
func TestFeedLivenessIsRecordedAtMostEveryPeriod(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	live := feedLiveness{store: st, conn: "c1"}
	mark := func() string {
		t.Helper()
		v, err := st.GetCursor(ctx, "c1", engine.FeedLastReadCursor)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	t0 := time.Now().Truncate(time.Second)
	for _, step := range []struct {
		at   time.Duration
		want time.Duration
	}{{0, 0}, {10 * time.Second, 0}, {feedLivenessEvery, 0}, {feedLivenessEvery + time.Second, feedLivenessEvery + time.Second}, {50 * time.Second, feedLivenessEvery + time.Second}} {
		live.vouch(ctx, t0.Add(step.at))
		if got, want := mark(), t0.Add(step.want).UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("after a vouch at +%s the mark is %s, want %s", step.at, got, want)
		}
	}
}
