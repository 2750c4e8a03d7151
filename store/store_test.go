package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenUnsupportedScheme(t *testing.T) {
	for _, u := range []string{"mysql://localhost/db", "ts.db", "file:ts.db", "sqlite://"} {
		_, err := Open(context.Background(), u)
		if err == nil {
			t.Fatalf("Open(%q): want error", u)
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "sqlite:///abs/path.db") {
			t.Errorf("Open(%q) error %q should be ErrInvalid and list the accepted forms", u, err)
		}
	}
}

func TestOpenPostgresSchemes(t *testing.T) {
	u := newPGSchemaURL(t)
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		s := openURL(t, scheme+strings.SplitN(u, "://", 2)[1])
		if s.Dialect() != DialectPostgres {
			t.Errorf("%s: Dialect = %q", scheme, s.Dialect())
		}
	}
	if _, err := Open(context.Background(), "postgres://postgres:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable server: err = %v (want an error without the password)", err)
	}
}

func TestOpenSQLitePaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// Absolute path with missing parent directories.
	abs := filepath.Join(dir, "a", "b", "ts.db")
	s := openURL(t, "sqlite://"+abs)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	if s.Dialect() != DialectSQLite {
		t.Errorf("Dialect = %q", s.Dialect())
	}

	// Relative path, relative to the working directory.
	t.Chdir(dir)
	rel := openURL(t, "sqlite://./rel/ts.db")
	if err := rel.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rel", "ts.db")); err != nil {
		t.Fatalf("relative database file not created: %v", err)
	}

	// In memory: one database shared by every call.
	mem := openURL(t, "sqlite://:memory:")
	if err := mem.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mem.UpsertTenant(ctx, Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mem.AddAPIKey(ctx, "t1", fmt.Sprintf("key-%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	if err := mem.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM api_keys`); err != nil || n != 5 {
		t.Fatalf("in-memory keys = %d, %v; want 5", n, err)
	}
}

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, "sqlite://"+filepath.Join(t.TempDir(), "ts.db"))
	// Hold several connections at once so the pool must open new ones.
	for i := 0; i < 3; i++ {
		c, err := s.DB().Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			if err := c.GetContext(ctx, &got, "PRAGMA "+pragma); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, databaseURL string) {
		ctx := context.Background()
		s := openURL(t, databaseURL)
		for i := 0; i < 2; i++ {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		var applied int
		if err := s.DB().GetContext(ctx, &applied, `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir("../migrations")
		if err != nil {
			t.Fatal(err)
		}
		files := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sql") {
				files++
			}
		}
		if applied != files {
			t.Errorf("applied migrations = %d, want %d (each exactly once)", applied, files)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Several processes may migrate at start: simulate with separate stores.
func TestMigrateConcurrent(t *testing.T) {
	forEachBackendURL(t, func(t *testing.T, databaseURL string) {
		ctx := context.Background()
		stores := make([]*Store, 3)
		for i := range stores {
			stores[i] = openURL(t, databaseURL)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(stores))
		for i, s := range stores {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.Migrate(ctx) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		}
		if err := stores[0].UpsertTenant(ctx, Tenant{ID: "t1"}); err != nil {
			t.Fatalf("schema unusable after concurrent migrate: %v", err)
		}
	})
}

func TestTenantsAndAPIKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		const key = "tsk_live_0123456789abcdefSECRET"
		if err := s.AddAPIKey(ctx, "t1", key); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAPIKey(ctx, "t1", key); err != nil {
			t.Fatalf("AddAPIKey is not idempotent: %v", err)
		}
		if err := s.AddAPIKey(ctx, "t2", key); !errors.Is(err, ErrConflict) {
			t.Errorf("same key for another tenant: err = %v, want ErrConflict", err)
		}
		if err := s.AddAPIKey(ctx, "nope", "other-key"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: err = %v, want ErrNotFound", err)
		}
		if err := s.AddAPIKey(ctx, "t1", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty key: err = %v, want ErrInvalid", err)
		}
		got, err := s.TenantByAPIKey(ctx, key)
		if err != nil || got != "t1" {
			t.Fatalf("TenantByAPIKey = %q, %v; want t1", got, err)
		}
		for _, k := range []string{"", "unknown", key + "x"} {
			if _, err := s.TenantByAPIKey(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Errorf("TenantByAPIKey(%q) err = %v, want ErrNotFound", k, err)
			}
		}
		// The plaintext appears nowhere in the table; the hash does.
		rows, err := s.DB().QueryxContext(ctx, `SELECT * FROM api_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		nrows, sawHash := 0, false
		for rows.Next() {
			nrows++
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				str := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					str = string(b)
				}
				if strings.Contains(str, key) || strings.Contains(strings.ToLower(str), strings.ToLower(key[:12])) {
					t.Errorf("api_keys contains the raw key: %q", str)
				}
				if str == HashAPIKey(key) {
					sawHash = true
				}
			}
		}
		if nrows != 1 || !sawHash {
			t.Errorf("api_keys rows = %d, hash stored = %v; want 1, true", nrows, sawHash)
		}
		if h := HashAPIKey("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
			t.Errorf("HashAPIKey(abc) = %s", h)
		}
		// Renaming a tenant is an upsert.
		if err := s.UpsertTenant(ctx, Tenant{ID: "t1", Name: "Renamed"}); err != nil {
			t.Fatal(err)
		}
		var name string
		if err := s.DB().GetContext(ctx, &name, s.q(`SELECT name FROM tenants WHERE id = ?`), "t1"); err != nil || name != "Renamed" {
			t.Errorf("tenant name = %q, %v", name, err)
		}
		if err := s.UpsertTenant(ctx, Tenant{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty tenant id: %v", err)
		}
	})
}

func TestConnections(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		c1, err := s.GetConnection(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if c1.Tenant != "t1" || c1.RequestKind != "portal" || c1.WorkKind != "theworxhub" || c1.Mapping != "theworxhub-v1" || c1.PollInterval != 15*time.Minute {
			t.Errorf("c1 = %+v", c1)
		}
		if c1.CreatedAt.IsZero() || c1.CreatedAt.Location() != time.UTC {
			t.Errorf("c1 CreatedAt = %v (want UTC, set)", c1.CreatedAt)
		}
		time.Sleep(2 * time.Millisecond)
		if err := s.UpsertConnection(ctx, Connection{ID: "c1", Tenant: "t1", RequestKind: "portal", WorkKind: "theworxhub", Mapping: "theworxhub-v2", PollInterval: 90 * time.Second}); err != nil {
			t.Fatal(err)
		}
		c1b, err := s.GetConnection(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if c1b.Mapping != "theworxhub-v2" || c1b.PollInterval != 90*time.Second || !c1b.CreatedAt.Equal(c1.CreatedAt) || !c1b.UpdatedAt.After(c1.UpdatedAt) {
			t.Errorf("after update: %+v (before %+v)", c1b, c1)
		}
		if err := s.UpsertConnection(ctx, Connection{ID: "c1", Tenant: "t2", RequestKind: "portal", WorkKind: "theworxhub"}); !errors.Is(err, ErrConflict) {
			t.Errorf("moving a connection to another tenant: err = %v, want ErrConflict", err)
		}
		if err := s.UpsertConnection(ctx, Connection{ID: "c9", Tenant: "nope", RequestKind: "portal", WorkKind: "theworxhub"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: err = %v, want ErrNotFound", err)
		}
		if err := s.UpsertConnection(ctx, Connection{ID: "", Tenant: "t1", RequestKind: "portal", WorkKind: "theworxhub"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty id: err = %v, want ErrInvalid", err)
		}
		if _, err := s.GetConnection(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetConnection(nope) err = %v", err)
		}
		ids := func(cs []Connection) string {
			var out []string
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return strings.Join(out, ",")
		}
		for tenant, want := range map[string]string{"t1": "c1,c3", "t2": "c2", "t3": ""} {
			cs, err := s.ListConnections(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(cs); got != want {
				t.Errorf("ListConnections(%q) = %s, want %s", tenant, got, want)
			}
		}
		if cs, err := s.ListAllConnections(ctx); err != nil || ids(cs) != "c1,c2,c3" {
			t.Errorf("ListAllConnections = %s, %v; want c1,c2,c3", ids(cs), err)
		}
	})
}

func TestCreateTicket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		in := Ticket{ID: "tk1", Connection: "c1", ExternalID: "ext-1", RequestHash: "h1", Request: json.RawMessage(`{"title":"Leaky tap"}`), MappingVersion: "theworxhub-v1"}
		got := mustCreate(t, s, in)
		if got.Tenant != "t1" || got.WorkflowID != "ticket/c1/ext-1" || got.Status != StatusSubmitted || string(got.Request) != `{"title":"Leaky tap"}` || got.MappingVersion != "theworxhub-v1" {
			t.Errorf("created = %+v", got)
		}
		if got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("timestamps: %v / %v", got.CreatedAt, got.UpdatedAt)
		}

		// Same (connection, external id) again: the existing row comes back.
		again, created, err := s.CreateTicket(ctx, Ticket{ID: "tk1-other", Tenant: "t1", Connection: "c1", ExternalID: "ext-1", RequestHash: "h2"})
		if err != nil || created {
			t.Fatalf("replay: created=%v err=%v", created, err)
		}
		if again.ID != "tk1" || again.RequestHash != "h1" {
			t.Errorf("replay returned %+v, want the existing ticket", again)
		}
		// The same external id on another connection is another ticket.
		mustCreate(t, s, Ticket{ID: "tk2", Connection: "c3", ExternalID: "ext-1"})

		// A ticket id reused for another pair is a conflict, not a silent no-op.
		if _, _, err := s.CreateTicket(ctx, Ticket{ID: "tk1", Tenant: "t1", Connection: "c1", ExternalID: "ext-2"}); !errors.Is(err, ErrConflict) {
			t.Errorf("id reuse: err = %v, want ErrConflict", err)
		}
		if _, _, err := s.CreateTicket(ctx, Ticket{ID: "tk3", Tenant: "t2", Connection: "c1", ExternalID: "ext-3"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("connection of another tenant: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.CreateTicket(ctx, Ticket{ID: "tk3", Connection: "c1", ExternalID: "ext-3"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("no tenant: err = %v, want ErrInvalid", err)
		}
		// A connection known only to the connections file works when the tenant is given.
		if tk := mustCreate(t, s, Ticket{ID: "tk4", Tenant: "t2", Connection: "file-only", ExternalID: "ext-4"}); tk.Tenant != "t2" {
			t.Errorf("unrecorded connection: tenant = %q", tk.Tenant)
		}
		for _, bad := range []Ticket{
			{Connection: "c1", ExternalID: "x"},
			{ID: "x", ExternalID: "x"},
			{ID: "x", Connection: "c1"},
		} {
			if _, _, err := s.CreateTicket(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateTicket(%+v) err = %v, want ErrInvalid", bad, err)
			}
		}
		if _, _, err := s.CreateTicket(ctx, Ticket{ID: "x", Tenant: "t1", Connection: "c1", ExternalID: "x", Request: json.RawMessage(`{`)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("invalid request JSON: err = %v, want ErrInvalid", err)
		}
		if _, err := s.GetTicketAnyTenant(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rejected creates left a row: %v", err)
		}
	})
}

func TestCreateTicketConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		const n = 20
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created int
			ids     = map[string]bool{}
		)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, ok, err := s.CreateTicket(ctx, Ticket{ID: fmt.Sprintf("race-%d", i), Tenant: "t1", Connection: "c1", ExternalID: "same", RequestHash: fmt.Sprint(i)})
				if err != nil {
					t.Errorf("create %d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					created++
				}
				ids[got.ID] = true
			}()
		}
		close(start)
		wg.Wait()
		if created != 1 || len(ids) != 1 {
			t.Errorf("created=%d distinct returned ids=%v; want exactly one", created, ids)
		}
		var count int
		if err := s.DB().GetContext(ctx, &count, s.q(`SELECT COUNT(*) FROM tickets WHERE connection_id = ? AND external_id = ?`), "c1", "same"); err != nil || count != 1 {
			t.Errorf("rows = %d, %v; want 1", count, err)
		}
	})
}

// A created request's id is recorded before the workflow's next read-model write (so the push
// about the create finds its ticket), never over one already recorded, and leaves the
// workflow's versioned state alone.
func TestRecordRemoteIDFillsOnlyAnEmptyRemoteID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		mustCreate(t, s, Ticket{ID: "a", Connection: "c1", ExternalID: "e1"})
		if err := s.UpdateTicketState(ctx, TicketState{ID: "a", Status: "Submitted", Version: 3}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordRemoteID(ctx, "a", "R-1"); err != nil {
			t.Fatal(err)
		}
		if tk, err := s.GetTicketByRemoteID(ctx, "c1", "R-1"); err != nil || tk.ID != "a" || tk.Status != "Submitted" || tk.Version != 3 {
			t.Fatalf("by remote id after the early record: %+v, %v", tk, err)
		}
		if err := s.RecordRemoteID(ctx, "a", "R-2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTicketByRemoteID(ctx, "c1", "R-2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a recorded remote id was replaced: %v", err)
		}
		if err := s.RecordRemoteID(ctx, "a", ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an empty remote id: %v", err)
		}
	})
}

func TestGetTicketLookupsAndTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		mustCreate(t, s, Ticket{ID: "a", Connection: "c1", ExternalID: "e1", RemoteID: "R-1"})
		mustCreate(t, s, Ticket{ID: "b", Connection: "c2", ExternalID: "e1"})

		if tk, err := s.GetTicket(ctx, "t1", "a"); err != nil || tk.ID != "a" {
			t.Errorf("own ticket: %+v, %v", tk, err)
		}
		if tk, err := s.GetTicketAnyTenant(ctx, "b"); err != nil || tk.Tenant != "t2" {
			t.Errorf("any tenant: %+v, %v", tk, err)
		}
		if _, err := s.GetTicket(ctx, "t1", "b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("other tenant's ticket: err = %v, want ErrNotFound", err)
		}
		if _, err := s.GetTicket(ctx, "t1", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty id: err = %v, want ErrInvalid", err)
		}
		if tk, err := s.GetTicketByExternalID(ctx, "c2", "e1"); err != nil || tk.ID != "b" {
			t.Errorf("by external id: %+v, %v", tk, err)
		}
		if _, err := s.GetTicketByExternalID(ctx, "c3", "e1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("by external id on other connection: %v", err)
		}
		if tk, err := s.GetTicketByRemoteID(ctx, "c1", "R-1"); err != nil || tk.ID != "a" {
			t.Errorf("by remote id: %+v, %v", tk, err)
		}
		if _, err := s.GetTicketByRemoteID(ctx, "c2", "R-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("by remote id on other connection: %v", err)
		}
		if _, err := s.GetTicketByRemoteID(ctx, "c1", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty remote id: %v", err)
		}

		items, _, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1"})
		if err != nil || len(items) != 1 || items[0].ID != "a" {
			t.Errorf("ListTickets(t1) = %v, %v", items, err)
		}
		items, _, err = s.ListTickets(ctx, TicketFilter{Tenant: "t1", Connection: "c2"})
		if err != nil || len(items) != 0 {
			t.Errorf("ListTickets(t1, other tenant's connection) = %v, %v; want none", items, err)
		}
		items, _, err = s.ListTickets(ctx, TicketFilter{AllTenants: true})
		if err != nil || len(items) != 2 {
			t.Errorf("ListTickets(all) = %d items, %v", len(items), err)
		}
	})
}

func TestListTicketsPagination(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := 0; i < 23; i++ {
			// Groups of three share created_at, so the id tie-breaker matters;
			// ids are created in an order different from their sort order.
			id := fmt.Sprintf("tk-%02d", (i*7)%23)
			created := base.Add(time.Duration(i/3) * time.Second).Add(123456 * time.Nanosecond)
			attention := i%4 == 0
			mustCreate(t, s, Ticket{ID: id, Connection: "c1", ExternalID: id, CreatedAt: created, NeedsAttention: attention, Status: map[bool]string{true: "Requested", false: "Done"}[i%2 == 0]})
		}
		mustCreate(t, s, Ticket{ID: "other-tenant", Connection: "c2", ExternalID: "x", CreatedAt: base})

		all, next, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", Limit: 500})
		if err != nil || next != "" || len(all) != 23 {
			t.Fatalf("single page: %d items, next %q, %v", len(all), next, err)
		}
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			if a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID >= b.ID) {
				t.Fatalf("not ordered by (created_at, id) at %d: %s@%v then %s@%v", i, a.ID, a.CreatedAt, b.ID, b.CreatedAt)
			}
		}

		var (
			paged  []string
			cursor string
			pages  int
		)
		for {
			items, nextCursor, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", Limit: 5, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(items) > 5 {
				t.Fatalf("page of %d > limit", len(items))
			}
			for _, it := range items {
				paged = append(paged, it.ID)
			}
			if nextCursor == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not terminate")
			}
			cursor = nextCursor
		}
		if pages != 5 {
			t.Errorf("pages = %d, want 5", pages)
		}
		var allIDs []string
		for _, it := range all {
			allIDs = append(allIDs, it.ID)
		}
		if strings.Join(paged, ",") != strings.Join(allIDs, ",") {
			t.Errorf("paged = %v\nwant    %v", paged, allIDs)
		}

		// Filters combine with pagination.
		yes := true
		att, _, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", NeedsAttention: &yes})
		if err != nil || len(att) != 6 {
			t.Errorf("needsAttention filter: %d items, %v; want 6", len(att), err)
		}
		done, _, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", Connection: "c1", Status: "Done"})
		if err != nil || len(done) != 11 {
			t.Errorf("status filter: %d items, %v; want 11", len(done), err)
		}

		// Default limit.
		for i := 0; i < 30; i++ {
			mustCreate(t, s, Ticket{ID: fmt.Sprintf("more-%02d", i), Connection: "c3", ExternalID: fmt.Sprint(i)})
		}
		page, next, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1"})
		if err != nil || len(page) != DefaultPageSize || next == "" {
			t.Errorf("default page: %d items, next %q, %v", len(page), next, err)
		}

		for _, bad := range []string{"!!!", "abc", base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`)), base64.RawURLEncoding.EncodeToString([]byte(`[]`))} {
			if _, _, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", Cursor: bad}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("cursor %q: err = %v, want ErrBadCursor", bad, err)
			}
		}
	})
}

func TestUpdateTicketStateNeverGoesBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		t0 := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
		mustCreate(t, s, Ticket{ID: "tk", Connection: "c1", ExternalID: "e", CreatedAt: t0})

		since := t0.Add(time.Minute)
		newer := TicketState{ID: "tk", Status: "OnHold", RemoteID: "R9", RemoteStatus: "Weird", Category: "Plumbing",
			NeedsAttention: true, AttentionReason: "unknown remote status Weird", AttentionSince: &since,
			Paused: true, PausedReason: "resident away", PausedSince: &since, UpdatedAt: t0.Add(2 * time.Minute)}
		if err := s.UpdateTicketState(ctx, newer); err != nil {
			t.Fatal(err)
		}
		older := TicketState{ID: "tk", Status: "Requested", RemoteID: "R9", RemoteStatus: "Pending", UpdatedAt: t0.Add(time.Minute)}
		if err := s.UpdateTicketState(ctx, older); err != nil {
			t.Fatalf("stale update should be ignored silently: %v", err)
		}
		got, err := s.GetTicket(ctx, "t1", "tk")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "OnHold" || got.RemoteStatus != "Weird" || got.Category != "Plumbing" || !got.NeedsAttention ||
			got.AttentionReason != "unknown remote status Weird" || got.AttentionSince == nil || !got.AttentionSince.Equal(since) ||
			!got.Paused || got.PausedSince == nil || !got.UpdatedAt.Equal(newer.UpdatedAt) {
			t.Errorf("after stale write: %+v", got)
		}
		// Same timestamp again (activity retry) is applied: idempotent.
		if err := s.UpdateTicketState(ctx, newer); err != nil {
			t.Fatal(err)
		}
		// A newer state clears attention and pause.
		final := TicketState{ID: "tk", Status: "Done", RemoteID: "R9", RemoteStatus: "Completed", UpdatedAt: t0.Add(3 * time.Minute)}
		if err := s.UpdateTicketState(ctx, final); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetTicketAnyTenant(ctx, "tk")
		if got.Status != "Done" || got.NeedsAttention || got.AttentionSince != nil || got.Paused || got.PausedSince != nil || got.PausedReason != "" {
			t.Errorf("after final write: %+v", got)
		}
		if !got.CreatedAt.Equal(t0) {
			t.Errorf("created_at changed: %v", got.CreatedAt)
		}
		if err := s.UpdateTicketState(ctx, TicketState{ID: "nope", Status: "Done", UpdatedAt: t0}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ticket: err = %v, want ErrNotFound", err)
		}
		if err := s.UpdateTicketState(ctx, TicketState{Status: "Done"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty id: err = %v, want ErrInvalid", err)
		}
	})
}

func TestTimesRoundTripInUTC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		loc := time.FixedZone("UTC-7", -7*3600)
		created := time.Date(2025, 1, 2, 3, 4, 5, 678901234, loc)
		since := time.Date(2025, 1, 2, 23, 30, 0, 999, loc) // crosses midnight in UTC
		mustCreate(t, s, Ticket{ID: "tk", Connection: "c1", ExternalID: "e", CreatedAt: created, NeedsAttention: true, AttentionSince: &since})
		got, err := s.GetTicketAnyTenant(ctx, "tk")
		if err != nil {
			t.Fatal(err)
		}
		wantCreated := created.UTC().Truncate(time.Microsecond)
		if got.CreatedAt != wantCreated {
			t.Errorf("CreatedAt = %v (%s), want %v", got.CreatedAt, got.CreatedAt.Location(), wantCreated)
		}
		if got.AttentionSince == nil || *got.AttentionSince != since.UTC().Truncate(time.Microsecond) {
			t.Errorf("AttentionSince = %v, want %v", got.AttentionSince, since.UTC())
		}
		if got.AttentionSince.Day() != 3 {
			t.Errorf("AttentionSince not stored as UTC: %v", got.AttentionSince)
		}
		// Comparisons in SQL use the same normalisation (stale check).
		if err := s.UpdateTicketState(ctx, TicketState{ID: "tk", Status: "Requested", UpdatedAt: created.Add(500 * time.Nanosecond)}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetTicketAnyTenant(ctx, "tk")
		if got.Status != "Requested" {
			t.Errorf("an update within the same microsecond should apply (got %s)", got.Status)
		}
	})
}

func TestEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		mustCreate(t, s, Ticket{ID: "tk", Connection: "c1", ExternalID: "e"})
		at := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		evs := []Event{
			{ID: "ticket/c1/e#3", TicketID: "tk", Seq: 3, Type: "ticket.closed", Payload: json.RawMessage(`{"status":"Done"}`), OccurredAt: at.Add(2 * time.Second), Deliver: true},
			{ID: "ticket/c1/e#1", TicketID: "tk", Seq: 1, Type: "ticket.status_changed", Payload: json.RawMessage(`{"status":"Requested","previousStatus":null}`), OccurredAt: at, Deliver: true},
			{ID: "ticket/c1/e#2", TicketID: "tk", Seq: 2, Type: "ticket.polled", OccurredAt: at.Add(time.Second)},
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		// A replay (even with different content) never duplicates or overwrites.
		replay := append([]Event(nil), evs...)
		replay[0].Payload = json.RawMessage(`{"status":"Canceled"}`)
		if err := s.AppendEvents(ctx, replay); err != nil {
			t.Fatalf("replay: %v", err)
		}
		list, err := s.ListEvents(ctx, "tk")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("events = %d, want 3", len(list))
		}
		for i, e := range list {
			if e.Seq != int64(i+1) {
				t.Errorf("event %d has seq %d: not ordered", i, e.Seq)
			}
		}
		if string(list[2].Payload) != `{"status":"Done"}` || list[2].DeliveryState != DeliveryPending || list[1].DeliveryState != DeliveryLocal || list[1].Deliver {
			t.Errorf("stored events: %+v", list)
		}
		if string(list[1].Payload) != `{}` || !list[0].OccurredAt.Equal(at) || list[0].OccurredAt.Location() != time.UTC {
			t.Errorf("defaults/times: %+v", list[:2])
		}

		// Another event id at an existing seq is a bug: refused.
		if err := s.AppendEvents(ctx, []Event{{ID: "other", TicketID: "tk", Seq: 2, Type: "x"}}); !errors.Is(err, ErrConflict) {
			t.Errorf("seq clash: err = %v, want ErrConflict", err)
		}
		if err := s.AppendEvents(ctx, []Event{{ID: "e-x", TicketID: "nope", Seq: 1, Type: "x"}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ticket: err = %v, want ErrNotFound", err)
		}
		if err := s.AppendEvents(ctx, []Event{{ID: "", TicketID: "tk", Seq: 9, Type: "x"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty id: err = %v, want ErrInvalid", err)
		}
		if err := s.AppendEvents(ctx, []Event{{ID: "bad", TicketID: "tk", Seq: 9, Type: "x", DeliveryState: "sent"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad state: err = %v, want ErrInvalid", err)
		}
		// A failed batch leaves nothing behind (one transaction).
		if err := s.AppendEvents(ctx, []Event{{ID: "ok-4", TicketID: "tk", Seq: 4, Type: "x"}, {ID: "clash", TicketID: "tk", Seq: 1, Type: "x"}}); err == nil {
			t.Error("batch with a seq clash: want error")
		}
		if _, err := s.GetEvent(ctx, "ok-4"); !errors.Is(err, ErrNotFound) {
			t.Errorf("partial batch persisted: %v", err)
		}

		// Delivery bookkeeping.
		id := "ticket/c1/e#1"
		if err := s.MarkEventDelivery(ctx, id, DeliveryPending, 2, "503 from portal", at); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkEventDelivery(ctx, id, DeliveryPending, 1, "late retry report", at); err != nil {
			t.Fatal(err)
		}
		e, err := s.GetEvent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Attempts != 2 || e.DeliveryState != DeliveryPending || e.DeliveredAt != nil {
			t.Errorf("attempts must not decrease: %+v", e)
		}
		deliveredAt := at.Add(time.Minute)
		if err := s.MarkEventDelivery(ctx, id, DeliveryDelivered, 3, "", deliveredAt); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkEventDelivery(ctx, id, DeliveryAbandoned, 4, "stale failure", at.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		e, _ = s.GetEvent(ctx, id)
		if e.DeliveryState != DeliveryDelivered || e.Attempts != 4 || e.LastError != "" || e.DeliveredAt == nil || !e.DeliveredAt.Equal(deliveredAt) {
			t.Errorf("delivered must be final: %+v", e)
		}
		if err := s.MarkEventDelivery(ctx, "ticket/c1/e#3", DeliveryAbandoned, 10, strings.Repeat("é", 3000), at); err != nil {
			t.Fatalf("long error text: %v", err)
		}
		if e, _ := s.GetEvent(ctx, "ticket/c1/e#3"); e.DeliveryState != DeliveryAbandoned || len(e.LastError) > maxErrorLen+len("…") {
			t.Errorf("abandoned: state %s, error len %d", e.DeliveryState, len(e.LastError))
		}
		if err := s.MarkEventDelivery(ctx, "nope", DeliveryDelivered, 1, "", at); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown event: err = %v, want ErrNotFound", err)
		}
		if err := s.MarkEventDelivery(ctx, id, "sent", 1, "", at); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad state: err = %v, want ErrInvalid", err)
		}

		// Deleting the ticket (undo of a failed start) removes its events.
		if err := s.DeleteTicket(ctx, "tk"); err != nil {
			t.Fatal(err)
		}
		if list, err := s.ListEvents(ctx, "tk"); err != nil || len(list) != 0 {
			t.Errorf("events after delete: %d, %v", len(list), err)
		}
		if err := s.DeleteTicket(ctx, "tk"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestCursors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if v, err := s.GetCursor(ctx, "c1", "modifiedSince"); err != nil || v != "" {
			t.Fatalf("missing cursor = %q, %v", v, err)
		}
		for _, v := range []string{"2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"} {
			if err := s.SaveCursor(ctx, "c1", "modifiedSince", v); err != nil {
				t.Fatal(err)
			}
			if got, err := s.GetCursor(ctx, "c1", "modifiedSince"); err != nil || got != v {
				t.Errorf("cursor = %q, %v; want %q", got, err, v)
			}
		}
		if err := s.SaveCursor(ctx, "c1", "intake", "42"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetCursor(ctx, "c2", "modifiedSince"); got != "" {
			t.Errorf("cursor leaked across connections: %q", got)
		}
		if got, _ := s.GetCursor(ctx, "c1", "modifiedSince"); got != "2025-01-02T00:00:00Z" {
			t.Errorf("cursors of one connection interfere: %q", got)
		}
		if err := s.SaveCursor(ctx, "", "x", "1"); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty connection: %v", err)
		}
	})
}

func TestDeliveryDedupe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		recent := old.Add(48 * time.Hour)
		for _, tc := range []struct {
			source, id string
			at         time.Time
			first      bool
		}{
			{"theworxhub/c1", "d1", old, true},
			{"theworxhub/c1", "d1", recent, false},
			{"cyprexx/c2", "d1", old, true},
			{"theworxhub/c1", "d2", recent, true},
		} {
			first, err := s.RecordDelivery(ctx, tc.source, tc.id, tc.at)
			if err != nil || first != tc.first {
				t.Errorf("RecordDelivery(%s, %s) = %v, %v; want %v", tc.source, tc.id, first, err, tc.first)
			}
		}
		n, err := s.PruneDeliveries(ctx, old.Add(24*time.Hour))
		if err != nil || n != 2 {
			t.Errorf("PruneDeliveries = %d, %v; want 2", n, err)
		}
		if first, _ := s.RecordDelivery(ctx, "theworxhub/c1", "d1", recent); !first {
			t.Error("a pruned delivery id should be accepted again")
		}
		if first, _ := s.RecordDelivery(ctx, "theworxhub/c1", "d2", recent); first {
			t.Error("a recent delivery must survive pruning")
		}
		if _, err := s.RecordDelivery(ctx, "x", "", recent); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty delivery id: %v", err)
		}
	})
}
