// Package mapping translates a work system's raw status into the portal vocabulary.
//
// Mappings are data (data/<name>.json, embedded), versioned by name, and a ticket pins the
// version it started with, so changing a table never rewrites the meaning of a running ticket's
// history: publish <kind>-v2 beside <kind>-v1 instead of editing it. Unknown raw statuses are
// reported, never guessed: the workflow parks the ticket with the raw value in the reason.
package mapping

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ticketsync/ticketsync/ticket"
)

// Mapping is one immutable version of a status table for a work-system kind.
type Mapping struct {
	Name        string            `json:"name"`     // <workKind>-v<N>; pinned per ticket
	WorkKind    string            `json:"workKind"` // the work system kind it reads, e.g. "theworxhub"
	Description string            `json:"description,omitempty"`
	Table       map[string]string `json:"table"` // raw remote status → portal status
}

// Translate maps a raw remote status; ok is false for an unmapped value.
func (m Mapping) Translate(remote string) (portal string, ok bool) {
	portal, ok = m.Table[remote]
	return portal, ok
}

// Version is the N of the mapping's "-vN" suffix: digits only, no sign or leading zero, so each
// version has exactly one name (0 when the name has no valid suffix).
func (m Mapping) Version() int {
	i := strings.LastIndex(m.Name, "-v")
	if i < 0 {
		return 0
	}
	digits := m.Name[i+2:]
	if digits == "" || digits[0] == '0' || strings.TrimLeft(digits, "0123456789") != "" {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil { // overflow
		return 0
	}
	return n
}

//go:embed data/*.json
var dataFS embed.FS

var (
	mu       sync.RWMutex
	registry = map[string]Mapping{}
)

func init() {
	entries, err := dataFS.ReadDir("data")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		raw, err := dataFS.ReadFile(path.Join("data", e.Name()))
		if err != nil {
			panic(err)
		}
		m, err := Parse(raw)
		if err != nil {
			panic(fmt.Sprintf("mapping/data/%s: %v", e.Name(), err))
		}
		if err := Register(m); err != nil {
			panic(err)
		}
	}
}

// Parse decodes and checks one mapping document: a name of the form <workKind>-v<N>, a
// non-empty table whose values are portal statuses (never the internal Submitted).
func Parse(raw []byte) (Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, fmt.Errorf("invalid mapping document: %w", err)
	}
	if m.WorkKind == "" || m.Version() <= 0 || m.Name != m.WorkKind+"-v"+strconv.Itoa(m.Version()) {
		return Mapping{}, fmt.Errorf("mapping name %q must be <workKind>-v<N> with workKind %q", m.Name, m.WorkKind)
	}
	if len(m.Table) == 0 {
		return Mapping{}, fmt.Errorf("mapping %s has an empty table", m.Name)
	}
	for remote, portal := range m.Table {
		if portal == ticket.Submitted || !slices.Contains(ticket.Statuses, portal) {
			return Mapping{}, fmt.Errorf("mapping %s: %q maps to %q, which is not a portal status (%s)",
				m.Name, remote, portal, strings.Join(ticket.Statuses[1:], ", "))
		}
	}
	return m, nil
}

// Register adds a mapping version (built-ins at init; a connector's own in its package or a
// test). A published name is immutable: registering it again with another table fails.
func Register(m Mapping) error {
	mu.Lock()
	defer mu.Unlock()
	if old, ok := registry[m.Name]; ok {
		if !maps.Equal(old.Table, m.Table) {
			return fmt.Errorf("mapping %s is already registered with another table: publish a new version", m.Name)
		}
		return nil
	}
	registry[m.Name] = m
	return nil
}

// Lookup returns the mapping with the given name.
func Lookup(name string) (Mapping, error) {
	mu.RLock()
	m, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return Mapping{}, fmt.Errorf("unknown status mapping %q (known: %v)", name, Names())
	}
	return m, nil
}

// Names lists the registered mapping names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(func(yield func(string) bool) {
		for name := range registry {
			if !yield(name) {
				return
			}
		}
	})
}

// Latest returns the newest mapping for a work-system kind (the default when a connection
// names none).
func Latest(workKind string) (Mapping, error) {
	mu.RLock()
	defer mu.RUnlock()
	var best Mapping
	for _, m := range registry {
		if m.WorkKind == workKind && m.Version() > best.Version() {
			best = m
		}
	}
	if best.Name == "" {
		return Mapping{}, fmt.Errorf("no status mapping for work system kind %q", workKind)
	}
	return best, nil
}
