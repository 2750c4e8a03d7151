-- ticketsync initial schema. Portable across PostgreSQL and SQLite:
-- timestamps are TIMESTAMP holding UTC, JSON is TEXT, booleans are BOOLEAN.

-- +goose Up
CREATE TABLE tenants (
    id         TEXT      NOT NULL PRIMARY KEY,
    name       TEXT      NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Only the SHA-256 hex of a key is stored; the plaintext never reaches the database.
CREATE TABLE api_keys (
    key_hash   TEXT      NOT NULL PRIMARY KEY,
    tenant_id  TEXT      NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

-- Connection metadata only; credentials stay in the connections file / environment.
CREATE TABLE connections (
    id               TEXT      NOT NULL PRIMARY KEY,
    tenant_id        TEXT      NOT NULL REFERENCES tenants (id),
    request_kind     TEXT      NOT NULL,
    work_kind        TEXT      NOT NULL,
    mapping          TEXT      NOT NULL DEFAULT '',
    poll_interval_ms BIGINT    NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX connections_tenant_idx ON connections (tenant_id, id);

-- Read model of the Ticket workflows. (connection_id, external_id) is the
-- natural key the API dedupes on; id is the public ticket id. No foreign key
-- to connections: connections may be configured in memory only (tests, dev),
-- and the store checks the tenant whenever the connection row exists.
CREATE TABLE tickets (
    id               TEXT      NOT NULL PRIMARY KEY,
    tenant_id        TEXT      NOT NULL,
    connection_id    TEXT      NOT NULL,
    external_id      TEXT      NOT NULL,
    workflow_id      TEXT      NOT NULL,
    request_hash     TEXT      NOT NULL DEFAULT '',
    request          TEXT      NOT NULL DEFAULT '{}',
    status           TEXT      NOT NULL DEFAULT '',
    remote_id        TEXT      NOT NULL DEFAULT '',
    remote_status    TEXT      NOT NULL DEFAULT '',
    category         TEXT      NOT NULL DEFAULT '',
    mapping_version  TEXT      NOT NULL DEFAULT '',
    needs_attention  BOOLEAN   NOT NULL DEFAULT FALSE,
    attention_reason TEXT      NOT NULL DEFAULT '',
    attention_since  TIMESTAMP NULL,
    paused           BOOLEAN   NOT NULL DEFAULT FALSE,
    paused_reason    TEXT      NOT NULL DEFAULT '',
    paused_since     TIMESTAMP NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    CONSTRAINT tickets_connection_external_uq UNIQUE (connection_id, external_id)
);
-- Keyset pagination is ordered by (created_at, id), filtered by tenant or connection.
CREATE INDEX tickets_tenant_page_idx ON tickets (tenant_id, created_at, id);
CREATE INDEX tickets_connection_page_idx ON tickets (connection_id, created_at, id);
CREATE INDEX tickets_page_idx ON tickets (created_at, id);
CREATE INDEX tickets_remote_idx ON tickets (connection_id, remote_id);

-- Timeline events. id is the stable event id (workflow id + sequence) that
-- receivers dedupe on; inserting is insert-or-ignore by id.
CREATE TABLE events (
    id             TEXT      NOT NULL PRIMARY KEY,
    ticket_id      TEXT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq            BIGINT    NOT NULL,
    type           TEXT      NOT NULL,
    payload        TEXT      NOT NULL DEFAULT '{}',
    occurred_at    TIMESTAMP NOT NULL,
    deliver        BOOLEAN   NOT NULL DEFAULT FALSE,
    delivery_state TEXT      NOT NULL DEFAULT 'local',
    attempts       INTEGER   NOT NULL DEFAULT 0,
    last_error     TEXT      NOT NULL DEFAULT '',
    delivered_at   TIMESTAMP NULL,
    created_at     TIMESTAMP NOT NULL,
    CONSTRAINT events_ticket_seq_uq UNIQUE (ticket_id, seq),
    CONSTRAINT events_delivery_state_ck CHECK (delivery_state IN ('pending', 'delivered', 'abandoned', 'local'))
);

-- Change-feed watermarks per connection (e.g. TheWorxHub modifiedSince).
CREATE TABLE sync_cursors (
    connection_id TEXT      NOT NULL,
    name          TEXT      NOT NULL,
    value         TEXT      NOT NULL DEFAULT '',
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, name)
);

-- Inbound webhook dedupe: a (source, delivery id) pair is processed once.
CREATE TABLE webhook_deliveries (
    source      TEXT      NOT NULL,
    delivery_id TEXT      NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, delivery_id)
);
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE sync_cursors;
DROP TABLE events;
DROP TABLE tickets;
DROP TABLE connections;
DROP TABLE api_keys;
DROP TABLE tenants;
