package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver (--store postgres)
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/ticket"
)

// freshSchema creates an empty schema in the PostgreSQL database and returns a URL whose
// connections use it, and a function that drops it.
func freshSchema(ctx context.Context, databaseURL string) (string, func(), error) {
	db, err := sqlx.Open("postgres", databaseURL)
	if err != nil {
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	schema := "ts_bench_" + randHex(6)
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema %s in --database-url: %w", schema, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		db.Close()
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("--database-url: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Resources is what the process used: the whole embedded stack runs in it (Temporal server,
// worker, API), as `ticketsync dev` runs it, next to the bench's own simulators.
type Resources struct {
	RSSBytes     int64   `json:"rssBytes"`     // resident set now
	PeakRSSBytes int64   `json:"peakRssBytes"` // high-water mark (VmHWM)
	CPUSeconds   float64 `json:"cpuSeconds"`   // user + system since the process started
	// Where the RSS goes, at milestones: the Go heap in use, goroutine stacks, and what the Go
	// runtime did not allocate (SQLite's pages — Temporal's and the store's in-memory
	// databases — live in C-allocated memory).
	GoHeapBytes  int64 `json:"goHeapBytes,omitempty"`
	GoStackBytes int64 `json:"goStackBytes,omitempty"`
	NonGoBytes   int64 `json:"nonGoBytes,omitempty"`
	Goroutines   int   `json:"goroutines,omitempty"`
}

// milestone is sampleResources plus the Go runtime's view of memory (a brief stop-the-world).
func milestone() Resources {
	r := sampleResources()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.GoHeapBytes, r.GoStackBytes = int64(ms.HeapInuse), int64(ms.StackInuse)
	r.NonGoBytes = max(0, r.RSSBytes-int64(ms.Sys-ms.HeapReleased))
	r.Goroutines = runtime.NumGoroutine()
	return r
}

// sampleResources is this process's RSS and CPU.
func sampleResources() Resources { return procSample("self") }

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on Linux's every
// mainstream architecture (sysconf is out of reach without cgo).
const clockTicks = 100

// procSample reads /proc/<pid>/status (RSS, peak RSS) and /proc/<pid>/stat (user + system CPU).
func procSample(pid string) Resources {
	var r Resources
	dir := filepath.Join("/proc", pid)
	if data, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			f := strings.Fields(v)
			if !ok || len(f) == 0 {
				continue
			}
			n, _ := strconv.ParseInt(f[0], 10, 64)
			switch k {
			case "VmRSS":
				r.RSSBytes = n << 10
			case "VmHWM":
				r.PeakRSSBytes = n << 10
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		// The command name (field 2) may hold spaces: count from the closing parenthesis.
		if i := strings.LastIndexByte(string(data), ')'); i > 0 {
			f := strings.Fields(string(data[i+1:]))
			if len(f) > 12 { // state is field 3, utime 14, stime 15
				ut, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				r.CPUSeconds = (ut + st) / clockTicks
			}
		}
	}
	return r
}

// storeBytes is the size of the ticketsync store: SQLite's pages, or PostgreSQL's tables in
// the run's schema.
func (e *env) storeBytes(ctx context.Context) (int64, error) {
	db := e.stack.App.Store.DB()
	if e.opts.Store == "postgres" {
		var n int64
		err := db.GetContext(ctx, &n, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
			FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relkind = 'r'`)
		return n, err
	}
	var pages, size int64
	if err := db.GetContext(ctx, &pages, `PRAGMA page_count`); err != nil {
		return 0, err
	}
	if err := db.GetContext(ctx, &size, `PRAGMA page_size`); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// historyLength is the length of a workflow's current run and that run's id.
func historyLength(ctx context.Context, c client.Client, workflowID string) (int64, string, error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return 0, "", err
	}
	info := d.GetWorkflowExecutionInfo()
	return info.GetHistoryLength(), info.GetExecution().GetRunId(), nil
}

// followerProgress is what the connection's change-feed follower last heartbeated: reads,
// pokes, its current interval, sweeps and tickets woken (zero when none is running).
func (e *env) followerProgress(ctx context.Context) (activities.FeedProgress, error) {
	var p activities.FeedProgress
	d, err := e.stack.App.Temporal.DescribeWorkflowExecution(ctx, ticket.ConnectionSyncWorkflowID(Connection), "")
	if err != nil {
		return p, err
	}
	dc := converter.GetDefaultDataConverter()
	if keys := e.stack.App.Codec.Keys; keys.Len() > 0 {
		dc = codec.NewDataConverter(keys)
	}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetHeartbeatDetails() != nil {
			return p, dc.FromPayloads(pa.GetHeartbeatDetails(), &p)
		}
	}
	return p, nil
}

// feedLag measures how far the change-feed follower's saved watermark is behind TheWorxHub's
// feed (nil, with a note, when it cannot be read).
func (rn *runner) feedLag(ctx context.Context) *FeedLag {
	if !rn.o.Feed {
		return nil
	}
	saved, err := rn.e.stack.App.Store.GetCursor(ctx, Connection, engine.FeedWatermarkCursor)
	if err != nil {
		rn.note("feed watermark not read: %v", err)
		return nil
	}
	var mark time.Time
	if saved != "" {
		if mark, err = time.Parse(time.RFC3339Nano, saved); err != nil {
			rn.note("feed watermark %q not read: %v", saved, err)
			return nil
		}
	}
	lag := &FeedLag{}
	for _, wr := range rn.e.twh.Requests() {
		if wr.ModifiedAt.After(mark) {
			lag.Backlog++
			lag.BehindSeconds = max(lag.BehindSeconds, wr.ModifiedAt.Sub(mark).Seconds())
		}
	}
	return lag
}
