package seeclickfix

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Intake: SeeClickFix has no webhooks we can rely on, so the connection's ConnectionSync polls
// the organization's change feed (issues by updated_at, with an overlap; see Changes) and
// turns each new or changed issue of a mapped request type into intents: `start` for an open
// issue (idempotent on the workflow id), a `comment` signal per public comment, the SCF
// comment id as its id so each crosses exactly once. Comments by staff (Verified Officials,
// which includes our own API user) are not relayed: they are either ours (no echo) or already
// visible to the citizen. Every IntakeEvery, the import of requests raised directly in the work
// system runs first (importer.go).

const intakeCursorVersion = 1

// intakeCursor is the intake's state between calls, saved by the engine after each page.
type intakeCursor struct {
	V int `json:"v"`
	// Feed is the change feed's cursor; Since is when the intake started (older issues are
	// not started unless a full refresh asks).
	Feed  string `json:"feed"`
	Since int64  `json:"since"`
	// FullPage is the next page of a full refresh (0: none running); the feed resumes from
	// when the refresh began.
	FullPage int `json:"fullPage,omitempty"`
	// ImportMark is the import's watermark (unix seconds, newest CreatedAt handled), ImportAt
	// when the import last ran, Imported the remote ids handled inside the overlap window.
	ImportMark int64            `json:"importMark,omitempty"`
	ImportAt   int64            `json:"importAt,omitempty"`
	Imported   map[string]int64 `json:"imported,omitempty"`
	// Taken are the changes ("id@updated_at") of the page at Feed already taken in when a
	// detail read failed part-way: the next pass reads the same page and skips them.
	Taken []string `json:"taken,omitempty"`
}

func (c *Connector) decodeCursor(raw string) (intakeCursor, error) {
	if raw == "" {
		now := c.now().Add(-time.Minute)
		return intakeCursor{V: intakeCursorVersion, Feed: StartCursor(now), Since: now.Add(-c.backlog).Unix()}, nil
	}
	var cur intakeCursor
	if err := json.Unmarshal([]byte(raw), &cur); err != nil || cur.V != intakeCursorVersion || cur.Feed == "" {
		return cur, invalidArgument("intake", "unreadable intake cursor; run a full refresh to start over")
	}
	return cur, nil
}

func (cur intakeCursor) encode() string {
	b, _ := json.Marshal(cur)
	return string(b)
}

// Intake returns one page of intents (vendorapi.Intake). cursor "" starts from now; full
// re-lists every open issue of the mapped request types (20 with details per page), then
// resumes the change feed from when the refresh began.
func (c *Connector) Intake(ctx context.Context, cursor string, full bool) (vendorapi.IntakePage, error) {
	cur, err := c.decodeCursor(cursor)
	if err != nil && !full {
		return vendorapi.IntakePage{}, err
	}
	if full {
		now := c.now()
		cur = intakeCursor{V: intakeCursorVersion, Feed: StartCursor(now), Since: now.Unix(), FullPage: 1,
			ImportMark: now.Add(-24 * time.Hour).Unix()}
	}
	if cur.FullPage > 0 {
		return c.fullPage(ctx, cur)
	}
	if cursor == "" && !full {
		// A fresh intake first has its start saved, before any call can fail: a start taken
		// again at each failed pass would move past every issue reported meanwhile, and an
		// intake failing for over a minute would never take them in.
		return vendorapi.IntakePage{Cursor: cur.encode(), More: true}, nil
	}
	if err := c.runImport(ctx, &cur); err != nil {
		return vendorapi.IntakePage{}, err
	}
	ch, err := c.client.Changes(ctx, cur.Feed)
	if err != nil {
		return vendorapi.IntakePage{}, err
	}
	var intents []vendorapi.Intent
	for _, is := range ch.Issues {
		change := strconv.FormatInt(is.ID, 10) + "@" + strconv.FormatInt(is.UpdatedAt.Unix(), 10)
		if slices.Contains(cur.Taken, change) {
			continue
		}
		in, err := c.issueIntents(ctx, is, time.Unix(cur.Since, 0))
		if err != nil {
			// One issue's read failed: what the page gave so far is taken in (the engine
			// executes it and saves the cursor), and the next pass reads on from there instead
			// of the whole page again — at a 20 % error rate a page of many changes would
			// otherwise hardly ever pass.
			return vendorapi.IntakePage{Intents: intents, Cursor: cur.encode()}, err
		}
		intents = append(intents, in...)
		cur.Taken = append(cur.Taken, change)
	}
	cur.Feed, cur.Taken = ch.Cursor, nil
	return vendorapi.IntakePage{Intents: intents, Cursor: cur.encode(), More: ch.More}, nil
}

func (c *Connector) fullPage(ctx context.Context, cur intakeCursor) (vendorapi.IntakePage, error) {
	page, err := c.client.ListIssues(ctx, IssueQuery{Page: cur.FullPage, PerPage: MaxPerPageDetails, Details: true,
		Statuses: []string{FilterOpen, FilterAcknowledged}, RequestTypes: c.types, Sort: "created_at", SortDirection: "ASC"})
	if err != nil {
		return vendorapi.IntakePage{}, err
	}
	var intents []vendorapi.Intent
	for _, is := range page.Issues {
		intents = append(intents, c.detailedIntents(is, time.Time{})...)
	}
	cur.FullPage++
	if page.Pagination.NextPage == nil || len(page.Issues) == 0 {
		cur.FullPage = 0
	}
	return vendorapi.IntakePage{Intents: intents, Cursor: cur.encode(), More: true}, nil
}

func (c *Connector) mapped(rt int64) bool { return slices.Contains(c.types, rt) }

// issueIntents reads a changed issue with its details (comments, answers) when it is of a
// mapped request type; others cost no call.
func (c *Connector) issueIntents(ctx context.Context, is Issue, since time.Time) ([]vendorapi.Intent, error) {
	if !c.mapped(is.RequestType.ID) {
		return nil, nil
	}
	d, err := c.client.Issue(ctx, is.ID, true)
	if vendorapi.IsNotFound(err) {
		return nil, nil // deleted or made private to another department meanwhile
	}
	if err != nil {
		return nil, err
	}
	return c.detailedIntents(*d, since), nil
}

// detailedIntents are the intents of a detailed issue: start (open issues created since the
// intake began, or any in a full refresh: since is zero) and one comment signal per public
// comment.
func (c *Connector) detailedIntents(is Issue, since time.Time) []vendorapi.Intent {
	if !c.mapped(is.RequestType.ID) {
		return nil
	}
	ext := strconv.FormatInt(is.ID, 10)
	var out []vendorapi.Intent
	open := is.Status == StatusOpen || is.Status == StatusAcknowledged
	if open && !is.CreatedAt.Before(since) {
		req := c.request(is)
		out = append(out, vendorapi.Intent{Kind: vendorapi.IntentStart, ExternalID: ext, Request: &req})
	}
	for _, cm := range is.Comments {
		if cm.ID == 0 || cm.IsStaff() {
			continue
		}
		sig := ticket.CommentSignal{ID: "scf-comment-" + strconv.FormatInt(cm.ID, 10), Text: strings.TrimSpace(cm.Comment),
			Author: cm.Commenter.Name}
		if sig.Author == "" {
			sig.Author = "SeeClickFix user"
		}
		if cm.Media.ImageFull != "" {
			sig.Attachments = []vendorapi.Attachment{{Name: fmt.Sprintf("scf-comment-%d-image", cm.ID), URL: cm.Media.ImageFull}}
			if sig.Text == "" {
				sig.Text = "(photo)"
			}
		}
		if sig.Text == "" {
			continue
		}
		out = append(out, vendorapi.Intent{Kind: vendorapi.IntentSignal, ExternalID: ext, Signal: ticket.SignalComment, Payload: sig})
	}
	return out
}

// request is the ticket's request for an issue. It must be a function of the issue's stable
// fields only: start intents repeat on every change of the issue, and the engine compares
// them with the first (a different request under the same id is refused as a conflict).
func (c *Connector) request(is Issue) vendorapi.NewRequest {
	title := strings.TrimSpace(is.Summary)
	if title == "" {
		title = is.RequestType.Title
	}
	req := vendorapi.NewRequest{RequestType: strconv.FormatInt(is.RequestType.ID, 10), Title: title,
		Description: strings.TrimSpace(is.Description), Location: is.Location(), Requester: is.Requester(),
		Answers: is.Answers(), Attachments: is.Attachments()}
	if id, ok := c.importedFrom(is); ok {
		if req.Answers == nil {
			req.Answers = map[string]string{}
		}
		req.Answers[vendorapi.AnswerAdoptRemoteID] = id
		req.Requester = vendorapi.Person{Name: "City staff"}
	}
	return req
}

// importMarker tags an issue imported from the work system: the import finds it again by it
// (no duplicate after a crash), and intake reads the remote id back so the ticket adopts the
// existing request instead of creating one.
func importMarker(kind, remoteID string) string { return "[" + kind + " " + remoteID + "]" }

var importMarkerRe = regexp.MustCompile(`\[([a-z0-9-]+) ([A-Za-z0-9-]+)\]\s*$`)

// importedFrom reads the marker of an imported issue. Only issues reported by an official
// (our API user is one) count: a citizen cannot make a ticket adopt someone else's request by
// typing a marker.
func (c *Connector) importedFrom(is Issue) (string, bool) {
	if is.Reporter.Role != RoleVerifiedOfficial {
		return "", false
	}
	w := c.peer()
	if w == nil {
		return "", false
	}
	m := importMarkerRe.FindStringSubmatch(is.Description)
	if m == nil || m[1] != w.Kind() {
		return "", false
	}
	return m[2], true
}
