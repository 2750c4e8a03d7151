package seeclickfix_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// Import of requests raised in the work system: each becomes one SeeClickFix issue (never two,
// even when the cursor is lost), and the intake starts its ticket with the remote id to adopt.

func TestImportCreatesOneIssueAndAdopts(t *testing.T) {
	w := newSCFWorld(t, nil)
	_, cursor := drainIntake(t, w, "", false)
	lat, lng := 41.31, -72.92
	w.work.foreign = []vendorapi.ForeignRequest{{RemoteID: "SR-20001", RequestType: "1003", Agency: "7",
		Title: "Streetlight Out", Description: "light out by the library",
		Location: vendorapi.Location{Address: "1 Elm St", Lat: &lat, Lng: &lng}, CreatedAt: time.Now()}}
	time.Sleep(1100 * time.Millisecond)
	intents, cursor := drainIntake(t, w, expireImport(t, cursor), false)

	var issues []sim.Issue
	for _, is := range w.sim.Issues() {
		if strings.Contains(is.Description, "[cityworks SR-20001]") {
			issues = append(issues, is)
		}
	}
	if len(issues) != 1 || issues[0].Summary != "Streetlight Out" || issues[0].RequestTypeID != 1003 || issues[0].Address != "1 Elm St" ||
		issues[0].Reporter.Role != sim.RoleOfficial {
		t.Fatalf("imported issues: %+v", issues)
	}
	// The same intake run (or the next) starts its ticket, adopting the SR.
	if len(starts(intents)) == 0 {
		intents, cursor = drainIntake(t, w, cursor, false)
	}
	req := starts(intents)[itoa(issues[0].ID)]
	if req == nil || req.Answers[vendorapi.AnswerAdoptRemoteID] != "SR-20001" || req.RequestType != "1003" {
		t.Fatalf("start intent of the imported issue: %+v", req)
	}

	// Later runs do not import it again: from the cursor, or — with the cursor lost (a crash
	// before it was saved) — by finding the marker in SeeClickFix.
	time.Sleep(1100 * time.Millisecond)
	w.work.foreign[0].CreatedAt = time.Now() // still inside the re-read window
	for _, c := range []string{cursor, ""} {
		cur := c
		if cur != "" {
			cur = expireImport(t, cur)
		}
		drainIntake(t, w, cur, false)
	}
	n := 0
	for _, is := range w.sim.Issues() {
		if strings.Contains(is.Description, "[cityworks SR-20001]") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("imported %d times", n)
	}
}

// expireImport makes the next intake call run the import again (it is spaced ImportEvery).
func expireImport(t *testing.T, cursor string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(cursor), &m); err != nil {
		t.Fatal(err)
	}
	m["importAt"] = time.Now().Add(-2 * seeclickfix.ImportEvery).Unix()
	b, _ := json.Marshal(m)
	return string(b)
}

// A citizen cannot make a ticket adopt someone else's request by typing a marker.
func TestCitizenMarkerIsNotAnImport(t *testing.T) {
	w := newSCFWorld(t, nil)
	_, cursor := drainIntake(t, w, "", false)
	time.Sleep(1100 * time.Millisecond)
	is := w.report(t, sim.ReportInput{Summary: "sneaky", Description: "hello [cityworks SR-1]", RequestTypeID: 1003, Reporter: "Mallory"})
	intents, _ := drainIntake(t, w, cursor, false)
	req := starts(intents)[itoa(is.ID)]
	if req == nil || req.Answers[vendorapi.AnswerAdoptRemoteID] != "" {
		t.Fatalf("citizen issue: %+v", req)
	}
}

// An issue SeeClickFix refuses for good (here: a request type with a required question the
// work system cannot answer) is skipped, not retried forever; the rest goes on.
func TestImportSkipsRefusedIssues(t *testing.T) {
	w := newSCFWorld(t, nil)
	_, cursor := drainIntake(t, w, "", false)
	lat, lng := 41.31, -72.92
	w.work.foreign = []vendorapi.ForeignRequest{
		{RemoteID: "SR-1", RequestType: "1001", Title: "Pothole", Location: vendorapi.Location{Lat: &lat, Lng: &lng}, CreatedAt: time.Now()},
		{RemoteID: "SR-2", RequestType: "1003", Title: "Light", Location: vendorapi.Location{Lat: &lat, Lng: &lng}, CreatedAt: time.Now()},
	}
	if _, err := w.conn.Intake(tctx(t), expireImport(t, cursor), false); err != nil {
		t.Fatalf("a refused import must not fail the intake: %v", err)
	}
	var got []string
	for _, is := range w.sim.Issues() {
		got = append(got, is.Description)
	}
	if len(got) != 1 || !strings.Contains(got[0], "[cityworks SR-2]") {
		t.Fatalf("issues: %q", got)
	}
}
