-- +goose Up
-- Vendor rate limits shared by every worker and API process: one row per (connection, vendor)
-- holding the next free call slot (GCRA's theoretical arrival time) in unix nanoseconds.
CREATE TABLE rate_limits (
    limit_key TEXT   NOT NULL PRIMARY KEY,
    next_slot BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
