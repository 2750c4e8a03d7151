// Package activities holds the Ticket and ConnectionSync workflows' effects: thin, idempotent
// wrappers that call a vendorapi client or write the store. Every vendor error is classified so
// the workflow can tell "retry with backoff" from "park the ticket for a human".
package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Activities holds the clients every activity needs. Methods are registered on the worker.
type Activities struct {
	Store       *store.Store
	Connections *connectors.Registry
	// Engine starts, signals and pokes tickets (feed and intake followers).
	Engine *engine.Engine
	Logger *slog.Logger
	// FeedInterval is how often FollowChangeFeed reads a change feed.
	FeedInterval time.Duration
	// IntakeInterval is the default for how often a request system's intake is polled (a
	// connection's requestSystem.pollInterval overrides it); 0 = 1 minute.
	IntakeInterval time.Duration
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// Application error types the workflow tells apart.
const (
	// ErrTypeInterrupted: the attempt was cut short (the worker is stopping, or the attempt's
	// time ran out); always retried.
	ErrTypeInterrupted = "Interrupted"
	// ErrTypeGone: the request system answered 410 Gone; the connection's endpoint is now
	// disabled until an operator re-enables it.
	ErrTypeGone = "Gone"
	// ErrTypeEndpointDisabled: the connection's endpoint is disabled; nothing was sent.
	ErrTypeEndpointDisabled = "EndpointDisabled"
)

// asTemporalError converts a classified vendor error into an ApplicationError carrying the
// retry decision (and the vendor's Retry-After as the next retry delay). Cancellation is not
// failure: when the activity's own context ended (a worker being stopped cancels it after its
// stop timeout) the vendor client reports "the caller gave up", which is no verdict on the
// work, so the attempt is retried, on this worker or another, whatever the vendor error says.
func asTemporalError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return temporal.NewApplicationErrorWithOptions("interrupted (worker stopping or attempt timed out): "+err.Error(),
			ErrTypeInterrupted, temporal.ApplicationErrorOptions{Cause: err})
	}
	var ve *vendorapi.Error
	if errors.As(err, &ve) {
		return temporal.NewApplicationErrorWithOptions(ve.Error(), ve.Kind(), temporal.ApplicationErrorOptions{
			NonRetryable:   !ve.Retryable,
			NextRetryDelay: ve.RetryAfter,
			Cause:          err,
		})
	}
	if errors.Is(err, connectors.ErrUnknownConnection) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	return err
}

// conn returns a configured connection; an unknown one is a configuration problem, not
// something a retry fixes.
func (a *Activities) conn(id string) (*connectors.Conn, error) {
	c, err := a.Connections.Get(id)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Config", err)
	}
	return c, nil
}

func (a *Activities) workSystem(conn string) (vendorapi.WorkSystem, error) {
	c, err := a.conn(conn)
	if err != nil {
		return nil, err
	}
	return c.Work, nil
}
