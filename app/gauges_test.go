package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// The store-derived gauges: tickets by status, parked tickets by reason class (never the
// vendor's full error text), change-feed lag.
func TestRecordGauges(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTenant(ctx, store.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertConnection(ctx, store.Connection{ID: "c1", Tenant: "acme", RequestKind: "portal", WorkKind: "theworxhub"}); err != nil {
		t.Fatal(err)
	}
	for i, status := range []string{ticket.Requested, ticket.Requested, ticket.Done} {
		ref := ticket.NewRef("acme", "c1", string(rune('a'+i)))
		if _, _, err := st.CreateTicket(ctx, store.Ticket{ID: ref.TicketID, Tenant: "acme", Connection: "c1", ExternalID: ref.ExternalID,
			WorkflowID: ref.WorkflowID, Status: status}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			since := time.Now().UTC()
			if err := st.UpdateTicketState(ctx, store.TicketState{ID: ref.TicketID, Status: status, NeedsAttention: true,
				AttentionReason: "could not create the request in the work system: HTTP 422 from https://internal.example", AttentionSince: &since,
				UpdatedAt: since, Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.SaveCursor(ctx, "c1", engine.FeedLastReadCursor, time.Now().Add(-90*time.Second).UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	a := &App{Store: st, Logger: slog.Default(), File: &config.File{}}
	a.Registry = mustRegistry(t)
	a.RecordGauges(ctx)
	out, err := testutil.CollectAndFormat(metrics.Default(), expfmt.TypeTextPlain, metrics.NameTickets, metrics.NameTicketsParked, metrics.NameChangeFeedLag)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		`ticketsync_tickets{connection="c1",status="Requested"} 2`,
		`ticketsync_tickets{connection="c1",status="Done"} 1`,
		`ticketsync_tickets_parked{connection="c1",reason="could not create the request in the work system"} 1`,
		`ticketsync_change_feed_lag_seconds{connection="c1"} 9`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	if strings.Contains(text, "internal.example") {
		t.Fatalf("a parked reason's vendor text reached the metrics:\n%s", text)
	}
}

func mustRegistry(t *testing.T) *connectors.Registry {
	f := &config.File{
		Tenants: []config.Tenant{{ID: "acme", Name: "Acme"}},
		Connections: []config.Connection{{ID: "c1", Tenant: "acme",
			RequestSystem: config.RequestSystem{Kind: "portal", URL: "http://127.0.0.1:1/h", Secret: "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: "http://127.0.0.1:1", ClientID: "i", ClientSecret: "s", WebhookSecret: "w"}}},
	}
	reg, err := connectors.Build(f, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
