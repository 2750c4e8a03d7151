package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// HashAPIKey returns the lowercase hex SHA-256 of key: the only form of an API
// key that is stored. A fast hash is enough because keys are long random
// secrets, and it keeps the lookup a single indexed equality.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AddAPIKey registers a key for the tenant, storing only its hash. Adding the
// same key to the same tenant again is a no-op; a key already owned by another
// tenant is ErrConflict; an unknown tenant is an error (foreign key).
func (s *Store) AddAPIKey(ctx context.Context, tenantID, plaintextKey string) error {
	if err := required("tenant id", tenantID, "api key", plaintextKey); err != nil {
		return fmt.Errorf("store: add api key: %w", err)
	}
	hash := HashAPIKey(plaintextKey)
	res, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO api_keys (key_hash, tenant_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (key_hash) DO NOTHING`),
		hash, tenantID, s.nowTS())
	if err != nil {
		if isForeignKeyViolation(err) {
			err = fmt.Errorf("tenant: %w", ErrNotFound)
		}
		return fmt.Errorf("store: add api key for tenant %s: %w", tenantID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	owner, err := s.tenantByHash(ctx, hash)
	if err != nil {
		return fmt.Errorf("store: add api key for tenant %s: %w", tenantID, err)
	}
	if owner != tenantID {
		return fmt.Errorf("store: add api key for tenant %s: %w: key belongs to another tenant", tenantID, ErrConflict)
	}
	return nil
}

// TenantByAPIKey returns the id of the tenant owning the key, or ErrNotFound.
func (s *Store) TenantByAPIKey(ctx context.Context, plaintextKey string) (string, error) {
	if plaintextKey == "" {
		return "", fmt.Errorf("store: tenant by api key: %w", ErrNotFound)
	}
	tenant, err := s.tenantByHash(ctx, HashAPIKey(plaintextKey))
	if err != nil {
		return "", fmt.Errorf("store: tenant by api key: %w", err)
	}
	return tenant, nil
}

func (s *Store) tenantByHash(ctx context.Context, hash string) (string, error) {
	var tenant string
	err := s.db.GetContext(ctx, &tenant, s.q(`SELECT tenant_id FROM api_keys WHERE key_hash = ?`), hash)
	return tenant, notFound(err)
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

// ListConnections returns the tenant's connections ordered by id; tenant ""
// lists every connection.
func (s *Store) ListConnections(ctx context.Context, tenant string) ([]Connection, error) {
	var (
		rows []connectionRow
		err  error
	)
	if tenant == "" {
		err = s.db.SelectContext(ctx, &rows, s.q(`SELECT `+connectionColumns+` FROM connections ORDER BY id`))
	} else {
		err = s.db.SelectContext(ctx, &rows, s.q(`SELECT `+connectionColumns+` FROM connections WHERE tenant_id = ? ORDER BY id`), tenant)
	}
	if err != nil {
		return nil, fmt.Errorf("store: list connections (tenant %q): %w", tenant, err)
	}
	out := make([]Connection, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.conn())
	}
	return out, nil
}
