package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// openStore prepares the database: a SQLite file in the run's directory, or a fresh schema of
// the given PostgreSQL database reached through a proxy the run cuts.
func (s *stack) openStore(ctx context.Context) error {
	if s.opts.DatabaseURL == "" {
		s.sqlitePath = filepath.Join(s.dir, "ticketsync.db")
		s.dbURL = "sqlite://" + s.sqlitePath
		return nil
	}
	u, err := url.Parse(s.opts.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("--database-url must be postgres://… (or empty for SQLite)")
	}
	host := u.Host
	if !strings.Contains(host, ":") {
		host += ":5432"
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("--database-url must point at a loopback PostgreSQL (chaos cuts its connections)")
	}
	admin, err := sql.Open("postgres", s.opts.DatabaseURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	schema := "chaos_" + randomToken()[:12]
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	dsn := s.opts.DatabaseURL
	s.dropSchema = func() {
		db, err := sql.Open("postgres", dsn)
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	}
	if s.pgProxy, err = newTCPProxy(host); err != nil {
		return err
	}
	u.Host = s.pgProxy.addr
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s.dbURL = u.String()
	return nil
}

// storeOutage makes the store unusable for d: PostgreSQL connections are cut and refused;
// SQLite's write lock is held past every writer's busy timeout.
func (s *stack) storeOutage(ctx context.Context, d time.Duration) {
	s.faults.add("store", faultStore)
	s.outages.Add(1)
	if s.pgProxy != nil {
		s.pgProxy.cut()
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		if err := s.pgProxy.restore(); err != nil {
			s.log.Error("store proxy did not come back", "error", err)
		}
		return
	}
	db, err := sql.Open("sqlite", s.sqlitePath+"?_pragma=busy_timeout(30000)&_txlock=immediate")
	if err != nil {
		s.log.Warn("store outage not injected", "error", err)
		return
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		s.log.Warn("store outage not injected", "error", err)
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	_ = tx.Rollback()
}
