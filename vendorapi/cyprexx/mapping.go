package cyprexx

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// The Cyprexx → Pruvan project mapping (contracts/cyprexx.md, verified table of the Cyprexx
// FAQ; the encodings are ours):
//
//	Work Order ID + Service   → workOrderNumber "{workOrderId}-{service}" (Project ID pt1, pt2)
//	Address1/2, City, State, ZIP → address1, address2, city, state, zip
//	Service Due               → dueDate and clientDueDate
//	Job #                     → reference
//	Service                   → description
//	Status                    → clientStatus (verbatim; Pruvan's own status is left alone)
//	Work Order # / Job # / Lockbox Code / Key Code → workOrderInfo lines
//	                            "WO#: …", "Job#: …", "Lockbox: …", "Key: …" (Work Order Info pt1–4)
//	Note                      → instructions
//	Task                      → one services[] entry per task (immutable after import)
//	Form                      → services[].survey (template id) and surveyDynamic (template)
//
// Forms have no task of their own in Cyprexx; form i rides on task i's service (its photos
// then belong to that task), and forms beyond the number of tasks get a service of their
// own named after the form. A work order with neither tasks nor forms gets one service named
// after its Service, because Pruvan needs at least one.

// source_service values of the services ToPruvan makes.
const (
	SourceServiceTask = "cyprexx-task"
	SourceServiceForm = "cyprexx-form"
)

// ProjectID is the Pruvan project id (workOrderNumber) of a work order.
func ProjectID(wo WorkOrder) string { return wo.WorkOrderID + "-" + wo.Service }

// WorkOrderInfo renders Work Order Info parts 1–4, one per line. It holds the lockbox and key
// codes: keep it out of logs.
func WorkOrderInfo(wo WorkOrder) string {
	return strings.Join([]string{
		"WO#: " + wo.WorkOrderNumber,
		"Job#: " + wo.JobNumber,
		"Lockbox: " + wo.LockboxCode.Reveal(),
		"Key: " + wo.KeyCode.Reveal(),
	}, "\n")
}

// ToPruvan maps a Cyprexx work order onto a Pruvan project. Pruvan's status and assignee are
// not set: the caller adds assignedTo (the connection's defaultAssignTo) for a new project,
// and pruvan.Merge decides what an update may change.
func ToPruvan(wo WorkOrder) pruvan.WorkOrder {
	return pruvan.WorkOrder{
		WorkOrderNumber: ProjectID(wo),
		Address1:        wo.Address1,
		Address2:        wo.Address2,
		City:            wo.City,
		State:           wo.State,
		Zip:             wo.Zip,
		DueDate:         wo.ServiceDue,
		ClientDueDate:   wo.ServiceDue,
		Reference:       wo.JobNumber,
		Description:     wo.Service,
		ClientStatus:    wo.Status,
		WorkOrderInfo:   WorkOrderInfo(wo),
		Instructions:    wo.Note,
		Services:        services(wo),
	}
}

// services makes one service per task, the forms riding along (see the mapping above).
func services(wo WorkOrder) []pruvan.Service {
	names := serviceNames(wo)
	var out []pruvan.Service
	for i, t := range wo.Tasks {
		out = append(out, pruvan.Service{ServiceName: names[i], Instructions: t.Instructions,
			SourceService: SourceServiceTask, SourceServiceID: t.TaskID})
	}
	for i, f := range wo.Forms {
		if i < len(out) {
			out[i].Survey, out[i].SurveyDynamic = SurveyTemplateID(f), SurveyTemplate(f)
			continue
		}
		out = append(out, pruvan.Service{ServiceName: names[len(out)], Survey: SurveyTemplateID(f),
			SurveyDynamic: SurveyTemplate(f), SourceService: SourceServiceForm, SourceServiceID: f.FormID})
	}
	if len(out) == 0 {
		out = append(out, pruvan.Service{ServiceName: wo.Service})
	}
	return out
}

// serviceNames names the services in order (tasks, then forms without a task): the task or
// form name, made unique with the id because Pruvan tells services apart by name (a photo's
// key4 is the service name).
func serviceNames(wo WorkOrder) []string {
	var names []string
	seen := map[string]int{}
	add := func(name, id string) {
		if name == "" {
			name = id
		}
		if seen[name] > 0 {
			name = name + " (" + id + ")"
		}
		seen[name]++
		names = append(names, name)
	}
	for _, t := range wo.Tasks {
		add(t.Name, t.TaskID)
	}
	for i, f := range wo.Forms {
		if i >= len(wo.Tasks) {
			add(f.Name, f.FormID)
		}
	}
	return names
}

// TaskForService is the reverse of the task mapping: the task whose Pruvan service is named
// serviceName (a photo's key4). It is false for a service that stands for a form only;
// such a photo has no Cyprexx task and the caller decides (e.g. park the ticket).
func TaskForService(wo WorkOrder, serviceName string) (Task, bool) {
	for i, n := range serviceNames(wo) {
		if n == serviceName && i < len(wo.Tasks) {
			return wo.Tasks[i], true
		}
	}
	return Task{}, false
}

// SurveyTemplateID is the Pruvan survey template id of a form version: "{formId}:v{version}".
// Carrying the version lets a submitted survey be checked against the current form.
func SurveyTemplateID(f Form) string { return f.FormID + ":v" + strconv.Itoa(f.Version) }

// ParseSurveyTemplate reads a template id (or Pruvan's "{client}::{id}" form of it) back into
// the form id and version.
func ParseSurveyTemplate(template string) (formID string, version int, ok bool) {
	if _, id, found := strings.Cut(template, "::"); found {
		template = id
	}
	i := strings.LastIndex(template, ":v")
	if i <= 0 {
		return "", 0, false
	}
	v, err := strconv.Atoi(template[i+2:])
	if err != nil {
		return "", 0, false
	}
	return template[:i], v, true
}

// SurveyTemplate is the form as a Pruvan dynamic survey template (surveyDynamic).
func SurveyTemplate(f Form) json.RawMessage {
	type question struct {
		ID       string   `json:"id"`
		Text     string   `json:"text"`
		Type     string   `json:"type"`
		Options  []string `json:"options,omitempty"`
		Required bool     `json:"required"`
	}
	qs := make([]question, len(f.Questions))
	for i, q := range f.Questions {
		qs[i] = question{ID: q.QuestionID, Text: q.Text, Type: q.AnswerType, Options: q.Options, Required: q.Required}
	}
	b, err := json.Marshal(struct {
		ID        string     `json:"id"`
		Name      string     `json:"name"`
		Version   int        `json:"version"`
		Questions []question `json:"questions"`
	}{SurveyTemplateID(f), f.Name, f.Version, qs})
	if err != nil { // cannot happen for these types
		panic(fmt.Sprintf("cyprexx: encode survey template: %v", err))
	}
	return b
}
