package cyprexx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func sampleWO() cyprexx.WorkOrder {
	return cyprexx.WorkOrder{
		WorkOrderID: "880123", WorkOrderNumber: "WO-2024-00042", Service: "Grass Cut",
		Address1: "12 Palm Ave", Address2: "Unit 3", City: "Doral", State: "FL", Zip: "33166",
		ServiceDue: "2024-06-01", JobNumber: "J-77", Status: "In Progress",
		LockboxCode: "4321", KeyCode: "K-9", Note: "Beware of the dog",
		Tasks: []cyprexx.Task{
			{TaskID: "T1", Name: "Cut grass", Instructions: "Front and back", PhotoCategories: []string{"Before", "After"}, MinPhotos: 2},
			{TaskID: "T2", Name: "Trim hedges", PhotoCategories: []string{"After"}, MinPhotos: 1},
		},
		Forms: []cyprexx.Form{{FormID: "F1", Name: "Property condition", Version: 3, Questions: []cyprexx.Question{
			{QuestionID: "q1", Text: "Lawn cut?", AnswerType: cyprexx.AnswerYesNo, Required: true},
			{QuestionID: "q2", Text: "Debris", AnswerType: cyprexx.AnswerSelect, Options: []string{"none", "some"}},
		}}},
		UpdatedAt: time.Date(2024, 5, 30, 10, 0, 0, 0, time.UTC),
	}
}

// One subtest per row of the mapping table in contracts/cyprexx.md.
func TestMappingTable(t *testing.T) {
	wo := sampleWO()
	p := cyprexx.ToPruvan(wo)
	rows := []struct {
		row   string
		check func() error
	}{
		{"Work Order ID -> Project ID pt1", func() error {
			return want(strings.HasPrefix(p.WorkOrderNumber, "880123-"), "workOrderNumber %q does not start with the id", p.WorkOrderNumber)
		}},
		{"Service -> Project ID pt2", func() error {
			return want(p.WorkOrderNumber == "880123-Grass Cut" && cyprexx.ProjectID(wo) == p.WorkOrderNumber, "workOrderNumber %q", p.WorkOrderNumber)
		}},
		{"Address1/Address2/City/State/ZIP -> same", func() error {
			return want(p.Address1 == "12 Palm Ave" && p.Address2 == "Unit 3" && p.City == "Doral" && p.State == "FL" && p.Zip == "33166",
				"address %q %q %q %q %q", p.Address1, p.Address2, p.City, p.State, p.Zip)
		}},
		{"Service Due -> Due Date (and clientDueDate)", func() error {
			return want(p.DueDate == "2024-06-01" && p.ClientDueDate == "2024-06-01", "dueDate %q clientDueDate %q", p.DueDate, p.ClientDueDate)
		}},
		{"Job # -> Reference", func() error { return want(p.Reference == "J-77", "reference %q", p.Reference) }},
		{"Service -> Description", func() error { return want(p.Description == "Grass Cut", "description %q", p.Description) }},
		{"Status -> Client Status (verbatim)", func() error {
			odd := wo
			odd.Status = "Pending Review" // an open set: relayed as is
			return want(p.ClientStatus == "In Progress" && cyprexx.ToPruvan(odd).ClientStatus == "Pending Review" && p.Status == "",
				"clientStatus %q status %q", p.ClientStatus, p.Status)
		}},
		{"Work Order # -> Work Order Info pt1", func() error { return infoLine(p, 0, "WO#: WO-2024-00042") }},
		{"Job # -> Work Order Info pt2", func() error { return infoLine(p, 1, "Job#: J-77") }},
		{"Lockbox Code -> Work Order Info pt3", func() error { return infoLine(p, 2, "Lockbox: 4321") }},
		{"Key Code -> Work Order Info pt4", func() error {
			if err := infoLine(p, 3, "Key: K-9"); err != nil {
				return err
			}
			return want(strings.Count(p.WorkOrderInfo, "\n") == 3, "workOrderInfo must be 4 lines joined by \\n: %q", p.WorkOrderInfo)
		}},
		{"Note -> Instructions", func() error { return want(p.Instructions == "Beware of the dog", "instructions %q", p.Instructions) }},
		{"Task -> one services[] entry per task", func() error {
			s := p.Services
			return want(len(s) == 2 && s[0].ServiceName == "Cut grass" && s[0].Instructions == "Front and back" &&
				s[0].SourceService == cyprexx.SourceServiceTask && s[0].SourceServiceID == "T1" && s[1].ServiceName == "Trim hedges" &&
				s[1].SourceServiceID == "T2", "services %+v", s)
		}},
		{"Form -> Survey (services[].survey / surveyDynamic)", func() error {
			s := p.Services[0]
			var tmpl struct {
				ID        string `json:"id"`
				Version   int    `json:"version"`
				Questions []struct {
					ID       string   `json:"id"`
					Type     string   `json:"type"`
					Options  []string `json:"options"`
					Required bool     `json:"required"`
				} `json:"questions"`
			}
			if err := json.Unmarshal(s.SurveyDynamic, &tmpl); err != nil {
				return err
			}
			return want(s.Survey == "F1:v3" && tmpl.ID == "F1:v3" && tmpl.Version == 3 && len(tmpl.Questions) == 2 &&
				tmpl.Questions[0].Type == "yesNo" && tmpl.Questions[0].Required && tmpl.Questions[1].Options[1] == "some" &&
				p.Services[1].Survey == "", "survey %q template %s", s.Survey, s.SurveyDynamic)
		}},
	}
	for _, r := range rows {
		t.Run(r.row, func(t *testing.T) {
			if err := r.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func want(ok bool, format string, a ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, a...)
}

func infoLine(p pruvan.WorkOrder, i int, line string) error {
	lines := strings.Split(p.WorkOrderInfo, "\n")
	return want(len(lines) > i && lines[i] == line, "workOrderInfo line %d: want %q in %q", i+1, line, p.WorkOrderInfo)
}

func TestMappingNullCodesKeepTheirLines(t *testing.T) {
	wo := sampleWO()
	wo.LockboxCode, wo.KeyCode = "", ""
	if got := cyprexx.ToPruvan(wo).WorkOrderInfo; got != "WO#: WO-2024-00042\nJob#: J-77\nLockbox: \nKey: " {
		t.Fatalf("workOrderInfo %q", got)
	}
}

func TestMappingFormsWithoutTasksAndEmptyOrders(t *testing.T) {
	wo := sampleWO()
	wo.Tasks = wo.Tasks[:1]
	wo.Forms = append(wo.Forms, cyprexx.Form{FormID: "F2", Name: "Cut grass", Version: 1})
	s := cyprexx.ToPruvan(wo).Services
	if len(s) != 2 || s[0].Survey != "F1:v3" || s[1].Survey != "F2:v1" || s[1].SourceService != cyprexx.SourceServiceForm ||
		s[1].ServiceName != "Cut grass (F2)" {
		t.Fatalf("a form beyond the tasks gets its own, uniquely named service: %+v", s)
	}
	if _, ok := cyprexx.TaskForService(wo, "Cut grass (F2)"); ok {
		t.Fatal("a form-only service has no task")
	}
	if task, ok := cyprexx.TaskForService(wo, "Cut grass"); !ok || task.TaskID != "T1" {
		t.Fatalf("TaskForService %+v %v", task, ok)
	}
	wo.Tasks, wo.Forms = nil, nil
	if s := cyprexx.ToPruvan(wo).Services; len(s) != 1 || s[0].ServiceName != "Grass Cut" {
		t.Fatalf("a work order without tasks still needs a service: %+v", s)
	}
}

func TestSurveyTemplateRoundTrip(t *testing.T) {
	for _, tmpl := range []string{"F1:v3", "cyprexx::F1:v3"} {
		if id, v, ok := cyprexx.ParseSurveyTemplate(tmpl); !ok || id != "F1" || v != 3 {
			t.Fatalf("%s: %q %d %v", tmpl, id, v, ok)
		}
	}
	if id, v, ok := cyprexx.ParseSurveyTemplate("form:with:colons:v12"); !ok || id != "form:with:colons" || v != 12 {
		t.Fatalf("%q %d %v", id, v, ok)
	}
	for _, bad := range []string{"", "F1", "F1:vx", ":v1"} {
		if _, _, ok := cyprexx.ParseSurveyTemplate(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMappedProjectMergesAsAnUpdate(t *testing.T) {
	first := cyprexx.ToPruvan(sampleWO())
	later := sampleWO()
	later.Status = cyprexx.StatusOnHold
	later.Tasks = append(later.Tasks, cyprexx.Task{TaskID: "T3", Name: "Haul debris"})
	res, err := pruvan.Merge(&first, cyprexx.ToPruvan(later), false)
	if err != nil || res.WorkOrder.ClientStatus != "On Hold" || !res.TasksChanged || len(res.WorkOrder.Services) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	wo := sampleWO()
	for _, s := range []string{fmt.Sprint(wo), fmt.Sprintf("%+v", wo), fmt.Sprintf("%#v", wo), fmt.Sprintf("%s", wo.LockboxCode)} {
		if strings.Contains(s, "4321") || strings.Contains(s, "K-9") {
			t.Fatalf("code printed: %s", s)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("wo", "lockbox", wo.LockboxCode, "project", cyprexx.ToPruvan(wo))
	if strings.Contains(buf.String(), "4321") || strings.Contains(buf.String(), "K-9") || !strings.Contains(buf.String(), "[redacted]") {
		t.Fatalf("log: %s", buf.String())
	}
	b, _ := json.Marshal(wo)
	if !strings.Contains(string(b), `"lockboxCode":"4321"`) {
		t.Fatalf("JSON must keep the code: %s", b)
	}
	wo.KeyCode = ""
	b, _ = json.Marshal(wo)
	if !strings.Contains(string(b), `"keyCode":null`) {
		t.Fatalf("empty code is null: %s", b)
	}
}
