package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ErrNoCapability: the connection's vendors do not offer what was asked (e.g. a catalog sync
// on a connection whose work system has no catalog).
var ErrNoCapability = errors.New("not supported by this connection's systems")

// SyncCatalog copies the work system's catalog (categories, questions) to the request system.
func (e *Engine) SyncCatalog(ctx context.Context, conn *connectors.Conn) (vendorapi.CatalogCounts, int, error) {
	src, ok := conn.Work.(vendorapi.CatalogSource)
	if !ok {
		return vendorapi.CatalogCounts{}, 0, fmt.Errorf("%w: work system %s has no catalog", ErrNoCapability, conn.WorkKind)
	}
	sink, ok := conn.Request.(vendorapi.CatalogSink)
	if !ok {
		return vendorapi.CatalogCounts{}, 0, fmt.Errorf("%w: request system %s takes no catalog", ErrNoCapability, conn.RequestKind)
	}
	cats, err := src.Catalog(ctx)
	if err != nil {
		return vendorapi.CatalogCounts{}, 0, fmt.Errorf("read the %s catalog: %w", conn.WorkKind, err)
	}
	counts, err := sink.SyncCatalog(ctx, cats)
	if err != nil {
		return counts, len(cats), fmt.Errorf("publish the catalog to %s: %w", conn.RequestKind, err)
	}
	return counts, len(cats), nil
}

// Validate authenticates against both vendors of a connection and reports every check.
func (e *Engine) Validate(ctx context.Context, conn *connectors.Conn) []vendorapi.Check {
	var checks []vendorapi.Check
	for _, side := range []struct {
		name, kind string
		impl       any
	}{{"workSystem", conn.WorkKind, conn.Work}, {"requestSystem", conn.RequestKind, conn.Request}} {
		v, ok := side.impl.(vendorapi.Validator)
		if !ok {
			checks = append(checks, vendorapi.Check{Name: side.name + " (" + side.kind + "): configuration", OK: true,
				Detail: "configuration is valid; " + side.kind + " offers no live check"})
			continue
		}
		checks = append(checks, v.Validate(ctx)...)
	}
	return checks
}
