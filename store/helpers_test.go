package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/internal/pgtest"
)

// Every test runs against both backends: SQLite (a fresh temp file per test)
// and PostgreSQL (a fresh schema per test in TICKETSYNC_TEST_DATABASE_URL).
// With CI set, an unreachable PostgreSQL fails the tests instead of skipping.

// newPGSchemaURL comes from internal/pgtest (shared with the end-to-end tests).
func newPGSchemaURL(t *testing.T) string { return pgtest.SchemaURL(t) }

// backend describes one database flavour; newURL returns the URL of a fresh,
// empty database for one test.
type backend struct {
	name   string
	newURL func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "db", "ts.db")
	}},
	{"postgres", newPGSchemaURL},
}

// openURL opens and registers closing (before any schema drop).
func openURL(t *testing.T, databaseURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("Open(%s): %v", databaseURL, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachBackend runs fn with a migrated, empty store per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openURL(t, b.newURL(t))
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			fn(t, s)
		})
	}
}

// forEachBackendURL runs fn with a fresh, unmigrated database URL per backend.
func forEachBackendURL(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.newURL(t)) })
	}
}

// seed creates tenants t1, t2 and connections c1, c3 (t1) and c2 (t2).
func seed(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, tn := range []Tenant{{ID: "t1", Name: "Tenant One"}, {ID: "t2", Name: "Tenant Two"}} {
		if err := s.UpsertTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []Connection{
		{ID: "c1", Tenant: "t1", RequestKind: "portal", WorkKind: "theworxhub", Mapping: "theworxhub-v1", PollInterval: 15 * time.Minute},
		{ID: "c2", Tenant: "t2", RequestKind: "seeclickfix", WorkKind: "cityworks"},
		{ID: "c3", Tenant: "t1", RequestKind: "cubu", WorkKind: "pruvan"},
	} {
		if err := s.UpsertConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

// seedTenants maps seed's connections to their tenants; mustCreate fills a
// missing Ticket.Tenant from it.
var seedTenants = map[string]string{"c1": "t1", "c2": "t2", "c3": "t1"}

func mustCreate(t *testing.T, s *Store, tk Ticket) Ticket {
	t.Helper()
	if tk.Tenant == "" {
		tk.Tenant = seedTenants[tk.Connection]
	}
	got, created, err := s.CreateTicket(context.Background(), tk)
	if err != nil {
		t.Fatalf("CreateTicket(%s): %v", tk.ID, err)
	}
	if !created {
		t.Fatalf("CreateTicket(%s): created=false, want true", tk.ID)
	}
	return got
}
