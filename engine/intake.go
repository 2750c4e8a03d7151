package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Store cursor names of a connection's two inbound streams (read by GET /v1/connections/{id}).
const (
	FeedWatermarkCursor = "feed.watermark"
	FeedLastErrorCursor = "feed.lastError"
	FeedLastReadCursor  = "feed.lastRead"

	IntakeCursor          = "intake.cursor"
	IntakeLastErrorCursor = "intake.lastError"
	IntakeLastReadCursor  = "intake.lastRead"
)

// maxIntakePages bounds one intake run (a runaway cursor must not loop forever).
const maxIntakePages = 10000

// RunIntake reads the connection's request-system intake from its saved cursor (or, when full,
// every open request) and executes what it reports: new requests start tickets, changes and
// comments signal them. The cursor is saved after each page whose intents all succeeded, so a
// crash re-reads at most one page, and re-reading is harmless (starts are idempotent on the
// workflow id, comments on their id); a page returned with its read error is kept the same way
// before the error is reported. progress, when set, is called after each page.
func (e *Engine) RunIntake(ctx context.Context, conn *connectors.Conn, full bool, progress func(Counts)) (Counts, error) {
	var total Counts
	intake, ok := conn.Request.(vendorapi.Intake)
	if !ok {
		return total, fmt.Errorf("request system %s of connection %s has no intake", conn.RequestKind, conn.ID)
	}
	cursor := ""
	if !full {
		saved, err := e.Store.GetCursor(ctx, conn.ID, IntakeCursor)
		if err != nil {
			return total, fmt.Errorf("load intake cursor: %w", err)
		}
		cursor = saved
	}
	fail := func(err error) (Counts, error) {
		_ = e.Store.SaveCursor(context.WithoutCancel(ctx), conn.ID, IntakeLastErrorCursor, err.Error())
		return total, err
	}
	for page := 0; page < maxIntakePages; page++ {
		res, readErr := intake.Intake(ctx, cursor, full && page == 0)
		if readErr != nil && len(res.Intents) == 0 && res.Cursor == "" {
			return fail(fmt.Errorf("read intake of %s: %w", conn.ID, readErr))
		}
		// (With readErr, the page holds the progress made before it: kept, then reported.)
		c, err := e.Execute(ctx, conn, res.Intents)
		total.Add(c)
		if progress != nil {
			progress(total)
		}
		if err != nil {
			return fail(err)
		}
		if res.Cursor != "" && res.Cursor != cursor {
			cursor = res.Cursor
			if err := e.Store.SaveCursor(ctx, conn.ID, IntakeCursor, cursor); err != nil {
				return fail(fmt.Errorf("save intake cursor: %w", err))
			}
		}
		if readErr != nil {
			return fail(fmt.Errorf("read intake of %s: %w", conn.ID, readErr))
		}
		if !res.More {
			break
		}
		full = false // later pages continue from the cursor
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	_ = e.Store.SaveCursor(ctx, conn.ID, IntakeLastReadCursor, now)
	_ = e.Store.SaveCursor(ctx, conn.ID, IntakeLastErrorCursor, "")
	return total, nil
}
