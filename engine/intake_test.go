package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// failingIntake gives one page of progress together with a read error, as SeeClickFix's intake
// does when one issue of a page cannot be read.
type failingIntake struct{ vendorapi.RequestSystem }

func (failingIntake) Intake(context.Context, string, bool) (vendorapi.IntakePage, error) {
	return vendorapi.IntakePage{Intents: []vendorapi.Intent{{Kind: vendorapi.IntentSignal, ExternalID: "e1", Signal: ticket.SignalPoke}},
		Cursor: "after-e1"}, errors.New("issue 2: HTTP 503")
}

// An intake page returned with an error still counts for what it holds: its intents run and its
// cursor is saved before the error is reported, so the next pass does not redo them.
func TestIntakeKeepsTheProgressOfAFailedPage(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	c := mocks.NewClient(t)
	c.On("SignalWorkflow", mock.Anything, ticket.WorkflowID(testkit.Connection, "e1"), "", ticket.SignalPoke, mock.Anything).Return(nil).Once()
	eng := kit.UseTemporal(c)
	base, err := kit.Registry.Get(testkit.Connection)
	if err != nil {
		t.Fatal(err)
	}
	conn := *base
	conn.Request = failingIntake{base.Request}
	ctx := context.Background()
	counts, err := eng.RunIntake(ctx, &conn, false, nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || counts.Updated != 1 {
		t.Fatalf("run: %+v %v", counts, err)
	}
	if cur, err := kit.Store.GetCursor(ctx, testkit.Connection, engine.IntakeCursor); err != nil || cur != "after-e1" {
		t.Fatalf("saved cursor %q (%v), want the failed page's", cur, err)
	}
	if last, _ := kit.Store.GetCursor(ctx, testkit.Connection, engine.IntakeLastErrorCursor); !strings.Contains(last, "HTTP 503") {
		t.Fatalf("last error %q", last)
	}
}

// apiNotifier is a request system notified through its vendor's API.
type apiNotifier struct{ vendorapi.RequestSystem }

func (apiNotifier) NotifiesThroughAPI() bool { return true }

// A new ticket's notifications are retried as vendor calls when its request system is notified
// through an API, and on the webhook schedule (an hour's cap, the workflow's default) otherwise.
func TestNotificationRetryCapFollowsTheRequestSystem(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	eng := kit.UseTemporal(mocks.NewClient(t))
	base, err := kit.Registry.Get(testkit.Connection)
	if err != nil {
		t.Fatal(err)
	}
	ref := ticket.NewRef(testkit.Tenant, testkit.Connection, "e1")
	if in := eng.Input(base, ref, ""); in.DeliveryRetryCap != 0 || in.Generation != ticket.Generation {
		t.Fatalf("webhook receiver: cap %s, generation %d", in.DeliveryRetryCap, in.Generation)
	}
	conn := *base
	conn.Request = apiNotifier{base.Request}
	if in := eng.Input(&conn, ref, ""); in.DeliveryRetryCap != vendorapi.MaxRetryInterval {
		t.Fatalf("API notifier: cap %s, want %s", in.DeliveryRetryCap, vendorapi.MaxRetryInterval)
	}
	// The connection's requestSystem.retryMaxInterval decides when set.
	conn.Config.RequestSystem.RetryMaxInterval = config.Duration{Duration: 30 * time.Second}
	if in := eng.Input(&conn, ref, ""); in.DeliveryRetryCap != 30*time.Second {
		t.Fatalf("configured: cap %s, want 30s", in.DeliveryRetryCap)
	}
}
