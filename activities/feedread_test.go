package activities

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// feedItems makes n changes of our requests c1:a0, c1:a1, … one second apart, oldest first.
func feedItems(base time.Time, n int) []vendorapi.RemoteRequest {
	items := make([]vendorapi.RemoteRequest, n)
	for i := range items {
		items[i] = vendorapi.RemoteRequest{ID: fmt.Sprintf("R%d", i), ExternalReference: fmt.Sprintf("c1:a%d", i),
			ModifiedAt: base.Add(time.Duration(i) * time.Second)}
	}
	return items
}

// savedWatermark is the follower's watermark in the store ("" when never saved).
func savedWatermark(t *testing.T, a *Activities) string {
	t.Helper()
	v, err := a.Store.GetCursor(context.Background(), "c1", engine.FeedWatermarkCursor)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// A page's changes are poked several at a time; a poke that fails leaves the watermark where
// it was and is poked again by the next read, the others are not.
func TestFeedReadPokesAPageConcurrentlyAndRetriesOnlyWhatFailed(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	feed := &fakeFeed{items: feedItems(base, 20)}
	mc := mocks.NewClient(t)
	var inFlight, most atomic.Int32
	slow := func(mock.Arguments) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
	}
	for i := range 20 {
		wid := ticket.WorkflowID("c1", fmt.Sprintf("a%d", i))
		if i == 7 {
			mc.On("SignalWorkflow", mock.Anything, wid, "", ticket.SignalPoke, nil).Run(slow).Return(errors.New("unavailable")).Once()
		}
		mc.On("SignalWorkflow", mock.Anything, wid, "", ticket.SignalPoke, nil).Run(slow).Return(nil).Once()
	}
	a := &Activities{Store: testStore(t), Engine: &engine.Engine{Client: mc}}
	conn := &connectors.Conn{ID: "c1", WorkKind: "fake", Work: feed}
	start := base.Add(-time.Minute)
	prog := &FeedProgress{Watermark: start}
	seen := map[string]time.Time{}
	read := func() error {
		_, more, err := a.readFeedOnce(ctx, conn, feed, prog, seen, newFeedSweep(time.Minute), false, func() {})
		if more {
			t.Fatal("a one-page pass ended early")
		}
		return err
	}

	if err := read(); err == nil {
		t.Fatal("a failed poke was not reported")
	}
	if prog.Pokes != 19 || !prog.Watermark.Equal(start) || savedWatermark(t, a) != "" {
		t.Fatalf("after a failed poke: %d pokes, watermark %s (saved %q); want 19 and unmoved", prog.Pokes, prog.Watermark, savedWatermark(t, a))
	}
	if m := most.Load(); m < 2 || m > feedPokers {
		t.Fatalf("%d pokes at once, want 2..%d", m, feedPokers)
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	newest := feed.items[19].ModifiedAt
	if prog.Pokes != 20 || !prog.Watermark.Equal(newest) || savedWatermark(t, a) != stamp(newest) {
		t.Fatalf("after the retry: %d pokes, watermark %s (saved %q); want 20 and %s", prog.Pokes, prog.Watermark, savedWatermark(t, a), newest)
	}
}

// An ordered feed's watermark is saved after every page, and a pass longer than its budget
// ends early (more) and resumes from there; every change is poked once. A feed in another
// order moves the watermark only when the whole pass is done.
func TestOrderedFeedSavesTheWatermarkPerPageAndEndsALongPass(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	run := func(t *testing.T, ordered bool, fail int) (*Activities, *fakeFeed, *FeedProgress, func() (bool, error)) {
		feed := &fakeFeed{items: feedItems(base, 12), page: 5, ordered: ordered}
		mc := mocks.NewClient(t)
		for i := range 12 {
			wid := ticket.WorkflowID("c1", fmt.Sprintf("a%d", i))
			if i == fail {
				mc.On("SignalWorkflow", mock.Anything, wid, "", ticket.SignalPoke, nil).Return(errors.New("unavailable")).Once()
				continue
			}
			call := mc.On("SignalWorkflow", mock.Anything, wid, "", ticket.SignalPoke, nil).Return(nil)
			if fail >= 0 {
				call.Maybe() // the pass stops at the failing page
			} else {
				call.Once()
			}
		}
		a := &Activities{Store: testStore(t), Engine: &engine.Engine{Client: mc}}
		conn := &connectors.Conn{ID: "c1", WorkKind: "fake", Work: feed}
		prog := &FeedProgress{Watermark: base.Add(-time.Minute)}
		seen := map[string]time.Time{}
		return a, feed, prog, func() (bool, error) {
			_, more, err := a.readFeedOnce(ctx, conn, feed, prog, seen, newFeedSweep(time.Minute), false, func() {})
			return more, err
		}
	}

	t.Run("ordered, a budget of one page", func(t *testing.T) {
		defer func(b time.Duration) { feedPassBudget = b }(feedPassBudget)
		feedPassBudget = 0
		a, feed, prog, read := run(t, true, -1)
		more, err := read()
		if err != nil || !more {
			t.Fatalf("first pass: more %v, %v", more, err)
		}
		if mark := feed.items[4].ModifiedAt; savedWatermark(t, a) != stamp(mark) || prog.Pokes != 5 {
			t.Fatalf("after one page: saved %q, %d pokes; want %s and 5", savedWatermark(t, a), prog.Pokes, mark)
		}
		passes := 1
		for more {
			if more, err = read(); err != nil {
				t.Fatal(err)
			}
			if passes++; passes > 10 {
				t.Fatal("the passes never ended")
			}
		}
		if last := feed.items[11].ModifiedAt; prog.Pokes != 12 || savedWatermark(t, a) != stamp(last) {
			t.Fatalf("after %d passes: %d pokes, saved %q; want 12 and %s", passes, prog.Pokes, savedWatermark(t, a), last)
		}
	})
	t.Run("ordered, a poke failing on the second page", func(t *testing.T) {
		a, feed, prog, read := run(t, true, 7)
		if _, err := read(); err == nil {
			t.Fatal("a failed poke was not reported")
		}
		if mark := feed.items[4].ModifiedAt; savedWatermark(t, a) != stamp(mark) || !prog.Watermark.Equal(mark) {
			t.Fatalf("saved %q, watermark %s; want the first page's last change %s", savedWatermark(t, a), prog.Watermark, mark)
		}
	})
	t.Run("unordered", func(t *testing.T) {
		defer func(b time.Duration) { feedPassBudget = b }(feedPassBudget)
		feedPassBudget = 0
		a, feed, prog, read := run(t, false, -1)
		if more, err := read(); err != nil || more {
			t.Fatalf("an unordered pass ended early (%v) or failed: %v", more, err)
		}
		if last := feed.items[11].ModifiedAt; prog.Pokes != 12 || savedWatermark(t, a) != stamp(last) {
			t.Fatalf("%d pokes, saved %q; want 12 and %s", prog.Pokes, savedWatermark(t, a), last)
		}
	})
	t.Run("unordered, a poke failing on the second page", func(t *testing.T) {
		a, _, prog, read := run(t, false, 7)
		if _, err := read(); err == nil {
			t.Fatal("a failed poke was not reported")
		}
		if savedWatermark(t, a) != "" || !prog.Watermark.Equal(base.Add(-time.Minute)) {
			t.Fatalf("an unordered feed moved its watermark mid-pass: saved %q, %s", savedWatermark(t, a), prog.Watermark)
		}
	})
}

// While the work system pushes (stamped pokes), a change that is the request's creation is not
// poked: the ticket read the request back when it created it and would drop the poke as seen.
// Without pushes every change is poked (stamps need not order every change then).
func TestStampedFeedLeavesCreationsUnpoked(t *testing.T) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	feed := &fakeFeed{items: feedItems(base, 2)}
	feed.items[0].CreatedAt = feed.items[0].ModifiedAt                   // just created
	feed.items[1].CreatedAt = feed.items[1].ModifiedAt.Add(-time.Minute) // changed since
	mc := mocks.NewClient(t)
	a := &Activities{Store: testStore(t), Engine: &engine.Engine{Client: mc}}
	conn := &connectors.Conn{ID: "c1", WorkKind: "fake", Work: feed}
	read := func(stamped bool) {
		t.Helper()
		prog := &FeedProgress{Watermark: base.Add(-time.Minute)}
		if _, _, err := a.readFeedOnce(ctx, conn, feed, prog, map[string]time.Time{}, newFeedSweep(time.Minute), stamped, func() {}); err != nil {
			t.Fatal(err)
		}
	}
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a1"), "", ticket.SignalPoke, ticket.PokeSignal{ModifiedAt: feed.items[1].ModifiedAt}).Return(nil).Once()
	read(true)
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a0"), "", ticket.SignalPoke, nil).Return(nil).Once()
	mc.On("SignalWorkflow", mock.Anything, ticket.WorkflowID("c1", "a1"), "", ticket.SignalPoke, nil).Return(nil).Once()
	read(false)
}
