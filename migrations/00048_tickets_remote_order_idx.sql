-- A push names the remote request; GetTicketByRemoteID filters on (connection_id, remote_id)
-- and orders by (created_at, id). With the remote id index lacking the order columns, SQLite
-- walked the connection's whole page index instead, once per push: 4 % of the CPU at 10k open
-- tickets, growing with every ticket (issue 8, docs/performance.md). One index serves both.

-- +goose Up
CREATE INDEX tickets_remote_order_idx ON tickets (connection_id, remote_id, created_at, id);
DROP INDEX tickets_remote_idx;

-- +goose Down
CREATE INDEX tickets_remote_idx ON tickets (connection_id, remote_id);
DROP INDEX tickets_remote_order_idx;
