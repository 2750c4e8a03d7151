// Package starter is the portal-facing side: the HTTP API (DESIGN.md §6), the webhook receivers
// and the Temporal client wrapper that starts, signals and queries ticket workflows.
package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/workflows"
)

// ErrWorkflowClosed means the ticket's workflow has finished: nothing more can be signalled.
var ErrWorkflowClosed = errors.New("ticket workflow has finished")

// Tickets starts, signals and queries ticket workflows.
type Tickets struct {
	Client    client.Client
	TaskQueue string
}

// Start starts the ticket's workflow, or does nothing when it already runs (or ran): the
// workflow id is derived from (connection, externalId), so a replayed create never starts a
// second workflow.
func (t *Tickets) Start(ctx context.Context, in workflows.TicketInput) error {
	opts := client.StartWorkflowOptions{
		ID:                       in.Ref.WorkflowID,
		TaskQueue:                t.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SATenant.ValueSet(in.Ref.Tenant),
			workflows.SAConnection.ValueSet(in.Ref.Connection),
			workflows.SAExternalID.ValueSet(in.Ref.ExternalID),
			workflows.SAStatus.ValueSet("Submitted"),
			workflows.SANeedsAttention.ValueSet(false),
		),
		StaticSummary: fmt.Sprintf("Ticket %s · %s", in.Ref.ExternalID, in.Request.Title),
	}
	_, err := t.Client.ExecuteWorkflow(ctx, opts, ticket.WorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start workflow %s: %w", in.Ref.WorkflowID, err)
	}
	return nil
}

// Signal sends a signal to a ticket; a finished workflow yields ErrWorkflowClosed.
func (t *Tickets) Signal(ctx context.Context, workflowID, name string, arg any) error {
	err := t.Client.SignalWorkflow(ctx, workflowID, "", name, arg)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return ErrWorkflowClosed
	}
	if err != nil {
		return fmt.Errorf("signal %s to %s: %w", name, workflowID, err)
	}
	return nil
}

// State queries the ticket's live state.
func (t *Tickets) State(ctx context.Context, workflowID string) (workflows.TicketState, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st workflows.TicketState
	v, err := t.Client.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return st, fmt.Errorf("query state of %s: %w", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	return st, nil
}

// EnsureConnectionSync starts the change-feed workflow of a connection if it is not running.
func (t *Tickets) EnsureConnectionSync(ctx context.Context, connection string) error {
	opts := client.StartWorkflowOptions{
		ID:                       ticket.ConnectionSyncWorkflowID(connection),
		TaskQueue:                t.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Change feed of " + connection,
	}
	_, err := t.Client.ExecuteWorkflow(ctx, opts, workflows.ConnectionSyncWorkflowType, workflows.ConnectionSyncInput{Connection: connection})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start ConnectionSync for %s: %w", connection, err)
	}
	return nil
}
