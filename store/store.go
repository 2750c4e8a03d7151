// Package store is ticketsync's persistence layer: the tickets read model,
// timeline events, tenants and API keys, connections, change-feed cursors and
// inbound webhook dedupe.
//
// One implementation serves PostgreSQL (production) and SQLite (`ticketsync
// dev`, tests): queries are written once with `?` placeholders and rebound by
// sqlx, and the schema (package migrations) uses only portable types. Every
// time is written in UTC truncated to microseconds, because PostgreSQL keeps
// microseconds and drops the offset of a TIMESTAMP, while SQLite stores times
// as text that must compare in time order.
//
// Temporal activities may be retried and replayed, so writes are idempotent:
// creates are insert-or-return-existing, events are insert-or-ignore by id,
// ticket state never moves backwards (it is ordered by the workflow's version).
//
// Every method that takes a tenant refuses an empty one (ErrInvalid): a
// forgotten tenant must never widen a query to every tenant's rows. Reads
// across tenants are separate, explicitly named methods (GetTicketAnyTenant,
// ListAllConnections, TicketFilter.AllTenants, ListAllDisabledEndpoints).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"

	"github.com/ticketsync/ticketsync/migrations"
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

var (
	// ErrNotFound is returned (wrapped) when the requested row does not exist,
	// or belongs to another tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned (wrapped) when a write would violate a uniqueness
	// rule in a way that is not an idempotent replay, e.g. a ticket id reused
	// for another (connection, external id), or an API key of another tenant.
	ErrConflict = errors.New("conflict")
	// ErrInvalid is returned (wrapped) for invalid arguments (empty ids, …).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable is what Ping returns when the database does not answer.
	// Its text is safe to show to anyone (/readyz): driver errors can name
	// hosts, users and schemas, so those are logged instead.
	ErrUnavailable = errors.New("database unreachable")
)

// sqlitePragmas are applied by modernc.org/sqlite on every new connection
// (pool connections are opened lazily, so a one-off PRAGMA would not stick).
// WAL lets readers run during a write; busy_timeout makes writers queue
// instead of failing with SQLITE_BUSY; foreign keys are off by default in
// SQLite; synchronous=NORMAL is durable enough with WAL and much faster.
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"foreign_keys(1)",
	"synchronous(NORMAL)",
}

// Store is the repository over one database. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect string
	now     func() time.Time
	logger  *slog.Logger
}

// Open connects to databaseURL and checks the connection. Accepted forms:
//
//	postgres://user@host:5432/db?sslmode=disable (or postgresql://)
//	sqlite:///abs/path/ts.db   absolute path
//	sqlite://./ts.db           relative path (to the working directory)
//	sqlite://:memory:          in-memory database (one connection, lost on Close)
//
// The parent directory of a SQLite file is created if missing. Extra query
// parameters of a sqlite URL are passed to the driver after ours.
// Open does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	scheme, _, ok := strings.Cut(databaseURL, "://")
	if !ok {
		return nil, fmt.Errorf("store: open: %w: database URL %q has no scheme; use postgres://…, sqlite:///abs/path.db, sqlite://./rel.db or sqlite://:memory: (in memory)", ErrInvalid, redact(databaseURL))
	}
	var (
		s   *Store
		err error
	)
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		s, err = openPostgres(databaseURL)
	case "sqlite":
		s, err = openSQLite(databaseURL)
	default:
		return nil, fmt.Errorf("store: open: %w: unsupported database URL scheme %q; use postgres://…, postgresql://…, sqlite:///abs/path.db, sqlite://./rel.db or sqlite://:memory: (in memory)", ErrInvalid, scheme)
	}
	if err != nil {
		return nil, err
	}
	// The raw error here helps the operator starting the process (a wrong
	// host, password or database name); it never reaches an HTTP client.
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", redact(databaseURL), err)
	}
	return s, nil
}

// postgresConns bounds a process's connections to PostgreSQL.
const postgresConns = 20

func openPostgres(databaseURL string) (*Store, error) {
	db, err := sqlx.Open("postgres", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", redact(databaseURL), err)
	}
	// As many idle connections as open ones: with fewer, every burst above the idle count
	// closes its extra connections on release and dials them again at once (a bench on
	// PostgreSQL created 3.6 tickets/s instead of 15, with half the CPU in the kernel).
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{db: db, dialect: DialectPostgres, now: time.Now}, nil
}

func openSQLite(databaseURL string) (*Store, error) {
	rest := databaseURL[len("sqlite://"):]
	path, extra, _ := strings.Cut(rest, "?")
	if path == "" {
		return nil, fmt.Errorf("store: open: %w: sqlite URL %q has no path; use sqlite:///abs/path.db, sqlite://./rel.db or sqlite://:memory: (in memory)", ErrInvalid, databaseURL)
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "." && dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: open %s: create directory: %w", databaseURL, err)
			}
		}
	}
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	// A fixed text format keeps TIMESTAMP values comparable as strings
	// (the driver default is time.String, which is not).
	q.Set("_time_format", "sqlite")
	// BEGIN IMMEDIATE: a transaction takes the write lock up front, so it
	// waits on busy_timeout instead of failing when upgrading a read lock.
	q.Set("_txlock", "immediate")
	dsn := path + "?" + q.Encode()
	if extra != "" {
		dsn += "&" + extra
	}
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", databaseURL, err)
	}
	if memory {
		// Every connection to ":memory:" is a separate database: keep one
		// forever so the whole process sees the same data.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	} else {
		// SQLite has one writer at a time anyway; a few connections let
		// readers proceed alongside it under WAL.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	}
	// "sqlite3" only selects sqlx's bind type (`?`); the driver is modernc's "sqlite".
	return &Store{db: sqlx.NewDb(sqlDB, "sqlite3"), dialect: DialectSQLite, now: time.Now}, nil
}

// Dialect reports the backend: DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }

// DB exposes the underlying handle for diagnostics and tests; prefer methods.
func (s *Store) DB() *sqlx.DB { return s.db }

// SetLogger sets where the store logs what it does not return (the raw
// error behind ErrUnavailable). Default slog.Default(). Call it before use.
func (s *Store) SetLogger(l *slog.Logger) { s.logger = l }

func (s *Store) log() *slog.Logger {
	if s.logger != nil {
		return s.logger
	}
	return slog.Default()
}

// Ping checks that the database answers (used by /readyz). On failure it
// returns ErrUnavailable, whose text ("database unreachable") is safe to put
// in a response, and logs the driver's error, which may not be.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		s.log().Warn("database ping failed", "component", "database", "dialect", s.dialect, "error", err)
		return ErrUnavailable
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// migrateLockID is the PostgreSQL advisory lock taken while migrating. Our own
// id (not goose's default) so unrelated goose users of the same database
// never wait on us. It is "ticketsy" in ASCII.
const migrateLockID int64 = 0x7469636b65747379

// Migrate applies all pending migrations from package migrations. It is
// idempotent and safe to run from several processes at start: on PostgreSQL
// a session advisory lock serialises the migrators; on SQLite (one host,
// dev use) a migrator that loses the race simply retries, finding nothing left
// to do.
func (s *Store) Migrate(ctx context.Context) error {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	gooseDialect := goose.DialectSQLite3
	if s.dialect == DialectPostgres {
		gooseDialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(migrateLockID),
			lock.WithLockTimeout(1, 300),  // probe every 1s for up to 5 min
			lock.WithUnlockTimeout(1, 60), // release within a minute
		)
		if err != nil {
			return fmt.Errorf("store: migrate: locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(gooseDialect, s.db.DB, migrations.FS, opts...)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	attempts := 1
	if s.dialect == DialectSQLite {
		attempts = 5
	}
	for i := 1; ; i++ {
		_, err = provider.Up(ctx)
		if err == nil {
			return nil
		}
		if i >= attempts || ctx.Err() != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: migrate: %w", ctx.Err())
		case <-time.After(time.Duration(i) * 200 * time.Millisecond):
		}
	}
}

// q rebinds a `?` query for the backend.
func (s *Store) q(query string) string { return s.db.Rebind(query) }

// ts normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so values round-trip identically on both backends.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsPtr is ts for optional times; a nil or zero time is stored as NULL.
func tsPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := ts(*t)
	return &v
}

// nowTS is the current time, normalised.
func (s *Store) nowTS() time.Time { return ts(s.now()) }

// fromNull converts a scanned nullable time to the API form (UTC or nil).
func fromNull(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// isUniqueViolation reports whether err is a unique / primary key violation.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		// SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_CONSTRAINT_PRIMARYKEY (1555).
		return sqliteErr.Code() == 2067 || sqliteErr.Code() == 1555
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign key violation
// (a referenced tenant, connection or ticket does not exist).
func isForeignKeyViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23503"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == 787 // SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// notFound wraps sql.ErrNoRows as ErrNotFound and passes other errors through.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// required returns an ErrInvalid error naming the first empty value.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return fmt.Errorf("%w: %s is required", ErrInvalid, pairs[i])
		}
	}
	return nil
}

// requireTenant refuses an empty tenant: in a WHERE clause it would mean
// "every tenant", which no caller may get by forgetting an argument.
func requireTenant(tenant string) error {
	if strings.TrimSpace(tenant) == "" {
		return fmt.Errorf("%w: tenant is required", ErrInvalid)
	}
	return nil
}

// redact hides the password of a database URL in error messages.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
