package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// CatalogInput names the connection whose catalog is synced.
type CatalogInput struct {
	Connection string `json:"connection"`
}

// CatalogOutput summarises a catalog sync: how many categories the work system has and what
// the request system did with them.
type CatalogOutput struct {
	Categories int                     `json:"categories"`
	Counts     vendorapi.CatalogCounts `json:"counts"`
}

// catalogHeartbeat is how often SyncCatalog tells Temporal it is alive while the request
// system's rate limit paces its calls.
const catalogHeartbeat = 20 * time.Second

// SyncCatalog copies the connection's work-system catalog to its request system through the
// engine (the same call as POST /v1/connections/{id}/sync-catalog). A connection whose systems
// offer no catalog is a non-retryable configuration error; vendor errors keep their retry
// classification.
func (a *Activities) SyncCatalog(ctx context.Context, in CatalogInput) (CatalogOutput, error) {
	conn, err := a.conn(in.Connection)
	if err != nil {
		return CatalogOutput{}, err
	}
	defer beatWhile(ctx, catalogHeartbeat, activity.RecordHeartbeat, nil)()
	counts, n, err := a.Engine.SyncCatalog(ctx, conn)
	out := CatalogOutput{Categories: n, Counts: counts}
	if errors.Is(err, engine.ErrNoCapability) {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), "NoCatalog", err)
	}
	var ve *vendorapi.Error
	if errors.As(err, &ve) && !ve.Retryable {
		// Auth, validation, configuration: the next scheduled run may find it fixed.
		return out, temporal.NewNonRetryableApplicationError(err.Error(), ve.Kind(), err)
	}
	return out, err
}
