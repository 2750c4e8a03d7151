package e2e

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/server/temporaltest"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/ticket"
)

// worker and api register the ticket search attributes on a namespace that lacks them (a fresh
// dev server), idempotently.
func TestEnsureSearchAttributes(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	a := &app.App{Env: config.Env{TemporalNamespace: ts.GetDefaultNamespace()}, Temporal: c, Logger: slog.Default()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 2; i++ {
		if err := a.EnsureSearchAttributes(ctx); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ts.GetDefaultNamespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range ticket.SearchAttributeTypes() {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("%s: %v (registered %t), want %v", name, got, ok, typ)
		}
	}
	if len(ticket.SearchAttributeTypes()) != 6 {
		t.Fatalf("want the six ticket search attributes, got %v", ticket.SearchAttributeTypes())
	}
}
