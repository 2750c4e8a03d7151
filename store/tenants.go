package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Tenant is one customer organisation; it owns API keys and connections.
type Tenant struct {
	ID   string `db:"id"`
	Name string `db:"name"`
}

// UpsertTenant creates the tenant or renames an existing one (the
// connections file is re-applied at every start).
func (s *Store) UpsertTenant(ctx context.Context, t Tenant) error {
	if err := required("tenant id", t.ID); err != nil {
		return fmt.Errorf("store: upsert tenant: %w", err)
	}
	now := s.nowTS()
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`),
		t.ID, t.Name, now, now)
	if err != nil {
		return fmt.Errorf("store: upsert tenant %s: %w", t.ID, err)
	}
	return nil
}

// Connection is the stored, secret-free description of a configured
// request system → work system pair. Credentials live only in the
// connections file and the environment.
type Connection struct {
	ID           string        `db:"id"`
	Tenant       string        `db:"tenant_id"`
	RequestKind  string        `db:"request_kind"`
	WorkKind     string        `db:"work_kind"`
	Mapping      string        `db:"mapping"`
	PollInterval time.Duration `db:"-"`
	CreatedAt    time.Time     `db:"created_at"`
	UpdatedAt    time.Time     `db:"updated_at"`
}

type connectionRow struct {
	Connection
	PollIntervalMS int64 `db:"poll_interval_ms"`
}

func (r connectionRow) conn() Connection {
	c := r.Connection
	c.PollInterval = time.Duration(r.PollIntervalMS) * time.Millisecond
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c
}

const connectionColumns = `id, tenant_id, request_kind, work_kind, mapping, poll_interval_ms, created_at, updated_at`

// UpsertConnection creates or updates a connection (CreatedAt and UpdatedAt
// are set by the store). Moving a connection to another tenant is refused with
// ErrConflict: its tickets belong to the original tenant.
func (s *Store) UpsertConnection(ctx context.Context, c Connection) error {
	if err := required("connection id", c.ID, "tenant", c.Tenant, "request kind", c.RequestKind, "work kind", c.WorkKind); err != nil {
		return fmt.Errorf("store: upsert connection: %w", err)
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("store: upsert connection %s: %w: negative poll interval", c.ID, ErrInvalid)
	}
	now := s.nowTS()
	res, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO connections (`+connectionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			request_kind = excluded.request_kind,
			work_kind = excluded.work_kind,
			mapping = excluded.mapping,
			poll_interval_ms = excluded.poll_interval_ms,
			updated_at = excluded.updated_at
		WHERE connections.tenant_id = excluded.tenant_id`),
		c.ID, c.Tenant, c.RequestKind, c.WorkKind, c.Mapping, c.PollInterval.Milliseconds(), now, now)
	if err != nil {
		if isForeignKeyViolation(err) {
			err = fmt.Errorf("tenant %s: %w", c.Tenant, ErrNotFound)
		}
		return fmt.Errorf("store: upsert connection %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: upsert connection %s: %w: connection belongs to another tenant", c.ID, ErrConflict)
	}
	return nil
}

// GetConnection returns the connection or ErrNotFound.
func (s *Store) GetConnection(ctx context.Context, id string) (Connection, error) {
	if err := required("connection id", id); err != nil {
		return Connection{}, fmt.Errorf("store: get connection: %w", err)
	}
	var r connectionRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+connectionColumns+` FROM connections WHERE id = ?`), id)
	if err != nil {
		return Connection{}, fmt.Errorf("store: get connection %s: %w", id, notFound(err))
	}
	return r.conn(), nil
}

// ListConnections returns the tenant's connections ordered by id. An empty
// tenant is ErrInvalid; ListAllConnections is the operator's view.
func (s *Store) ListConnections(ctx context.Context, tenant string) ([]Connection, error) {
	if err := requireTenant(tenant); err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	var rows []connectionRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = ? ORDER BY id`), tenant); err != nil {
		return nil, fmt.Errorf("store: list connections of tenant %s: %w", tenant, err)
	}
	return connections(rows), nil
}

// ListAllConnections returns every tenant's connections ordered by id, for
// operator tools; never call it on a tenant's behalf.
func (s *Store) ListAllConnections(ctx context.Context) ([]Connection, error) {
	var rows []connectionRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+connectionColumns+` FROM connections ORDER BY id`)); err != nil {
		return nil, fmt.Errorf("store: list all connections: %w", err)
	}
	return connections(rows), nil
}

// checkConnectionTenant fails with ErrNotFound when the connection is
// recorded for another tenant. An unrecorded connection passes: connections
// may live only in the connections file (tests, dev).
func (s *Store) checkConnectionTenant(ctx context.Context, tenant, connection string) error {
	c, err := s.GetConnection(ctx, connection)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.Tenant != tenant:
		return fmt.Errorf("connection %s of another tenant: %w", connection, ErrNotFound)
	}
	return nil
}

func connections(rows []connectionRow) []Connection {
	out := make([]Connection, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.conn())
	}
	return out
}
