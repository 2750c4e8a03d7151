package seeclickfix

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// DefaultFeedOverlap is how far before its watermark Changes re-reads by default.
const DefaultFeedOverlap = 30 * time.Second

const cursorVersion = 1

// feedCursor is the state of the change feed between calls.
//
// SCF filters updated_at_after (>=) with whole seconds and pages by page number. Each poll
// starts with an overlap pass from Watermark-overlap (catching updates committed late with
// an earlier updated_at); while SCF has more, the feed continues from the new watermark
// (Catch) rather than turning pages, because issues updated meanwhile move to the end and
// shift page boundaries. Seen maps issue id → updated_at (unix seconds) of the newest version
// delivered inside the re-read window, so repeats are dropped. Pages are turned only inside a
// crowded second (more than a page of issues with the watermark's updated_at, e.g. a bulk
// update); there the overlap pass is skipped until the watermark moves on, and the feed looks
// one page back each poll to absorb shifts.
type feedCursor struct {
	V         int              `json:"v"`
	Watermark int64            `json:"w"`           // unix seconds: newest updated_at delivered (or the start)
	Catch     bool             `json:"c,omitempty"` // continue from Watermark without the overlap
	Page      int              `json:"p,omitempty"` // page of that query; 0 means 1
	Seen      map[string]int64 `json:"s,omitempty"`
}

// StartCursor is the cursor of a feed that begins with issues updated at or after since.
func StartCursor(since time.Time) string {
	return feedCursor{V: cursorVersion, Watermark: since.Unix()}.encode()
}

func (fc feedCursor) encode() string {
	b, _ := json.Marshal(fc)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (feedCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return feedCursor{}, false
	}
	var fc feedCursor
	if json.Unmarshal(b, &fc) != nil || fc.V != cursorVersion || fc.Page < 0 {
		return feedCursor{}, false
	}
	return fc, true
}

// Changes is one step of the change feed.
type Changes struct {
	// Issues are new versions (issue id + updated_at never delivered before), oldest first.
	// Archived issues are included. They are not detailed: fetch comments and questions with
	// Issue(…, true) as needed.
	Issues []Issue
	// Cursor is where the next call continues; store it only after handling Issues.
	Cursor string
	// More is true when SCF has more right now (call again without waiting for the poll).
	More bool
}

// Changes lists issues created or changed since the cursor (StartCursor for the first call):
// GET …/issues?updated_at_after=W&sort=updated_at&sort_direction=ASC&status=open,acknowledged,
// closed,archived&per_page=100. It costs one request. The boundary of updated_at_after repeats
// and the re-read window overlaps on purpose; versions already delivered are dropped here, so
// callers see each (id, updated_at) once. An unreadable cursor is a non-retryable
// invalid_argument (restart from a StartCursor).
func (c *Client) Changes(ctx context.Context, cursor string) (Changes, error) {
	const op = "list changed issues"
	fc, ok := decodeCursor(cursor)
	if !ok {
		return Changes{}, invalidArgument(op, "unreadable feed cursor; restart with StartCursor")
	}
	overlap := int64(c.overlap / time.Second)
	from := fc.Watermark
	if !fc.Catch {
		from -= overlap
	}
	page := max(fc.Page, 1)
	res, err := c.ListIssues(ctx, IssueQuery{
		UpdatedAfter: time.Unix(from, 0),
		Sort:         "updated_at", SortDirection: "ASC",
		Statuses: []string{FilterOpen, FilterAcknowledged, FilterClosed, FilterArchived},
		PerPage:  MaxPerPage, Page: page,
	})
	if err != nil {
		return Changes{}, err
	}
	next := feedCursor{V: cursorVersion, Watermark: fc.Watermark, Seen: map[string]int64{}}
	for k, v := range fc.Seen {
		next.Seen[k] = v
	}
	var out Changes
	for _, is := range res.Issues {
		key, at := strconv.FormatInt(is.ID, 10), is.UpdatedAt.Unix()
		if seen, ok := next.Seen[key]; ok && at <= seen {
			continue
		}
		if at < from {
			continue // outside what we asked for: a server ignoring the filter must not replay history
		}
		next.Seen[key] = at
		next.Watermark = max(next.Watermark, at)
		out.Issues = append(out.Issues, is)
	}
	for k, at := range next.Seen {
		if at < next.Watermark-overlap {
			delete(next.Seen, k) // below any later query's start: can never be returned again
		}
	}
	out.More = res.Pagination.NextPage != nil
	switch {
	case out.More && next.Watermark == from:
		// This page held nothing newer than where the query started: a crowded second.
		next.Catch, next.Page = true, page+1
	case out.More:
		next.Catch = true
	case page > 1 && next.Watermark == from:
		// Caught up at the end of a crowded second: stay on it, one page back.
		next.Catch, next.Page = true, page-1
	}
	out.Cursor = next.encode()
	return out, nil
}
