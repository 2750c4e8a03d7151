-- Retention of finished tickets and erasure of a requester's personal data. Portable across
-- PostgreSQL and SQLite (ADD/DROP COLUMN, plain indexes).

-- +goose Up
-- Retention (TICKETSYNC_RETENTION): when a finished ticket's timeline and request body were
-- pruned, and how many timeline rows went (the ticket row itself stays: ids, statuses, dates).
ALTER TABLE tickets ADD COLUMN pruned_at TIMESTAMP NULL;
ALTER TABLE tickets ADD COLUMN pruned_events BIGINT NOT NULL DEFAULT 0;

-- Erasure (DELETE /v1/tickets/{id}/personal-data): when and by whom the requester's personal
-- fields were removed, and when the workflow's history was deleted from Temporal (NULL while
-- that is still to do: the API process deletes it once the workflow has closed).
ALTER TABLE tickets ADD COLUMN erased_at TIMESTAMP NULL;
ALTER TABLE tickets ADD COLUMN erased_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN history_deleted_at TIMESTAMP NULL;

-- Finished tickets by age (retention) and open ones by read-model age (stuck tickets).
CREATE INDEX tickets_status_updated_idx ON tickets (status, updated_at);
-- Erasures whose history deletion is pending.
CREATE INDEX tickets_erasure_idx ON tickets (erased_at, history_deleted_at);
-- Replay reads a connection's events by time.
CREATE INDEX events_occurred_idx ON events (occurred_at);

-- +goose Down
DROP INDEX events_occurred_idx;
DROP INDEX tickets_erasure_idx;
DROP INDEX tickets_status_updated_idx;
ALTER TABLE tickets DROP COLUMN history_deleted_at;
ALTER TABLE tickets DROP COLUMN erased_by;
ALTER TABLE tickets DROP COLUMN erased_at;
ALTER TABLE tickets DROP COLUMN pruned_events;
ALTER TABLE tickets DROP COLUMN pruned_at;
