package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// ProjectKey is how Pruvan shows a project: "{clientCode}::{workOrderNumber}".
func ProjectKey(clientCode, workOrderNumber string) string {
	return clientCode + "::" + workOrderNumber
}

// Ownership as Pruvan applies it to imports: these fields always follow the order source…
var sourceOwned = map[string]bool{"clientStatus": true, "clientDueDate": true, "clientInstructions": true}

// …and the others ("shared") only while Auto-Admin is on.
type strField struct {
	name string
	get  func(*WorkOrder) *string
}

var woFields = []strField{
	{"address1", func(w *WorkOrder) *string { return &w.Address1 }},
	{"address2", func(w *WorkOrder) *string { return &w.Address2 }},
	{"city", func(w *WorkOrder) *string { return &w.City }},
	{"state", func(w *WorkOrder) *string { return &w.State }},
	{"zip", func(w *WorkOrder) *string { return &w.Zip }},
	{"country", func(w *WorkOrder) *string { return &w.Country }},
	{"workOrderInfo", func(w *WorkOrder) *string { return &w.WorkOrderInfo }},
	{"reference", func(w *WorkOrder) *string { return &w.Reference }},
	{"description", func(w *WorkOrder) *string { return &w.Description }},
	{"instructions", func(w *WorkOrder) *string { return &w.Instructions }},
	{"clientInstructions", func(w *WorkOrder) *string { return &w.ClientInstructions }},
	{"status", func(w *WorkOrder) *string { return &w.Status }},
	{"clientStatus", func(w *WorkOrder) *string { return &w.ClientStatus }},
	{"dueDate", func(w *WorkOrder) *string { return &w.DueDate }},
	{"clientDueDate", func(w *WorkOrder) *string { return &w.ClientDueDate }},
	{"assignedTo", func(w *WorkOrder) *string { return &w.AssignedTo }},
}

// checkLocked validates a work order before import: the number always, the create fields
// when the project does not exist yet. It returns "" or the error Pruvan would report.
func (s *Server) checkLocked(code string, wo WorkOrder) string {
	if strings.TrimSpace(wo.WorkOrderNumber) == "" {
		return "workOrderNumber is required"
	}
	if _, exists := s.projects[ProjectKey(code, wo.WorkOrderNumber)]; exists {
		return ""
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"address1", wo.Address1}, {"city", wo.City}, {"state", wo.State}, {"zip", wo.Zip}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(wo.Services) == 0 {
		missing = append(missing, "services")
	}
	if len(missing) > 0 {
		return fmt.Sprintf("workOrder %s: missing %s", wo.WorkOrderNumber, strings.Join(missing, ", "))
	}
	return ""
}

// importLocked creates or updates a project from the order source; it reports "created",
// "updated" or "unchanged".
func (s *Server) importLocked(code string, wo WorkOrder) string {
	key := ProjectKey(code, wo.WorkOrderNumber)
	now := s.now()
	p, ok := s.projects[key]
	if !ok {
		wo.Services = slices.Clone(wo.Services)
		p = &Project{Key: key, ClientCode: code, WorkOrder: wo, Status: StatusUnassigned, ImportedAt: now, UpdatedAt: now}
		if wo.Status != "" {
			p.Status = wo.Status
		} else if wo.AssignedTo != "" {
			p.Status = StatusAssigned
		}
		s.projects[key] = p
		s.order = append(s.order, key)
		s.stats.Created++
		return "created"
	}
	autoAdmin := s.integr[code] != nil && s.integr[code].AutoAdmin
	changed := false
	for _, f := range woFields {
		in, have := *f.get(&wo), f.get(&p.WorkOrder)
		if in == "" || in == *have {
			continue // omitted: unchanged
		}
		if !sourceOwned[f.name] && !autoAdmin {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: %s not updated (shared field, Auto-Admin off)", ts(now), f.name))
			continue
		}
		*have = in
		changed = true
		if f.name == "status" {
			p.Status = in
		}
	}
	if len(wo.Services) > 0 && !sameServices(p.WorkOrder.Services, wo.Services) {
		p.Notes = append(p.Notes, fmt.Sprintf("%s: tasks change ignored (tasks are immutable after import)", ts(now)))
	}
	if !changed {
		return "unchanged"
	}
	if p.WorkOrder.AssignedTo != "" && p.Status == StatusUnassigned {
		p.Status = StatusAssigned
	}
	p.UpdatedAt = now
	s.stats.Updated++
	return "updated"
}

func sameServices(a, b []Service) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ServiceName != y.ServiceName || x.Instructions != y.Instructions || x.Survey != y.Survey ||
			!bytes.Equal(compact(x.SurveyDynamic), compact(y.SurveyDynamic)) || x.SourceServiceID != y.SourceServiceID {
			return false
		}
	}
	return true
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if len(b) == 0 || jsonCompact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// Projects returns every project in import order.
func (s *Server) Projects() []Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Project, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.projects[k].clone())
	}
	return out
}

// Project returns one project by key ("{clientCode}::{workOrderNumber}").
func (s *Server) Project(key string) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[key]
	if !ok {
		return Project{}, false
	}
	return p.clone(), true
}

// Edit is a Pruvan user editing a project's fields (by JSON name; services cannot be
// edited). Source-owned fields are not editable in Pruvan's UI.
func (s *Server) Edit(key string, changes map[string]string) (Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[key]
	if !ok {
		return Project{}, errf(http.StatusNotFound, "not_found", "no project %q", key)
	}
	names := make([]string, 0, len(changes))
	for n := range changes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		i := slices.IndexFunc(woFields, func(f strField) bool { return f.name == n })
		switch {
		case i < 0:
			return Project{}, errf(http.StatusUnprocessableEntity, "validation_failed", "unknown or read-only field %q", n)
		case sourceOwned[n]:
			return Project{}, errf(http.StatusUnprocessableEntity, "validation_failed", "%s is owned by the order source", n)
		}
	}
	for _, n := range names {
		i := slices.IndexFunc(woFields, func(f strField) bool { return f.name == n })
		*woFields[i].get(&p.WorkOrder) = changes[n]
		if n == "status" {
			p.Status = changes[n]
		}
	}
	p.UpdatedAt = s.now()
	return p.clone(), nil
}

func (p *Project) clone() Project {
	c := *p
	c.WorkOrder.Services = slices.Clone(p.WorkOrder.Services)
	c.Notes = slices.Clone(p.Notes)
	c.Sent = slices.Clone(p.Sent)
	return c
}

func sortBy[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}
