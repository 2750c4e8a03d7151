-- Connector records (vendorapi.Records): small durable state that a connector shares between
-- its inbound hooks (API processes) and its activities (workers). First user: Pruvan's order
-- source, which keeps the projects it serves Pruvan, Pruvan's status reports, and the photos
-- and surveys Pruvan uploaded until the request system has them. Portable across PostgreSQL
-- and SQLite: JSON is TEXT, file bytes are BYTEA (SQLite stores the blob as is).

-- +goose Up
CREATE TABLE connector_records (
    connection_id TEXT      NOT NULL,
    coll          TEXT      NOT NULL,
    rkey          TEXT      NOT NULL,
    value         TEXT      NOT NULL,
    version       BIGINT    NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, coll, rkey)
);
-- "Changed since" reads (Pruvan's incremental getWorkOrders).
CREATE INDEX connector_records_updated_idx ON connector_records (connection_id, coll, updated_at);

-- Spooled files, one row per chunk (a few hundred KiB each), so neither writing nor reading a
-- multi-megabyte photo holds it in memory whole.
CREATE TABLE connector_blobs (
    connection_id TEXT    NOT NULL,
    bkey          TEXT    NOT NULL,
    chunk         INTEGER NOT NULL,
    data          BYTEA   NOT NULL,
    PRIMARY KEY (connection_id, bkey, chunk)
);

-- +goose Down
DROP TABLE connector_blobs;
DROP INDEX connector_records_updated_idx;
DROP TABLE connector_records;
