// Package config loads ticketsync's process settings from TICKETSYNC_* environment variables
// and the tenants/connections file (DESIGN.md §8). Both report every problem at once, so an
// operator fixes a bad deployment in one round instead of one error per restart.
package config

import (
	"fmt"
	"strings"
)

// Problem is one configuration mistake. Field is an environment variable name or a path into
// the connections file such as connections[1].workSystem.clientId; Line is its line in the
// file when known.
type Problem struct {
	Field   string
	Message string
	Line    int
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// Problems is an error listing every problem found, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	if len(ps) == 1 {
		b.WriteString("1 configuration problem:")
	} else {
		fmt.Fprintf(&b, "%d configuration problems:", len(ps))
	}
	for _, p := range ps {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Has reports whether some problem is about field (exact path match).
func (ps Problems) Has(field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// orNil turns an empty list into a nil error (a nil Problems in an error is non-nil).
func (ps Problems) orNil() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
