package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

// Every test runs against both backends: SQLite (a fresh temp file per test)
// and PostgreSQL (a fresh schema per test in TICKETSYNC_TEST_DATABASE_URL).
// With CI set, an unreachable PostgreSQL fails the tests instead of skipping.

const defaultPGURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func pgURL() string {
	if v := os.Getenv("TICKETSYNC_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return defaultPGURL
}

var (
	pgOnce  sync.Once
	pgAdmin *sqlx.DB
	pgErr   error
)

// pgAdminDB returns a connection for creating/dropping test schemas, or
// fails/skips the test when PostgreSQL is unreachable.
func pgAdminDB(t *testing.T) *sqlx.DB {
	t.Helper()
	pgOnce.Do(func() {
		db, err := sqlx.Open("postgres", pgURL())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = db.PingContext(ctx)
			cancel()
		}
		if err != nil {
			pgErr = err
			if db != nil {
				db.Close()
			}
			return
		}
		pgAdmin = db
	})
	if pgErr != nil {
		msg := "PostgreSQL at " + redact(pgURL()) + " is unreachable (set TICKETSYNC_TEST_DATABASE_URL, or start it with `pg_ctlcluster <version> main start`): " + pgErr.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " — skipping PostgreSQL tests (they fail when CI is set)")
	}
	return pgAdmin
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newPGSchemaURL creates an empty schema, registers its removal, and returns
// a database URL whose connections use it as search_path.
func newPGSchemaURL(t *testing.T) string {
	t.Helper()
	admin := pgAdminDB(t)
	schema := "ts_test_" + randomSuffix(t)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(pgURL())
	if err != nil {
		t.Fatalf("parse %s: %v", pgURL(), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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

func mustCreate(t *testing.T, s *Store, tk Ticket) Ticket {
	t.Helper()
	got, created, err := s.CreateTicket(context.Background(), tk)
	if err != nil {
		t.Fatalf("CreateTicket(%s): %v", tk.ID, err)
	}
	if !created {
		t.Fatalf("CreateTicket(%s): created=false, want true", tk.ID)
	}
	return got
}
