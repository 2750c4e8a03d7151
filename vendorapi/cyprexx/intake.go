package cyprexx

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Refresh and Full Refresh as the connection's intake (ConnectionSync polls it every
// requestSystem.pollInterval; `ticketsync connections refresh <id> [--full]` and
// POST /v1/connections/{id}/refresh run it on demand). Both are idempotent: a work order
// that did not change yields a start of its existing ticket with the same request, which the
// engine counts as unchanged, and nothing is published or pushed to Pruvan again.

const (
	collIntake   = "cyprexx"
	keyWatermark = "watermark"
)

// intakeCursor is the engine's intake cursor: the Refresh watermark (updatedSince, inclusive)
// and, between the pages of one run, Cyprexx's page cursor.
type intakeCursor struct {
	Since time.Time `json:"since,omitzero"`
	Page  string    `json:"page,omitempty"`
	Full  bool      `json:"full,omitempty"`
}

func (c intakeCursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Intake reads one page: with full, or on the very first run, every active work order (Full
// Refresh); otherwise those updated since the watermark (Refresh). The watermark is also kept
// in the connection's records, so a Full Refresh (which the engine starts without a cursor)
// neither loses nor moves it: changes to orders that became inactive meanwhile still reach
// their tickets with the next Refresh.
func (r *RequestSystem) Intake(ctx context.Context, cursor string, full bool) (vendorapi.IntakePage, error) {
	saved, err := r.watermark(ctx)
	if err != nil {
		return vendorapi.IntakePage{}, err
	}
	var cur intakeCursor
	switch {
	case full:
		cur = intakeCursor{Since: saved, Full: true}
	case cursor != "" && json.Unmarshal([]byte(cursor), &cur) == nil:
	default:
		cur = intakeCursor{} // none yet, or not ours (an older build's): from the watermark
	}
	if cur.Since.IsZero() {
		cur.Since = saved
	}
	if cur.Since.IsZero() {
		// The very first run (or the watermark was lost) imports every active work order.
		start, err := r.firstWatermark(ctx)
		if err != nil {
			return vendorapi.IntakePage{}, err
		}
		cur.Since, cur.Full = start, true
	}
	page, err := r.readPage(ctx, cur)
	if IsInvalidCursor(err) && cur.Page != "" {
		// Expired between pages (1 h): a Refresh restarts from the watermark, a Full Refresh
		// from the beginning. Both are safe to repeat.
		cur.Page = ""
		page, err = r.readPage(ctx, cur)
	}
	if err != nil {
		return vendorapi.IntakePage{}, err
	}
	var out vendorapi.IntakePage
	latest := cur.Since
	for _, wo := range page.Items {
		res, err := r.sync(ctx, wo)
		if err != nil {
			return vendorapi.IntakePage{}, err
		}
		if res.Intent != nil {
			out.Intents = append(out.Intents, *res.Intent)
		}
		if wo.UpdatedAt.After(latest) {
			latest = wo.UpdatedAt
		}
	}
	next := intakeCursor{Since: cur.Since, Page: page.NextCursor, Full: cur.Full && page.NextCursor != ""}
	// A Refresh moves the watermark page by page (the feed is ordered by updatedAt); a Full
	// Refresh keeps it, or sets the first one once it has seen everything.
	if !cur.Full {
		next.Since = latest
	}
	if next.Since.After(saved) && (!cur.Full || page.NextCursor == "") {
		if err := r.saveWatermark(ctx, next.Since); err != nil {
			return vendorapi.IntakePage{}, err
		}
	}
	out.Cursor, out.More = next.String(), page.NextCursor != ""
	return out, nil
}

// watermarkSkew allows for the difference between our clock and Cyprexx's.
const watermarkSkew = 10 * time.Minute

// firstWatermark is where Refresh starts after the first Full Refresh: before that run, and
// before the oldest ticket pushes may already have opened. A Full Refresh lists only active
// work orders, so starting at the newest of them (or at a push-started order's last change)
// would skip every order that was cancelled meanwhile: its ticket would never hear of it.
func (r *RequestSystem) firstWatermark(ctx context.Context) (time.Time, error) {
	pv, err := r.peer()
	if err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	open, err := pv.FirstOpen(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if !open.IsZero() && open.Before(start) {
		start = open
	}
	return start.Add(-watermarkSkew).UTC().Truncate(time.Millisecond), nil
}

func (r *RequestSystem) readPage(ctx context.Context, cur intakeCursor) (Page, error) {
	if cur.Full {
		return r.cx.FullRefresh(ctx, cur.Page, r.page)
	}
	return r.cx.Changes(ctx, cur.Since, cur.Page, r.page)
}

var errNoRecords = &vendorapi.Error{Vendor: Vendor, Op: "intake", Code: "no_store",
	Message: "this process has no store for the Refresh watermark (build connectors with connectors.Env.Records)"}

func (r *RequestSystem) watermark(ctx context.Context) (time.Time, error) {
	if r.rec == nil {
		return time.Time{}, errNoRecords
	}
	rec, ok, err := r.rec.Get(ctx, collIntake, keyWatermark)
	if err != nil {
		return time.Time{}, &vendorapi.Error{Vendor: Vendor, Op: "intake", Message: "read watermark", Err: err, Retryable: true}
	}
	var t time.Time
	if ok {
		if err := json.Unmarshal(rec.Value, &t); err != nil {
			return time.Time{}, nil // unreadable: a Full Refresh rebuilds it
		}
	}
	return t, nil
}

func (r *RequestSystem) saveWatermark(ctx context.Context, t time.Time) error {
	b, _ := json.Marshal(t.UTC())
	for range 5 {
		rec, _, err := r.rec.Get(ctx, collIntake, keyWatermark)
		if err == nil {
			_, err = r.rec.Put(ctx, collIntake, keyWatermark, b, rec.Version)
		}
		if errors.Is(err, vendorapi.ErrRecordChanged) {
			continue
		}
		if err != nil {
			return &vendorapi.Error{Vendor: Vendor, Op: "intake", Message: "save watermark", Err: err, Retryable: true}
		}
		return nil
	}
	return &vendorapi.Error{Vendor: Vendor, Op: "intake", Message: "save watermark: contended", Retryable: true}
}
