package temporalserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/devstack/temporalserver"
)

// testLogger sends slog output to t.Log until the test's cleanups run; the
// server may still log from background goroutines after that.
func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs last
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Helper()
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

func start(t *testing.T, opts temporalserver.Options) *temporalserver.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t, slog.LevelDebug)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	s, err := temporalserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (frontend %s, ui %q)", time.Since(began), s.FrontendAddr(), s.UIURL())
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *temporalserver.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddr(),
		Namespace: "default",
		Logger:    sdklog.NewStructuredLogger(testLogger(t, slog.LevelWarn)),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddr(), err)
	}
	return c
}

func helloWorkflow(_ workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

func waitSignalWorkflow(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return "got " + v, nil
}

func TestEphemeral(t *testing.T) {
	const retention = 72 * time.Hour
	s := start(t, temporalserver.Options{
		Ephemeral: true,
		Retention: retention,
		SearchAttributes: map[string]enums.IndexedValueType{
			"TicketStatus":   enums.INDEXED_VALUE_TYPE_KEYWORD,
			"TicketPriority": enums.INDEXED_VALUE_TYPE_INT,
		},
	})
	if !strings.HasPrefix(s.FrontendAddr(), "127.0.0.1:") || !strings.HasPrefix(s.UIURL(), "http://127.0.0.1:") {
		t.Fatalf("addresses: frontend %q ui %q", s.FrontendAddr(), s.UIURL())
	}
	c := dial(t, s)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != retention {
		t.Errorf("retention = %v, want %v", got, retention)
	}

	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for name, want := range map[string]enums.IndexedValueType{
		"TicketStatus":   enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TicketPriority": enums.INDEXED_VALUE_TYPE_INT,
	} {
		if got, ok := sas.GetCustomAttributes()[name]; !ok || got != want {
			t.Errorf("search attribute %s = %v (present %v), want %v", name, got, ok, want)
		}
	}

	w := worker.New(c, "hello-tq", worker.Options{})
	w.RegisterWorkflow(helloWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()

	wfID := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        wfID,
		TaskQueue: "hello-tq",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword("TicketStatus").ValueSet("open"),
			temporal.NewSearchAttributeKeyInt64("TicketPriority").ValueSet(2),
		),
	}, helloWorkflow, "ticketsync")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if result != "hello ticketsync" {
		t.Fatalf("result = %q", result)
	}

	// Temporal Web: the SPA shell and the HTTP API in front of the frontend.
	body, ctype := httpGet(t, ctx, s.UIURL()+"/")
	if !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("GET / (%s) is not HTML: %.200q", ctype, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, ctype = httpGet(t, ctx, s.UIURL()+"/api/v1/namespaces/default/workflows")
		if strings.Contains(ctype, "json") && strings.Contains(body, wfID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow list (%s) never showed %s: %.500q", ctype, wfID, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(t *testing.T, ctx context.Context, url string) (body, contentType string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %.300q", url, resp.Status, b)
	}
	return string(b), resp.Header.Get("Content-Type")
}

func TestFileRestartResumes(t *testing.T) {
	dir := t.TempDir()
	sa := map[string]enums.IndexedValueType{"TicketStatus": enums.INDEXED_VALUE_TYPE_KEYWORD}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s1 := start(t, temporalserver.Options{DataDir: dir, NoUI: true, Retention: 48 * time.Hour, SearchAttributes: sa})
	if s1.UIURL() != "" {
		t.Errorf("UIURL with NoUI = %q", s1.UIURL())
	}
	c1 := dial(t, s1)
	wfID := fmt.Sprintf("wait-%d", time.Now().UnixNano())
	if _, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: "restart-tq"}, "WaitSignal"); err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	c1.Close()
	if err := s1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s1.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, temporalserver.DBFileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}

	// Same directory again, with a different retention: data survives,
	// retention is reconciled, search attributes are accepted again.
	s2 := start(t, temporalserver.Options{DataDir: dir, NoUI: true, Retention: 96 * time.Hour, SearchAttributes: sa})
	c2 := dial(t, s2)
	defer c2.Close()
	desc, err := c2.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 96*time.Hour {
		t.Errorf("retention after restart = %v, want 96h", got)
	}

	w := worker.New(c2, "restart-tq", worker.Options{})
	w.RegisterWorkflowWithOptions(waitSignalWorkflow, workflow.RegisterOptions{Name: "WaitSignal"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()
	if err := c2.SignalWorkflow(ctx, wfID, "", "go", "resumed"); err != nil {
		t.Fatalf("SignalWorkflow after restart: %v", err)
	}
	var result string
	if err := c2.GetWorkflow(ctx, wfID, "").Get(ctx, &result); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if result != "got resumed" {
		t.Fatalf("result = %q", result)
	}
}

// TestFileRestartAcrossProcesses is the `ticketsync dev` restart: a child
// process starts a workflow and exits, then this process resumes it. Unlike an
// in-process restart, the SQLite connection pool cannot carry state over.
func TestFileRestartAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	wfID := fmt.Sprintf("xproc-%d", time.Now().UnixNano())
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartWaitingWorkflow$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TEMPORALSERVER_HELPER_DIR="+dir, "TEMPORALSERVER_HELPER_WFID="+wfID)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}

	s := start(t, temporalserver.Options{DataDir: dir, NoUI: true})
	c := dial(t, s)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := worker.New(c, "xproc-tq", worker.Options{})
	w.RegisterWorkflowWithOptions(waitSignalWorkflow, workflow.RegisterOptions{Name: "WaitSignal"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, wfID, "", "go", "across processes"); err != nil {
		t.Fatalf("SignalWorkflow: %v", err)
	}
	var result string
	if err := c.GetWorkflow(ctx, wfID, "").Get(ctx, &result); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if result != "got across processes" {
		t.Fatalf("result = %q", result)
	}
}

// TestHelperStartWaitingWorkflow is the child half of
// TestFileRestartAcrossProcesses; it does nothing when run directly.
func TestHelperStartWaitingWorkflow(t *testing.T) {
	dir, wfID := os.Getenv("TEMPORALSERVER_HELPER_DIR"), os.Getenv("TEMPORALSERVER_HELPER_WFID")
	if dir == "" || wfID == "" {
		t.Skip("helper process only")
	}
	s := start(t, temporalserver.Options{DataDir: dir, NoUI: true})
	c := dial(t, s)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: "xproc-tq"}, "WaitSignal"); err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name string
		opts temporalserver.Options
		what string
	}{
		{"frontend", temporalserver.Options{Ephemeral: true, FrontendPort: busy, NoUI: true}, "frontend"},
		{"ui", temporalserver.Options{Ephemeral: true, UIPort: busy}, "UI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = testLogger(t, slog.LevelDebug)
			began := time.Now()
			s, err := temporalserver.Start(context.Background(), tc.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatal("Start succeeded on a busy port")
			}
			var pie *temporalserver.PortInUseError
			if !errors.As(err, &pie) {
				t.Fatalf("error %v (%T) is not a PortInUseError", err, err)
			}
			if pie.Port != busy || !strings.Contains(pie.What, tc.what) {
				t.Errorf("PortInUseError = %+v, want port %d for %s", *pie, busy, tc.what)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(busy)) {
				t.Errorf("message %q does not name the port", err)
			}
			if d := time.Since(began); d > time.Second {
				t.Errorf("failing took %v", d)
			}
		})
	}
}
