package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/devstack/temporalserver"
	"github.com/ticketsync/ticketsync/metrics"
)

var (
	activityAttempts atomic.Int32
	taskAttempts     atomic.Int32
)

func flakyActivity(ctx context.Context) (string, error) {
	if activityAttempts.Add(1) == 1 {
		return "", errors.New("first attempt fails")
	}
	return "ok", nil
}

// sdkWorkflow fails its first workflow task (as a non-deterministic deploy would) and runs an
// activity that fails once: every SDKNames family then has a sample.
func sdkWorkflow(ctx workflow.Context) (string, error) {
	if taskAttempts.Add(1) == 1 {
		panic("first workflow task fails")
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond}})
	var s string
	err := workflow.ExecuteActivity(ctx, flakyActivity).Get(ctx, &s)
	return s, err
}

func TestSDKMetricsOnRegistry(t *testing.T) {
	activityAttempts.Store(0)
	taskAttempts.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{Ephemeral: true, NoUI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	reg := prometheus.NewRegistry()
	if metrics.SDKHandler(reg) != metrics.SDKHandler(reg) {
		t.Fatal("two handlers for one registry would register every metric twice")
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddr(), MetricsHandler: metrics.SDKHandler(reg),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}) // the failures below are deliberate
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "metrics-tq", worker.Options{})
	w.RegisterWorkflow(sdkWorkflow)
	w.RegisterActivity(flakyActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	began := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("m-%d", time.Now().UnixNano()), TaskQueue: "metrics-tq"}, sdkWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("workflow took %v", time.Since(began))
	var nf *serviceerror.NotFound
	if _, err := c.DescribeWorkflowExecution(ctx, "no-such-workflow", ""); !errors.As(err, &nf) {
		t.Fatalf("describe a missing workflow: %v", err) // a failed request, for temporal_request_failure_total
	}

	// tally reports every second.
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got := gatheredNames(t, reg)
		missing = slices.DeleteFunc(metrics.SDKNames(), func(n string) bool { return got[n] })
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Fatalf("SDK metrics not exported: %v (exported: %v)", missing, gatheredNames(t, reg))
	}
	for n := range gatheredNames(t, reg) {
		if len(n) > 14 && n[:14] == "tally_internal" {
			t.Errorf("tally's own metric %s is exported", n)
		}
	}
}

func gatheredNames(t *testing.T, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}
