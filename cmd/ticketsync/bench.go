package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/bench"
)

// newBenchCmd is `ticketsync bench`: the whole stack in memory against its own simulators,
// with the naive-poller and bare-Temporal baselines in the same run (docs/performance.md).
func newBenchCmd() *cobra.Command {
	var o bench.Options
	var push, feed, phases, jsonPath, mdPath, cpuProfile, logLevel string
	var workerProcess bool
	c := &cobra.Command{
		Use:   "bench [--tickets N] [--duration D] [--json FILE] [--markdown FILE] …",
		Short: "Measure throughput, latency, vendor calls and history against the simulators",
		Long: `bench runs the embedded stack (Temporal, worker, API; store in memory) against a TheWorxHub
simulator and a portal receiver of its own. It creates --tickets tickets, plays TheWorxHub
staff changing statuses and adding feedback at --change-rate, and measures, phase by phase:
creation throughput next to a bare-Temporal ceiling (two no-op activities per workflow on the
same server and worker settings), notification latency from the simulator's change to the
portal's arrival for push, feed-only and timer-only, vendor calls per open ticket-day in a
quiet steady state (counted at the simulator, scaled from --poll-interval to
--real-poll-interval for per-ticket calls), Temporal history events per quiet ticket-day, RSS,
CPU and store size — each next to a naive cron poller on the same workload. With
--worker-process the worker runs apart, as production's ` + "`ticketsync worker`" + `, and the report
shows its own RSS and CPU.

A progress line goes to stderr, the Markdown summary to stdout; --json and --markdown write
them to files. See docs/performance.md for the method and this machine's figures.`,
		GroupID: "local",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Push, err = onOffFlag(cmd, "--push", push); err != nil {
				return err
			}
			if o.Feed, err = onOffFlag(cmd, "--feed", feed); err != nil {
				return err
			}
			if phases != "" {
				for _, p := range strings.Split(phases, ",") {
					o.Phases = append(o.Phases, strings.TrimSpace(p))
				}
			}
			if workerProcess {
				o.WorkerCommand = workerCommand
			}
			if o.Store == "postgres" && o.DatabaseURL == "" {
				o.DatabaseURL = os.Getenv("TICKETSYNC_DATABASE_URL")
			}
			o.Defaults()
			if err := o.Validate(); err != nil {
				return usagef(cmd, "%v", err)
			}
			stderr := cmd.ErrOrStderr()
			o.Progress = progressWriter(stderr)
			if logLevel != "" {
				o.Logger = app.NewLogger(logLevel, "text", stderr)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			rep, runErr := bench.Run(cmd.Context(), o)
			if rep == nil {
				return runErr
			}
			if err := writeReport(rep, jsonPath, mdPath); err != nil {
				return errors.Join(runErr, err)
			}
			fmt.Fprint(cmd.OutOrStdout(), rep.Markdown())
			if runErr != nil {
				return fmt.Errorf("bench stopped early (the report shows what was measured): %w", runErr)
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Tickets, "tickets", 1000, "open tickets to create")
	f.DurationVar(&o.Duration, "duration", 0, "length of each change phase (default 1m)")
	f.Float64Var(&o.ChangeRate, "change-rate", 2, "staff changes per second during the change phases")
	f.DurationVar(&o.PollInterval, "poll-interval", 0, "per-ticket poll interval the stack runs with (default 5s); the naive poller uses it too")
	f.DurationVar(&o.RealPollInterval, "real-poll-interval", 0, "the production poll interval --poll-interval stands for (default 15m): per-ticket figures are scaled by their ratio")
	f.DurationVar(&o.FeedInterval, "feed-interval", 0, "change feed base interval, real time (default 5s, as TICKETSYNC_FEED_INTERVAL)")
	f.DurationVar(&o.FeedWarmup, "feed-transition", 0, "changes before the feed-only phase is measured (default: the feed's longest stretch + 2 intervals + 5s)")
	f.DurationVar(&o.TimerWarmup, "timer-transition", 0, "changes before the timer-only phase is measured (default: until the failing feed has woken every ticket)")
	f.StringVar(&push, "push", "on", "TheWorxHub pushes: on|off (off drops every webhook)")
	f.StringVar(&feed, "feed", "on", "TheWorxHub change feed: on|off (off fails every feed read)")
	f.StringVar(&phases, "phases", "", "comma-separated phases to play (default all: "+strings.Join(bench.AllPhases, ",")+"); create always runs")
	f.DurationVar(&o.QuietWindow, "quiet-window", 0, "quiet steady-state window (default one relaxed per-ticket cycle + 10%)")
	f.StringVar(&o.Store, "store", "sqlite", "ticketsync store: sqlite (in memory) | postgres (a fresh schema in --database-url)")
	f.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL for --store postgres (default $TICKETSYNC_DATABASE_URL)")
	f.IntVar(&o.HistorySample, "history-sample", 20, "quiet tickets whose Temporal history is counted")
	f.IntVar(&o.CeilingWorkflows, "ceiling-workflows", 0, "bare workflows for the ceiling (default min(tickets, 1000), at least 100)")
	f.IntVar(&o.Concurrency, "concurrency", 32, "concurrent ticket creations (and ceiling starts)")
	f.IntVar(&o.WorkflowPollers, "workflow-pollers", 8, "worker workflow-task pollers (the ceiling's worker uses the same)")
	f.IntVar(&o.WorkflowCache, "workflow-cache", 0, "the worker's sticky workflow cache, as TICKETSYNC_WORKFLOW_CACHE_SIZE (default: the SDK's 10,000)")
	f.StringVar(&jsonPath, "json", "", "write the report as JSON to FILE")
	f.StringVar(&mdPath, "markdown", "", "write the Markdown tables to FILE")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (stack included) to FILE")
	f.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile at the end of the run (stack still up) to FILE")
	f.StringVar(&logLevel, "log-level", "", "log the stack at this level to stderr (default: silent)")
	f.BoolVar(&workerProcess, "worker-process", false, "run the worker as a child process (ticketsync worker; Temporal's data in a file): the report shows the worker's own RSS and CPU")
	_ = c.RegisterFlagCompletionFunc("push", fixedValues("on", "off"))
	_ = c.RegisterFlagCompletionFunc("feed", fixedValues("on", "off"))
	_ = c.RegisterFlagCompletionFunc("store", fixedValues("sqlite", "postgres"))
	return c
}

func onOffFlag(cmd *cobra.Command, name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, usagef(cmd, "%s %q: want on or off", name, v)
}

// ttyWriter is stderr when it is a terminal: the progress line is rewritten in place.
type ttyWriter struct{ *os.File }

func (ttyWriter) IsTerminal() bool { return true }

func progressWriter(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return ttyWriter{f}
		}
	}
	return w
}

func writeReport(rep *bench.Report, jsonPath, mdPath string) error {
	if jsonPath != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(rep.Markdown()), 0o644); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
	}
	return nil
}
