package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// check compares one ticket with Cityworks' and SeeClickFix's truth: one service request,
// its status in the store, the issue's status following it; every citizen comment in
// Cityworks once, every public staff note (and its photo) on the issue once, no internal note
// on it, one acknowledgement when dispatched and one close when ended.
func (p *scfPair) check(ctx context.Context, c *checker, t *tracked, row store.Ticket, why func(format string, a ...any)) bool {
	v := c.v
	ext, _ := t.ident()
	ref := cityworks.ExternalReference(scfConnID, ext)
	var srs []cwsim.RequestView
	for _, r := range p.cw.Requests() {
		if r.OtherSystemId == ref {
			srs = append(srs, r)
		}
	}
	issueID, _ := strconv.ParseInt(ext, 10, 64)
	is, found := p.scf.Issue(issueID)
	running := c.running(ctx, scfConnID, ext)
	names := struct{ notes, photos, acks, closes, reports, echoes string }{"SeeClickFix staff notes", "SeeClickFix photos",
		"SeeClickFix acknowledgements", "SeeClickFix closes", "Cityworks report photos", "Cityworks notes echoed back"}
	ok := true
	lose := func(name string, n int) { v.lose("lost "+name, n) }
	dup := func(name string, n int) {
		v.duplicate("duplicate "+name, n)
		if n > 0 {
			why("%d × %s duplicated", n, name)
			ok = false
		}
	}
	// What has not happened yet is late while the workflow still runs, lost once it ended.
	missing := func(name string, n int) {
		if n > 0 {
			why("%d × %s missing (workflow running: %v)", n, name, running)
			ok = false
		}
		if n > 0 && running {
			v.late += n
			n = 0
		}
		lose(name, n)
	}
	if len(srs) == 0 || !found {
		for _, n := range []string{names.notes, names.photos, names.acks, names.closes, names.reports} {
			lose(n, 0)
		}
		for _, n := range []string{names.notes, names.acks, names.closes, names.reports, names.echoes} {
			dup(n, 0)
		}
		if !found {
			why("issue %s is gone from SeeClickFix", ext)
			return false
		}
		if running {
			v.late++
		} else {
			v.lostCreates++
		}
		why("no service request in Cityworks (status %s)", row.Status)
		return false
	}
	if len(srs) > 1 {
		v.dupCreates += len(srs) - 1
		why("%d service requests carry %s", len(srs), ref)
		ok = false
	}
	sr := srs[0]

	// The report's photo, uploaded once.
	uploads := 0
	for _, a := range sr.Attachments {
		if !strings.HasPrefix(a.Comments, scfPublic) {
			uploads++
		}
	}
	missing(names.reports, boolInt(uploads == 0))
	dup(names.reports, uploads-1)

	// Citizen comments reach Cityworks once.
	t.mu.Lock()
	comments := append([]string(nil), t.comments...)
	t.mu.Unlock()
	for _, text := range comments {
		n := cwMentions(sr, text)
		switch {
		case n == 0 && running:
			v.late++
		case n == 0:
			v.lostComments++
		case n > 1:
			v.dupComments += n - 1
		}
		if n != 1 {
			why("citizen comment %q is in Cityworks %d times", text, n)
			ok = false
		}
	}

	// Public staff notes (comments and photo comments) reach the citizen once, photo included;
	// nothing internal does, and nothing relayed comes back to Cityworks.
	var posts []scfsim.Post
	for _, po := range p.scf.Posted(issueID) {
		if po.Via == "api" {
			posts = append(posts, po)
		}
	}
	type note struct {
		text  string
		photo []byte
	}
	var notes []note
	for _, cm := range sr.Comments {
		if after, public := strings.CutPrefix(cm.Comments, scfPublic); public {
			notes = append(notes, note{text: strings.TrimSpace(after)})
		}
	}
	for _, a := range sr.Attachments {
		if after, public := strings.CutPrefix(a.Comments, scfPublic); public {
			notes = append(notes, note{text: strings.TrimSpace(after), photo: a.Content})
		}
	}
	lostNotes, dupNotes, lostPhotos, echoes := 0, 0, 0, 0
	for _, nt := range notes {
		var got []scfsim.Post
		for _, po := range posts {
			if po.Kind == "comment" && strings.TrimSpace(po.Comment) == nt.text {
				got = append(got, po)
			}
		}
		switch {
		case len(got) == 0:
			lostNotes++
		case len(got) > 1:
			dupNotes += len(got) - 1
		}
		if nt.photo != nil && len(got) > 0 && !bytes.Equal(got[0].Image, nt.photo) {
			lostPhotos++
		}
		echoes += max(cwMentions(sr, nt.text)-1, 0)
	}
	missing(names.notes, lostNotes)
	missing(names.photos, lostPhotos)
	dup(names.notes, dupNotes)
	dup(names.echoes, echoes)
	for _, po := range posts {
		if strings.Contains(po.Comment, "internal:") {
			why("an internal note reached the citizen: %q", po.Comment)
			ok = false
		}
	}

	// Status: the store follows Cityworks, the issue follows the ticket.
	want, mapped := p.m.Translate(sr.Status)
	kinds := map[string]int{}
	for _, po := range posts {
		kinds[po.Kind]++
	}
	// An open state shorter than a poll is never seen, so the acknowledgement owed is the
	// timeline's: one once the ticket went InProgress or OnHold (later ones find it acknowledged).
	acks, closes := 0, 0
	if p.wentActive(ctx, t) {
		acks = 1
	}
	if ticket.IsTerminal(want) {
		closes = 1
	}
	missing(names.acks, acks-kinds["acknowledge"])
	dup(names.acks, kinds["acknowledge"]-acks)
	missing(names.closes, closes-kinds["close"])
	dup(names.closes, kinds["close"]-closes)
	wantIssue := map[string]string{ticket.Requested: scfsim.StatusOpen, ticket.InProgress: scfsim.StatusAcknowledged,
		ticket.Done: scfsim.StatusClosed, ticket.Canceled: scfsim.StatusClosed}[want]
	switch {
	case !mapped:
		why("unmapped Cityworks status %q", sr.Status)
		return false
	case row.Status != want:
		why("store status %s, Cityworks %s → %s", row.Status, sr.Status, want)
		ok = false
	case row.RemoteID != "SR-"+strconv.Itoa(sr.RequestId):
		why("store remote id %q, Cityworks SR-%d", row.RemoteID, sr.RequestId)
		ok = false
	case is.Status != wantIssue && !(wantIssue == scfsim.StatusClosed && is.Status == scfsim.StatusArchived):
		why("issue %s is %s, want %s (ticket %s)", ext, is.Status, wantIssue, want)
		ok = false
	}
	return ok
}

// wentActive reports whether the ticket's timeline has it InProgress or OnHold at some point.
func (p *scfPair) wentActive(ctx context.Context, t *tracked) bool {
	_, id := t.ident()
	events, err := p.st.api.Store.ListEvents(ctx, id)
	if err != nil {
		return true // unknown: owe it, so a failure cannot hide behind a read error
	}
	for _, e := range events {
		var body struct{ Status string }
		if e.Type == ticket.EventStatusChanged && json.Unmarshal(e.Payload, &body) == nil &&
			(body.Status == ticket.InProgress || body.Status == ticket.OnHold) {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
