package seeclickfix_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// A fresh intake whose passes fail for minutes (SeeClickFix down when the connection is set
// up) must still take in every issue reported since it started: its start is saved before any
// call, not taken again at each failed pass (found by the chaos run: issues reported in the
// first minute of faults were never taken in).
func TestIntakeKeepsItsStartWhileFailing(t *testing.T) {
	s := sim.New(sim.Options{DisableRateLimit: true, Seed: 1})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	clock := time.Now()
	conn, err := seeclickfix.NewConnector(seeclickfix.ConnectorConfig{Connection: "city-scf",
		Options: map[string]any{"categories": []any{map[string]any{"requestType": 1001, "kind": "SR", "templateId": 101}},
			"agencies": []any{}},
		WorkSideOptions: []string{"kind", "agencies", "importCityworksRequests"},
		Client: seeclickfix.Config{BaseURL: srv.URL, OrganizationID: sim.DefaultOrganizationID,
			Username: sim.DefaultUsername, Password: sim.DefaultPassword, UserAgent: "ticketsync/test"},
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	// As the engine runs it: pages until no more, the cursor saved after each page that worked.
	saved := ""
	var intents []vendorapi.Intent
	pass := func() error {
		for range 10 {
			page, err := conn.Intake(tctx(t), saved, false)
			if err != nil {
				return err
			}
			intents = append(intents, page.Intents...)
			saved = page.Cursor
			if !page.More {
				return nil
			}
		}
		t.Fatal("intake never settled")
		return nil
	}

	s.SetFaults(sim.Faults{HTMLPages: 1000})
	if pass() == nil {
		t.Fatal("a pass worked through the outage")
	}
	issue, err := s.Report(sim.ReportInput{Summary: "Pothole", RequestTypeID: 1001, Reporter: "Jane"})
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(5 * time.Minute) // the outage lasts
	if pass() == nil {
		t.Fatal("a pass worked through the outage")
	}
	s.SetFaults(sim.Faults{})
	if err := pass(); err != nil {
		t.Fatal(err)
	}
	if starts(intents)[itoa(issue.ID)] == nil {
		t.Fatalf("issue %d, reported while the intake failed, was never taken in (intents %v)", issue.ID, intents)
	}
}

// One issue whose detail read fails does not throw away the page: the issues read before it are
// taken in with the error (the engine keeps the page's intents and cursor), and the next pass
// reads on from there without reading them again.
func TestIntakeKeepsWhatAPageGaveBeforeAReadFailed(t *testing.T) {
	s := sim.New(sim.Options{DisableRateLimit: true, Seed: 1})
	var mu sync.Mutex
	failing := ""             // the path of the detail read to fail once
	reads := map[string]int{} // detail reads by path
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if strings.Contains(r.URL.Path, "/issues/") {
			reads[r.URL.Path]++
		}
		fail := r.URL.Path == failing
		if fail {
			failing = ""
		}
		mu.Unlock()
		if fail {
			http.Error(w, "<html><title>Service Unavailable</title></html>", http.StatusServiceUnavailable)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	conn, err := seeclickfix.NewConnector(seeclickfix.ConnectorConfig{Connection: "city-scf",
		Options: map[string]any{"categories": []any{map[string]any{"requestType": 1001, "kind": "SR", "templateId": 101}},
			"agencies": []any{}},
		WorkSideOptions: []string{"kind", "agencies", "importCityworksRequests"},
		Client: seeclickfix.Config{BaseURL: srv.URL, OrganizationID: sim.DefaultOrganizationID,
			Username: sim.DefaultUsername, Password: sim.DefaultPassword, UserAgent: "ticketsync/test"}})
	if err != nil {
		t.Fatal(err)
	}
	saved := ""
	var intents []vendorapi.Intent
	pass := func() error { // as engine.RunIntake runs it
		for range 10 {
			page, err := conn.Intake(tctx(t), saved, false)
			intents = append(intents, page.Intents...)
			if page.Cursor != "" {
				saved = page.Cursor
			}
			if err != nil || !page.More {
				return err
			}
		}
		t.Fatal("intake never settled")
		return nil
	}
	if err := pass(); err != nil { // the start is saved
		t.Fatal(err)
	}
	var ids []int64
	for _, summary := range []string{"Pothole", "Streetlight out", "Graffiti"} {
		is, err := s.Report(sim.ReportInput{Summary: summary, RequestTypeID: 1001, Reporter: "Jane"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, is.ID)
	}
	path := func(id int64) string {
		return "/api/v2/organizations/" + itoa(sim.DefaultOrganizationID) + "/issues/" + itoa(id)
	}
	mu.Lock()
	failing = path(ids[1])
	mu.Unlock()
	if err := pass(); err == nil {
		t.Fatal("the pass whose read failed reported no error")
	}
	if starts(intents)[itoa(ids[0])] == nil {
		t.Fatalf("the issue read before the failure was not taken in with it: %v", intents)
	}
	if err := pass(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range intents {
		if in.Kind == vendorapi.IntentStart && in.ExternalID == itoa(ids[0]) {
			n++
		}
	}
	for _, id := range ids {
		if starts(intents)[itoa(id)] == nil {
			t.Fatalf("issue %d never taken in", id)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 1 || reads[path(ids[0])] != 1 {
		t.Fatalf("issue %d taken in %d times, read %d times: the next pass must skip what was taken", ids[0], n, reads[path(ids[0])])
	}
}
