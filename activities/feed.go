package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
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
}

// Store cursor names of a connection's feed (read by GET /v1/connections/{id}).
const (
	FeedWatermarkCursor = "feed.watermark"
	FeedLastErrorCursor = "feed.lastError"
	FeedLastReadCursor  = "feed.lastRead"
)

const (
	feedCursorName = FeedWatermarkCursor
	// feedOverlap re-reads a little before the watermark: clocks and same-millisecond ties
	// otherwise lose changes at the boundary. Duplicates are filtered by (id, modifiedAt).
	feedOverlap = 2 * time.Second
	feedPage    = 200
	// followerLifetime ends the activity before its StartToClose so the workflow restarts it.
	followerLifetime = 50 * time.Minute
)

// PokeSignal is the name of the Ticket workflow's poke signal (duplicated here to keep the
// activities package free of a dependency on workflows).
const PokeSignal = "poke"

// FollowChangeFeed reads the connection's change feed every FeedInterval and pokes each ticket
// whose remote request changed. The watermark is persisted in the store and heartbeated.
func (a *Activities) FollowChangeFeed(ctx context.Context, in FeedInput) error {
	conn, err := a.Connections.Get(in.Connection)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	feed, ok := conn.Work.(vendorapi.ChangeFeed)
	if !ok {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("work system %s has no change feed", conn.Work.Kind()), "NoFeed", nil)
	}
	interval := a.FeedInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	var progress FeedProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &progress)
	}
	if progress.Watermark.IsZero() {
		saved, err := a.Store.GetCursor(ctx, in.Connection, feedCursorName)
		if err != nil {
			return fmt.Errorf("load feed watermark: %w", err)
		}
		if saved != "" {
			if t, err := time.Parse(time.RFC3339Nano, saved); err == nil {
				progress.Watermark = t
			}
		}
	}
	if progress.Watermark.IsZero() {
		// A fresh connection starts "now": tickets created before it poll on their own timers.
		progress.Watermark = time.Now().UTC().Add(-time.Minute)
	}
	seen := map[string]time.Time{}
	deadline := time.Now().Add(followerLifetime)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	lastSavedError := "-"
	lastReadSaved := time.Time{}
	for {
		if err := a.readFeedOnce(ctx, in.Connection, feed, &progress, seen); err != nil {
			progress.LastError = err.Error()
			a.log().Warn("change feed read failed", "connection", in.Connection, "error", err)
		} else {
			progress.LastError = ""
			// Record liveness at most every 30 s (operators read it as "feed lag").
			if time.Since(lastReadSaved) > 30*time.Second {
				if err := a.Store.SaveCursor(ctx, in.Connection, FeedLastReadCursor, time.Now().UTC().Format(time.RFC3339Nano)); err == nil {
					lastReadSaved = time.Now()
				}
			}
		}
		if progress.LastError != lastSavedError {
			if err := a.Store.SaveCursor(ctx, in.Connection, FeedLastErrorCursor, progress.LastError); err == nil {
				lastSavedError = progress.LastError
			}
		}
		activity.RecordHeartbeat(ctx, progress)
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

// readFeedOnce pages through everything modified since the watermark (minus the overlap).
func (a *Activities) readFeedOnce(ctx context.Context, conn string, feed vendorapi.ChangeFeed, p *FeedProgress, seen map[string]time.Time) error {
	since := p.Watermark.Add(-feedOverlap)
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
			return err
		}
		p.Reads++
		for _, item := range res.Items {
			key := item.ID + "@" + item.ModifiedAt.UTC().Format(time.RFC3339Nano)
			if _, dup := seen[key]; dup {
				continue
			}
			if err := a.PokeRemote(ctx, conn, item); err != nil {
				return err // not marked seen, watermark unchanged: the next read pokes again
			}
			seen[key] = item.ModifiedAt
			if item.ModifiedAt.After(newMark) {
				newMark = item.ModifiedAt
			}
			p.Pokes++
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if newMark.After(p.Watermark) {
		p.Watermark = newMark.UTC()
		if err := a.Store.SaveCursor(ctx, conn, feedCursorName, p.Watermark.Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("save feed watermark: %w", err)
		}
	}
	// Forget keys that fell out of the overlap window.
	for k, t := range seen {
		if t.Before(p.Watermark.Add(-2 * feedOverlap)) {
			delete(seen, k)
		}
	}
	return nil
}

// PokeRemote signals `poke` to the ticket owning a remote request, if it is ours and open. The
// ticket is found by the remote id in the read model or, before the read model has it (a change
// right after the create), by reading our reference back.
func (a *Activities) PokeRemote(ctx context.Context, conn string, item vendorapi.RemoteRequest) error {
	t, err := a.Store.GetTicketByRemoteID(ctx, conn, item.ID)
	if err == nil {
		return a.Poke(ctx, t.WorkflowID)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("find ticket for remote %s: %w", item.ID, err)
	}
	c, cerr := a.Connections.Get(conn)
	if cerr != nil {
		return nil
	}
	if p, ok := c.Work.(vendorapi.ReferenceParser); ok && item.ExternalReference != "" {
		if ext, ok := p.ParseReference(conn, item.ExternalReference); ok {
			return a.Poke(ctx, ticket.WorkflowID(conn, ext))
		}
	}
	return nil // not a ticketsync request: nothing to poke (each ticket's timer covers the rest)
}

// Poke signals a ticket workflow to poll now; a finished or unknown workflow is not an error.
func (a *Activities) Poke(ctx context.Context, workflowID string) error {
	err := a.Temporal.SignalWorkflow(ctx, workflowID, "", PokeSignal, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("poke %s: %w", workflowID, err)
	}
	return nil
}
