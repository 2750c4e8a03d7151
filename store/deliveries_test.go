package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A receiver checks, acts, and records only after acting succeeded: a
// delivery whose poke failed is not a duplicate when the vendor retries it.
func TestDeliverySeenThenRecord(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		receive := func(id string, pokeOK bool) (acted bool) {
			t.Helper()
			seen, err := s.DeliverySeen(ctx, "theworxhub:c1", id)
			if err != nil {
				t.Fatal(err)
			}
			if seen {
				return false
			}
			if !pokeOK {
				return true // acted (and failed): nothing recorded, the vendor retries
			}
			if _, err := s.RecordDelivery(ctx, "theworxhub:c1", id, at); err != nil {
				t.Fatal(err)
			}
			return true
		}
		if !receive("d1", false) {
			t.Fatal("first delivery not acted on")
		}
		if !receive("d1", true) {
			t.Error("the vendor's retry of a delivery whose poke failed was treated as a duplicate")
		}
		if receive("d1", true) {
			t.Error("a delivery acted on successfully was acted on again")
		}
		if seen, err := s.DeliverySeen(ctx, "theworxhub:c2", "d1"); err != nil || seen {
			t.Errorf("delivery ids leak across sources: %v, %v", seen, err)
		}
		if _, err := s.PruneDeliveries(ctx, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if seen, _ := s.DeliverySeen(ctx, "theworxhub:c1", "d1"); seen {
			t.Error("a pruned delivery is still seen")
		}
		if _, err := s.DeliverySeen(ctx, "theworxhub:c1", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty delivery id: %v, want ErrInvalid", err)
		}
	})
}
