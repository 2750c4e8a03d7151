package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
)

// ConnectionSyncWorkflowType is the workflow type reading a connection's change feed.
const ConnectionSyncWorkflowType = "ConnectionSync"

// ConnectionSyncInput names the connection whose change feed is followed.
type ConnectionSyncInput struct {
	Connection string `json:"connection"`
	// Iterations counts feed-follower activity runs across continue-as-new (for the UI).
	Iterations int `json:"iterations,omitempty"`
}

// feedRunsPerWorkflowRun bounds the history of one run.
const feedRunsPerWorkflowRun = 100

// ConnectionSync keeps a long-running, heartbeating activity reading the work system's change
// feed and poking the tickets that changed (DESIGN.md §4). The polling lives inside the activity
// (heartbeats carry the cursor), so a feed read every few seconds costs no history events; the
// workflow only restarts the follower when it returns or its worker dies.
func ConnectionSync(ctx workflow.Context, in ConnectionSyncInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
		Summary: "follow change feed of " + in.Connection,
	})
	for i := 0; i < feedRunsPerWorkflowRun; i++ {
		err := workflow.ExecuteActivity(ctx, acts.FollowChangeFeed, activities.FeedInput{Connection: in.Connection}).Get(ctx, nil)
		in.Iterations++
		if err != nil {
			if isNonRetryable(err) {
				// Connection without a feed, or misconfigured: nothing to follow until the
				// configuration changes; tickets still poll on their own timers.
				workflow.GetLogger(ctx).Warn("change feed not followed", "error", err)
				return err
			}
			if err := workflow.Sleep(ctx, time.Minute); err != nil {
				return err
			}
		}
	}
	return workflow.NewContinueAsNewError(ctx, ConnectionSyncWorkflowType, in)
}
