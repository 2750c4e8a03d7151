package migrations

import (
	"context"
	"database/sql"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"
)

// The store suite runs these migrations up on PostgreSQL and SQLite; here we
// check the file conventions and that every Down section really undoes its Up.

func TestFilesFollowConventions(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	valid := regexp.MustCompile(`^\d{5}_[a-z0-9_]+\.sql$`)
	for _, name := range names {
		if !valid.MatchString(name) {
			t.Errorf("%s: want NNNNN_snake_case.sql", name)
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ToUpper(string(b))
		for _, marker := range []string{"-- +GOOSE UP", "-- +GOOSE DOWN"} {
			if !strings.Contains(text, marker) {
				t.Errorf("%s: missing %q", name, marker)
			}
		}
		// Dialect-specific constructs would break one of the two backends.
		for _, banned := range []string{"SERIAL", "AUTOINCREMENT", "JSONB", "TIMESTAMPTZ", "NOW()", "CURRENT_TIMESTAMP"} {
			if strings.Contains(text, banned) {
				t.Errorf("%s: uses non-portable %s", name, banned)
			}
		}
	}
}

func TestUpDownUpOnSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectSQLite3, db, FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%d tables left after migrating down to 0", tables)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}
