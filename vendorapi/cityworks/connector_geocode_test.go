package cityworks_test

import (
	"strings"
	"testing"

	arcgissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
)

// Reverse geocoding before the create: on (the locator's address goes to Cityworks, the
// outcome is noted), off (no call), failing or no match (the reporter's address is used and
// the fallback is noted for the ticket's timeline; the create goes ahead).

func TestGeocodeOnUsesTheLocatorsAddress(t *testing.T) {
	w := newCWWorld(t, nil)
	w.options["geocoder"] = w.geocoder()
	conn := w.build(t, w.options)
	id, notes, err := conn.CreateWithNotes(ctx(t), request("g1"))
	if err != nil {
		t.Fatal(err)
	}
	sr := w.srOf(t, id)
	if sr.ProbAddress != "165 Church St" || sr.ProbCity != "New Haven" || sr.ProbZip != "06510" {
		t.Fatalf("geocoded address not used: %q %q %q", sr.ProbAddress, sr.ProbCity, sr.ProbZip)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "reverse geocoding: 165 Church St") || !strings.Contains(notes[0], "165 Church St, New Haven") {
		t.Fatalf("notes: %q", notes)
	}
	if calls := w.geo.Stats().Calls; len(calls) == 0 {
		t.Fatal("the geocoder was not asked")
	}
}

func TestGeocodeOffMakesNoCall(t *testing.T) {
	w := newCWWorld(t, nil)
	id, notes, err := w.conn.CreateWithNotes(ctx(t), request("g2"))
	if err != nil || len(notes) != 0 {
		t.Fatalf("%v %q", err, notes)
	}
	if sr := w.srOf(t, id); sr.ProbAddress != "165 Church St, New Haven" || sr.ProbCity != "" {
		t.Fatalf("address: %q %q", sr.ProbAddress, sr.ProbCity)
	}
	if calls := w.geo.Stats().Calls; len(calls) != 0 {
		t.Fatalf("geocoder called without being configured: %v", calls)
	}
}

func TestGeocodeFailureFallsBackAndIsNoted(t *testing.T) {
	w := newCWWorld(t, nil)
	w.options["geocoder"] = w.geocoder()
	conn := w.build(t, w.options)
	// More failures than the client retries: the geocode fails for good, the create goes on.
	w.geo.SetFaults(arcgissim.Faults{ServerErrors: 10})
	id, notes, err := conn.CreateWithNotes(ctx(t), request("g3"))
	if err != nil {
		t.Fatal(err)
	}
	if sr := w.srOf(t, id); sr.ProbAddress != "165 Church St, New Haven" {
		t.Fatalf("fallback address: %q", sr.ProbAddress)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "reverse geocoding") || !strings.Contains(notes[0], "failed") ||
		!strings.Contains(notes[0], `the reporter's address "165 Church St, New Haven" was used`) {
		t.Fatalf("notes: %q", notes)
	}
}

func TestGeocodeNoMatchFallsBackAndIsNoted(t *testing.T) {
	w := newCWWorld(t, nil)
	w.options["geocoder"] = w.geocoder()
	conn := w.build(t, w.options)
	req := request("g4")
	req.Location.Lat, req.Location.Lng = ptr(41.30), ptr(-72.95) // no place within 100 m
	id, notes, err := conn.CreateWithNotes(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if sr := w.srOf(t, id); sr.ProbAddress != "165 Church St, New Haven" {
		t.Fatalf("fallback address: %q", sr.ProbAddress)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "found no address") {
		t.Fatalf("notes: %q", notes)
	}
}
