package devstack

import (
	"net/http"
	"testing"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// The demo city has an agency, so `connections sync-catalog demo-scf-cw` publishes Cityworks'
// public templates into it (it used to answer 502: options.agencies is empty), and running it
// again changes nothing.
func TestDemoSCFSyncCatalog(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	code, out := post(t, s, "/v1/connections/"+DemoSCFConnection+"/sync-catalog", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("sync-catalog: %d %v", code, out)
	}
	if num(out, "categories") == 0 || num(out, "created") == 0 || num(out, "failed") != 0 {
		t.Fatalf("sync-catalog must publish the templates: %v", out)
	}
	scf := s.Sim(seeClickFixSim.name).Handler.(*scfsim.Server)
	kinds := map[string]int{}
	for _, rt := range scf.RequestTypes() {
		if rt.RemoteKind != "" {
			if rt.AgencyID != DemoSCFAgencyID {
				t.Fatalf("request type %d (%s %d) in agency %v, want the demo agency %d", rt.ID, rt.RemoteKind, rt.RemoteID, rt.AgencyID, DemoSCFAgencyID)
			}
			kinds[rt.RemoteKind]++
		}
	}
	// The simulator's public SR problems and its STREET work-order templates (the demo's WO
	// category is a STREET one).
	if kinds["SR"] == 0 || kinds["WO"] == 0 {
		t.Fatalf("published request types by kind: %v", kinds)
	}
	code, again := post(t, s, "/v1/connections/"+DemoSCFConnection+"/sync-catalog", map[string]any{})
	if code != http.StatusOK || num(again, "created") != 0 || num(again, "unchanged") != num(out, "categories") {
		t.Fatalf("second sync-catalog must change nothing: %d %v (first %v)", code, again, out)
	}
}

func num(m map[string]any, k string) float64 { v, _ := m[k].(float64); return v }

// The demo agency's area holds the simulated city (where citizens' issues and staff's SRs are
// placed), passes the connector's checks (no holes), and wins over an older saved simulator
// state that lacked it.
func TestDemoSCFAgency(t *testing.T) {
	url := func(name string) string { return "http://127.0.0.1:1" }
	conn := demoSCFCityworks(demoSecrets{SCFPassword: "p", CityworksPassword: "p"}, url)
	if conn.Options["importCityworksRequests"] != true {
		t.Error("the demo imports SRs entered in Cityworks")
	}
	area, err := cityworks.LoadServiceArea(demoSCFArea())
	if err != nil {
		t.Fatal(err)
	}
	if !area.Contains(scfsim.DefaultLng, scfsim.DefaultLat) || area.Contains(-87.63, 41.88) {
		t.Fatal("the demo agency must cover the simulated city, and only it")
	}

	sim := scfsim.New(scfsim.Options{}) // as restored from a data dir of before the agency
	b := &simBuild{url: url(""), file: &config.File{Connections: []config.Connection{conn}}}
	if err := seeClickFixSim.restored(b, sim); err != nil {
		t.Fatal(err)
	}
	if got := sim.Agencies(); len(got) != 1 || got[0].ID != DemoSCFAgencyID || got[0].Name != DemoSCFAgencyName {
		t.Fatalf("agencies after restore: %+v", got)
	}
}
