package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
)

func (r *run) upsertSearchAttributes(ctx workflow.Context) {
	// Since changeQuietSearchAttributes only values that differ from the run's current ones
	// are upserted, and nothing when none does: each upsert is a visibility write, the
	// embedded server's hottest path when tickets are created (the start already carries the
	// Submitted values, and a create used to upsert the same values twice).
	onlyChanged := r.version(ctx, changeQuietSearchAttributes) >= 1
	current := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	keyword := func(k temporal.SearchAttributeKeyKeyword, v string) {
		if old, ok := current.GetKeyword(k); !onlyChanged || !ok || old != v {
			updates = append(updates, k.ValueSet(v))
		}
	}
	keyword(ticket.SATenant, r.s.Tenant)
	keyword(ticket.SAConnection, r.s.Connection)
	keyword(ticket.SAExternalID, r.s.ExternalID)
	keyword(ticket.SAStatus, r.s.Status)
	if old, ok := current.GetBool(ticket.SANeedsAttention); !onlyChanged || !ok || old != (r.s.NeedsAttention != nil) {
		updates = append(updates, ticket.SANeedsAttention.ValueSet(r.s.NeedsAttention != nil))
	}
	if r.s.RemoteID != "" {
		keyword(ticket.SARemoteID, r.s.RemoteID)
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
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

// sync writes the read model and new timeline rows (local activity: cheap in history). Syncs
// never overlap (the main loop and the delivery coroutine share it), and only what a sync
// captured is marked done, so a change made while it was in flight is written by the next one.
func (r *run) sync(ctx workflow.Context) error {
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
	// Every write carries a greater version (carried across continue-as-new): the store orders
	// writes by it, not by clocks that may disagree (the API host stamps the row it inserts).
	r.s.Version++
	in := activities.SyncInput{Ref: r.ref(), MappingVersion: r.s.MappingVersion, Request: r.in.Request,
		Status: r.s.Status, RemoteID: r.s.RemoteID, RemoteStatus: r.s.RemoteStatus, Category: r.s.Category,
		NeedsAttention: r.s.NeedsAttention, Paused: r.s.Paused, UpdatedAt: r.s.UpdatedAt, Events: events,
		Version: r.s.Version}
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
