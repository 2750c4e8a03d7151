package pruvan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Field ownership (contracts/pruvan.md, [OWN]):
//   - source-owned fields (clientStatus, clientDueDate, clientInstructions) always take the
//     source's value;
//   - shared fields take it only while Auto-Admin is on for the integration; otherwise the
//     Pruvan user's edits stand;
//   - services (tasks) are immutable after import, whatever Auto-Admin says.
//
// An empty incoming value never changes anything: on the wire it is omitted, which Pruvan
// reads as "unchanged".

// SourceOwnedFields are the JSON names of the fields the order source always updates.
var SourceOwnedFields = []string{"clientStatus", "clientDueDate", "clientInstructions"}

// SharedFields are the JSON names of the fields the order source updates only with Auto-Admin.
var SharedFields = []string{"address1", "address2", "city", "state", "zip", "country", "workOrderInfo",
	"reference", "description", "instructions", "status", "dueDate", "assignedTo"}

// MergeResult is what a project looks like after an update, and why.
type MergeResult struct {
	// WorkOrder is the project after the update.
	WorkOrder WorkOrder
	// Created is true when there was no project yet (everything incoming is taken).
	Created bool
	// Changed lists the JSON names of the fields whose value changes, in field order.
	Changed []string
	// Kept lists the JSON names of fields that differ but keep Pruvan's value.
	Kept []string
	// TasksChanged is true when the incoming services differ from the imported ones. Pruvan
	// ignores the difference; the connector records it and parks the ticket for a human.
	TasksChanged bool
	// Notes explain every kept difference in words, for the ticket's timeline.
	Notes []string
}

// ErrDifferentProject is returned by Merge when the work order numbers do not match.
var ErrDifferentProject = errors.New("pruvan: merge of two different projects")

// Merge applies an update from the order source (incoming, e.g. a freshly mapped Cyprexx
// work order) to the project Pruvan has (current; nil when it was never imported), the way
// Pruvan applies it given the integration's Auto-Admin setting. It is pure: neither argument
// is modified.
func Merge(current *WorkOrder, incoming WorkOrder, autoAdmin bool) (MergeResult, error) {
	if current == nil {
		out := incoming
		out.Services = slices.Clone(incoming.Services)
		res := MergeResult{WorkOrder: out, Created: true}
		for _, f := range fields(&out) {
			if *f.ptr != "" {
				res.Changed = append(res.Changed, f.name)
			}
		}
		if len(out.Services) > 0 {
			res.Changed = append(res.Changed, "services")
		}
		return res, nil
	}
	if current.WorkOrderNumber != incoming.WorkOrderNumber {
		return MergeResult{}, fmt.Errorf("%w: %q vs %q", ErrDifferentProject, current.WorkOrderNumber, incoming.WorkOrderNumber)
	}
	out := *current
	out.Services = slices.Clone(current.Services)
	res := MergeResult{}
	in := fields(&incoming)
	for i, f := range fields(&out) {
		v := *in[i].ptr
		if v == "" || v == *f.ptr || f.name == "workOrderNumber" {
			continue
		}
		if slices.Contains(SharedFields, f.name) && !autoAdmin {
			res.Kept = append(res.Kept, f.name)
			res.Notes = append(res.Notes, fmt.Sprintf(
				"%s kept as it is in Pruvan: it is a shared field and Auto-Admin is off for this integration", f.name))
			continue
		}
		*f.ptr = v
		res.Changed = append(res.Changed, f.name)
	}
	if len(incoming.Services) > 0 {
		if diff := serviceDiff(current.Services, incoming.Services); diff != "" {
			res.TasksChanged = true
			res.Kept = append(res.Kept, "services")
			res.Notes = append(res.Notes, "tasks kept as imported: Pruvan does not change a project's tasks after import ("+diff+")")
		}
	}
	res.WorkOrder = out
	return res, nil
}

type field struct {
	name string
	ptr  *string
}

// fields lists the string fields of w in declaration order, by JSON name.
func fields(w *WorkOrder) []field {
	return []field{
		{"workOrderNumber", &w.WorkOrderNumber},
		{"address1", &w.Address1}, {"address2", &w.Address2}, {"city", &w.City}, {"state", &w.State},
		{"zip", &w.Zip}, {"country", &w.Country}, {"workOrderInfo", &w.WorkOrderInfo},
		{"reference", &w.Reference}, {"description", &w.Description}, {"instructions", &w.Instructions},
		{"clientInstructions", &w.ClientInstructions}, {"status", &w.Status}, {"clientStatus", &w.ClientStatus},
		{"dueDate", &w.DueDate}, {"clientDueDate", &w.ClientDueDate}, {"assignedTo", &w.AssignedTo},
	}
}

// serviceDiff describes how incoming differs from the imported services, by service name;
// "" when they are the same.
func serviceDiff(have, want []Service) string {
	var added, removed, changed []string
	for _, w := range want {
		i := slices.IndexFunc(have, func(h Service) bool { return h.ServiceName == w.ServiceName })
		switch {
		case i < 0:
			added = append(added, w.ServiceName)
		case !have[i].equal(w):
			changed = append(changed, w.ServiceName)
		}
	}
	for _, h := range have {
		if !slices.ContainsFunc(want, func(w Service) bool { return w.ServiceName == h.ServiceName }) {
			removed = append(removed, h.ServiceName)
		}
	}
	var parts []string
	for _, p := range []struct {
		label string
		names []string
	}{{"added", added}, {"removed", removed}, {"changed", changed}} {
		if len(p.names) > 0 {
			parts = append(parts, p.label+": "+strings.Join(quoteAll(p.names), ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
