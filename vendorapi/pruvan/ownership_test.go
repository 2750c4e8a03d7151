package pruvan_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func imported() pruvan.WorkOrder {
	return pruvan.WorkOrder{
		WorkOrderNumber: "W1-Grass Cut", Address1: "1 Main St", City: "Doral", State: "FL", Zip: "33166",
		WorkOrderInfo: "WO#: 1001\nJob#: J7\nLockbox: 1234\nKey: K9", Reference: "J7", Description: "Grass Cut",
		Instructions: "Front and back", ClientStatus: "Assigned", DueDate: "2024-06-01", ClientDueDate: "2024-06-01",
		AssignedTo: "crew-lead",
		Services: []pruvan.Service{
			{ServiceName: "Cut grass", Survey: "F1:v1", SurveyDynamic: json.RawMessage(`{"id":"F1:v1","questions":[]}`), SourceServiceID: "T1"},
			{ServiceName: "Trim", SourceServiceID: "T2"},
		},
	}
}

func TestMergeNewProjectTakesEverything(t *testing.T) {
	in := imported()
	res, err := pruvan.Merge(nil, in, false)
	if err != nil || !res.Created || res.TasksChanged || len(res.Notes) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if res.WorkOrder.Description != in.Description || len(res.WorkOrder.Services) != 2 {
		t.Fatalf("merged %+v", res.WorkOrder)
	}
	for _, f := range []string{"workOrderNumber", "address1", "clientStatus", "dueDate", "assignedTo", "services"} {
		if !slices.Contains(res.Changed, f) {
			t.Errorf("Changed lacks %s: %v", f, res.Changed)
		}
	}
	if slices.Contains(res.Changed, "address2") {
		t.Errorf("empty address2 reported as changed")
	}
}

// update is a later Cyprexx-driven version: a shared field and a source-owned one change.
func update() pruvan.WorkOrder {
	u := imported()
	u.Description = "Grass Cut - rush"
	u.Instructions = "Back yard only"
	u.ClientStatus = "In Progress"
	u.ClientDueDate = "2024-06-03"
	u.DueDate = "2024-06-03"
	return u
}

func TestMergeAutoAdminOnUpdatesSharedFields(t *testing.T) {
	cur := imported()
	res, err := pruvan.Merge(&cur, update(), true)
	if err != nil {
		t.Fatal(err)
	}
	w := res.WorkOrder
	if w.Description != "Grass Cut - rush" || w.Instructions != "Back yard only" || w.DueDate != "2024-06-03" ||
		w.ClientStatus != "In Progress" || w.ClientDueDate != "2024-06-03" {
		t.Fatalf("merged %+v", w)
	}
	want := []string{"description", "instructions", "clientStatus", "dueDate", "clientDueDate"}
	if !slices.Equal(res.Changed, want) || len(res.Kept) != 0 || res.Created {
		t.Fatalf("Changed %v Kept %v, want Changed %v", res.Changed, res.Kept, want)
	}
	if cur.Description != "Grass Cut" {
		t.Fatal("Merge modified its input")
	}
}

func TestMergeAutoAdminOffKeepsSharedFieldsWithANote(t *testing.T) {
	cur := imported()
	cur.Description = "Edited by the vendor in Pruvan"
	res, err := pruvan.Merge(&cur, update(), false)
	if err != nil {
		t.Fatal(err)
	}
	w := res.WorkOrder
	if w.Description != "Edited by the vendor in Pruvan" || w.Instructions != "Front and back" || w.DueDate != "2024-06-01" {
		t.Fatalf("shared fields changed without Auto-Admin: %+v", w)
	}
	if w.ClientStatus != "In Progress" || w.ClientDueDate != "2024-06-03" {
		t.Fatalf("source-owned fields must always update: %+v", w)
	}
	if !slices.Equal(res.Kept, []string{"description", "instructions", "dueDate"}) || len(res.Notes) != 3 ||
		!strings.Contains(res.Notes[0], "Auto-Admin is off") {
		t.Fatalf("Kept %v Notes %v", res.Kept, res.Notes)
	}
}

func TestMergeEmptyIncomingNeverClears(t *testing.T) {
	cur := imported()
	res, err := pruvan.Merge(&cur, pruvan.WorkOrder{WorkOrderNumber: cur.WorkOrderNumber, ClientStatus: "Completed"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.WorkOrder.Address1 != "1 Main St" || res.WorkOrder.WorkOrderInfo == "" || len(res.WorkOrder.Services) != 2 ||
		!slices.Equal(res.Changed, []string{"clientStatus"}) || res.TasksChanged {
		t.Fatalf("%+v", res)
	}
}

func TestMergeTasksAreImmutableAfterImport(t *testing.T) {
	for _, autoAdmin := range []bool{true, false} {
		cur := imported()
		in := imported()
		in.Services = []pruvan.Service{
			{ServiceName: "Cut grass", Survey: "F1:v2", SourceServiceID: "T1"}, // changed
			{ServiceName: "Debris removal", SourceServiceID: "T3"},             // added; Trim removed
		}
		res, err := pruvan.Merge(&cur, in, autoAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if !res.TasksChanged || !slices.Contains(res.Kept, "services") {
			t.Fatalf("autoAdmin=%v: %+v", autoAdmin, res)
		}
		got := res.WorkOrder.Services
		if len(got) != 2 || got[0].Survey != "F1:v1" || got[1].ServiceName != "Trim" {
			t.Fatalf("autoAdmin=%v: services not kept: %+v", autoAdmin, got)
		}
		note := res.Notes[len(res.Notes)-1]
		for _, want := range []string{"tasks kept as imported", "does not change a project's tasks after import",
			`added: "Debris removal"`, `removed: "Trim"`, `changed: "Cut grass"`} {
			if !strings.Contains(note, want) {
				t.Errorf("note %q lacks %q", note, want)
			}
		}
	}
}

func TestMergeSameTasksDifferentJSONSpacingIsNoChange(t *testing.T) {
	cur := imported()
	in := imported()
	in.Services[0].SurveyDynamic = json.RawMessage(`{ "questions": [], "id": "F1:v1" }`)
	res, err := pruvan.Merge(&cur, in, true)
	if err != nil || res.TasksChanged || len(res.Changed) != 0 || len(res.Notes) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestMergeRefusesAnotherProject(t *testing.T) {
	cur := imported()
	other := imported()
	other.WorkOrderNumber = "W2-Grass Cut"
	if _, err := pruvan.Merge(&cur, other, true); !errors.Is(err, pruvan.ErrDifferentProject) {
		t.Fatalf("err %v", err)
	}
}
