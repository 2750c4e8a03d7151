package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ceilingQueue is the bare workflow's own task queue on the stack's Temporal server.
const ceilingQueue = "bench-ceiling"

// noop is the bare workload's activity: nothing to do.
func noop(context.Context) error { return nil }

// bareWorkflow runs two no-op activities one after the other: the least a ticket creation
// costs in Temporal (create + deliver are two activities).
func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range 2 {
		if err := workflow.ExecuteActivity(ctx, "BenchNoop").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// Ceiling is the bare-Temporal result.
type Ceiling struct {
	Workflows     int     `json:"workflows"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"workflowsPerSecond"`
	Concurrency   int     `json:"concurrency"`
	Pollers       int     `json:"workflowPollers"`
	ActivityPolls int     `json:"activityPollers"`
}

// runCeiling starts n bare workflows, concurrency at a time, on a worker with the stack
// worker's settings, and measures from the first start to the last completion.
func runCeiling(ctx context.Context, c client.Client, n, concurrency, pollers int) (Ceiling, error) {
	w := worker.New(c, ceilingQueue, worker.Options{MaxConcurrentWorkflowTaskPollers: pollers,
		MaxConcurrentActivityTaskPollers: 8})
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: "BenchBare"})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "BenchNoop"})
	if err := w.Start(); err != nil {
		return Ceiling{}, err
	}
	defer w.Stop()
	run := randHex(4)
	began := time.Now()
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-bare-%s-%d", run, i),
				TaskQueue: ceilingQueue}, "BenchBare")
			if err == nil {
				err = r.Get(ctx, nil)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return Ceiling{}, fmt.Errorf("bare workflow: %w", firstErr)
	}
	secs := time.Since(began).Seconds()
	return Ceiling{Workflows: n, Seconds: secs, PerSecond: float64(n) / secs, Concurrency: concurrency,
		Pollers: pollers, ActivityPolls: 8}, nil
}
