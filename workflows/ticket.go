package workflows

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
)

// Defaults for the ticket loop.
const (
	DefaultPollInterval = 15 * time.Minute
	// PollJitter spreads timers of tickets created together (±10 %); the bench reads it too.
	PollJitter = 0.10
	// DefaultEventMaxAge is how long one event's delivery is retried before it is abandoned.
	DefaultEventMaxAge = 24 * time.Hour
)

// Change ids for workflow.GetVersion (never reuse or rename one; each has a recorded history
// under testdata/ replayed by TestReplay).
const (
	changeQuietPoll     = "quiet-poll-without-sync"
	changeFeedAwarePoll = "feed-aware-poll"
	// changeBoundedState: seen ids as bounded sets, feedback read only while the outbox has
	// room (and at most ticket.MaxFeedbackPerPoll per poll), comments beyond the pending budget
	// recorded instead of queued, long texts clipped (limits.go). In every *-v3 history.
	changeBoundedState = "bounded-state"
	// changeLosslessHandover: the read model is synced before continue-as-new, and what it
	// could not write plus pending wake-ups travel in the carried state. History
	// ticket-handover-v3-run1/-run2.
	changeLosslessHandover = "lossless-handover"
	// changeEndpointWait: a disabled endpoint (410 Gone) makes deliveries wait, re-checked
	// hourly and on retry, instead of abandoning the event. History ticket-endpoint-v3.
	changeEndpointWait = "endpoint-wait"
	// changeFinishClean: a finished ticket never needs attention, and a cancel that reached a
	// request the work system had finished is noted as too late. History ticket-patch-v3.
	changeFinishClean = "finish-clean"
	// changeRequestPatch: the patch signal corrects the request of a parked create (patch.go).
	// History ticket-patch-v3.
	changeRequestPatch = "request-patch"
	// changeRelaxedSafetyNet: with a healthy feed a quiet ticket's timer relaxes to
	// RelaxedPollInterval (a day at 15 min) instead of FeedHealthyRelaxFactor × the interval;
	// the feed's sweep and its tightening pokes cover the rest (issue 8). History
	// ticket-safetynet-v1.
	changeRelaxedSafetyNet = "relaxed-safety-net"
	// changeSkipSeenPoke: a poke carrying a modification the ticket has already read (the feed
	// re-announcing what a push brought) neither reads the work system nor restarts the timer.
	// History ticket-safetynet-v1.
	changeSkipSeenPoke = "skip-seen-poke"
	// changeFeedbackAfterRequested: feedback found while the ticket is still Submitted (a
	// create adopted after a lost answer, the request already finished with staff notes) is
	// preceded by status_changed Requested, since a feedback event must carry a status the
	// request system knows (contracts/portal.md). History ticket-adopted-finished-v1.
	changeFeedbackAfterRequested = "feedback-after-requested"
	// changeQuietSearchAttributes: only changed search attributes are upserted, and nothing
	// when none changed (readmodel.go). History ticket-adopted-finished-v1.
	changeQuietSearchAttributes = "quiet-search-attributes"
	// changeCancelReadsOn: a cancel whose answer left feedback unread (more than a read
	// returns, or no room in the outbox) reads the rest before the ticket ends Canceled,
	// instead of ending without it. History ticket-cancel-reads-on-v1.
	changeCancelReadsOn = "cancel-reads-on"
	// changeFinalSync: a finished ticket's last read-model write is forced, its version moved
	// past any a crashed workflow task could have written (finish). History
	// ticket-final-sync-v1.
	changeFinalSync = "final-sync"
)

// finalSyncVersionGap moves the last write of a finished ticket past every version a workflow
// task lost to a crash could have written: its local activities ran (and wrote the row), its
// result was never recorded, and its retry may sync fewer times, at versions the store then
// ignores as stale — a chaos run left three Done tickets showing InProgress for good.
const finalSyncVersionGap = 1000

// changeGenerations maps every change id to the code generation that has it
// (ticket.Generation). A ticket started by generation g takes the new branch of every change id
// of a generation ≤ g without calling GetVersion: no marker and none of the
// TemporalChangeVersion upserts the SDK adds to each (a visibility write apiece, the embedded
// server's hottest path while tickets are created). Tickets started before (generation 0) and
// change ids of later generations ask GetVersion as before, so running tickets keep their
// branches. A new change id goes in at ticket.Generation+1; raise ticket.Generation to it with
// a recorded history of a ticket started at the new generation.
var changeGenerations = map[string]int{
	changeQuietPoll: 1, changeFeedAwarePoll: 1, changeRemapSignal: 1, changeBoundedState: 1,
	changeLosslessHandover: 1, changeEndpointWait: 1, changeFinishClean: 1, changeRequestPatch: 1,
	changeRelaxedSafetyNet: 1, changeSkipSeenPoke: 1, changeFeedbackAfterRequested: 1,
	changeQuietSearchAttributes: 1, changeCancelReadsOn: 1, changeFinalSync: 2,
}

// ChangeIDs are the workflow's change ids (for the replay tests).
func ChangeIDs() []string { return slices.Sorted(maps.Keys(changeGenerations)) }

// FeedHealthyRelaxFactor multiplies the poll interval of a ticket whose connection's change
// feed is healthy (15 min → 1 h), in runs from before changeRelaxedSafetyNet.
const FeedHealthyRelaxFactor = 4

// SafetyNetRelaxFactor and MaxRelaxedPollInterval bound the relaxed safety net since
// changeRelaxedSafetyNet: 96 × 15 min is one read a day per quiet ticket, which keeps a
// connection near one vendor call per open ticket-day (issue 8).
const (
	SafetyNetRelaxFactor   = 96
	MaxRelaxedPollInterval = 24 * time.Hour
)

// RelaxedPollInterval is a quiet ticket's safety-net interval while its connection's feed is
// healthy: poll × SafetyNetRelaxFactor, at most MaxRelaxedPollInterval, never below poll.
func RelaxedPollInterval(poll time.Duration) time.Duration {
	return max(poll, min(poll*SafetyNetRelaxFactor, MaxRelaxedPollInterval))
}

// MaxPollsPerRun bounds a run's history even if the server never suggests continue-as-new
// (a variable so tests can force continue-as-new quickly).
var MaxPollsPerRun = 500

// errContinueAsNew is returned by the loop when the run should hand over to a fresh one.
var errContinueAsNew = errors.New("continue as new")

// acts is a nil receiver: workflows only use its method values as activity names.
var acts *activities.Activities

// run is one run of the Ticket workflow: state plus the deterministic machinery around it.
// The workflow context is passed to each method, never stored.
type run struct {
	in           ticket.Input
	s            *ticket.State
	mapping      mapping.Mapping
	pollInterval time.Duration
	logger       interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
	sig signals

	deliveryInFlight bool
	changes          int64          // bumped on every state change (read model needs a sync)
	syncedChanges    int64          // value of changes at the last successful sync
	syncing          bool           // a sync is in flight (main loop and delivery loop share it)
	newEvents        []ticket.Event // emitted since the last sync (timeline rows to insert)
	pollNow          bool
	timerPoll        bool // the pending poll was woken by the safety-net timer (metrics only)
	retryRequested   bool
	startPolls       int // polls carried into this run (bounds the run's own polls)

	versions    map[string]workflow.Version // GetVersion answers of this run, by change id
	handingOver bool                        // continue-as-new under way: no new delivery starts
	// wake is sent to when the delivery loop frees room for deferred feedback (the main loop
	// may be asleep for an hour).
	wake workflow.Channel
}

// Ticket is the workflow of one ticket (DESIGN.md §3).
func Ticket(ctx workflow.Context, in ticket.Input) (ticket.Result, error) {
	r, err := newRun(ctx, in)
	if err != nil {
		return ticket.Result{}, err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, ticket.QueryState, func() (ticket.State, error) {
		return r.view(), nil
	}, workflow.QueryHandlerOptions{Description: "The ticket's full state: ids, statuses, needsAttention, paused, polls, events."}); err != nil {
		return ticket.Result{}, fmt.Errorf("register state query: %w", err)
	}
	workflow.Go(ctx, r.deliveryLoop)

	err = r.main(ctx)
	if errors.Is(err, errContinueAsNew) {
		return ticket.Result{}, r.continueAsNew(ctx)
	}
	if err != nil {
		return ticket.Result{}, err
	}
	return ticket.Result{TicketID: r.s.TicketID, Status: r.s.Status, RemoteID: r.s.RemoteID,
		RemoteStatus: r.s.RemoteStatus, Events: r.s.Events.Delivered, Polls: r.s.Polls}, nil
}

func newRun(ctx workflow.Context, in ticket.Input) (*run, error) {
	if in.Ref.WorkflowID == "" || in.Ref.Connection == "" || in.Ref.ExternalID == "" {
		return nil, temporal.NewNonRetryableApplicationError("ticket input lacks its ref", "InvalidInput", nil)
	}
	m, err := mapping.Lookup(in.MappingVersion)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	r := &run{in: in, mapping: m, logger: workflow.GetLogger(ctx), sig: newSignals(ctx),
		versions: map[string]workflow.Version{}, wake: workflow.NewBufferedChannel(ctx, 1)}
	r.pollInterval = in.PollInterval
	if r.pollInterval <= 0 {
		r.pollInterval = DefaultPollInterval
	}
	if in.State != nil {
		st := *in.State // a copy: the run's counters must not alias its input
		r.s = &st
		r.s.Runs++
		r.startPolls = st.Polls
		r.resumeCarried()
	} else {
		now := workflow.Now(ctx)
		r.s = &ticket.State{
			TicketID: in.Ref.TicketID, WorkflowID: in.Ref.WorkflowID, Tenant: in.Ref.Tenant,
			Connection: in.Ref.Connection, ExternalID: in.Ref.ExternalID, Status: ticket.Submitted,
			MappingVersion: in.MappingVersion, CreatedAt: now, UpdatedAt: now, Runs: 1,
		}
	}
	return r, nil
}

// view is the state as the query returns it (pending = events not yet acknowledged). A
// finished ticket never needs attention; the seen-id sets are bookkeeping, left out.
func (r *run) view() ticket.State {
	v := *r.s
	v.Events.Pending = len(r.s.Outbox)
	if v.Finished {
		v.NeedsAttention = nil
	}
	v.SeenFeedbackIDs, v.SeenCommentIDs, v.Unsynced = nil, nil, nil
	req := r.in.Request
	v.Request = &req
	return v
}

// version is workflow.GetVersion with max version 1, asked once per run and change id.
// version is the branch of a change id this run takes: the new one (1) without asking when
// the ticket was started by a generation that has the change (changeGenerations), else what
// workflow.GetVersion records or replays.
func (r *run) version(ctx workflow.Context, change string) workflow.Version {
	v, ok := r.versions[change]
	if !ok {
		if g, known := changeGenerations[change]; known && r.in.Generation >= g {
			v = 1
		} else {
			v = workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1)
		}
		r.versions[change] = v
	}
	return v
}

func (r *run) ref() ticket.Ref { return r.in.Ref }

// main runs the ticket from wherever the state says it is until it finishes.
func (r *run) main(ctx workflow.Context) error {
	if r.s.Runs == 1 && r.s.Seq == 0 {
		r.changed() // first sync records the Submitted row
		r.upsertSearchAttributes(ctx)
		if err := r.sync(ctx); err != nil {
			return err
		}
	}
	if r.s.RemoteID == "" && !r.s.Finished {
		if err := r.createPhase(ctx); err != nil {
			return err
		}
	}
	for !r.s.Finished {
		if r.shouldContinueAsNew(ctx) {
			r.drainSignals(ctx)
			if !r.s.Finished {
				return errContinueAsNew // state (pending cancel and comments included) carries over
			}
		}
		if r.s.CancelRequested != nil {
			if err := r.cancelRemote(ctx); err != nil {
				return err
			}
			continue
		}
		if err := r.forwardComments(ctx); err != nil {
			return err
		}
		if r.pollNow || r.retryRequested {
			r.pollNow, r.retryRequested = false, false
			r.poll(ctx)
			continue
		}
		r.waitForWake(ctx)
	}
	return r.finish(ctx)
}

// finish waits until every event is acknowledged (or skipped) before the workflow completes,
// so ticket.closed really is the last thing the request system hears.
func (r *run) finish(ctx workflow.Context) error {
	drained := awaitFuture(ctx, func() bool { return len(r.s.Outbox) == 0 })
	for len(r.s.Outbox) > 0 {
		sel := workflow.NewSelector(ctx)
		r.sig.addOperator(ctx, sel, r)
		// Requester signals after the end are acknowledged and dropped: nothing to act on.
		for _, ch := range []workflow.ReceiveChannel{r.sig.cancel, r.sig.comment, r.sig.poke} {
			sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		}
		sel.AddFuture(drained, func(workflow.Future) {})
		sel.Select(ctx)
		if err := r.sync(ctx); err != nil {
			return err
		}
	}
	if r.version(ctx, changeFinalSync) >= 1 {
		r.s.Version += finalSyncVersionGap
		r.changed()
	}
	return r.sync(ctx)
}

// awaitFuture turns a condition into a future usable in a selector.
func awaitFuture(ctx workflow.Context, cond func() bool) workflow.Future {
	f, set := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		_ = workflow.Await(ctx, cond)
		set.Set(nil, nil)
	})
	return f
}

func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	if r.deliveryInFlight {
		return false // let the in-flight delivery settle: its result would be lost otherwise
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || r.s.Polls-r.startPolls >= MaxPollsPerRun
}

// continueAsNew hands the whole state, including drained signals, to a fresh run. Since
// changeLosslessHandover the read model is synced first and nothing is left behind: what the
// store could not take (rows, the dirty flag) and wake-ups not acted on (poll now, retry)
// travel in the carried state.
func (r *run) continueAsNew(ctx workflow.Context) error {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	r.drainSignals(ctx)
	lossless := r.version(ctx, changeLosslessHandover) >= 1
	if lossless {
		r.handingOver = true // a delivery started now would lose its result to the hand-over
		_ = workflow.Await(ctx, func() bool { return !r.deliveryInFlight })
		_ = r.sync(ctx)
		r.drainSignals(ctx) // what arrived during the sync travels too
	}
	next := r.in
	st := *r.s
	if lossless {
		r.carry(&st)
	}
	next.State = &st
	return workflow.NewContinueAsNewError(ctx, ticket.WorkflowType, next)
}
