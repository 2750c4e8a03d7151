package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A 410 Gone disables a connection's endpoint until an operator re-enables it.
func TestDisabledEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		st, err := s.EndpointDisabled(ctx, "t1", "c1")
		if err != nil || st.Disabled || st.Tenant != "t1" || st.Connection != "c1" || st.DisabledAt != nil {
			t.Fatalf("never disabled: %+v, %v", st, err)
		}
		s.now = func() time.Time { return time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC) }
		if err := s.DisableEndpoint(ctx, "t1", "c1", "the portal answered 410 Gone"); err != nil {
			t.Fatal(err)
		}
		// A second 410 (another ticket's delivery) keeps the first reason and time.
		s.now = func() time.Time { return time.Date(2025, 8, 1, 13, 0, 0, 0, time.UTC) }
		if err := s.DisableEndpoint(ctx, "t1", "c1", "later 410"); err != nil {
			t.Fatal(err)
		}
		st, err = s.EndpointDisabled(ctx, "t1", "c1")
		if err != nil || !st.Disabled || st.Reason != "the portal answered 410 Gone" || st.DisabledAt == nil ||
			!st.DisabledAt.Equal(time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)) {
			t.Fatalf("disabled: %+v, %v", st, err)
		}
		// Other connections, of the same or another tenant, are unaffected.
		for _, pair := range [][2]string{{"t1", "c3"}, {"t2", "c2"}} {
			if st, err := s.EndpointDisabled(ctx, pair[0], pair[1]); err != nil || st.Disabled {
				t.Errorf("%s/%s: %+v, %v", pair[0], pair[1], st, err)
			}
		}
		// Another tenant can neither see nor change t1's endpoint.
		if _, err := s.EndpointDisabled(ctx, "t2", "c1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant's endpoint state: %v, want ErrNotFound", err)
		}
		if _, err := s.EnableEndpoint(ctx, "t2", "c1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant enabling: %v, want ErrNotFound", err)
		}
		if err := s.DisableEndpoint(ctx, "t2", "c3", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another tenant disabling: %v, want ErrNotFound", err)
		}
		// A connection known only to the connections file works too.
		if err := s.DisableEndpoint(ctx, "t2", "file-only", "410"); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListDisabledEndpoints(ctx, "t1")
		if err != nil || len(list) != 1 || list[0].Connection != "c1" {
			t.Errorf("ListDisabledEndpoints(t1) = %+v, %v", list, err)
		}
		all, err := s.ListAllDisabledEndpoints(ctx)
		if err != nil || len(all) != 2 || all[0].Connection != "c1" || all[1].Connection != "file-only" || all[1].Tenant != "t2" {
			t.Errorf("ListAllDisabledEndpoints = %+v, %v", all, err)
		}

		was, err := s.EnableEndpoint(ctx, "t1", "c1")
		if err != nil || !was {
			t.Fatalf("EnableEndpoint = %v, %v; want true", was, err)
		}
		if was, err := s.EnableEndpoint(ctx, "t1", "c1"); err != nil || was {
			t.Errorf("enabling an enabled endpoint = %v, %v; want false, nil", was, err)
		}
		if st, err := s.EndpointDisabled(ctx, "t1", "c1"); err != nil || st.Disabled {
			t.Errorf("after enable: %+v, %v", st, err)
		}
		if err := s.DisableEndpoint(ctx, "t1", "", "x"); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty connection: %v, want ErrInvalid", err)
		}
	})
}
