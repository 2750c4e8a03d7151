package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// FeedInput names the connection whose change feed to follow.
type FeedInput struct {
	Connection string `json:"connection"`
}

// FeedProgress is heartbeated so a restarted follower resumes where the last one stopped.
type FeedProgress struct {
	Watermark time.Time `json:"watermark"`
	Pokes     int       `json:"pokes"`
	Reads     int       `json:"reads"`
	LastError string    `json:"lastError,omitempty"`
	// The safety nets' pace (feedpace.go): the current read interval, sweeps and their pokes,
	// and tickets woken because the feed kept failing.
	IntervalMs int64 `json:"intervalMs,omitempty"`
	Sweeps     int   `json:"sweeps,omitempty"`
	SweepPokes int   `json:"sweepPokes,omitempty"`
	Woken      int   `json:"woken,omitempty"`
	// Intake: the request system's stream (its cursor lives in the store).
	IntakeRuns      int           `json:"intakeRuns,omitempty"`
	Intake          engine.Counts `json:"intake"`
	IntakeLastError string        `json:"intakeLastError,omitempty"`
}

const (
	// feedOverlap re-reads a little before the watermark: clocks and same-millisecond ties
	// otherwise lose changes at the boundary. Duplicates are filtered by (id, modifiedAt).
	feedOverlap = 2 * time.Second
	feedPage    = 200
	// followerLifetime ends the activity before its StartToClose so the workflow restarts it.
	followerLifetime = 50 * time.Minute
	// feedPokers is how many pokes (signals) a page sends at once: one at a time, a 100k-ticket
	// burst outran the follower at ~16 signals a second.
	feedPokers = 8
)

// feedPassBudget ends a long pass over an ordered feed so the sweep, the intake and the
// lifetime are checked in between; the next pass starts at once from the saved watermark.
// A variable for the tests.
var feedPassBudget = time.Minute

// FollowChangeFeed follows the connection's two inbound streams until its lifetime ends: the
// work system's change feed every FeedInterval (poking each ticket whose remote request
// changed; watermark persisted and heartbeated) and the request system's intake every
// intake interval (starting and signalling tickets; cursor persisted by the engine). Either
// side may have neither.
func (a *Activities) FollowChangeFeed(ctx context.Context, in FeedInput) error {
	conn, err := a.conn(in.Connection)
	if err != nil {
		return err
	}
	feed, hasFeed := conn.Work.(vendorapi.ChangeFeed)
	_, hasIntake := conn.Request.(vendorapi.Intake)
	if !hasFeed && !hasIntake {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("neither %s has a change feed nor %s an intake", conn.WorkKind, conn.RequestKind), "NoFeed", nil)
	}
	interval := a.FeedInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	intakeEvery := a.IntakeInterval
	if d := conn.Config.RequestSystem.PollInterval.Duration; d > 0 {
		intakeEvery = d
	}
	if intakeEvery <= 0 {
		intakeEvery = time.Minute
	}
	var progress FeedProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &progress)
	}
	if hasFeed {
		// The store's watermark is saved after every read; a heartbeat may not have carried
		// the latest (the SDK throttles them): resume from the later of the two.
		saved, err := a.Store.GetCursor(ctx, in.Connection, engine.FeedWatermarkCursor)
		if err != nil {
			return fmt.Errorf("load feed watermark: %w", err)
		}
		if saved != "" {
			if t, err := time.Parse(time.RFC3339Nano, saved); err == nil && t.After(progress.Watermark) {
				progress.Watermark = t
			}
		}
		if progress.Watermark.IsZero() {
			// A fresh connection starts "now": tickets created before it poll on their own timers.
			progress.Watermark = time.Now().UTC().Add(-time.Minute)
		}
	}
	hb := newFollowerHeartbeat(progress)
	defer hb.keepAlive(ctx)()
	seen := map[string]time.Time{}
	deadline := time.Now().Add(followerLifetime)
	ticker := time.NewTicker(min(interval, intakeEvery))
	defer ticker.Stop()
	lastSavedError := "-"
	live := feedLiveness{store: a.Store, conn: in.Connection}
	nextIntake := time.Now()
	pace := newFeedPace(interval, conn)
	pace.prime(ctx, a.Store, time.Now())
	sweep := newFeedSweep(a.pollInterval(conn))
	// A long read (a backlog of thousands of changes, each poked) must not outlast the
	// heartbeat timeout, nor leave the tickets thinking the feed is down: every page beats and
	// vouches for the feed while its last read succeeded.
	beat := func() {
		hb.record(ctx, progress)
		if progress.LastError == "" {
			live.vouch(ctx, time.Now())
		}
	}
	nextRead := time.Now()
	var failingSince time.Time
	woken := false
	for {
		if hasFeed {
			if now := time.Now(); !now.Before(nextRead) {
				fresh, more, err := a.readFeedOnce(ctx, conn, feed, &progress, seen, sweep, pace.pushing(now), beat)
				if err != nil {
					progress.LastError = err.Error()
					a.log().Warn("change feed read failed", "connection", in.Connection, "error", err)
					pace.snap()
					if failingSince.IsZero() && errors.As(err, new(feedReadError)) {
						failingSince = now
					}
				} else {
					progress.LastError = ""
					failingSince, woken = time.Time{}, false
					pace.judge(ctx, a.Store, fresh, now)
				}
				nextRead = now.Add(pace.interval())
				if more {
					nextRead = time.Now() // a backlog: go on after the checks below
				}
				progress.IntervalMs = pace.interval().Milliseconds()
			}
			// Between the reads of a stretched interval the follower vouches for the feed while
			// its last read succeeded (the stretch is bounded well inside the poll interval).
			if progress.LastError == "" {
				live.vouch(ctx, time.Now())
			}
			if progress.LastError != lastSavedError {
				if err := a.Store.SaveCursor(ctx, in.Connection, engine.FeedLastErrorCursor, progress.LastError); err == nil {
					lastSavedError = progress.LastError
				}
			}
			if !failingSince.IsZero() && !woken && time.Since(failingSince) >= FeedWakeAfter(interval) {
				// Quiet tickets sleep for a day while the feed is healthy: wake them all so
				// each tightens its timer until the feed is back.
				n, err := a.wakeOpenTickets(ctx, conn, beat)
				progress.Woken += n
				woken = err == nil
				if err != nil {
					a.log().Warn("waking open tickets failed", "connection", in.Connection, "error", err)
				}
			}
			if progress.LastError == "" && !time.Now().Before(sweep.next) {
				n, err := a.sweep(ctx, conn, feed, sweep, progress.Watermark, pace.pushing(time.Now()), beat)
				progress.Sweeps++
				progress.SweepPokes += n
				if err != nil {
					sweep.next = time.Now().Add(sweep.every)
					a.log().Warn("change feed sweep failed", "connection", in.Connection, "error", err)
				}
			}
		}
		if hasIntake && !time.Now().Before(nextIntake) {
			nextIntake = time.Now().Add(intakeEvery)
			counts, err := a.Engine.RunIntake(ctx, conn, false, nil)
			progress.IntakeRuns++
			progress.Intake.Add(counts)
			progress.IntakeLastError = ""
			if err != nil {
				progress.IntakeLastError = err.Error()
				a.log().Warn("intake failed", "connection", in.Connection, "error", err)
			}
		}
		hb.record(ctx, progress)
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-activity.GetWorkerStopChannel(ctx):
			return nil // worker shutting down: the workflow restarts the follower elsewhere
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// feedReadError is a failure of the work system's feed itself, not of our store or Temporal:
// only those count toward waking every open ticket (waking would not help the others).
type feedReadError struct{ err error }

func (e feedReadError) Error() string { return e.err.Error() }
func (e feedReadError) Unwrap() error { return e.err }

// readFeedOnce pages through everything modified since the watermark (minus the overlap) and
// returns the modification times of the changes it poked (the pace weighs them against the
// pushes; the sweep remembers them). stamped: the pokes carry the modification (ticket.PokeSignal).
// A page's changes are poked feedPokers at a time (one after another, a backlog of 100,000
// changes outran the follower). An ordered feed (vendorapi.OrderedFeed) saves the watermark
// after every page and ends the pass after feedPassBudget with more set, so the follower's
// sweep, intake and lifetime get their turn and the next pass resumes from the saved mark.
func (a *Activities) readFeedOnce(ctx context.Context, conn *connectors.Conn, feed vendorapi.ChangeFeed, p *FeedProgress, seen map[string]time.Time, sw *feedSweep, stamped bool, beat func()) (fresh []time.Time, more bool, err error) {
	since := p.Watermark.Add(-feedOverlap)
	o, ok := feed.(vendorapi.OrderedFeed)
	ordered := ok && o.FeedInModificationOrder()
	started := time.Now()
	cursor := ""
	newMark := p.Watermark
	for page := 0; page < 1000; page++ {
		res, err := feed.Changes(ctx, since, cursor, feedPage)
		if err != nil {
			var ve *vendorapi.Error
			if errors.As(err, &ve) && ve.Code == "invalid_cursor" && cursor != "" {
				cursor = "" // expired cursor: restart from the watermark
				continue
			}
			return fresh, false, feedReadError{err}
		}
		p.Reads++
		beat()
		var todo []vendorapi.RemoteRequest
		for _, item := range res.Items {
			if at, dup := seen[feedKey(item)]; !dup {
				seen[feedKey(item)] = time.Time{} // claimed: a page repeating a change pokes it once
				todo = append(todo, item)
			} else if at.After(newMark) {
				newMark = at // poked by an earlier read that failed on another change
			}
		}
		done, err := pokeEach(len(todo), func(i int) error { return a.pokeChanged(ctx, conn, todo[i], stamped) })
		for i, item := range todo {
			if !done[i] {
				delete(seen, feedKey(item)) // not poked: the next read pokes it again
				continue
			}
			seen[feedKey(item)] = item.ModifiedAt
			fresh = append(fresh, item.ModifiedAt)
			sw.remember(item)
			if item.ModifiedAt.After(newMark) {
				newMark = item.ModifiedAt
			}
			p.Pokes++
		}
		if err != nil {
			return fresh, false, err // the watermark stays behind what was not poked
		}
		if ordered {
			if err := a.saveWatermark(ctx, conn.ID, p, newMark); err != nil {
				return fresh, false, err
			}
		}
		if res.NextCursor == "" {
			break
		}
		if ordered && time.Since(started) >= feedPassBudget {
			more = true
			break
		}
		cursor = res.NextCursor
	}
	if err := a.saveWatermark(ctx, conn.ID, p, newMark); err != nil {
		return fresh, more, err
	}
	// Forget keys that fell out of the overlap window.
	for k, t := range seen {
		if t.Before(p.Watermark.Add(-2 * feedOverlap)) {
			delete(seen, k)
		}
	}
	return fresh, more, nil
}

// feedKey identifies one change of a request: the feed repeats the boundary change.
func feedKey(item vendorapi.RemoteRequest) string {
	return item.ID + "@" + item.ModifiedAt.UTC().Format(time.RFC3339Nano)
}

// saveWatermark moves the watermark forward to mark and saves it.
func (a *Activities) saveWatermark(ctx context.Context, conn string, p *FeedProgress, mark time.Time) error {
	if !mark.After(p.Watermark) {
		return nil
	}
	p.Watermark = mark.UTC()
	if err := a.Store.SaveCursor(ctx, conn, engine.FeedWatermarkCursor, p.Watermark.Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("save feed watermark: %w", err)
	}
	return nil
}

// pokeEach runs poke for 0..n-1, feedPokers at a time (each a Temporal signal, mostly waiting
// on the server), and reports which succeeded; err is the first failure. Every poke is tried:
// one failing ticket does not hold back the others.
func pokeEach(n int, poke func(i int) error) (done []bool, err error) {
	done = make([]bool, n)
	var g errgroup.Group
	g.SetLimit(feedPokers)
	for i := range n {
		g.Go(func() error {
			if err := poke(i); err != nil {
				return err
			}
			done[i] = true
			return nil
		})
	}
	return done, g.Wait()
}

// pokeChanged pokes the ticket owning a changed remote request: by the reference it carries
// when the work system's references can be read back (no store look-up, and requests that are
// not ours cost nothing), else by its remote id in the read model. With stamped, the poke
// carries the modification (ticket.PokeSignal), so a ticket that already read it does not read
// again, and the change that is the request's creation is not poked at all; without, the ticket
// always reads.
func (a *Activities) pokeChanged(ctx context.Context, conn *connectors.Conn, item vendorapi.RemoteRequest, stamped bool) error {
	var at time.Time
	if stamped {
		if item.ModifiedAt.Equal(item.CreatedAt) && !item.CreatedAt.IsZero() {
			// The create itself, which its ticket read back when it made it: the poke would be
			// dropped as seen (a signal and a workflow task per ticket created, for nothing).
			return nil
		}
		at = item.ModifiedAt
	}
	ext, remote := "", item.ID
	if p, ok := conn.Work.(vendorapi.ReferenceParser); ok {
		var ours bool
		if ext, ours = p.ParseReference(conn.ID, item.ExternalReference); !ours {
			return nil // not a ticketsync request (or another connection's): nothing to poke
		}
		remote = ""
	}
	_, err := a.Engine.Poke(ctx, conn, ext, remote, at)
	return err
}

// feedLivenessEvery bounds how often the follower records that the feed works.
const feedLivenessEvery = 30 * time.Second

// feedLiveness records that the connection's feed works (engine.FeedLastReadCursor, read by
// operators as "feed lag" and by every ticket's poll as feed health), at most every
// feedLivenessEvery. It is recorded during long reads too: a read poking thousands of changes
// that vouched only when done left the mark to age past the health limit, every open ticket
// tightened its timer at once, and their reads slowed the read further (a bench run stalled
// creating tickets at 8,000 open).
type feedLiveness struct {
	store *store.Store
	conn  string
	saved time.Time
}

func (l *feedLiveness) vouch(ctx context.Context, now time.Time) {
	if now.Sub(l.saved) <= feedLivenessEvery {
		return
	}
	if err := l.store.SaveCursor(ctx, l.conn, engine.FeedLastReadCursor, now.UTC().Format(time.RFC3339Nano)); err == nil {
		l.saved = now
	}
}
