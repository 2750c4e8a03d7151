package cyprexx_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func feedbackTexts(r *vendorapi.RemoteRequest) string {
	var out []string
	for _, fb := range r.Feedback {
		out = append(out, fb.Text)
	}
	return strings.Join(out, "\n")
}

// Tasks are immutable after import: a later Cyprexx update that changes them leaves the
// project's tasks as imported and says why on the ticket's timeline (a feedback note the
// Cyprexx notifier takes without a call); the other fields still update.
func TestTasksImmutableAfterImport(t *testing.T) {
	p := newPair(t, pairOpts{options: map[string]any{"autoAdmin": true}, pruvanAutoAdmin: true})
	wo, project := p.imported(nil)
	imported, _ := p.pv.Project(p.key(project))

	if _, err := p.cx.SetTasks(wo.WorkOrderID, []csim.Task{
		{TaskID: "T1", Name: "Cut grass", PhotoCategories: []string{"Before", "After"}, MinPhotos: 2},
		{TaskID: "T2", Name: "Trim hedges", PhotoCategories: []string{"After"}, MinPhotos: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.cx.Update(wo.WorkOrderID, json.RawMessage(`{"note":"Gate code changed to 9876"}`)); err != nil {
		t.Fatal(err)
	}
	if c := p.refresh(false); c.Updated != 1 {
		t.Fatalf("Refresh: %+v", c)
	}
	p.pv.WaitIdle()
	got, _ := p.pv.Project(p.key(project))
	if len(got.WorkOrder.Services) != len(imported.WorkOrder.Services) || got.WorkOrder.Services[0].ServiceName != "Cut grass" {
		t.Fatalf("tasks changed after import: %+v", got.WorkOrder.Services)
	}
	if got.WorkOrder.Instructions != "Gate code changed to 9876" {
		t.Fatalf("other fields still update: %q", got.WorkOrder.Instructions)
	}
	r := p.get(project)
	text := feedbackTexts(r)
	if !strings.Contains(text, "tasks kept as imported") || !strings.Contains(text, `added: "Trim hedges"`) {
		t.Fatalf("the timeline must say why the tasks did not change: %s", text)
	}
	// The note crosses to the request side without a Cyprexx call and without an error.
	calls := p.cx.Stats().APICalls
	i := slices.IndexFunc(r.Feedback, func(fb vendorapi.Feedback) bool { return strings.Contains(fb.Text, "tasks kept") })
	if err := p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, "Requested", &r.Feedback[i]); err != nil || p.cx.Stats().APICalls != calls {
		t.Fatalf("a note costs nothing at Cyprexx: %v (%d calls)", err, p.cx.Stats().APICalls-calls)
	}
	// The same change seen again adds no second note.
	if _, err := p.cx.Update(wo.WorkOrderID, json.RawMessage(`{"jobNumber":"J-78"}`)); err != nil {
		t.Fatal(err)
	}
	p.refresh(false)
	if n := strings.Count(feedbackTexts(p.get(project)), "tasks kept as imported"); n != 1 {
		t.Fatalf("the tasks note is recorded once, got %d", n)
	}
}

// Auto-Admin: with it on, Cyprexx updates overwrite the shared fields (reference, due date,
// work order info, …); with it off only the source-owned ones (clientStatus, clientDueDate)
// change, a Pruvan user's edit of a shared field stands, and the timeline says what was kept.
func TestAutoAdminOnAndOff(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			p := newPair(t, pairOpts{options: map[string]any{"autoAdmin": on}, pruvanAutoAdmin: on})
			wo, project := p.imported(nil)
			if _, err := p.pv.Edit(p.key(project), map[string]string{"description": "Grass cut + edging (crew note)"}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.cx.Update(wo.WorkOrderID, json.RawMessage(`{"jobNumber":"J-88","serviceDue":"2026-07-01","status":"In Progress"}`)); err != nil {
				t.Fatal(err)
			}
			if c := p.refresh(false); c.Updated != 1 {
				t.Fatalf("Refresh: %+v", c)
			}
			p.pv.WaitIdle()
			got, _ := p.pv.Project(p.key(project))
			w := got.WorkOrder
			if w.ClientStatus != "In Progress" || w.ClientDueDate != "2026-07-01" {
				t.Fatalf("source-owned fields always follow Cyprexx: %+v", w)
			}
			if on {
				if w.Reference != "J-88" || w.DueDate != "2026-07-01" || !strings.Contains(w.WorkOrderInfo, "Job#: J-88") {
					t.Fatalf("Auto-Admin on: shared fields follow Cyprexx: %+v", w)
				}
				return
			}
			if w.Reference != "J-77" || w.DueDate != "2026-06-01" || w.Description != "Grass cut + edging (crew note)" {
				t.Fatalf("Auto-Admin off: shared fields keep Pruvan's values: %+v", w)
			}
			text := feedbackTexts(p.get(project))
			for _, f := range []string{"reference", "dueDate", "workOrderInfo"} {
				if !strings.Contains(text, f+" kept as it is in Pruvan") {
					t.Fatalf("the timeline must say %s was kept: %s", f, text)
				}
			}
		})
	}
}

// Default Assign To: an imported project is offered to the configured sub-user (the create's
// note says so), which Pruvan shows as Assigned.
func TestDefaultAssignTo(t *testing.T) {
	p := newPair(t, pairOpts{options: map[string]any{"defaultAssignTo": "crew-lead"}})
	wo := p.issue(nil)
	p.refresh(false)
	project, notes := p.create(wo.WorkOrderID)
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "offered to crew-lead") }) ||
		!slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "import the project now") }) {
		t.Fatalf("create notes: %q", notes)
	}
	got, _ := p.pv.Project(p.key(project))
	if got.WorkOrder.AssignedTo != "crew-lead" || got.Status != "Assigned" {
		t.Fatalf("project %+v", got)
	}
	if r := p.get(project); r.Status != pruvan.StatusAssigned {
		t.Fatalf("status after import: %q", r.Status)
	}
}
