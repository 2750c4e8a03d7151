package store

import (
	"context"
	"errors"
	"testing"
)

// An empty tenant is refused by every method that takes one: it must never
// widen a query to every tenant's rows. The cross-tenant reads are separate,
// explicitly named methods.
func TestEmptyTenantIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		mustCreate(t, s, Ticket{ID: "a", Connection: "c1", ExternalID: "e1"})
		mustCreate(t, s, Ticket{ID: "b", Connection: "c2", ExternalID: "e1"})
		if err := s.DisableEndpoint(ctx, "t2", "c2", "410"); err != nil {
			t.Fatal(err)
		}
		for _, tenant := range []string{"", "  "} {
			calls := map[string]func() error{
				"GetTicket": func() error { _, err := s.GetTicket(ctx, tenant, "a"); return err },
				"ListTickets": func() error {
					_, _, err := s.ListTickets(ctx, TicketFilter{Tenant: tenant})
					return err
				},
				"ListTickets by connection": func() error {
					_, _, err := s.ListTickets(ctx, TicketFilter{Tenant: tenant, Connection: "c1"})
					return err
				},
				"CreateTicket": func() error {
					_, _, err := s.CreateTicket(ctx, Ticket{ID: "x", Tenant: tenant, Connection: "c1", ExternalID: "x"})
					return err
				},
				"ListConnections": func() error { _, err := s.ListConnections(ctx, tenant); return err },
				"UpsertTenant":    func() error { return s.UpsertTenant(ctx, Tenant{ID: tenant}) },
				"UpsertConnection": func() error {
					return s.UpsertConnection(ctx, Connection{ID: "c9", Tenant: tenant, RequestKind: "portal", WorkKind: "theworxhub"})
				},
				"AddAPIKey":             func() error { return s.AddAPIKey(ctx, tenant, "some-key") },
				"MintAPIKey":            func() error { _, _, err := s.MintAPIKey(ctx, tenant); return err },
				"ListAPIKeys":           func() error { _, err := s.ListAPIKeys(ctx, tenant); return err },
				"RevokeAPIKey":          func() error { _, err := s.RevokeAPIKey(ctx, tenant, "some-key"); return err },
				"SyncFileAPIKeys":       func() error { _, err := s.SyncFileAPIKeys(ctx, map[string][]string{tenant: {"k"}}); return err },
				"DisableEndpoint":       func() error { return s.DisableEndpoint(ctx, tenant, "c2", "x") },
				"EnableEndpoint":        func() error { _, err := s.EnableEndpoint(ctx, tenant, "c2"); return err },
				"EndpointDisabled":      func() error { _, err := s.EndpointDisabled(ctx, tenant, "c2"); return err },
				"ListDisabledEndpoints": func() error { _, err := s.ListDisabledEndpoints(ctx, tenant); return err },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, ErrInvalid) {
					t.Errorf("%s(tenant %q): err = %v, want ErrInvalid", name, tenant, err)
				}
			}
		}
		if _, _, err := s.ListTickets(ctx, TicketFilter{Tenant: "t1", AllTenants: true}); !errors.Is(err, ErrInvalid) {
			t.Errorf("AllTenants with a tenant: err = %v, want ErrInvalid", err)
		}
		// Nothing was written by the refused calls.
		if _, err := s.GetTicketAnyTenant(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused CreateTicket left a row: %v", err)
		}
		if st, err := s.EndpointDisabled(ctx, "t2", "c2"); err != nil || !st.Disabled {
			t.Errorf("a refused EnableEndpoint enabled it: %+v, %v", st, err)
		}
		// The explicit cross-tenant reads still see everything.
		all, _, err := s.ListTickets(ctx, TicketFilter{AllTenants: true})
		if err != nil || len(all) != 2 {
			t.Errorf("ListTickets(AllTenants) = %d tickets, %v; want 2", len(all), err)
		}
		if tk, err := s.GetTicketAnyTenant(ctx, "b"); err != nil || tk.Tenant != "t2" {
			t.Errorf("GetTicketAnyTenant(b) = %+v, %v", tk, err)
		}
	})
}
