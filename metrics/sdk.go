package metrics

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// sdkReportInterval is how often tally hands the SDK's metrics to the Prometheus collectors;
// a scrape sees values at most this old.
const sdkReportInterval = time.Second

// sdkLatencyBuckets (seconds) cover the SDK's timers: RPCs and task execution in milliseconds,
// schedule-to-start under load in seconds, long polls up to a minute.
var sdkLatencyBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

var (
	sdkMu       sync.Mutex
	sdkHandlers = map[prometheus.Registerer]client.MetricsHandler{}
)

// SDKHandler is a Temporal SDK metrics handler (client.Options.MetricsHandler) that exports the
// SDK's metrics (temporal_request_total, temporal_workflow_task_schedule_to_start_latency_seconds,
// temporal_activity_execution_failed_total, …) on reg, through the SDK's tally bridge with
// Prometheus naming: counters end in _total, timers are histograms ending in _seconds.
//
// Every client of a process given the same reg shares one handler: two would register the same
// metric names twice.
func SDKHandler(reg prometheus.Registerer) client.MetricsHandler {
	sdkMu.Lock()
	defer sdkMu.Unlock()
	if h, ok := sdkHandlers[reg]; ok {
		return h
	}
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: sdkLatencyBuckets,
		OnRegisterError: func(err error) {
			// The default panics; a metric we cannot export must not take the worker down.
			slog.Default().Warn("temporal SDK metric not exported", "error", err)
		},
	})
	scope, _ := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
		// tally's own tally_internal_* gauges say nothing to an operator.
		OmitCardinalityMetrics: true,
	}, sdkReportInterval)
	h := sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))
	sdkHandlers[reg] = h
	return h
}

// SDKNames lists the SDK metric families, as SDKHandler exports them, that the dashboard and
// docs/operations.md use. A test runs a worker against a Temporal server and checks each is
// exported, so an SDK upgrade that renames one fails there and not on an operator's screen.
func SDKNames() []string {
	return []string{
		"temporal_request_total",                                   // client and worker RPCs by operation
		"temporal_request_failure_total",                           // … that failed, by status_code
		"temporal_request_latency_seconds",                         // their latency
		"temporal_workflow_task_schedule_to_start_latency_seconds", // workflow task backlog: too few workers
		"temporal_workflow_task_execution_latency_seconds",
		"temporal_workflow_task_execution_failed_total",       // e.g. non-determinism after a bad deploy
		"temporal_activity_schedule_to_start_latency_seconds", // activity backlog
		"temporal_activity_execution_latency_seconds",
		"temporal_activity_execution_failed_total", // attempts that failed (retried per policy)
		"temporal_workflow_completed_total",
		"temporal_worker_task_slots_available",
		"temporal_worker_task_slots_used",
		"temporal_num_pollers",
		"temporal_sticky_cache_size",
	}
}
