// Package pruvan is the connector for Pruvan, the field-service app where vendors' crews do
// the work. Pruvan integrates with order sources in two directions (shared/contracts/pruvan.md):
//
//   - (A) we call Pruvan's push API: PushClient triggers an import ("Validate"/refresh) and
//     upserts or closes projects;
//   - (B) Pruvan calls web services we host: NewOrderSourceHandler serves validate,
//     getWorkOrders, status and uploadPictures for one connection and hands them, typed and
//     authenticated, to an OrderSource implemented by ticketsync.
//
// Merge models Pruvan's field ownership (source-owned vs shared fields, Auto-Admin, tasks
// immutable after import) so a connector can tell what an update will and will not change.
//
// WorkSystem is the connection's work side (connector.go): since Pruvan pulls, it keeps an
// order book in the store (book.go) — the projects the request system published and the
// tickets made available, Pruvan's status reports, the photos and surveys it uploaded — and
// serves Pruvan's calls from it on /v1/hooks/pruvan/{connection}/… (hooks.go). Uploaded items
// reach the ticket as feedback (a photo as its attachment, opened with OpenAttachment);
// Validate (validate.go) reports a missing or refused push key.
//
// The simulator in ./sim plays Pruvan in both directions; contract_test.go runs this package
// against it over real HTTP.
package pruvan

import (
	"encoding/json"
	"log/slog"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "pruvan"

// WorkOrder is a Pruvan project as getWorkOrders returns it and the push API upserts it.
// workOrderNumber is the upsert key. Every other field is omitted when empty because Pruvan
// reads an omitted field as "unchanged": an update needs only the number and what changed,
// and an empty source value therefore leaves Pruvan's value as it is.
type WorkOrder struct {
	WorkOrderNumber string `json:"workOrderNumber"`
	Address1        string `json:"address1,omitempty"`
	Address2        string `json:"address2,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	Zip             string `json:"zip,omitempty"`
	Country         string `json:"country,omitempty"`
	// WorkOrderInfo is free text on the mobile details screen. It may hold lockbox and key
	// codes, so LogValue redacts it.
	WorkOrderInfo      string `json:"workOrderInfo,omitempty"`
	Reference          string `json:"reference,omitempty"`
	Description        string `json:"description,omitempty"`
	Instructions       string `json:"instructions,omitempty"`
	ClientInstructions string `json:"clientInstructions,omitempty"`
	// Status is Pruvan's own status (default "Un-assigned"); integrations leave it empty or
	// use RUSH/REWORK.
	Status string `json:"status,omitempty"`
	// ClientStatus is always the source system's status, verbatim.
	ClientStatus  string    `json:"clientStatus,omitempty"`
	DueDate       string    `json:"dueDate,omitempty"`       // YYYY-MM-DD
	ClientDueDate string    `json:"clientDueDate,omitempty"` // YYYY-MM-DD
	AssignedTo    string    `json:"assignedTo,omitempty"`    // sub-user or "~all~"
	Services      []Service `json:"services,omitempty"`
}

// Service is a task of a project. Pruvan needs at least one on create and never changes them
// after import.
type Service struct {
	ServiceName  string `json:"serviceName"`
	Instructions string `json:"instructions,omitempty"`
	// Survey is a survey template id; SurveyDynamic a whole template as JSON.
	Survey          string          `json:"survey,omitempty"`
	SurveyDynamic   json.RawMessage `json:"surveyDynamic,omitempty"`
	Options         json.RawMessage `json:"options,omitempty"`
	SourceService   string          `json:"source_service,omitempty"`
	SourceServiceID string          `json:"source_service_id,omitempty"`
}

// AssignAll is the assignedTo value that offers a project to every sub-user.
const AssignAll = "~all~"

// LogValue keeps lockbox and key codes (carried in workOrderInfo) out of structured logs.
func (w WorkOrder) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("workOrderNumber", w.WorkOrderNumber),
		slog.String("clientStatus", w.ClientStatus),
		slog.Int("services", len(w.Services)),
	}
	if w.WorkOrderInfo != "" {
		attrs = append(attrs, slog.String("workOrderInfo", "[redacted]"))
	}
	return slog.GroupValue(attrs...)
}

func (s Service) equal(o Service) bool {
	return s.ServiceName == o.ServiceName && s.Instructions == o.Instructions && s.Survey == o.Survey &&
		jsonEqual(s.SurveyDynamic, o.SurveyDynamic) && jsonEqual(s.Options, o.Options) &&
		s.SourceService == o.SourceService && s.SourceServiceID == o.SourceServiceID
}

// jsonEqual compares two JSON documents by value (key order and spacing do not matter).
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return string(a) == string(b)
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return string(ca) == string(cb)
}
