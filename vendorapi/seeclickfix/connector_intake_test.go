package seeclickfix_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// Intake: new issues of mapped request types start tickets (with the request the work system
// needs), public comments are signalled once each by their SCF id, staff comments (ours
// included) never cross back, and unmapped request types cost nothing.

// drainIntake runs intake pages until no more is ready and returns the intents and the cursor.
func drainIntake(t *testing.T, w *scfWorld, cursor string, full bool) ([]vendorapi.Intent, string) {
	t.Helper()
	var all []vendorapi.Intent
	for i := 0; i < 50; i++ {
		page, err := w.conn.Intake(tctx(t), cursor, full && i == 0)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Intents...)
		cursor = page.Cursor
		if !page.More {
			return all, cursor
		}
	}
	t.Fatal("intake never settled")
	return nil, ""
}

func starts(in []vendorapi.Intent) map[string]*vendorapi.NewRequest {
	out := map[string]*vendorapi.NewRequest{}
	for _, i := range in {
		if i.Kind == vendorapi.IntentStart {
			out[i.ExternalID] = i.Request
		}
	}
	return out
}

func comments(in []vendorapi.Intent) []ticket.CommentSignal {
	var out []ticket.CommentSignal
	for _, i := range in {
		if i.Kind == vendorapi.IntentSignal && i.Signal == ticket.SignalComment {
			out = append(out, i.Payload.(ticket.CommentSignal))
		}
	}
	return out
}

func TestIntakeStartsTicketsAndRelaysComments(t *testing.T) {
	w := newSCFWorld(t, nil)
	old := w.report(t, sim.ReportInput{Summary: "Before the connection", RequestTypeID: 1001, Reporter: "Old"})
	_, cursor := drainIntake(t, w, "", false) // "" = from now
	time.Sleep(1100 * time.Millisecond)       // SCF timestamps have whole seconds

	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0}
	pothole := w.report(t, sim.ReportInput{Summary: "Pothole on Church St", Description: "Deep one", Address: "165 Church St",
		Lat: 41.3083, Lng: -72.9279, RequestTypeID: 1001, Reporter: "Jane Q Public",
		Answers: map[string]any{"5001": "2", "5002": "555-0100"}, Image: png})
	graffiti := w.report(t, sim.ReportInput{Summary: "Tag on the wall", RequestTypeID: 1002, Reporter: "Joe"}) // not mapped
	intents, cursor := drainIntake(t, w, cursor, false)
	st := starts(intents)
	if len(st) != 1 || st[itoa(graffiti.ID)] != nil || st[itoa(old.ID)] != nil {
		t.Fatalf("starts: %v", st)
	}
	req := st[itoa(pothole.ID)]
	if req == nil || req.RequestType != "1001" || req.Title != "Pothole on Church St" || req.Description != "Deep one" ||
		req.Location.Address != "165 Church St" || *req.Location.Lat != 41.3083 || *req.Location.Lng != -72.9279 ||
		req.Requester.Name != "Jane Q Public" {
		t.Fatalf("request: %+v", req)
	}
	if req.Answers["How deep is it?"] != "Deep" || req.Answers["Your phone number"] != "555-0100" {
		t.Fatalf("answers (private ones included, the API user is a member): %v", req.Answers)
	}
	if len(req.Attachments) != 1 || !strings.HasPrefix(req.Attachments[0].URL, w.srv.URL) {
		t.Fatalf("attachments: %+v", req.Attachments)
	}

	time.Sleep(1100 * time.Millisecond)
	citizen, err := w.sim.AddComment(pothole.ID, sim.CommentInput{Comment: "It is getting worse", Name: "Jane Q Public", Image: png})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddComment(pothole.ID, sim.CommentInput{Comment: "Staff here", Name: "Clerk", Staff: true}); err != nil {
		t.Fatal(err)
	}
	// Our own public comment (a relayed "To SCF:" note) must not come back.
	fb := note(pothole.ID, vendorapi.NotifyFeedbackAdded, ticket.InProgress)
	fb.Feedback = &vendorapi.Feedback{ID: "comment-1", Text: "Crew on the way"}
	if err := w.conn.Notify(tctx(t), fb); err != nil {
		t.Fatal(err)
	}
	intents, cursor = drainIntake(t, w, cursor, false)
	cs := comments(intents)
	if len(cs) != 1 || cs[0].ID != "scf-comment-"+itoa(citizen.ID) || cs[0].Text != "It is getting worse" || cs[0].Author != "Jane Q Public" ||
		len(cs[0].Attachments) != 1 || cs[0].Attachments[0].URL == "" {
		t.Fatalf("comment signals: %+v", cs)
	}
	// The start repeats with the same request (the engine keeps the ticket as it is).
	if again := starts(intents)[itoa(pothole.ID)]; again == nil || again.Title != req.Title || len(again.Answers) != len(req.Answers) {
		t.Fatalf("repeated start: %+v", again)
	}
	// Nothing changed: nothing to do, and no SCF call beyond the feed's one.
	before := w.sim.Stats()
	intents, _ = drainIntake(t, w, cursor, false)
	if len(intents) != 0 {
		t.Fatalf("idle intake: %+v", intents)
	}
	if after := w.sim.Stats(); after.APICalls-before.APICalls != 1 {
		t.Fatalf("an idle poll costs one call, got %v → %v", before.Ops, after.Ops)
	}
}

func TestIntakeFullRefreshTakesOpenIssues(t *testing.T) {
	w := newSCFWorld(t, nil)
	var open []int64
	for i := range 23 { // more than one detailed page (20)
		open = append(open, w.report(t, sim.ReportInput{Summary: "Light " + itoa(int64(i)), RequestTypeID: 1003, Reporter: "R"}).ID)
	}
	closed := w.report(t, sim.ReportInput{Summary: "done", RequestTypeID: 1003})
	if _, err := w.sim.Transition(closed.ID, "close", sim.CommentInput{Comment: "fixed"}); err != nil {
		t.Fatal(err)
	}
	w.report(t, sim.ReportInput{Summary: "unmapped", RequestTypeID: 1002})
	intents, cursor := drainIntake(t, w, "", true)
	st := starts(intents)
	if len(st) != len(open) || st[itoa(closed.ID)] != nil {
		t.Fatalf("full refresh started %d tickets, want the %d open mapped issues", len(st), len(open))
	}
	for _, id := range open {
		if st[itoa(id)] == nil {
			t.Fatalf("issue %d missing", id)
		}
	}
	// Afterwards the feed carries on from when the refresh began.
	if more, _ := drainIntake(t, w, cursor, false); len(starts(more)) != 0 {
		t.Fatalf("after the refresh: %+v", more)
	}
	if _, err := w.conn.Intake(tctx(t), "garbage", false); err == nil || vendorapi.IsRetryable(err) {
		t.Fatalf("an unreadable cursor must be refused: %v", err)
	}
}
