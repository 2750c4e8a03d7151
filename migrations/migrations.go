// Package migrations holds the ticketsync schema as goose SQL migrations.
//
// The same files run unchanged on PostgreSQL and SQLite, so they stick to
// portable types (TEXT, BIGINT, INTEGER, BOOLEAN, TIMESTAMP) and portable
// constraints. Timestamps are TIMESTAMP without time zone and always hold UTC:
// the store converts every time to UTC (microsecond precision) before writing,
// because PostgreSQL silently drops the offset of a TIMESTAMP value and SQLite
// compares times as text.
//
// Rules for new files: never edit an applied migration; add NNNNN_name.sql with
// `-- +goose Up` / `-- +goose Down` sections; keep it runnable on both backends.
package migrations

import "embed"

// FS holds the embedded migration files; pass it to goose (store.Migrate does).
//
//go:embed *.sql
var FS embed.FS
