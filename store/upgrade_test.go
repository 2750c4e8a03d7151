package store

import (
	"context"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/ticketsync/ticketsync/migrations"
)

// Rows written before migration 2 keep working after it: their keys become
// "legacy" (kept until revoked, never revoked by a file sync they are not in)
// and their tickets start at version 0, so the first versioned write lands.
func TestUpgradeFromSchema1(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, databaseURL string) {
		ctx := context.Background()
		s := openURL(t, databaseURL)
		dialect := goose.DialectSQLite3
		if s.Dialect() == DialectPostgres {
			dialect = goose.DialectPostgres
		}
		p, err := goose.NewProvider(dialect, s.DB().DB, migrations.FS, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatal(err)
		}
		now := ts(time.Now())
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, []any{"t1", "", now, now}},
			{`INSERT INTO api_keys (key_hash, tenant_id, created_at) VALUES (?, ?, ?)`, []any{HashAPIKey("old-key"), "t1", now}},
			{`INSERT INTO tickets (id, tenant_id, connection_id, external_id, workflow_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				[]any{"tk", "t1", "c1", "e", "ticket/c1/e", now.Add(time.Hour), now.Add(time.Hour)}},
		} {
			if _, err := s.DB().ExecContext(ctx, s.q(q.sql), q.args...); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListAPIKeys(ctx, "t1")
		if err != nil || len(keys) != 1 || keys[0].Source != KeySourceLegacy || !keys[0].Active() {
			t.Fatalf("legacy key after upgrade: %+v, %v", keys, err)
		}
		if _, err := s.SyncFileAPIKeys(ctx, map[string][]string{"t1": {"new-key"}}); err != nil {
			t.Fatal(err)
		}
		if tenant, err := s.TenantByAPIKey(ctx, "old-key"); err != nil || tenant != "t1" {
			t.Errorf("a legacy key stopped working after a file sync without it: %q, %v", tenant, err)
		}
		if err := s.UpdateTicketState(ctx, TicketState{ID: "tk", Status: "Requested", RemoteID: "R1", UpdatedAt: now, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if tk, err := s.GetTicket(ctx, "t1", "tk"); err != nil || tk.Version != 1 || tk.RemoteID != "R1" {
			t.Errorf("first versioned write on an upgraded row: %+v, %v", tk, err)
		}
	})
}
