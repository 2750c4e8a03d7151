package cyprexx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// imported issues a work order, runs Refresh and the ticket's create, and returns the work
// order and its Pruvan project id once Pruvan pulled it.
func (p *pair) imported(mut func(*csim.WorkOrder)) (csim.WorkOrder, string) {
	p.t.Helper()
	wo := p.issue(mut)
	if c := p.refresh(false); c.New < 1 {
		p.t.Fatalf("refresh did not start the ticket: %+v", c)
	}
	project, _ := p.create(wo.WorkOrderID)
	if _, ok := p.pv.Project(p.key(project)); !ok {
		p.t.Fatalf("Pruvan did not import %s (projects: %+v)", project, p.pv.Projects())
	}
	return wo, project
}

func (p *pair) photos(project string, req psim.PhotoRequest) []psim.SentItem {
	p.t.Helper()
	sent, err := p.pv.UploadPhotos(p.ctx, p.key(project), req)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, s := range sent {
		if !s.Accepted {
			p.t.Fatalf("upload refused: %+v", s)
		}
	}
	return sent
}

func (p *pair) survey(project string, answers map[string]any) psim.SentItem {
	p.t.Helper()
	s, err := p.pv.SubmitSurvey(p.ctx, p.key(project), psim.SurveyRequest{Answers: answers})
	if err != nil || !s.Accepted {
		p.t.Fatalf("survey: %+v %v", s, err)
	}
	return s
}

func (p *pair) completeInPruvan(project string, at time.Time) {
	p.t.Helper()
	if res, err := p.pv.Complete(p.ctx, p.key(project), at); err != nil || !res.OK {
		p.t.Fatalf("complete in Pruvan: %+v %v", res, err)
	}
}

// QA settings decide what is relayed: relayCategories [Before, After] relays those (bytes
// unaltered, Pruvan's uuid as sourceId, the Validator link kept on the item) and skips During
// photos without a failure; the survey follows with its photo answer mapped to Cyprexx's id.
func TestRelayRulesPerQASetting(t *testing.T) {
	p := newPair(t, pairOpts{options: map[string]any{"qa": map[string]any{"relayCategories": []any{"Before", "After"}}}})
	wo, project := p.imported(nil)
	before := p.photos(project, psim.PhotoRequest{Count: 1, Category: "Before", Task: "Cut grass", Size: 3 << 20})
	p.photos(project, psim.PhotoRequest{Count: 2, Category: "During", Task: "Cut grass"})
	after := p.photos(project, psim.PhotoRequest{Count: 1, Category: "After", Task: "Cut grass", Size: 2 << 20})
	p.survey(project, map[string]any{"lawnCut": "yes", "debris": "none", "frontPhoto": []string{after[0].UUID}})

	r := p.get(project)
	if len(r.Feedback) != 5 {
		t.Fatalf("every upload is one feedback item, got %+v", r.Feedback)
	}
	if att := r.Feedback[0].Attachments; len(att) != 1 || !strings.HasPrefix(att[0].URL, "pruvan:photo/") {
		t.Fatalf("a photo travels as the feedback's attachment: %+v", r.Feedback[0])
	}
	if err := p.feedback(wo.WorkOrderID, project, map[string]bool{}); err != nil {
		t.Fatalf("relay: %v", err)
	}

	got := p.cx.Photos(wo.WorkOrderID)
	if len(got) != 2 {
		t.Fatalf("Cyprexx has %d photos, want the Before and the After one: %+v", len(got), got)
	}
	for i, sent := range []psim.SentItem{before[0], after[0]} {
		if got[i].SourceID != sent.UUID || got[i].SHA256 != sent.SHA256 || got[i].Size != sent.Size || got[i].Uploads != 1 {
			t.Fatalf("photo %d altered or repeated: Cyprexx %+v, Pruvan sent %+v", i, got[i], sent)
		}
	}
	items := p.items(wo.WorkOrderID)
	for _, it := range items {
		switch {
		case it.Picture.EvidenceType == "During":
			if it.State != pruvan.ItemSkipped || !strings.Contains(it.Detail, "QA settings") {
				t.Fatalf("a During photo is skipped per QA: %+v", it)
			}
		case it.Kind == pruvan.ItemPhoto:
			if it.State != pruvan.ItemRelayed || it.VerificationLink != validatorURL+it.UUID || it.Target == "" {
				t.Fatalf("relayed photo keeps its Validator link: %+v", it)
			}
		default:
			if it.State != pruvan.ItemRelayed || it.Target != "form:PCR" {
				t.Fatalf("survey: %+v", it)
			}
		}
	}
	sub := p.cx.Surveys(wo.WorkOrderID)["PCR"]
	if len(sub.Answers) != 3 || !strings.Contains(string(sub.Answers[1].Value)+strings.Join(sub.Answers[1].PhotoIDs, ","), got[1].PhotoID) {
		t.Fatalf("survey's photo answer must name Cyprexx's photo id %s: %+v", got[1].PhotoID, sub)
	}
	// Relayed and skipped photos are not kept.
	if _, _, err := p.work.OpenAttachment(p.ctx, items[0].Attachment()); !vendorapi.IsNotFound(err) {
		t.Fatalf("a relayed photo's bytes must be dropped: %v", err)
	}

	// requiredPhotosPerTask raises the bar above the task's own minPhotos (2): 3 needed now.
	strict := newPair(t, pairOpts{options: map[string]any{"qa": map[string]any{"requiredPhotosPerTask": 3}}})
	wo2, project2 := strict.imported(nil)
	strict.photos(project2, psim.PhotoRequest{Count: 2, Category: "After", Task: "Cut grass"})
	strict.survey(project2, map[string]any{"lawnCut": "yes", "debris": "none"})
	strict.completeInPruvan(project2, time.Now())
	if err := strict.completion(wo2.WorkOrderID, project2); err == nil ||
		!strings.Contains(err.Error(), "task T1 (Cut grass): 2 of 3 photos relayed") {
		t.Fatalf("completion must wait for the third photo: %v", err)
	}
	// With no relayCategories every category goes (During included).
	if n := len(strict.cx.Photos(wo2.WorkOrderID)); n != 2 {
		t.Fatalf("photos at Cyprexx: %d", n)
	}
}

// completion delivers the "complete in Pruvan" feedback item, as the ticket does once its poll
// sees it.
func (p *pair) completion(ext, project string) error {
	p.t.Helper()
	for _, fb := range p.get(project).Feedback {
		if pruvan.IsCompletion(fb.ID) {
			return p.notify(vendorapi.NotifyFeedbackAdded, ext, ticket.InProgress, &fb)
		}
	}
	p.t.Fatalf("no completion item for %s", project)
	return nil
}

// The completion date goes to Cyprexx only when the project is complete in Pruvan and every
// required photo and survey was relayed; until then the delivery is refused with exactly what
// is missing (the ticket, still open, parks with it), and the next upload asks the ticket to
// retry, which then completes, closes the project in Pruvan (auto-close) and lets the ticket
// finish as Done.
func TestCompletionHeldUntilRequiredPhotoArrivesThenAutoClose(t *testing.T) {
	p := newPair(t, pairOpts{})
	wo, project := p.imported(nil)
	p.photos(project, psim.PhotoRequest{Count: 1, Category: "After", Task: "Cut grass"})
	if err := p.feedback(wo.WorkOrderID, project, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	done := time.Date(2026, 6, 1, 16, 30, 0, 0, time.UTC)
	p.completeInPruvan(project, done)
	if r := p.get(project); r.Status != pruvan.StatusComplete {
		t.Fatalf("Pruvan's report is the status: %q", r.Status)
	}
	err := p.completion(wo.WorkOrderID, project)
	if vendorapi.IsRetryable(err) || err == nil {
		t.Fatalf("a held completion is not retried on its own: %v", err)
	}
	for _, want := range []string{"task T1 (Cut grass): 1 of 2 photos relayed", "form PCR (Property condition): no survey relayed"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("the reason must say exactly what is missing (%q): %v", want, err)
		}
	}
	if len(p.cx.Completions()) != 0 {
		t.Fatal("completed with a photo missing")
	}
	if s := p.signals(wo.WorkOrderID); count(s, func(s string) bool { return s == ticket.SignalRetry }) != 0 {
		t.Fatalf("no retry before anything arrived: %v", s)
	}

	// The missing photo and the survey arrive: each asks the ticket to retry.
	p.photos(project, psim.PhotoRequest{Count: 1, Category: "Before", Task: "Cut grass"})
	if err := p.completion(wo.WorkOrderID, project); err == nil || !strings.Contains(err.Error(), "form PCR") ||
		strings.Contains(err.Error(), "task T1") {
		t.Fatalf("after the photo only the survey is missing: %v", err)
	}
	p.survey(project, map[string]any{"lawnCut": "yes", "debris": "none"})
	if n := count(p.signals(wo.WorkOrderID), func(s string) bool { return s == ticket.SignalRetry }); n != 2 {
		t.Fatalf("each upload after completion asks for a retry, got %d", n)
	}
	if err := p.completion(wo.WorkOrderID, project); err != nil {
		t.Fatalf("released: %v", err)
	}
	comps := p.cx.Completions()
	if len(comps) != 1 || !comps[0].CompletedAt.Equal(done) {
		t.Fatalf("completion date must be Pruvan's: %+v", comps)
	}
	// Auto-close: the project's client status follows, and a full refresh no longer has it.
	proj, _ := p.pv.Project(p.key(project))
	if proj.WorkOrder.ClientStatus != cyprexxCompleted {
		t.Fatalf("Pruvan project not closed: %+v", proj.WorkOrder)
	}
	res, err := p.pv.Refresh(p.ctx, pairConn, true)
	if err != nil || res.Received != 0 {
		t.Fatalf("a closed project is not in a full refresh: %+v %v", res, err)
	}
	// The ticket finishes: Cyprexx's update (here read by Refresh) pokes it, and the project
	// now reads Closed, which the mapping makes Done.
	before := len(p.signals(wo.WorkOrderID))
	if c := p.refresh(false); c.Updated != 1 || p.signals(wo.WorkOrderID)[before] != ticket.SignalPoke {
		t.Fatalf("refresh after completion: %+v %v", c, p.signals(wo.WorkOrderID)[before:])
	}
	if r := p.get(project); r.Status != pruvan.StatusClosed {
		t.Fatalf("after completion: %q", r.Status)
	}
	// Delivering the cue again (an at-least-once retry) changes nothing.
	if err := p.completion(wo.WorkOrderID, project); err != nil || len(p.cx.Completions()) != 1 {
		t.Fatalf("repeated completion: %v %+v", err, p.cx.Completions())
	}
}

const cyprexxCompleted = "Completed"

// A photo that does not fit the work order (a category its task does not take) is recorded as
// failed with the reason; only the notification about it is refused (the ticket parks with
// the reason), the others flow, and once Cyprexx fixes the task an operator's retry of that
// notification relays it.
func TestUnrelayablePhotoParksItsOwnNotificationOnly(t *testing.T) {
	p := newPair(t, pairOpts{})
	wo, project := p.imported(nil)
	damage := p.photos(project, psim.PhotoRequest{Count: 1, Category: "Damage", Task: "Cut grass"})
	after := p.photos(project, psim.PhotoRequest{Count: 1, Category: "After", Task: "Cut grass"})
	own := &vendorapi.Feedback{ID: pruvan.FeedbackID(damage[0].UUID)}
	err := p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, ticket.Requested, own)
	if err == nil || vendorapi.IsRetryable(err) || !strings.Contains(err.Error(), `not "Damage"`) {
		t.Fatalf("the Damage photo's own notification: %v", err)
	}
	if got := p.cx.Photos(wo.WorkOrderID); len(got) != 1 || got[0].SourceID != after[0].UUID {
		t.Fatalf("the other photo still went: %+v", got)
	}
	if err := p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, ticket.Requested,
		&vendorapi.Feedback{ID: pruvan.FeedbackID(after[0].UUID)}); err != nil {
		t.Fatalf("another item's notification is not held by the failed one: %v", err)
	}
	missing := cyprexx.Missing(cyprexx.WorkOrder{}, p.items(wo.WorkOrderID), cyprexx.QA{})
	if len(missing) != 1 || !strings.Contains(missing[0], "could not be relayed") {
		t.Fatalf("the failure is listed for the completion: %q", missing)
	}
	if _, err := p.cx.SetTasks(wo.WorkOrderID, []csim.Task{{TaskID: "T1", Name: "Cut grass",
		PhotoCategories: []string{"Before", "After", "Damage"}, MinPhotos: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, ticket.Requested, own); err != nil {
		t.Fatalf("retry after the fix: %v", err)
	}
	if got := p.cx.Photos(wo.WorkOrderID); len(got) != 2 || got[1].Category != "Damage" {
		t.Fatalf("after the fix: %+v", got)
	}
}
