-- Revocable API keys, a per-ticket version ordering read-model writes, and portal endpoints
-- disabled by a 410 Gone. Portable across PostgreSQL and SQLite (ADD/DROP COLUMN, no CHECK on
-- added columns: SQLite would re-validate every existing row).

-- +goose Up
-- source: 'file' (listed in the connections file; revoked once removed from it), 'cli'
-- (minted by an operator; kept until revoked) or 'legacy' (recorded before sources were
-- tracked: kept until revoked, becomes 'file' when the file lists it).
-- last4: the key's last 4 characters, so operators can tell keys apart without the secret.
-- revoked_by: '' while active, 'operator' or 'file' (removed from the connections file).
ALTER TABLE api_keys ADD COLUMN source TEXT NOT NULL DEFAULT 'legacy';
ALTER TABLE api_keys ADD COLUMN last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN revoked_at TIMESTAMP NULL;
ALTER TABLE api_keys ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';

-- The workflow's monotonically increasing update counter: a read-model write is applied only
-- when its version is newer, so the API host's clock never orders the workflow's writes.
ALTER TABLE tickets ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- A connection's portal endpoint disabled after it answered 410 Gone (contracts/portal.md);
-- deliveries wait until an operator re-enables it (the row is then deleted).
CREATE TABLE disabled_endpoints (
    connection_id TEXT      NOT NULL PRIMARY KEY,
    tenant_id     TEXT      NOT NULL,
    reason        TEXT      NOT NULL DEFAULT '',
    disabled_at   TIMESTAMP NOT NULL
);
CREATE INDEX disabled_endpoints_tenant_idx ON disabled_endpoints (tenant_id, connection_id);

-- +goose Down
DROP TABLE disabled_endpoints;
ALTER TABLE tickets DROP COLUMN version;
ALTER TABLE api_keys DROP COLUMN revoked_by;
ALTER TABLE api_keys DROP COLUMN revoked_at;
ALTER TABLE api_keys DROP COLUMN last4;
ALTER TABLE api_keys DROP COLUMN source;
