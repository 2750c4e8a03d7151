// Package mapping translates a work system's raw status into the portal vocabulary.
//
// Mappings are versioned and a ticket pins the version it started with, so changing a table
// never rewrites the meaning of a running ticket's history. Unknown raw statuses are reported,
// never guessed: the workflow parks the ticket with the raw value in the reason.
package mapping

import (
	"fmt"
	"sort"
)

// Portal statuses (DESIGN.md §1). Submitted is internal: never sent to a request system.
const (
	Submitted  = "Submitted"
	Requested  = "Requested"
	InProgress = "InProgress"
	OnHold     = "OnHold"
	Done       = "Done"
	Canceled   = "Canceled"
)

// PortalStatuses lists every portal status, in lifecycle order.
var PortalStatuses = []string{Submitted, Requested, InProgress, OnHold, Done, Canceled}

// IsPortalStatus reports whether s is one of PortalStatuses.
func IsPortalStatus(s string) bool {
	for _, p := range PortalStatuses {
		if p == s {
			return true
		}
	}
	return false
}

// IsTerminal reports whether a portal status ends the ticket.
func IsTerminal(status string) bool { return status == Done || status == Canceled }

// Mapping is one immutable version of a status table for a work-system kind.
type Mapping struct {
	Name     string            // e.g. "theworxhub-v1"; pinned per ticket
	WorkKind string            // the work system kind it reads, e.g. "theworxhub"
	Table    map[string]string // raw remote status → portal status
}

// Translate maps a raw remote status; ok is false for an unmapped value.
func (m Mapping) Translate(remote string) (portal string, ok bool) {
	portal, ok = m.Table[remote]
	return portal, ok
}

// builtin holds every mapping version ever shipped. Never edit a published version: add a new
// one (e.g. theworxhub-v2) so pinned tickets keep their meaning.
var builtin = []Mapping{
	{
		Name:     "theworxhub-v1",
		WorkKind: "theworxhub",
		Table: map[string]string{
			"Pending":    Requested,
			"InProgress": InProgress,
			"OnHold":     OnHold,
			"Completed":  Done,
			"Cancelled":  Canceled,
			"Rejected":   Canceled,
		},
	},
}

// Lookup returns the mapping with the given name.
func Lookup(name string) (Mapping, error) {
	for _, m := range builtin {
		if m.Name == name {
			return m, nil
		}
	}
	return Mapping{}, fmt.Errorf("unknown status mapping %q (known: %v)", name, Names())
}

// Names lists the built-in mapping names, sorted.
func Names() []string {
	names := make([]string, 0, len(builtin))
	for _, m := range builtin {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// Latest returns the newest built-in mapping for a work-system kind (the default when a
// connection names none). Versions are listed oldest first in builtin.
func Latest(workKind string) (Mapping, error) {
	for i := len(builtin) - 1; i >= 0; i-- {
		if builtin[i].WorkKind == workKind {
			return builtin[i], nil
		}
	}
	return Mapping{}, fmt.Errorf("no status mapping for work system kind %q", workKind)
}
