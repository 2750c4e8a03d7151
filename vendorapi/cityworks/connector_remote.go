package cityworks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Get reads a service request or work order with its comments and attachments. Comments and
// attachment comments that start with the public prefix ("To SCF:") are the requester's
// feedback (prefix removed; an attachment's file comes along); every other comment is staff's
// own. Requester comments we forwarded are read back with their author and text.
func (c *Connector) Get(ctx context.Context, id string) (*vendorapi.RemoteRequest, error) {
	rid, err := parseRemoteID("get request", id)
	if err != nil {
		return nil, err
	}
	if rid.wo != "" {
		return c.getWO(ctx, rid.wo)
	}
	sr, err := c.client.Request(ctx, rid.sr)
	if err != nil {
		return nil, err
	}
	comments, err := c.client.RequestComments(ctx, rid.sr)
	if err != nil {
		return nil, err
	}
	atts, err := c.client.RequestAttachments(ctx, rid.sr)
	if err != nil {
		return nil, err
	}
	out := &vendorapi.RemoteRequest{ID: srRemote(sr.RequestId), ExternalReference: sr.OtherSystemId, Status: sr.Status,
		Category: sr.Description, WorkOrderID: string(sr.WorkOrderId), CreatedAt: sr.DateTimeInit.Time,
		ModifiedAt: latest(sr.DateTimeInit, sr.DateTimeClosed, sr.DateCancelled)}
	c.fill(out, comments, atts, "request")
	return out, nil
}

func (c *Connector) getWO(ctx context.Context, id string) (*vendorapi.RemoteRequest, error) {
	wo, err := c.client.WorkOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	comments, err := c.client.WorkOrderComments(ctx, wo)
	if err != nil {
		return nil, err
	}
	atts, err := c.client.WorkOrderAttachments(ctx, wo)
	if err != nil {
		return nil, err
	}
	out := &vendorapi.RemoteRequest{ID: woRemote(string(wo.WorkOrderId)), ExternalReference: wo.Texts[c.client.refFieldNumber()],
		Status: wo.Status, Category: wo.Description, WorkOrderID: string(wo.WorkOrderId), CreatedAt: wo.InitiateDate.Time,
		ModifiedAt: latest(wo.InitiateDate, wo.DateWOClosed, wo.DateCancelled)}
	c.fill(out, comments, atts, "workorder")
	return out, nil
}

func latest(ts ...Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t.Time
		}
	}
	return out
}

// fill adds comments and feedback, and moves ModifiedAt to the newest of them.
func (c *Connector) fill(out *vendorapi.RemoteRequest, comments []CommentRecord, atts []Attachment, kind string) {
	for i, cm := range comments {
		id := commentID(cm, i)
		if cm.DateCreated.After(out.ModifiedAt) {
			out.ModifiedAt = cm.DateCreated.Time
		}
		if text, ok := c.public(cm.Comments); ok {
			out.Feedback = append(out.Feedback, vendorapi.Feedback{ID: "comment-" + id, Text: text, Author: authorOf(cm.AuthorName),
				VisibleToRequestor: true, CreatedAt: cm.DateCreated.Time})
			continue
		}
		rc := vendorapi.Comment{ID: "cw-" + id, Text: cm.Comments, Author: cm.AuthorName, CreatedAt: cm.DateCreated.Time}
		if f, ok := parseForwarded(cm.Comments); ok {
			rc.Text, rc.Author = f.text, f.author
		}
		out.Comments = append(out.Comments, rc)
	}
	for _, a := range atts {
		if a.DateTimeAttached.After(out.ModifiedAt) {
			out.ModifiedAt = a.DateTimeAttached.Time
		}
		text, ok := c.public(a.Comments)
		if !ok {
			continue
		}
		out.Feedback = append(out.Feedback, vendorapi.Feedback{ID: "attachment-" + strconv.Itoa(a.Id), Text: text,
			Author: authorOf(a.AttachedBy), VisibleToRequestor: true, CreatedAt: a.DateTimeAttached.Time,
			Attachments: []vendorapi.Attachment{attachmentRef(a, kind)}})
	}
	slices.SortStableFunc(out.Feedback, func(a, b vendorapi.Feedback) int { return a.CreatedAt.Compare(b.CreatedAt) })
}

// public returns the requester-visible text of a comment that starts with the public prefix
// (case and surrounding blanks ignored), without the prefix.
func (c *Connector) public(text string) (string, bool) {
	t := strings.TrimSpace(text)
	p := c.opts.PublicCommentPrefix
	if len(t) < len(p) || !strings.EqualFold(t[:len(p)], p) {
		return "", false
	}
	rest := strings.TrimSpace(t[len(p):])
	return rest, rest != ""
}

func authorOf(name string) string {
	if strings.TrimSpace(name) == "" {
		return "City staff"
	}
	return name
}

// commentID is a comment's stable id: CommentId, or on Cityworks 2013 (comments from a text
// blob, without ids) a hash of its position and text.
func commentID(cm CommentRecord, index int) string {
	if cm.CommentId != 0 {
		return strconv.Itoa(cm.CommentId)
	}
	sum := sha256.Sum256([]byte(strconv.Itoa(index) + "\x00" + cm.Comments))
	return "h" + hex.EncodeToString(sum[:8])
}

// Attachment URLs that only this connector can open (AttachmentOpener): the file lives behind
// Cityworks' authentication.
const (
	requestAttachmentURL   = "cityworks:request-attachment:"
	workOrderAttachmentURL = "cityworks:workorder-attachment:"
)

func attachmentRef(a Attachment, kind string) vendorapi.Attachment {
	prefix := requestAttachmentURL
	if kind == "workorder" {
		prefix = workOrderAttachmentURL
	}
	name := path.Base(strings.ReplaceAll(a.Attachment, `\`, "/"))
	return vendorapi.Attachment{Name: name, URL: prefix + strconv.Itoa(a.Id), ContentType: contentTypeOf(name)}
}

// Requester comments are written to Cityworks as "Requester comment #<id> from <author>:
// <text>" (staff see who wrote it; the id makes the post idempotent and lets Get read the
// author and text back for the activity's retry check).
var forwardedRe = regexp.MustCompile(`(?s)^Requester comment(?: #(\S+))? from (.*?): (.*)$`)

type forwarded struct{ id, author, text string }

func forwardText(cm vendorapi.Comment) string {
	author := strings.ReplaceAll(strings.TrimSpace(cm.Author), ": ", " ")
	if author == "" {
		author = "Requester"
	}
	if cm.ID != "" && !strings.ContainsAny(cm.ID, " \t\n") {
		return fmt.Sprintf("Requester comment #%s from %s: %s", cm.ID, author, cm.Text)
	}
	return fmt.Sprintf("Requester comment from %s: %s", author, cm.Text)
}

func parseForwarded(text string) (forwarded, bool) {
	m := forwardedRe.FindStringSubmatch(text)
	if m == nil {
		return forwarded{}, false
	}
	return forwarded{id: m[1], author: m[2], text: m[3]}, true
}

// AddComment forwards a requester comment (and its files, as attachments) to the request or
// work order. It is idempotent on the comment's id: a comment already forwarded (by an earlier
// attempt whose answer was lost) is returned instead of posted again.
func (c *Connector) AddComment(ctx context.Context, id string, cm vendorapi.Comment) (vendorapi.Comment, error) {
	rid, err := parseRemoteID("add comment", id)
	if err != nil {
		return vendorapi.Comment{}, err
	}
	if len(cm.Attachments) > 0 {
		files := make([]vendorapi.Attachment, len(cm.Attachments))
		for i, a := range cm.Attachments {
			files[i] = a
			if files[i].Name == "" {
				files[i].Name = "comment-" + cmp.Or(cm.ID, "file") + "-" + strconv.Itoa(i+1)
			}
		}
		if _, err := c.copyFiles(ctx, rid, files, "Photo with "+strings.TrimSuffix(forwardText(vendorapi.Comment{ID: cm.ID, Author: cm.Author}), ": ")); err != nil {
			return vendorapi.Comment{}, err
		}
	}
	var existing []CommentRecord
	var wo *WorkOrder
	if rid.wo != "" {
		if wo, err = c.client.WorkOrder(ctx, rid.wo); err != nil {
			return vendorapi.Comment{}, err
		}
		existing, err = c.client.WorkOrderComments(ctx, wo)
	} else {
		existing, err = c.client.RequestComments(ctx, rid.sr)
	}
	if err != nil {
		return vendorapi.Comment{}, err
	}
	text := forwardText(cm)
	for i, e := range existing {
		f, ok := parseForwarded(e.Comments)
		if ok && ((cm.ID != "" && f.id == cm.ID) || (cm.ID == "" && strings.TrimSpace(e.Comments) == strings.TrimSpace(text))) {
			return vendorapi.Comment{ID: "cw-" + commentID(e, i), Text: f.text, Author: f.author, CreatedAt: e.DateCreated.Time}, nil
		}
	}
	var rec *CommentRecord
	if wo != nil {
		rec, err = c.client.AddWorkOrderComment(ctx, wo, text)
	} else {
		rec, err = c.client.AddRequestComment(ctx, rid.sr, text)
	}
	if err != nil {
		return vendorapi.Comment{}, err
	}
	out := vendorapi.Comment{Text: cm.Text, Author: cm.Author, CreatedAt: rec.DateCreated.Time}
	if f, ok := parseForwarded(text); ok {
		out.Author = f.author
	}
	if rec.CommentId != 0 {
		out.ID = "cw-" + strconv.Itoa(rec.CommentId)
	} else {
		out.ID = "cw-" + commentID(CommentRecord{Comments: text}, len(existing))
	}
	return out, nil
}
