package workflows_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/workflows"
)

// CatalogSync runs the catalog activity once for its connection, retries transient failures
// and gives up at once when the connection has no catalog.

func catalogEnv(t *testing.T, fn func(context.Context, activities.CatalogInput) (activities.CatalogOutput, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.CatalogSync, workflow.RegisterOptions{Name: ticket.CatalogSyncWorkflowType})
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: "SyncCatalog"})
	return env
}

func TestCatalogSyncRunsTheSyncAndRetries(t *testing.T) {
	calls := 0
	env := catalogEnv(t, func(_ context.Context, in activities.CatalogInput) (activities.CatalogOutput, error) {
		calls++
		if in.Connection != "city-scf" {
			t.Errorf("connection %q", in.Connection)
		}
		if calls < 3 {
			return activities.CatalogOutput{}, errors.New("SeeClickFix answered 503")
		}
		return activities.CatalogOutput{Categories: 12, Counts: vendorapi.CatalogCounts{Created: 2, Unchanged: 10}}, nil
	})
	env.ExecuteWorkflow(ticket.CatalogSyncWorkflowType, ticket.CatalogSyncInput{Connection: "city-scf"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	var out activities.CatalogOutput
	if err := env.GetWorkflowResult(&out); err != nil || out.Categories != 12 || out.Counts.Created != 2 || calls != 3 {
		t.Fatalf("result %+v (%v) after %d calls", out, err, calls)
	}
}

func TestCatalogSyncStopsWithoutCatalog(t *testing.T) {
	calls := 0
	env := catalogEnv(t, func(context.Context, activities.CatalogInput) (activities.CatalogOutput, error) {
		calls++
		return activities.CatalogOutput{}, temporal.NewNonRetryableApplicationError("work system theworxhub has no catalog", "NoCatalog", nil)
	})
	env.ExecuteWorkflow(ticket.CatalogSyncWorkflowType, ticket.CatalogSyncInput{Connection: "sunrise-twh"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != "NoCatalog" || calls != 1 {
		t.Fatalf("want one attempt and a NoCatalog failure, got %v after %d calls", err, calls)
	}
}
