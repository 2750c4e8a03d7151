package mapping

import (
	"testing"

	"github.com/ticketsync/ticketsync/ticket"
)

func TestTheWorxHubV1IsTheSeedTable(t *testing.T) {
	m, err := Lookup("theworxhub-v1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Pending": ticket.Requested, "InProgress": ticket.InProgress, "OnHold": ticket.OnHold,
		"Completed": ticket.Done, "Cancelled": ticket.Canceled, "Rejected": ticket.Canceled}
	for remote, portal := range want {
		if got, ok := m.Translate(remote); !ok || got != portal {
			t.Errorf("%s → %q (%t), want %s", remote, got, ok, portal)
		}
	}
	for _, unknown := range []string{"Escalated", "pending", "", "Canceled"} {
		if got, ok := m.Translate(unknown); ok {
			t.Errorf("%q must be unmapped, got %s", unknown, got)
		}
	}
	if latest, err := Latest("theworxhub"); err != nil || latest.Name != "theworxhub-v1" {
		t.Fatalf("latest: %v %v", latest.Name, err)
	}
	if _, err := Latest("nope"); err == nil {
		t.Fatal("unknown kind must error")
	}
	if _, err := Lookup("theworxhub-v9"); err == nil {
		t.Fatal("unknown mapping must error")
	}
}

func TestLatestPicksTheHighestVersionAndPublishedNamesAreImmutable(t *testing.T) {
	for _, m := range []Mapping{
		{Name: "toykind-v2", WorkKind: "toykind", Table: map[string]string{"open": ticket.InProgress}},
		{Name: "toykind-v10", WorkKind: "toykind", Table: map[string]string{"open": ticket.Requested}},
	} {
		if err := Register(m); err != nil {
			t.Fatal(err)
		}
	}
	if latest, _ := Latest("toykind"); latest.Name != "toykind-v10" {
		t.Fatalf("latest = %s, want toykind-v10 (numeric, not lexical)", latest.Name)
	}
	if err := Register(Mapping{Name: "toykind-v2", WorkKind: "toykind", Table: map[string]string{"open": ticket.Done}}); err == nil {
		t.Fatal("re-registering a published version with another table must fail")
	}
}

func TestParseRejectsBadDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":      `{"name":"x-v1","workKind":"x","table":{"a":"Done"},"extra":1}`,
		"bad name":           `{"name":"x","workKind":"x","table":{"a":"Done"}}`,
		"name of other kind": `{"name":"y-v1","workKind":"x","table":{"a":"Done"}}`,
		"empty table":        `{"name":"x-v1","workKind":"x","table":{}}`,
		"not a status":       `{"name":"x-v1","workKind":"x","table":{"a":"Closed"}}`,
		"submitted":          `{"name":"x-v1","workKind":"x","table":{"a":"Submitted"}}`,
		"not json":           `name: x-v1`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
	if m, err := Parse([]byte(`{"name":"x-v3","workKind":"x","table":{"a":"Done"}}`)); err != nil || m.Version() != 3 {
		t.Fatalf("valid document: %v %+v", err, m)
	}
}
