// Package workers builds the Temporal worker that runs ticketsync's workflows and activities.
package workers

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/workflows"
)

// DefaultTaskQueue is the task queue of every ticketsync workflow and activity.
const DefaultTaskQueue = "ticketsync"

// Options tune the worker. The SDK's default of 2 workflow-task pollers is the bottleneck on a
// small machine (8–16 measured ~4× faster), hence the higher defaults.
type Options struct {
	TaskQueue       string
	WorkflowPollers int
	ActivityPollers int
	// CacheSize is the process's sticky workflow cache (TICKETSYNC_WORKFLOW_CACHE_SIZE; 0 = the
	// SDK's default). The SDK keeps one cache per process, sized by the first worker started.
	CacheSize int
	// StopTimeout is how long a stopping worker lets running activities finish before it
	// cancels them (they are then retried elsewhere, never failed); 0 = DefaultStopTimeout.
	StopTimeout time.Duration
}

// DefaultStopTimeout covers one vendor call (30 s client timeout) with room to record it: the
// SDK's default of 0 cancels every running activity the moment a deploy stops the worker.
const DefaultStopTimeout = 35 * time.Second

// New builds a worker with every workflow and activity registered.
func New(c client.Client, acts *activities.Activities, opts Options) worker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = DefaultTaskQueue
	}
	if opts.WorkflowPollers <= 0 {
		opts.WorkflowPollers = 8
	}
	if opts.ActivityPollers <= 0 {
		opts.ActivityPollers = 8
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.CacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(opts.CacheSize)
	}
	w := worker.New(c, opts.TaskQueue, worker.Options{
		MaxConcurrentWorkflowTaskPollers: opts.WorkflowPollers,
		MaxConcurrentActivityTaskPollers: opts.ActivityPollers,
		WorkerStopTimeout:                opts.StopTimeout,
	})
	Register(w, acts)
	return w
}

// Register registers the workflows and activities on any registry (a worker, a test
// environment or a replayer).
func Register(r Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}

// Registry is what a worker, a test environment and (for workflows) a replayer share.
type Registry interface {
	WorkflowRegistry
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// WorkflowRegistry registers workflows.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// RegisterWorkflows registers the workflows under their public type names.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.Ticket, workflow.RegisterOptions{Name: ticket.WorkflowType})
	r.RegisterWorkflowWithOptions(workflows.ConnectionSync, workflow.RegisterOptions{Name: ticket.ConnectionSyncWorkflowType})
	r.RegisterWorkflowWithOptions(workflows.CatalogSync, workflow.RegisterOptions{Name: ticket.CatalogSyncWorkflowType})
}
