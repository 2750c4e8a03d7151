package seeclickfix_test

import (
	"net/http/httptest"
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
