package cityworks_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// Comments both ways: requester comments reach Cityworks once (by their id) and read back with
// their author; staff comments starting with the public prefix become requester feedback
// without the prefix, others stay internal; a requester's own text never echoes back.

func TestRequesterCommentsReachCityworksOnce(t *testing.T) {
	w := newCWWorld(t, nil)
	id, err := w.conn.Create(ctx(t), request("c1"))
	if err != nil {
		t.Fatal(err)
	}
	cm := vendorapi.Comment{ID: "scf-comment-77", Text: "It got bigger: please hurry", Author: "Jane Q Public"}
	first, err := w.conn.AddComment(ctx(t), id, cm)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.conn.AddComment(ctx(t), id, cm) // a retry whose first answer was lost
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry: %+v %v (first %+v)", again, err, first)
	}
	comments := w.srOf(t, id).Comments
	if len(comments) != 1 || !strings.Contains(comments[0].Comments, "Jane Q Public") || !strings.Contains(comments[0].Comments, "It got bigger: please hurry") {
		t.Fatalf("Cityworks comments: %+v", comments)
	}
	remote, err := w.conn.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	// Read back as the requester's (the activity's retry check compares text and author).
	if len(remote.Comments) != 1 || remote.Comments[0].Text != cm.Text || remote.Comments[0].Author != cm.Author || len(remote.Feedback) != 0 {
		t.Fatalf("remote comments %+v feedback %+v", remote.Comments, remote.Feedback)
	}
}

func TestPublicPrefixMakesFeedback(t *testing.T) {
	w := newCWWorld(t, nil)
	id, err := w.conn.Create(ctx(t), request("c2"))
	if err != nil {
		t.Fatal(err)
	}
	sid := w.srOf(t, id).RequestId
	for _, text := range []string{"To SCF: A crew is on the way.", "internal: bring the big truck", "  to scf:   Fixed, thanks!  ", "To SCF:", "Tell SCF: nothing"} {
		if _, err := w.cw.AddRequestComment(sid, text, "Pat Crew"); err != nil {
			t.Fatal(err)
		}
	}
	// A requester comment that itself starts with the prefix is the requester's, not staff's.
	if _, err := w.conn.AddComment(ctx(t), id, vendorapi.Comment{ID: "scf-comment-9", Text: "To SCF: is anyone there?", Author: "Jane"}); err != nil {
		t.Fatal(err)
	}
	remote, err := w.conn.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range remote.Feedback {
		if !f.VisibleToRequestor || f.Author != "Pat Crew" || !strings.HasPrefix(f.ID, "comment-") {
			t.Fatalf("feedback %+v", f)
		}
		got = append(got, f.Text)
	}
	if strings.Join(got, "|") != "A crew is on the way.|Fixed, thanks!" {
		t.Fatalf("feedback texts %q", got)
	}
	if len(remote.Comments) != 4 { // internal, a bare prefix, "Tell SCF" and the requester's
		t.Fatalf("comments %+v", remote.Comments)
	}
	// Feedback ids are stable across reads (the workflow dedupes on them).
	again, _ := w.conn.Get(ctx(t), id)
	if again.Feedback[0].ID != remote.Feedback[0].ID || again.Feedback[1].ID != remote.Feedback[1].ID {
		t.Fatal("feedback ids changed between reads")
	}
}

func TestCustomPublicPrefix(t *testing.T) {
	w := newCWWorld(t, func(o map[string]any) { o["publicCommentPrefix"] = "PUBLIC:" })
	id, err := w.conn.Create(ctx(t), request("c3"))
	if err != nil {
		t.Fatal(err)
	}
	sid := w.srOf(t, id).RequestId
	_, _ = w.cw.AddRequestComment(sid, "To SCF: not with this prefix", "")
	_, _ = w.cw.AddRequestComment(sid, "PUBLIC: scheduled for Monday", "")
	remote, err := w.conn.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote.Feedback) != 1 || remote.Feedback[0].Text != "scheduled for Monday" || remote.Feedback[0].Author == "" {
		t.Fatalf("feedback %+v", remote.Feedback)
	}
}

func TestWorkOrderCommentsAndFeedback(t *testing.T) {
	w := newCWWorld(t, nil)
	req := request("c4")
	req.RequestType = "2001"
	req.Title = "To SCF: my title happens to start like this"
	id, err := w.conn.Create(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	wo := strings.TrimPrefix(id, "WO-")
	if _, err := w.cw.AddWorkOrderComment(wo, "To SCF: patched today", "Crew 4"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.conn.AddComment(ctx(t), id, vendorapi.Comment{ID: "scf-comment-1", Text: "thanks", Author: "Jane"}); err != nil {
		t.Fatal(err)
	}
	remote, err := w.conn.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote.Feedback) != 1 || remote.Feedback[0].Text != "patched today" {
		t.Fatalf("work order feedback (the requester's own title must not echo): %+v", remote.Feedback)
	}
	if !slicesContainsComment(remote.Comments, "thanks", "Jane") {
		t.Fatalf("work order comments %+v", remote.Comments)
	}
}

func slicesContainsComment(cs []vendorapi.Comment, text, author string) bool {
	for _, c := range cs {
		if c.Text == text && c.Author == author {
			return true
		}
	}
	return false
}

// Files: the requester's images are copied once (by name) through a redirecting URL of the
// request system; a staff attachment with a "To SCF:" comment becomes feedback whose image
// can be opened; hosts that are neither the request system's nor allowed are refused.
func TestAttachmentsBothWays(t *testing.T) {
	w := newCWWorld(t, nil)
	id, err := w.conn.Create(ctx(t), request("f1"))
	if err != nil {
		t.Fatal(err)
	}
	files := []vendorapi.Attachment{
		{Name: "scf-issue-1-image", URL: w.files.URL + "/img/one"},
		{Name: "scf-issue-1-gone", URL: w.files.URL + "/img/gone"},
		{Name: "elsewhere", URL: "https://internal.example/secret.jpg"},
	}
	notes, err := w.conn.CopyAttachments(ctx(t), id, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "scf-issue-1-gone") || !strings.Contains(notes[1], "internal.example") {
		t.Fatalf("notes: %q", notes)
	}
	atts := w.srOf(t, id).Attachments
	if len(atts) != 1 || atts[0].Attachment != "scf-issue-1-image.jpg" || string(atts[0].Content) != string(jpegBytes("one")) {
		t.Fatalf("attachments: %+v", atts)
	}
	if _, err := w.conn.CopyAttachments(ctx(t), id, files[:1]); err != nil || len(w.srOf(t, id).Attachments) != 1 {
		t.Fatalf("a retry must not upload again: %v, %d attachments", err, len(w.srOf(t, id).Attachments))
	}
	// Our own upload is not feedback (its comment has no prefix).
	remote, _ := w.conn.Get(ctx(t), id)
	if len(remote.Feedback) != 0 {
		t.Fatalf("own upload echoed as feedback: %+v", remote.Feedback)
	}

	sid := w.srOf(t, id).RequestId
	photo := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, []byte("after")...)
	if _, err := w.cw.AddRequestAttachment(sid, "after.png", "image/png", photo, "To SCF: All fixed, see photo"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cw.AddRequestAttachment(sid, "internal.png", "image/png", photo, "for the file"); err != nil {
		t.Fatal(err)
	}
	remote, err = w.conn.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote.Feedback) != 1 || remote.Feedback[0].Text != "All fixed, see photo" || len(remote.Feedback[0].Attachments) != 1 {
		t.Fatalf("attachment feedback: %+v", remote.Feedback)
	}
	a := remote.Feedback[0].Attachments[0]
	if a.Name != "after.png" || a.ContentType != "image/png" {
		t.Fatalf("attachment ref %+v", a)
	}
	body, ct, err := w.conn.OpenAttachment(ctx(t), a)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, _ := io.ReadAll(body)
	if string(data) != string(photo) || ct != "image/png" {
		t.Fatalf("opened %q (%s)", data, ct)
	}
	if _, _, err := w.conn.OpenAttachment(ctx(t), vendorapi.Attachment{URL: "https://elsewhere.example/x"}); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("a foreign URL must be refused for good: %v", err)
	}
}

func TestCommentImagesBecomeAttachments(t *testing.T) {
	w := newCWWorld(t, nil)
	id, err := w.conn.Create(ctx(t), request("f2"))
	if err != nil {
		t.Fatal(err)
	}
	cm := vendorapi.Comment{ID: "scf-comment-5", Text: "here is a photo", Author: "Jane",
		Attachments: []vendorapi.Attachment{{Name: "scf-comment-5-image", URL: w.files.URL + "/img/five"}}}
	for range 2 {
		if _, err := w.conn.AddComment(ctx(t), id, cm); err != nil {
			t.Fatal(err)
		}
	}
	sr := w.srOf(t, id)
	if len(sr.Attachments) != 1 || sr.Attachments[0].Attachment != "scf-comment-5-image.jpg" || len(sr.Comments) != 1 {
		t.Fatalf("attachments %+v comments %+v", sr.Attachments, sr.Comments)
	}
	list, err := w.conn.ListAttachments(ctx(t), id)
	if err != nil || len(list) != 1 || list[0].Name != "scf-comment-5-image.jpg" {
		t.Fatalf("ListAttachments %+v %v", list, err)
	}
}

func TestCancelAndCloseStatuses(t *testing.T) {
	w := newCWWorld(t, nil)
	open, err := w.conn.Create(ctx(t), request("x1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.conn.Cancel(ctx(t), open, "requester withdrew")
	if err != nil || got.Status != sim.SRCancel {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if got, err = w.conn.Cancel(ctx(t), open, "again"); err != nil || got.Status != sim.SRCancel {
		t.Fatalf("cancel twice: %+v %v", got, err)
	}
	closed, err := w.conn.Create(ctx(t), request("x2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.cw.SetRequestStatus(w.srOf(t, closed).RequestId, sim.SRClosed, ""); err != nil {
		t.Fatal(err)
	}
	// Too late: Cityworks finished it; the ticket ends with Cityworks' status.
	if got, err = w.conn.Cancel(ctx(t), closed, "too late"); err != nil || got.Status != sim.SRClosed {
		t.Fatalf("cancel after close: %+v %v", got, err)
	}
	req := request("x3")
	req.RequestType = "2001"
	wo, err := w.conn.Create(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = w.conn.Cancel(ctx(t), wo, "dup"); err != nil || got.Status != sim.WOCancel {
		t.Fatalf("cancel work order: %+v %v", got, err)
	}
	if _, err := w.conn.Get(ctx(t), "SR-999999"); !vendorapi.IsNotFound(err) || vendorapi.IsRetryable(err) {
		t.Fatalf("unknown request: %v", err)
	}
	if _, err := w.conn.Get(ctx(t), "bogus"); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("bad remote id: %v", err)
	}
}
