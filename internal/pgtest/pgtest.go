// Package pgtest gives tests a fresh PostgreSQL schema in TICKETSYNC_TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable). With CI set, an
// unreachable PostgreSQL fails the test; otherwise the test is skipped with a message.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
)

// DefaultURL is used when TICKETSYNC_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the test database URL.
func URL() string {
	if v := os.Getenv("TICKETSYNC_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return DefaultURL
}

var (
	once  sync.Once
	admin *sqlx.DB
	dbErr error
)

func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Admin returns a connection for creating and dropping schemas, failing (CI) or skipping the
// test when PostgreSQL is unreachable.
func Admin(t testing.TB) *sqlx.DB {
	t.Helper()
	once.Do(func() {
		db, err := sqlx.Open("postgres", URL())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = db.PingContext(ctx)
			cancel()
		}
		if err != nil {
			dbErr = err
			if db != nil {
				db.Close()
			}
			return
		}
		admin = db
	})
	if dbErr != nil {
		msg := "PostgreSQL at " + redact(URL()) + " is unreachable (set TICKETSYNC_TEST_DATABASE_URL, or start it with `pg_ctlcluster <version> main start`): " + dbErr.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " — skipping PostgreSQL tests (they fail when CI is set)")
	}
	return admin
}

// RandomSuffix is 12 hex digits for unique names.
func RandomSuffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// SchemaURL creates an empty schema, drops it when the test ends, and returns a database URL
// whose connections use it as search_path.
func SchemaURL(t testing.TB) string {
	t.Helper()
	db := Admin(t)
	schema := "ts_test_" + RandomSuffix(t)
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(URL())
	if err != nil {
		t.Fatalf("parse %s: %v", redact(URL()), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
