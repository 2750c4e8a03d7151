package mapping_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
)

// The targets run their seeds in every `go test`; explore further with
// `go test ./mapping -run '^$' -fuzz FuzzParse -fuzztime 60s` (or FuzzRegister, FuzzTranslate).

// FuzzParse: an accepted mapping document has a canonical name "<workKind>-v<N>" (N ≥ 1,
// decimal, no sign or leading zero — otherwise two names share a version and Latest picks one
// at random), only sendable portal statuses as values, translates exactly its table, and
// survives a JSON round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"name":"theworxhub-v1","workKind":"theworxhub","table":{"Pending":"Requested","Completed":"Done"}}`,
		`{"name":"cityworks-v12","workKind":"cityworks","description":"d","table":{"OPEN":"InProgress","":"OnHold"}}`,
		`{"name":"x-v1","workKind":"x","table":{"a":"Submitted"}}`,
		`{"name":"x-v0","workKind":"x","table":{"a":"Done"}}`,
		`{"name":"x-v1","workKind":"x","table":{"a":"Done"},"extra":1}`,
		`{"name":"a-v1-v2","workKind":"a-v1","table":{"k":"Canceled"}}`,
		`{"name":"x-v1","workKind":"x","table":{"a":"Done"}} trailing`,
		`null`, `[]`, ``, `{"table":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := mapping.Parse(raw)
		if err != nil {
			return
		}
		if want := m.WorkKind + "-v" + strconv.Itoa(m.Version()); m.Version() < 1 || m.Name != want {
			t.Fatalf("accepted name %q for kind %q (version %d): want the canonical %q", m.Name, m.WorkKind, m.Version(), want)
		}
		if len(m.Table) == 0 {
			t.Fatal("accepted an empty table")
		}
		for remote, portal := range m.Table {
			if portal == ticket.Submitted || !slices.Contains(ticket.Statuses, portal) {
				t.Fatalf("%q maps to %q, not a sendable portal status", remote, portal)
			}
			if got, ok := m.Translate(remote); !ok || got != portal {
				t.Fatalf("Translate(%q) = %q, %v; table says %q", remote, got, ok, portal)
			}
			if _, ok := m.Translate(remote + "\x00"); ok && m.Table[remote+"\x00"] == "" {
				t.Fatalf("Translate guessed for %q", remote+"\x00")
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := mapping.Parse(again)
		if err != nil || m2.Name != m.Name || m2.WorkKind != m.WorkKind || m2.Description != m.Description || !maps.Equal(m2.Table, m.Table) {
			t.Fatalf("round trip %+v -> %s -> %+v (%v)", m, again, m2, err)
		}
	})
}

var fuzzVersion atomic.Int64

// FuzzRegister: a published version is immutable. Registering a name again succeeds only
// with an identical table; any other table is refused, and Lookup keeps the first one.
// Each input gets a fresh name of a kind no real connection uses.
func FuzzRegister(f *testing.F) {
	f.Add([]byte(`{"a":"Done"}`), []byte(`{"a":"Done"}`))
	f.Add([]byte(`{"a":"Done"}`), []byte(`{"a":"Canceled"}`))
	f.Add([]byte(`{"a":"Done","b":"Done"}`), []byte(`{"a":"Done"}`))
	f.Fuzz(func(t *testing.T, tableA, tableB []byte) {
		var a, b map[string]string
		if json.Unmarshal(tableA, &a) != nil || json.Unmarshal(tableB, &b) != nil || len(a) == 0 || len(b) == 0 {
			return
		}
		name := fmt.Sprintf("fuzzkind-v%d", 1000+fuzzVersion.Add(1))
		if err := mapping.Register(mapping.Mapping{Name: name, WorkKind: "fuzzkind", Table: a}); err != nil {
			t.Fatalf("first registration of %s: %v", name, err)
		}
		err := mapping.Register(mapping.Mapping{Name: name, WorkKind: "fuzzkind", Table: b})
		if same := maps.Equal(a, b); same != (err == nil) {
			t.Fatalf("re-registering %s: tables equal=%v, error=%v\nfirst  %q\nsecond %q", name, same, err, a, b)
		}
		got, err := mapping.Lookup(name)
		if err != nil || !maps.Equal(got.Table, a) {
			t.Fatalf("Lookup(%s) = %q, %v; want the first table %q", name, got.Table, err, a)
		}
	})
}

// FuzzTranslate: for every registered built-in mapping, a raw status translates iff it is a
// key of the table (exact, case-sensitive: "pending" is not "Pending"), to a sendable status.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{"Pending", "pending", "Completed", "", " Pending", "Cancelled", "Canceled", "Rejected\x00"} {
		f.Add(s)
	}
	var builtins []mapping.Mapping
	for _, name := range mapping.Names() {
		if m, err := mapping.Lookup(name); err == nil && m.WorkKind != "fuzzkind" {
			builtins = append(builtins, m)
		}
	}
	if len(builtins) == 0 {
		f.Fatal("no built-in mapping registered")
	}
	f.Fuzz(func(t *testing.T, remote string) {
		for _, m := range builtins {
			portal, ok := m.Translate(remote)
			want, inTable := m.Table[remote]
			if ok != inTable || portal != want {
				t.Fatalf("%s.Translate(%q) = %q, %v; table has %q, %v", m.Name, remote, portal, ok, want, inTable)
			}
			if ok && (portal == ticket.Submitted || !slices.Contains(ticket.Statuses, portal)) {
				t.Fatalf("%s maps %q to %q", m.Name, remote, portal)
			}
			latest, err := mapping.Latest(m.WorkKind)
			if err != nil || latest.Version() < m.Version() {
				t.Fatalf("Latest(%s) = %s (%v), older than %s", m.WorkKind, latest.Name, err, m.Name)
			}
		}
	})
}
