package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// What keeps the safety nets cheap for the vendor (issue 8, docs/performance.md): pushes bring
// changes within a second; the change feed checks them at a pace that stretches while the
// pushes keep up; an hourly sweep re-reads the last day of the feed; and a quiet ticket's own
// timer relaxes to a day (workflows.RelaxedPollInterval) until the feed fails, when the
// follower wakes every open ticket so each tightens its timer again.

// The feed's pokes carry the modification they saw (ticket.PokeSignal) only while the
// connection's work system pushes (feedPace.pushing): without pushes nothing reads a change
// before the feed announces it, so there is nothing to skip, and the stamps of such systems need
// not order every change — Cityworks dates whole seconds from the status dates alone, so a close
// in the second of the ticket's last read (the create, a staff note) carried the stamp the
// ticket already held and was dropped as seen.

const (
	// MaxFeedStretch bounds the stretched feed interval: 60 × 5 s = 5 min, a third of the
	// 15-minute promise, so a change whose push was lost still arrives in time.
	MaxFeedStretch = 60
	// pushGrace is how long a push may trail the change it announces: fresher changes are
	// judged at the next read.
	pushGrace = 2 * time.Second
	// pushMemory: a connection whose last verified push is older than this is taken as having
	// no pushes (not configured, or gone for good): the feed then stays at its base pace.
	pushMemory = 24 * time.Hour
	// feedWakeAfterReads is how many reads in a row must fail (at the base interval: a minute
	// at 5 s) before the follower wakes every open ticket: a blip must not cost a read per
	// ticket.
	feedWakeAfterReads = 12
	// Sweep timing in poll intervals of the connection: every sweepEveryPolls (an hour at
	// 15 min), over the span of a quiet ticket's relaxed timer (SweepWindow).
	sweepEveryPolls  = 4
	sweepWindowPolls = 96
	maxSweepWindow   = 24 * time.Hour
	// SweepPage is the page size the sweep asks for (the regular reads ask for feedPage).
	SweepPage = 500
)

// FeedWakeAfter is how long the feed must keep failing, at base interval base, before the
// follower wakes every open ticket.
func FeedWakeAfter(base time.Duration) time.Duration { return feedWakeAfterReads * base }

// SweepWindow is how far back the sweep reads: the span of a quiet ticket's relaxed timer
// (workflows.RelaxedPollInterval of the same poll interval; a test keeps the two equal).
func SweepWindow(poll time.Duration) time.Duration {
	return max(poll, min(poll*sweepWindowPolls, maxSweepWindow))
}

// pollInterval is the connection's per-ticket poll interval (the sweep's time unit).
func (a *Activities) pollInterval(conn *connectors.Conn) time.Duration {
	def := 15 * time.Minute
	if a.Engine != nil && a.Engine.PollInterval > 0 {
		def = a.Engine.PollInterval
	}
	return conn.PollIntervalOr(def)
}

// feedPace adapts how often the change feed is read. While every change a read shows was also
// announced by a verified push received in the same span, the interval doubles (up to
// MaxFeedStretch × the base); a change no push announced, or a failed read, snaps it back to
// the base. Each read is judged on its own span (pushes since the previous judgement), so a
// surplus of pushes earlier on — several changes of one request between two reads are one
// item but several pushes — cannot hide a gap later.
type feedPace struct {
	base, max, cur time.Duration
	source         string      // the pushes' webhook_deliveries source: "<work kind>:<connection>"
	judged         time.Time   // the previous judgement: pushes are counted from there
	young          []time.Time // changes too fresh to judge: their push may still be in flight
	credit         int         // pushes of the last span kept for the young changes they may announce
	lastPush       time.Time
}

func newFeedPace(base time.Duration, conn *connectors.Conn) *feedPace {
	return &feedPace{base: base, max: base * MaxFeedStretch, cur: base, source: conn.WorkKind + ":" + conn.ID,
		judged: time.Now()}
}

func (p *feedPace) interval() time.Duration { return p.cur }

// prime learns when the connection's work system last pushed, so the first read after a start
// (thousands of changes after a restart) already knows whether its pokes may carry stamps.
func (p *feedPace) prime(ctx context.Context, st *store.Store, now time.Time) {
	if _, last, err := st.PushesSince(ctx, p.source, now); err == nil && last.After(p.lastPush) {
		p.lastPush = last
	}
}

// pushing reports whether the work system has pushed recently: only then do the feed's pokes
// carry the modification (ticket.PokeSignal), for a push may have brought it already.
func (p *feedPace) pushing(now time.Time) bool {
	return !p.lastPush.IsZero() && now.Sub(p.lastPush) < pushMemory
}

// snap returns to the base pace (a failed read, or a change no push announced).
func (p *feedPace) snap() { p.cur = p.base }

// judge weighs one successful read: the changes that ripened since the previous judgement
// (found by this read, or held from the last as too fresh) against the pushes received in
// the same span.
func (p *feedPace) judge(ctx context.Context, st *store.Store, fresh []time.Time, now time.Time) {
	from := p.judged
	p.judged = now
	p.young = append(p.young, fresh...)
	kept := p.young[:0]
	changes := 0
	for _, t := range p.young {
		if t.After(now.Add(-pushGrace)) {
			kept = append(kept, t)
		} else {
			changes++
		}
	}
	p.young = kept
	pushes, last, err := st.PushesSince(ctx, p.source, from)
	if err != nil {
		p.snap() // no evidence either way: read at the base pace
		return
	}
	if last.After(p.lastPush) {
		p.lastPush = last
	}
	// A held change's push may have come in the last span: its surplus pushes, up to the
	// number of changes still held, count for the next one.
	pushes += p.credit
	p.credit = max(0, min(pushes-changes, len(p.young)))
	switch {
	case changes > pushes:
		p.snap() // a change no push announced: pushes lag or are lost
	case now.Sub(p.lastPush) < pushMemory:
		p.cur = min(2*p.cur, p.max)
	default:
		p.cur = p.base // no pushes: the feed is the fast path
	}
}

// feedSweep re-reads the feed over the span of the relaxed per-ticket timer every few poll
// intervals (FixMyStreet's "updates of the last day"), and pokes the tickets of changes the
// follower has not poked: a change the vendor committed with a modification time older than
// the watermark's overlap reaches its ticket within the sweep period instead of at its daily
// timer. A follower's first sweep, one period after it starts, only learns what is there.
type feedSweep struct {
	every, window time.Duration
	next          time.Time
	known         map[string]time.Time // remote id → newest modification poked or swept
	primed        bool
}

func newFeedSweep(poll time.Duration) *feedSweep {
	every := poll * sweepEveryPolls
	return &feedSweep{every: every, window: SweepWindow(poll), next: time.Now().Add(every), known: map[string]time.Time{}}
}

// remember records a change the regular reads poked.
func (s *feedSweep) remember(item vendorapi.RemoteRequest) {
	if item.ModifiedAt.After(s.known[item.ID]) {
		s.known[item.ID] = item.ModifiedAt
	}
}

// sweep runs one sweep; it returns the pokes it made.
func (a *Activities) sweep(ctx context.Context, conn *connectors.Conn, feed vendorapi.ChangeFeed, s *feedSweep, watermark time.Time, stamped bool, beat func()) (int, error) {
	now := time.Now()
	since := now.Add(-s.window)
	cursor := ""
	pokes := 0
	for page := 0; page < 1000; page++ {
		res, err := feed.Changes(ctx, since, cursor, SweepPage)
		if err != nil {
			var ve *vendorapi.Error
			if errors.As(err, &ve) && ve.Code == "invalid_cursor" && cursor != "" {
				cursor = ""
				continue
			}
			return pokes, err
		}
		beat()
		var todo []vendorapi.RemoteRequest
		for _, item := range res.Items {
			if last, ok := s.known[item.ID]; ok && !item.ModifiedAt.After(last) {
				continue
			}
			// Changes inside the regular reads' window are theirs; the first sweep only learns.
			if !s.primed || !item.ModifiedAt.Before(watermark.Add(-feedOverlap)) {
				s.known[item.ID] = item.ModifiedAt
				continue
			}
			todo = append(todo, item)
		}
		done, err := pokeEach(len(todo), func(i int) error { return a.pokeChanged(ctx, conn, todo[i], stamped) })
		for i, item := range todo {
			if done[i] { // a change not poked stays unknown: the next sweep pokes it
				s.remember(item)
				pokes++
			}
		}
		if err != nil {
			return pokes, err
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	for id, t := range s.known {
		if t.Before(since) {
			delete(s.known, id)
		}
	}
	s.primed = true
	s.next = now.Add(s.every)
	return pokes, nil
}

// wakeOpenTickets pokes every open ticket of the connection without a modification time, so
// each reads the work system, learns that the feed is failing and tightens its timer back to
// the poll interval. beat is called after every page (the activity's heartbeat).
func (a *Activities) wakeOpenTickets(ctx context.Context, conn *connectors.Conn, beat func()) (int, error) {
	cursor := ""
	n := 0
	for {
		page, next, err := a.Store.ListTickets(ctx, store.TicketFilter{Tenant: conn.Tenant, Connection: conn.ID,
			Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return n, fmt.Errorf("list open tickets: %w", err)
		}
		page = slices.DeleteFunc(page, func(t store.Ticket) bool { return ticket.IsTerminal(t.Status) })
		done, err := pokeEach(len(page), func(i int) error {
			if err := a.Engine.Signal(ctx, page[i].WorkflowID, ticket.SignalPoke, nil); err != nil && !errors.Is(err, engine.ErrWorkflowClosed) {
				return err
			}
			return nil
		})
		for _, ok := range done {
			if ok {
				n++
			}
		}
		beat()
		if err != nil {
			return n, err
		}
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}
