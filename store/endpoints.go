package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EndpointState is whether a connection's request-system endpoint (the
// portal URL events are delivered to) is disabled. contracts/portal.md: a
// 410 Gone disables the endpoint and every ticket's deliveries wait until an
// operator re-enables it.
type EndpointState struct {
	Tenant     string     `json:"tenant"`
	Connection string     `json:"connection"`
	Disabled   bool       `json:"disabled"`
	Reason     string     `json:"reason,omitempty"`
	DisabledAt *time.Time `json:"disabledAt,omitempty"`
}

type endpointRow struct {
	Tenant     string    `db:"tenant_id"`
	Connection string    `db:"connection_id"`
	Reason     string    `db:"reason"`
	DisabledAt time.Time `db:"disabled_at"`
}

func (r endpointRow) state() EndpointState {
	at := r.DisabledAt.UTC()
	return EndpointState{Tenant: r.Tenant, Connection: r.Connection, Disabled: true, Reason: r.Reason, DisabledAt: &at}
}

const endpointColumns = `tenant_id, connection_id, reason, disabled_at`

// endpointArgs checks the (tenant, connection) pair every endpoint method takes.
func (s *Store) endpointArgs(ctx context.Context, tenant, connection string) error {
	if err := requireTenant(tenant); err != nil {
		return err
	}
	if err := required("connection", connection); err != nil {
		return err
	}
	return s.checkConnectionTenant(ctx, tenant, connection)
}

// DisableEndpoint marks the connection's endpoint disabled with a reason
// (e.g. "the portal answered 410 Gone"). Idempotent: while disabled, the first
// reason and time are kept (they tell what happened first). A connection
// recorded for another tenant is ErrNotFound.
func (s *Store) DisableEndpoint(ctx context.Context, tenant, connection, reason string) error {
	if err := s.endpointArgs(ctx, tenant, connection); err != nil {
		return fmt.Errorf("store: disable endpoint: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO disabled_endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (connection_id) DO NOTHING`),
		tenant, connection, truncate(reason), s.nowTS())
	if err != nil {
		return fmt.Errorf("store: disable endpoint of connection %s: %w", connection, err)
	}
	return nil
}

// EnableEndpoint re-enables the connection's endpoint (the operator's
// command) and reports whether it was disabled.
func (s *Store) EnableEndpoint(ctx context.Context, tenant, connection string) (bool, error) {
	if err := s.endpointArgs(ctx, tenant, connection); err != nil {
		return false, fmt.Errorf("store: enable endpoint: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM disabled_endpoints WHERE connection_id = ? AND tenant_id = ?`), connection, tenant)
	if err != nil {
		return false, fmt.Errorf("store: enable endpoint of connection %s: %w", connection, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: enable endpoint of connection %s: %w", connection, err)
	}
	return n > 0, nil
}

// EndpointDisabled returns the endpoint's state; Disabled is false (and the
// error nil) for an endpoint that was never disabled or was re-enabled.
func (s *Store) EndpointDisabled(ctx context.Context, tenant, connection string) (EndpointState, error) {
	if err := s.endpointArgs(ctx, tenant, connection); err != nil {
		return EndpointState{}, fmt.Errorf("store: endpoint state: %w", err)
	}
	var r endpointRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+endpointColumns+` FROM disabled_endpoints WHERE connection_id = ? AND tenant_id = ?`), connection, tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return EndpointState{Tenant: tenant, Connection: connection}, nil
	}
	if err != nil {
		return EndpointState{}, fmt.Errorf("store: endpoint state of connection %s: %w", connection, err)
	}
	return r.state(), nil
}

// ListDisabledEndpoints returns the tenant's disabled endpoints by connection id.
func (s *Store) ListDisabledEndpoints(ctx context.Context, tenant string) ([]EndpointState, error) {
	if err := requireTenant(tenant); err != nil {
		return nil, fmt.Errorf("store: list disabled endpoints: %w", err)
	}
	return s.listDisabled(ctx, `WHERE tenant_id = ? `, tenant)
}

// ListAllDisabledEndpoints returns every tenant's disabled endpoints, for
// operator tools; never call it on a tenant's behalf.
func (s *Store) ListAllDisabledEndpoints(ctx context.Context) ([]EndpointState, error) {
	return s.listDisabled(ctx, ``)
}

func (s *Store) listDisabled(ctx context.Context, where string, args ...any) ([]EndpointState, error) {
	var rows []endpointRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+endpointColumns+` FROM disabled_endpoints `+where+`ORDER BY connection_id`), args...); err != nil {
		return nil, fmt.Errorf("store: list disabled endpoints: %w", err)
	}
	out := make([]EndpointState, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.state())
	}
	return out, nil
}
