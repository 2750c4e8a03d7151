package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
)

// feedRunsPerWorkflowRun bounds the history of one run.
const feedRunsPerWorkflowRun = 100

// ConnectionSync keeps a long-running, heartbeating activity that follows the connection's two
// inbound streams, each with its own cursor and overlap window: the work system's change feed
// (pokes the tickets that changed) and the request system's intake (starts and signals
// tickets) — DESIGN.md §4. A connection may have either, both or neither. The polling lives
// inside the activity (heartbeats carry the cursors), so a read every few seconds costs no
// history events; the workflow only restarts the follower when it returns or its worker dies.
func ConnectionSync(ctx workflow.Context, in ticket.ConnectionSyncInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		// A follower whose worker died is started again elsewhere within seconds (it beats
		// every few seconds whatever it does), and at most 10 s after the last failed attempt:
		// it costs the vendor nothing to restart, and while it is down intake stops and
		// changes wait for per-ticket timers.
		HeartbeatTimeout: activities.FollowerHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
		Summary: "follow change feed and intake of " + in.Connection,
	})
	for i := 0; i < feedRunsPerWorkflowRun; i++ {
		err := workflow.ExecuteActivity(ctx, acts.FollowChangeFeed, activities.FeedInput{Connection: in.Connection}).Get(ctx, nil)
		in.Iterations++
		if err != nil {
			if isNonRetryable(err) {
				// Connection with neither a feed nor intake, or misconfigured: nothing to follow
				// until the configuration changes; tickets still poll on their own timers.
				workflow.GetLogger(ctx).Warn("connection not followed", "error", err)
				return err
			}
			if err := workflow.Sleep(ctx, time.Minute); err != nil {
				return err
			}
		}
	}
	return workflow.NewContinueAsNewError(ctx, ticket.ConnectionSyncWorkflowType, in)
}
