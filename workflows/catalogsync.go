package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
)

// CatalogSync publishes a connection's work-system catalog (e.g. Cityworks SR problem and WO
// templates with their questions) to its request system (SeeClickFix request types) — DESIGN.md
// §4. A Temporal Schedule per connection starts it (id ticket.CatalogSyncWorkflowID, the
// connection's catalogSchedule); `POST /v1/connections/{id}/sync-catalog` runs the same sync on
// demand without a workflow. One activity does the work: it heartbeats while it pages through
// categories at the request system's rate limit, and a connection whose systems have no
// catalog fails at once (non-retryable) instead of retrying.
func CatalogSync(ctx workflow.Context, in ticket.CatalogSyncInput) (activities.CatalogOutput, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// SeeClickFix takes 20 calls a minute: a thousand changed categories take most of an hour.
		StartToCloseTimeout:    time.Hour,
		ScheduleToCloseTimeout: 3 * time.Hour,
		HeartbeatTimeout:       2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    10 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
			// The schedule runs it again anyway: a catalog that cannot be read for a while
			// waits for the next run instead of piling up retries.
			MaximumAttempts: 6,
		},
		Summary: "sync catalog of " + in.Connection,
	})
	var out activities.CatalogOutput
	err := workflow.ExecuteActivity(ctx, acts.SyncCatalog, activities.CatalogInput{Connection: in.Connection}).Get(ctx, &out)
	if err != nil {
		return out, err
	}
	workflow.GetLogger(ctx).Info("catalog synced", "connection", in.Connection, "categories", out.Categories,
		"created", out.Counts.Created, "updated", out.Counts.Updated, "unchanged", out.Counts.Unchanged, "failed", out.Counts.Failed)
	return out, nil
}
