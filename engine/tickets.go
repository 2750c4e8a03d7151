package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ErrWorkflowClosed means the ticket's workflow has finished: nothing more can be signalled.
var ErrWorkflowClosed = errors.New("ticket workflow has finished")

// Engine starts, signals and queries ticket workflows.
type Engine struct {
	Client      client.Client
	TaskQueue   string
	Store       *store.Store
	Connections *connectors.Registry
	Logger      *slog.Logger
	// PollInterval is the default safety-net timer of new tickets (a connection may override).
	PollInterval time.Duration
	// EventMaxAge bounds one event's delivery retries (0 = the workflow's default).
	EventMaxAge time.Duration
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

// Input builds a new ticket's workflow input for a connection.
func (e *Engine) Input(conn *connectors.Conn, ref ticket.Ref, mappingVersion string) ticket.Input {
	if mappingVersion == "" {
		mappingVersion = conn.Mapping
	}
	in := ticket.Input{Ref: ref, MappingVersion: mappingVersion, PollInterval: conn.PollIntervalOr(e.PollInterval),
		EventMaxAge: e.EventMaxAge, Generation: ticket.Generation}
	if n, ok := conn.Request.(vendorapi.APINotifier); ok && n.NotifiesThroughAPI() {
		in.DeliveryRetryCap = vendorapi.MaxRetryInterval
	}
	if d := conn.Config.RequestSystem.RetryMaxInterval.Duration; d > 0 {
		in.DeliveryRetryCap = d
	}
	return in
}

// Start starts the ticket's workflow, or does nothing when it already runs (or ran): the
// workflow id is derived from (connection, externalId), so a replayed create never starts a
// second workflow.
func (e *Engine) Start(ctx context.Context, in ticket.Input) error {
	opts := client.StartWorkflowOptions{
		ID:                       in.Ref.WorkflowID,
		TaskQueue:                e.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    ticket.StartSearchAttributes(in.Ref),
		StaticSummary:            fmt.Sprintf("Ticket %s · %s", in.Ref.ExternalID, in.Request.Title),
	}
	_, err := e.Client.ExecuteWorkflow(ctx, opts, ticket.WorkflowType, in)
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
func (e *Engine) Signal(ctx context.Context, workflowID, name string, arg any) error {
	err := e.Client.SignalWorkflow(ctx, workflowID, "", name, arg)
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
func (e *Engine) State(ctx context.Context, workflowID string) (ticket.State, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st ticket.State
	v, err := e.Client.QueryWorkflow(ctx, workflowID, "", ticket.QueryState)
	if err != nil {
		return st, fmt.Errorf("query state of %s: %w", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	return st, nil
}

// EnsureConnectionSync starts the change-feed and intake workflow of a connection if it is not
// running.
func (e *Engine) EnsureConnectionSync(ctx context.Context, connection string) error {
	opts := client.StartWorkflowOptions{
		ID:                       ticket.ConnectionSyncWorkflowID(connection),
		TaskQueue:                e.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Change feed and intake of " + connection,
	}
	_, err := e.Client.ExecuteWorkflow(ctx, opts, ticket.ConnectionSyncWorkflowType, ticket.ConnectionSyncInput{Connection: connection})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start ConnectionSync for %s: %w", connection, err)
	}
	return nil
}
