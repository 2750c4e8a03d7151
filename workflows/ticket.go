// Package workflows holds ticketsync's deterministic orchestration: the Ticket workflow (one per
// ticket, long running) and ConnectionSync (one per connection, reads change feeds). No I/O here:
// every effect is an activity (package activities).
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
)

// Public names: signals, query and search attributes are a contract with operators (temporal CLI,
// Temporal Web) and portal backends. Never rename them.
const (
	SignalCancel  = "cancel"
	SignalComment = "comment"
	SignalHold    = "hold"
	SignalResume  = "resume"
	SignalPoke    = "poke"
	SignalRetry   = "retry"
	// SignalSkip drops the event whose delivery was abandoned so later events can flow
	// (contracts/portal.md: "later events wait for an operator signal (retry or skip)").
	SignalSkip = "skip"

	QueryState = "state"
)

// Defaults for the ticket loop.
const (
	DefaultPollInterval = 15 * time.Minute
	// pollJitter spreads timers of tickets created together (±10 %).
	pollJitter = 0.10
	// DefaultEventMaxAge is how long one event's delivery is retried before it is abandoned.
	DefaultEventMaxAge = 24 * time.Hour
)

// Change ids for workflow.GetVersion (never reuse or rename one).
const (
	changeQuietPoll     = "quiet-poll-without-sync"
	changeFeedAwarePoll = "feed-aware-poll"
)

// FeedHealthyRelaxFactor multiplies the poll interval of a ticket whose connection's change
// feed is healthy (15 min → 1 h by default).
const FeedHealthyRelaxFactor = 4

// MaxPollsPerRun bounds a run's history even if the server never suggests continue-as-new
// (a variable so tests can force continue-as-new quickly).
var MaxPollsPerRun = 500

// TicketInput starts a ticket. On continue-as-new State carries everything over.
type TicketInput struct {
	Ref            ticket.Ref           `json:"ref"`
	Request        vendorapi.NewRequest `json:"request"`
	MappingVersion string               `json:"mappingVersion"`
	// PollInterval is the safety-net timer; 0 means DefaultPollInterval.
	PollInterval time.Duration `json:"pollInterval,omitempty"`
	// EventMaxAge bounds the delivery retries of one event; 0 means DefaultEventMaxAge.
	EventMaxAge time.Duration `json:"eventMaxAge,omitempty"`
	State       *TicketState  `json:"state,omitempty"`
}

// CancelSignal is the payload of `cancel`.
type CancelSignal struct {
	Reason string `json:"reason"`
}

// CommentSignal is the payload of `comment`.
type CommentSignal struct {
	Text               string `json:"text"`
	Author             string `json:"author"`
	VisibleToRequestor bool   `json:"visibleToRequestor,omitempty"`
}

// HoldSignal is the payload of `hold`.
type HoldSignal struct {
	Reason string `json:"reason"`
}

// EventCounts summarises deliveries for the state query.
type EventCounts struct {
	Delivered int `json:"delivered"`
	Pending   int `json:"pending"`
	Skipped   int `json:"skipped"`
}

// TicketState is the whole state of a ticket: the `state` query returns it as JSON, and
// continue-as-new carries it to the next run.
type TicketState struct {
	TicketID       string            `json:"ticketId"`
	WorkflowID     string            `json:"workflowId"`
	Tenant         string            `json:"tenant"`
	Connection     string            `json:"connection"`
	ExternalID     string            `json:"externalId"`
	Status         string            `json:"status"`
	PreviousStatus string            `json:"previousStatus"`
	RemoteID       string            `json:"remoteId"`
	RemoteStatus   string            `json:"remoteStatus"`
	Category       string            `json:"category"`
	MappingVersion string            `json:"mappingVersion"`
	NeedsAttention *ticket.Attention `json:"needsAttention"`
	Paused         *ticket.Pause     `json:"paused"`
	LastPoll       *time.Time        `json:"lastPoll"`
	NextPoll       *time.Time        `json:"nextPoll"`
	LastError      string            `json:"lastError,omitempty"`
	FeedHealthy    bool              `json:"feedHealthy"`
	Events         EventCounts       `json:"events"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`

	// Bookkeeping carried across continue-as-new.
	Seq              int64           `json:"seq"`
	Polls            int             `json:"polls"`
	Runs             int             `json:"runs"`
	RemoteModifiedAt time.Time       `json:"remoteModifiedAt"`
	SeenFeedback     []string        `json:"seenFeedback,omitempty"`
	Outbox           []ticket.Event  `json:"outbox,omitempty"`
	PendingComments  []CommentSignal `json:"pendingComments,omitempty"`
	CancelRequested  *CancelSignal   `json:"cancelRequested,omitempty"`
	DeliveryBlocked  bool            `json:"deliveryBlocked,omitempty"`
	Finished         bool            `json:"finished,omitempty"`
}

// TicketResult is the completed workflow's summary.
type TicketResult struct {
	TicketID     string `json:"ticketId"`
	Status       string `json:"status"`
	RemoteID     string `json:"remoteId"`
	RemoteStatus string `json:"remoteStatus"`
	Events       int    `json:"eventsDelivered"`
	Polls        int    `json:"polls"`
}

// errContinueAsNew is returned by the loop when the run should hand over to a fresh one.
var errContinueAsNew = errors.New("continue as new")

// acts is a nil receiver: workflows only use its method values as activity names.
var acts *activities.Activities

// run is one run of the Ticket workflow: state plus the deterministic machinery around it.
type run struct {
	ctx          workflow.Context
	in           TicketInput
	s            *TicketState
	mapping      mapping.Mapping
	pollInterval time.Duration
	logger       interface {
		Info(string, ...any)
		Warn(string, ...any)
	}

	cancelCh, commentCh, holdCh, resumeCh, pokeCh, retryCh, skipCh workflow.ReceiveChannel

	deliveryInFlight bool
	changes          int64          // bumped on every state change (read model needs a sync)
	syncedChanges    int64          // value of changes at the last successful sync
	syncing          bool           // a sync is in flight (main loop and delivery loop share it)
	newEvents        []ticket.Event // emitted since the last sync (timeline rows to insert)
	pollNow          bool
	retryRequested   bool
	startPolls       int // polls carried into this run (bounds the run's own polls)
}

// Ticket is the workflow of one ticket (DESIGN.md §3).
func Ticket(ctx workflow.Context, in TicketInput) (TicketResult, error) {
	r, err := newRun(ctx, in)
	if err != nil {
		return TicketResult{}, err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (TicketState, error) {
		return r.view(), nil
	}, workflow.QueryHandlerOptions{Description: "The ticket's full state: ids, statuses, needsAttention, paused, polls, events."}); err != nil {
		return TicketResult{}, fmt.Errorf("register state query: %w", err)
	}
	workflow.Go(ctx, r.deliveryLoop)

	err = r.main()
	if errors.Is(err, errContinueAsNew) {
		return TicketResult{}, r.continueAsNew()
	}
	if err != nil {
		return TicketResult{}, err
	}
	return TicketResult{TicketID: r.s.TicketID, Status: r.s.Status, RemoteID: r.s.RemoteID,
		RemoteStatus: r.s.RemoteStatus, Events: r.s.Events.Delivered, Polls: r.s.Polls}, nil
}

func newRun(ctx workflow.Context, in TicketInput) (*run, error) {
	if in.Ref.WorkflowID == "" || in.Ref.Connection == "" || in.Ref.ExternalID == "" {
		return nil, temporal.NewNonRetryableApplicationError("ticket input lacks its ref", "InvalidInput", nil)
	}
	m, err := mapping.Lookup(in.MappingVersion)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", nil)
	}
	r := &run{ctx: ctx, in: in, mapping: m, logger: workflow.GetLogger(ctx)}
	r.pollInterval = in.PollInterval
	if r.pollInterval <= 0 {
		r.pollInterval = DefaultPollInterval
	}
	if in.State != nil {
		st := *in.State // a copy: the run's counters must not alias its input
		r.s = &st
		r.s.Runs++
		r.startPolls = st.Polls
	} else {
		now := workflow.Now(ctx)
		r.s = &TicketState{
			TicketID: in.Ref.TicketID, WorkflowID: in.Ref.WorkflowID, Tenant: in.Ref.Tenant,
			Connection: in.Ref.Connection, ExternalID: in.Ref.ExternalID, Status: mapping.Submitted,
			MappingVersion: in.MappingVersion, CreatedAt: now, UpdatedAt: now, Runs: 1,
		}
	}
	// Descriptions show up in Temporal Web's signal dialog (workflow metadata).
	ch := func(name, desc string) workflow.ReceiveChannel {
		return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: desc})
	}
	r.cancelCh = ch(SignalCancel, `Cancel the request (remote first). Input: {"reason": "…"}`)
	r.commentCh = ch(SignalComment, `Forward a requester comment. Input: {"text": "…", "author": "…"}`)
	r.holdCh = ch(SignalHold, `Pause syncing. Input: {"reason": "…"}`)
	r.resumeCh = ch(SignalResume, "Resume syncing and poll now.")
	r.pokeCh = ch(SignalPoke, "Poll the work system now (something changed there).")
	r.retryCh = ch(SignalRetry, "Re-run the parked step now (create, poll, cancel, comment or a blocked delivery).")
	r.skipCh = ch(SignalSkip, "Drop the event whose delivery was abandoned so later events can flow.")
	return r, nil
}

// view is the state as the query returns it (pending = events not yet acknowledged).
func (r *run) view() TicketState {
	v := *r.s
	v.Events.Pending = len(r.s.Outbox)
	return v
}

func (r *run) ref() ticket.Ref { return r.in.Ref }

// main runs the ticket from wherever the state says it is until it finishes.
func (r *run) main() error {
	ctx := r.ctx
	if r.s.Runs == 1 && r.s.Seq == 0 {
		r.changed() // first sync records the Submitted row
		r.upsertSearchAttributes()
		if err := r.sync(); err != nil {
			return err
		}
	}
	if r.s.RemoteID == "" && !r.s.Finished {
		if err := r.createPhase(); err != nil {
			return err
		}
	}
	for !r.s.Finished {
		if r.shouldContinueAsNew() {
			r.drainSignals()
			if !r.s.Finished {
				return errContinueAsNew // state (pending cancel and comments included) carries over
			}
		}
		if r.s.CancelRequested != nil {
			if err := r.cancelRemote(); err != nil {
				return err
			}
			continue
		}
		if err := r.forwardComments(); err != nil {
			return err
		}
		if r.pollNow || r.retryRequested {
			r.pollNow, r.retryRequested = false, false
			r.poll()
			continue
		}
		r.waitForWake()
	}
	// Finished: every event must be acknowledged (or skipped) before the workflow completes, so
	// ticket.closed really is the last thing the request system hears.
	drained := awaitFuture(ctx, func() bool { return len(r.s.Outbox) == 0 })
	for len(r.s.Outbox) > 0 {
		sel := workflow.NewSelector(ctx)
		r.addOperatorSignals(sel)
		// Requester signals after the end are acknowledged and dropped: nothing to act on.
		sel.AddReceive(r.cancelCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddReceive(r.commentCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddReceive(r.pokeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddFuture(drained, func(workflow.Future) {})
		sel.Select(ctx)
		if err := r.sync(); err != nil {
			return err
		}
	}
	return r.sync()
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

func (r *run) shouldContinueAsNew() bool {
	if r.deliveryInFlight {
		return false // let the in-flight delivery settle: its result would be lost otherwise
	}
	return workflow.GetInfo(r.ctx).GetContinueAsNewSuggested() || r.s.Polls-r.startPolls >= MaxPollsPerRun
}

// continueAsNew hands the whole state, including drained signals, to a fresh run.
func (r *run) continueAsNew() error {
	ctx := r.ctx
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	r.drainSignals()
	next := r.in
	st := *r.s
	next.State = &st
	return workflow.NewContinueAsNewError(ctx, ticket.WorkflowType, next)
}

// drainSignals moves every buffered signal into state without blocking.
func (r *run) drainSignals() {
	for {
		got := false
		var raw json.RawMessage
		for r.cancelCh.ReceiveAsync(&raw) {
			got = true
			r.onCancel(raw)
		}
		for r.commentCh.ReceiveAsync(&raw) {
			got = true
			r.onComment(raw)
		}
		for r.holdCh.ReceiveAsync(&raw) {
			got = true
			r.onHold(raw)
		}
		for r.resumeCh.ReceiveAsync(nil) {
			got = true
			r.onResume()
		}
		for r.pokeCh.ReceiveAsync(nil) {
			got = true
			r.pollNow = true
		}
		for r.retryCh.ReceiveAsync(nil) {
			got = true
			r.onRetry()
		}
		for r.skipCh.ReceiveAsync(nil) {
			got = true
			r.onSkip()
		}
		if !got {
			return
		}
	}
}

// decodeSignal accepts either a JSON object or a bare JSON string (handy from the temporal CLI:
// `--input '"reason"'`) for payloads with one main text field.
func decodeSignal(raw json.RawMessage, into any, setText func(string)) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		setText(s)
		return
	}
	_ = json.Unmarshal(raw, into)
}

func (r *run) onCancel(raw json.RawMessage) {
	var c CancelSignal
	decodeSignal(raw, &c, func(s string) { c.Reason = s })
	if r.s.Finished || r.s.CancelRequested != nil {
		return
	}
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Reason == "" {
		c.Reason = "canceled by requester"
	}
	r.s.CancelRequested = &c
}

func (r *run) onComment(raw json.RawMessage) {
	var c CommentSignal
	decodeSignal(raw, &c, func(s string) { c.Text = s })
	c.Text = strings.TrimSpace(c.Text)
	if c.Text == "" || r.s.Finished {
		return
	}
	if c.Author == "" {
		c.Author = "Requester"
	}
	r.s.PendingComments = append(r.s.PendingComments, c)
}

func (r *run) onHold(raw json.RawMessage) {
	var h HoldSignal
	decodeSignal(raw, &h, func(s string) { h.Reason = s })
	if r.s.Paused != nil || r.s.Finished {
		return
	}
	if h.Reason == "" {
		h.Reason = "paused by operator"
	}
	r.s.Paused = &ticket.Pause{Since: workflow.Now(r.ctx), Reason: h.Reason}
	r.s.NextPoll = nil
	r.emitLocal(ticket.EventPaused, h.Reason)
	r.changed()
}

func (r *run) onResume() {
	if r.s.Paused == nil {
		return
	}
	r.s.Paused = nil
	r.emitLocal(ticket.EventResumed, "")
	r.pollNow = true
	r.changed()
}

func (r *run) onRetry() {
	r.retryRequested = true
	if r.s.DeliveryBlocked {
		r.s.DeliveryBlocked = false
		if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "delivery" {
			r.unpark()
		}
	}
}

func (r *run) onSkip() {
	if !r.s.DeliveryBlocked || len(r.s.Outbox) == 0 {
		return
	}
	head := r.s.Outbox[0]
	r.s.Outbox = r.s.Outbox[1:]
	r.s.Events.Skipped++
	r.s.DeliveryBlocked = false
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "delivery" {
		r.unpark()
	}
	r.emitLocal(ticket.EventSkipped, "operator skipped event "+head.ID+" ("+head.Type+")")
}

// addOperatorSignals wires retry/skip/hold/resume into a selector (used in every wait).
func (r *run) addOperatorSignals(sel workflow.Selector) {
	ctx := r.ctx
	sel.AddReceive(r.retryCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onRetry() })
	sel.AddReceive(r.skipCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onSkip() })
	sel.AddReceive(r.holdCh, func(c workflow.ReceiveChannel, _ bool) {
		var raw json.RawMessage
		c.Receive(ctx, &raw)
		r.onHold(raw)
	})
	sel.AddReceive(r.resumeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.onResume() })
}

// addRequesterSignals wires cancel/comment into a selector.
func (r *run) addRequesterSignals(sel workflow.Selector) {
	ctx := r.ctx
	sel.AddReceive(r.cancelCh, func(c workflow.ReceiveChannel, _ bool) {
		var raw json.RawMessage
		c.Receive(ctx, &raw)
		r.onCancel(raw)
	})
	sel.AddReceive(r.commentCh, func(c workflow.ReceiveChannel, _ bool) {
		var raw json.RawMessage
		c.Receive(ctx, &raw)
		r.onComment(raw)
	})
}

// nextPollDelay is the poll interval with a deterministic ±10 % jitter derived from the workflow
// id and poll count (no SideEffect needed: the same inputs give the same delay on replay).
func (r *run) nextPollDelay() time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", r.s.WorkflowID, r.s.Polls)
	frac := float64(h.Sum64()%10001)/10000*2 - 1 // [-1, 1]
	interval := r.pollInterval
	if r.s.FeedHealthy && r.s.NeedsAttention == nil {
		// The feed (and webhook) poke this ticket within seconds of a change: the timer is
		// only the safety net, so it can be relaxed.
		interval *= FeedHealthyRelaxFactor
	}
	d := time.Duration(float64(interval) * (1 + pollJitter*frac))
	if d < time.Second {
		d = time.Second
	}
	return d
}

// waitForWake blocks until the poll timer fires or a signal arrives.
func (r *run) waitForWake() {
	ctx := r.ctx
	_ = r.sync() // whatever changed before sleeping is visible while we sleep
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel := workflow.NewSelector(ctx)
	if r.s.Paused == nil {
		d := r.nextPollDelay()
		next := workflow.Now(ctx).Add(d)
		r.s.NextPoll = &next
		sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) { r.pollNow = true })
	}
	r.addRequesterSignals(sel)
	r.addOperatorSignals(sel)
	sel.AddReceive(r.pokeCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		if r.s.Paused == nil {
			r.pollNow = true
		}
	})
	sel.Select(ctx)
	r.drainSignals()
	if r.s.Paused != nil {
		r.pollNow = false
	}
	_ = r.sync()
}

// ---- events ----------------------------------------------------------------------------------

func (r *run) nextEvent(typ string) ticket.Event {
	r.s.Seq++
	return ticket.Event{
		ID:             portal.EventID(r.s.WorkflowID, r.s.Seq),
		Seq:            r.s.Seq,
		Type:           typ,
		OccurredAt:     workflow.Now(r.ctx).UTC(),
		Status:         r.s.Status,
		PreviousStatus: r.s.PreviousStatus,
		RemoteID:       r.s.RemoteID,
		Category:       r.s.Category,
	}
}

// emit queues an event for the request system (and the timeline).
func (r *run) emit(ev ticket.Event) {
	r.s.Outbox = append(r.s.Outbox, ev)
	r.newEvents = append(r.newEvents, ev)
	r.changed()
}

// emitLocal records a timeline-only event.
func (r *run) emitLocal(typ, detail string) {
	ev := r.nextEvent(typ)
	ev.Detail = detail
	r.newEvents = append(r.newEvents, ev)
	r.changed()
}

func (r *run) setStatus(status string) {
	if status == r.s.Status {
		return
	}
	prev := r.s.Status
	r.s.Status = status
	r.s.PreviousStatus = ""
	if prev != mapping.Submitted {
		r.s.PreviousStatus = prev // Submitted is internal: the first event has previousStatus null
	}
	r.emit(r.nextEvent(ticket.EventStatusChanged))
	r.upsertSearchAttributes()
	if mapping.IsTerminal(status) {
		r.emit(r.nextEvent(ticket.EventClosed))
		r.s.Finished = true
		r.s.NextPoll = nil
	}
}

// park marks the ticket as needing a human and tells the request system once per reason.
func (r *run) park(step, reason string) {
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Reason == reason {
		return
	}
	r.s.NeedsAttention = &ticket.Attention{Since: workflow.Now(r.ctx).UTC(), Reason: reason, Step: step}
	r.logger.Warn("ticket needs attention", "step", step, "reason", reason)
	ev := r.nextEvent(ticket.EventNeedsAttention)
	ev.Attention = r.s.NeedsAttention
	if step == "delivery" {
		// The channel to the request system itself is broken: timeline only.
		r.newEvents = append(r.newEvents, ev)
	} else {
		r.emit(ev)
	}
	r.changed()
	r.upsertSearchAttributes()
}

func (r *run) unpark() {
	if r.s.NeedsAttention == nil {
		return
	}
	r.s.NeedsAttention = nil
	r.changed()
	r.upsertSearchAttributes()
}

// ---- search attributes and read model --------------------------------------------------------

// Search attribute keys (Keyword / Bool), registered by `dev` and documented for production.
var (
	SATenant         = temporal.NewSearchAttributeKeyKeyword("TicketTenant")
	SAConnection     = temporal.NewSearchAttributeKeyKeyword("TicketConnection")
	SAExternalID     = temporal.NewSearchAttributeKeyKeyword("TicketExternalId")
	SARemoteID       = temporal.NewSearchAttributeKeyKeyword("TicketRemoteId")
	SAStatus         = temporal.NewSearchAttributeKeyKeyword("TicketStatus")
	SANeedsAttention = temporal.NewSearchAttributeKeyBool("TicketNeedsAttention")
)

// SearchAttributeKeys lists the ticket search attributes in a stable order.
var SearchAttributeKeys = []temporal.SearchAttributeKey{SATenant, SAConnection, SAExternalID, SARemoteID, SAStatus, SANeedsAttention}

// SearchAttributeTypes maps each ticket search attribute to its indexed type, for registration.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	out := make(map[string]enumspb.IndexedValueType, len(SearchAttributeKeys))
	for _, k := range SearchAttributeKeys {
		out[k.GetName()] = k.GetValueType()
	}
	return out
}

func (r *run) upsertSearchAttributes() {
	updates := []temporal.SearchAttributeUpdate{
		SATenant.ValueSet(r.s.Tenant),
		SAConnection.ValueSet(r.s.Connection),
		SAExternalID.ValueSet(r.s.ExternalID),
		SAStatus.ValueSet(r.s.Status),
		SANeedsAttention.ValueSet(r.s.NeedsAttention != nil),
	}
	if r.s.RemoteID != "" {
		updates = append(updates, SARemoteID.ValueSet(r.s.RemoteID))
	}
	if err := workflow.UpsertTypedSearchAttributes(r.ctx, updates...); err != nil {
		r.logger.Warn("upsert search attributes failed", "error", err)
	}
}

// details is the one-paragraph story Temporal Web shows as the workflow's current details.
func (r *run) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", r.s.Status)
	if r.s.RemoteID != "" {
		fmt.Fprintf(&b, " · remote %s is %s", r.s.RemoteID, r.s.RemoteStatus)
		if r.s.Category != "" {
			fmt.Fprintf(&b, " (%s)", r.s.Category)
		}
	}
	if r.s.NeedsAttention != nil {
		fmt.Fprintf(&b, "\n\nNeeds attention since %s: %s", r.s.NeedsAttention.Since.Format(time.RFC3339), r.s.NeedsAttention.Reason)
	}
	if r.s.Paused != nil {
		fmt.Fprintf(&b, "\n\nPaused since %s: %s", r.s.Paused.Since.Format(time.RFC3339), r.s.Paused.Reason)
	}
	fmt.Fprintf(&b, "\n\nEvents delivered %d, pending %d.", r.s.Events.Delivered, len(r.s.Outbox))
	return b.String()
}

// changed marks the read model as stale.
func (r *run) changed() { r.changes++ }

// sync writes the read model and new timeline rows (local activity: cheap in history).
func (r *run) sync() error { return r.syncIn(r.ctx) }

// syncIn is sync from a given coroutine's context. Syncs never overlap, and only what a sync
// captured is marked done, so a change made while it was in flight is written by the next one.
func (r *run) syncIn(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return !r.syncing }); err != nil {
		return err
	}
	if r.changes == r.syncedChanges && len(r.newEvents) == 0 {
		return nil
	}
	r.syncing = true
	defer func() { r.syncing = false }()
	workflow.SetCurrentDetails(ctx, r.details())
	captured, events := r.changes, r.newEvents
	r.s.UpdatedAt = workflow.Now(ctx).UTC()
	in := activities.SyncInput{Ref: r.ref(), MappingVersion: r.s.MappingVersion, Request: r.in.Request,
		Status: r.s.Status, RemoteID: r.s.RemoteID, RemoteStatus: r.s.RemoteStatus, Category: r.s.Category,
		NeedsAttention: r.s.NeedsAttention, Paused: r.s.Paused, UpdatedAt: r.s.UpdatedAt, Events: events}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
		Summary:                "record ticket state",
	})
	if err := workflow.ExecuteLocalActivity(lctx, acts.SyncTicket, in).Get(ctx, nil); err != nil {
		// The store is a read model: the workflow stays the source of truth, so a store outage
		// must not stop the ticket. Keep the rows and try again at the next change.
		r.logger.Warn("read model sync failed; will retry at next change", "error", err)
		return nil
	}
	r.newEvents = r.newEvents[len(events):]
	r.syncedChanges = captured
	return nil
}

// ---- remote steps ----------------------------------------------------------------------------

func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.NonRetryable()
	}
	return false
}

// errText is the operator-facing text of an activity error (its innermost cause).
func errText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "timed out: " + timeoutErr.Error()
	}
	return err.Error()
}

func vendorActivityOptions(summary string, scheduleToClose time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: scheduleToClose,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
		Summary: summary,
	}
}

// createPhase creates the remote request (looking it up first) and parks on failure until a
// retry, a cancel, or the next timer tick (a fixed configuration) lets it through.
func (r *run) createPhase() error {
	ctx := r.ctx
	for r.s.RemoteID == "" && !r.s.Finished {
		r.drainSignals()
		if r.shouldContinueAsNew() {
			return errContinueAsNew // a create parked for days must not grow one run's history
		}
		if r.s.CancelRequested != nil {
			// The create may have committed remotely even though we saw an error: the cancel
			// activity looks the request up by our reference before giving up on it.
			return r.cancelRemote()
		}
		if r.s.Paused == nil {
			actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("create request in work system", time.Hour))
			var out activities.CreateRemoteOutput
			err := workflow.ExecuteActivity(actx, acts.CreateRemote, activities.CreateRemoteInput{Ref: r.ref(), Request: r.in.Request}).Get(ctx, &out)
			if err == nil {
				r.s.LastError = ""
				r.unpark()
				r.s.RemoteID = out.Remote.ID
				for _, t := range out.Truncated {
					r.emitLocal(ticket.EventTruncated, t)
				}
				r.emitLocal(ticket.EventRemoteCreated, fmt.Sprintf("%s request %s (reference %s, adopted=%t)", out.Kind, out.Remote.ID, out.Reference, out.Adopted))
				r.apply(out.Remote)
				r.upsertSearchAttributes()
				return r.sync()
			}
			r.s.LastError = errText(err)
			r.park("create", "could not create the request in the work system: "+errText(err))
			if err := r.sync(); err != nil {
				return err
			}
		}
		// Parked (or paused): wait for retry, cancel, resume or the next timer tick.
		r.retryRequested = false
		_ = r.sync()
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		if r.s.Paused == nil {
			d := r.nextPollDelay()
			next := workflow.Now(ctx).Add(d)
			r.s.NextPoll = &next
			sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
		}
		r.addRequesterSignals(sel)
		r.addOperatorSignals(sel)
		sel.AddReceive(r.pokeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.Select(ctx)
		cancelTimer()
		r.s.Polls++
		_ = r.sync()
	}
	return nil
}

// poll reads the remote request and applies what changed.
func (r *run) poll() {
	ctx := r.ctx
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 20 * time.Second},
		Summary:                "poll work system",
	})
	var remote vendorapi.RemoteRequest
	var err error
	// Version 1: the poll also reports whether the connection's change feed is healthy, so a
	// quiet ticket can relax its safety-net timer (fewer vendor calls and history events).
	if workflow.GetVersion(ctx, changeFeedAwarePoll, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		err = workflow.ExecuteLocalActivity(lctx, acts.PollRemote, activities.PollInput{Ref: r.ref(), RemoteID: r.s.RemoteID}).Get(ctx, &remote)
	} else {
		var out activities.PollOutput
		err = workflow.ExecuteLocalActivity(lctx, acts.PollRemoteWithFeedHealth, activities.PollInput{Ref: r.ref(), RemoteID: r.s.RemoteID}).Get(ctx, &out)
		remote = out.Remote
		r.s.FeedHealthy = err == nil && out.FeedHealthy
	}
	now := workflow.Now(ctx).UTC()
	r.s.Polls++
	r.s.LastPoll = &now
	// Version 1: LastPoll is query-only, so a quiet poll no longer writes the read model
	// (6 instead of 7 history events per quiet cycle). Older histories keep the old path.
	if workflow.GetVersion(ctx, changeQuietPoll, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		r.changed()
	}
	if err != nil {
		r.s.LastError = errText(err)
		if isNonRetryable(err) {
			r.park("poll", "cannot read the request from the work system: "+errText(err))
		}
		_ = r.sync()
		return
	}
	r.s.LastError = ""
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "poll" {
		r.unpark()
	}
	r.apply(remote)
	_ = r.sync()
}

// apply diffs a remote snapshot against state: status translation, new visible feedback,
// parking on unmapped statuses (never guessed) and un-parking when mapped again.
func (r *run) apply(remote vendorapi.RemoteRequest) {
	if remote.ID != "" && remote.ID != r.s.RemoteID {
		r.s.RemoteID = remote.ID
	}
	if remote.ModifiedAt.After(r.s.RemoteModifiedAt) {
		r.s.RemoteModifiedAt = remote.ModifiedAt
	}
	if remote.Status != r.s.RemoteStatus || remote.Category != r.s.Category {
		r.changed()
	}
	r.s.RemoteStatus = remote.Status
	r.s.Category = remote.Category

	portalStatus, mapped := r.mapping.Translate(remote.Status)
	if !mapped {
		r.park("status", fmt.Sprintf("unmapped remote status %q (mapping %s)", remote.Status, r.mapping.Name))
	} else if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "status" {
		r.unpark()
	}

	terminal := mapped && mapping.IsTerminal(portalStatus)
	if mapped && !terminal {
		r.setStatus(portalStatus)
	}
	// Feedback after the status it came with, so the event carries the new status; before
	// closing, so ticket.closed stays last.
	for _, fb := range remote.Feedback {
		if r.seenFeedback(fb.ID) {
			continue
		}
		r.s.SeenFeedback = append(r.s.SeenFeedback, fb.ID)
		if !fb.VisibleToRequestor {
			continue
		}
		ev := r.nextEvent(ticket.EventFeedbackAdded)
		ev.Feedback = &ticket.Feedback{ID: fb.ID, Text: fb.Text, Author: fb.Author, CreatedAt: fb.CreatedAt.UTC()}
		r.emit(ev)
	}
	if terminal {
		r.setStatus(portalStatus)
	}
}

func (r *run) seenFeedback(id string) bool {
	for _, s := range r.s.SeenFeedback {
		if s == id {
			return true
		}
	}
	return false
}

// cancelRemote cancels on behalf of the requester, then finishes as Canceled (or as whatever
// terminal state the work system already reached).
func (r *run) cancelRemote() error {
	ctx := r.ctx
	reason := r.s.CancelRequested.Reason
	actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("cancel request in work system", time.Hour))
	var out activities.CancelRemoteOutput
	err := workflow.ExecuteActivity(actx, acts.CancelRemote, activities.CancelRemoteInput{Ref: r.ref(), RemoteID: r.s.RemoteID, Reason: reason}).Get(ctx, &out)
	if err != nil && r.s.RemoteID == "" && isNonRetryable(err) {
		// The request never reached the work system as far as we know, and we cannot look:
		// honour the requester's cancel and leave a trail for the operator.
		r.emitLocal(ticket.EventNote, "canceled before the work system had the request; lookup failed: "+errText(err))
		r.unpark()
		r.setStatus(mapping.Canceled)
		r.s.CancelRequested = nil
		return r.sync()
	}
	if err != nil {
		r.s.LastError = errText(err)
		r.park("cancel", "could not cancel the request in the work system: "+errText(err))
		_ = r.sync()
		// Wait for an operator retry (or the next timer tick), then try again.
		r.retryRequested = false
		sel := workflow.NewSelector(ctx)
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, r.nextPollDelay()), func(workflow.Future) {})
		r.addOperatorSignals(sel)
		sel.Select(ctx)
		cancelTimer()
		r.s.Polls++
		return nil
	}
	if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "cancel" {
		r.unpark()
	}
	r.s.LastError = ""
	if out.Remote != nil {
		r.apply(*out.Remote)
	}
	if !r.s.Finished {
		// No remote request existed (create never committed) or the vendor kept a non-terminal
		// status: the requester asked to cancel, so the ticket ends Canceled.
		r.setStatus(mapping.Canceled)
	}
	r.s.CancelRequested = nil
	return r.sync()
}

// forwardComments sends queued requester comments once the remote request exists.
func (r *run) forwardComments() error {
	ctx := r.ctx
	for len(r.s.PendingComments) > 0 && r.s.RemoteID != "" && !r.s.Finished {
		c := r.s.PendingComments[0]
		actx := workflow.WithActivityOptions(ctx, vendorActivityOptions("forward requester comment", time.Hour))
		var out vendorapi.Comment
		err := workflow.ExecuteActivity(actx, acts.AddRemoteComment, activities.CommentInput{Ref: r.ref(), RemoteID: r.s.RemoteID,
			Comment: vendorapi.Comment{Text: c.Text, Author: c.Author}}).Get(ctx, &out)
		if err != nil && !isNonRetryable(err) {
			// The work system stayed unreachable for the whole retry window: keep the comment
			// at the head of the queue, park, and try again at the next wake (or on retry).
			r.s.LastError = errText(err)
			r.park("comment", "could not forward a requester comment: "+errText(err))
			return r.sync()
		}
		r.s.PendingComments = r.s.PendingComments[1:]
		if err != nil {
			// A comment the work system refuses (e.g. request already closed) cannot be
			// delivered later either: record it on the timeline for the operator.
			r.emitLocal(ticket.EventCommentForwarded, "comment NOT forwarded: "+errText(err))
		} else {
			if r.s.NeedsAttention != nil && r.s.NeedsAttention.Step == "comment" {
				r.unpark()
			}
			r.emitLocal(ticket.EventCommentForwarded, "comment forwarded as "+out.ID)
		}
		r.pollNow = true // the comment bumps modifiedAt; pick up anything else that changed
	}
	return r.sync()
}

// ---- delivery ----

func (r *run) eventMaxAge() time.Duration {
	if r.in.EventMaxAge > 0 {
		return r.in.EventMaxAge
	}
	return DefaultEventMaxAge
}

// deliveryLoop sends outbox events in order, one at a time, without blocking polling.
func (r *run) deliveryLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.s.Outbox) > 0 && !r.s.DeliveryBlocked }); err != nil {
			return
		}
		ev := r.s.Outbox[0]
		attemptsCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: r.eventMaxAge(),
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    10 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    time.Hour,
			},
			Summary: "deliver " + ev.Type + " to request system",
		})
		r.deliveryInFlight = true
		err := workflow.ExecuteActivity(attemptsCtx, acts.DeliverEvent, activities.DeliverInput{Ref: r.ref(), Event: ev}).Get(ctx, nil)
		r.deliveryInFlight = false
		if err != nil && ctx.Err() != nil {
			return
		}
		if len(r.s.Outbox) == 0 || r.s.Outbox[0].ID != ev.ID {
			continue // skipped by an operator meanwhile
		}
		if err == nil {
			r.s.Outbox = r.s.Outbox[1:]
			r.s.Events.Delivered++
			continue
		}
		// Abandoned (24 h of failures, 410 Gone, or a refused target): later events wait for
		// an operator's retry or skip. Visible in Temporal Web via TicketNeedsAttention.
		r.s.DeliveryBlocked = true
		r.park("delivery", fmt.Sprintf("event %s (%s) could not be delivered: %s", ev.ID, ev.Type, errText(err)))
		_ = r.syncIn(ctx)
	}
}
