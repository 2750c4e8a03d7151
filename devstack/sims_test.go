package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

func simNames(s *Stack) []string {
	var out []string
	for _, sim := range s.Sims {
		out = append(out, sim.Name)
	}
	return out
}

func getPage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Without --connections every simulator runs, its staff page answers, and the banner lists
// each with its staff page plus every demo connection whose kinds this build registers.
func TestDevStackRunsEverySimulator(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	var want []string
	for _, sim := range simulators {
		want = append(want, sim.name)
	}
	if got := simNames(s); !slices.Equal(got, want) {
		t.Fatalf("running simulators %v, want %v", got, want)
	}
	banner := s.Banner()
	for _, sim := range s.Sims {
		code, page := getPage(t, sim.StaffURL())
		if code != http.StatusOK || !strings.Contains(strings.ToLower(page), "<html") {
			t.Errorf("%s staff page %s: %d %.200s", sim.Name, sim.StaffURL(), code, page)
		}
		if !strings.Contains(banner, sim.URL) || !strings.Contains(banner, sim.StaffURL()) {
			t.Errorf("banner lacks %s at %s:\n%s", sim.Title, sim.StaffURL(), banner)
		}
	}
	if s.TWH == nil || s.Portal == nil || s.TWHURL != s.Sim("theworxhub").URL || s.PortalURL != s.Sim("portal").URL {
		t.Fatal("TWH and Portal must be the TheWorxHub and portal simulators")
	}
	// Each demo connection is there exactly when its kinds are registered, and in the banner.
	for _, p := range demoPairs {
		registered := slices.Contains(connectors.RequestKinds(), p.RequestKind) && slices.Contains(connectors.WorkKinds(), p.WorkKind)
		present := slices.ContainsFunc(s.Demo, func(d DemoConnectionInfo) bool { return d.ID == p.ID })
		if present != registered {
			t.Errorf("demo connection %s: present=%v, but its kinds %s/%s registered=%v (run with TICKETSYNC_TEST_LOG=1 for why)",
				p.ID, present, p.RequestKind, p.WorkKind, registered)
		}
		if present != strings.Contains(banner, p.ID) {
			t.Errorf("banner and demo disagree on %s:\n%s", p.ID, banner)
		}
		if present {
			if _, err := s.App.Registry.Get(p.ID); err != nil {
				t.Errorf("demo connection %s not configured in the app: %v", p.ID, err)
			}
		}
	}
}

// --connections with only a portal → TheWorxHub connection starts only those two simulators:
// the other simulators' ports are never bound, so even a taken one does not matter.
func TestConnectionsFileStartsOnlyItsSimulators(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	twhPort, portalPort := freePort(t), freePort(t)
	file := writeConnections(t, twhPort, portalPort)
	o := freeOptions(t)
	o.ConnectionsFile, o.TWHSimPort, o.PortalSimPort = file, twhPort, portalPort
	o.CityworksSimPort = taken.Addr().(*net.TCPAddr).Port
	others := map[string]int{}
	for _, sim := range simulators[3:] {
		p := freePort(t)
		*sim.port(&o), others[sim.flag] = p, p
	}
	s := start(t, o)
	defer s.Stop()
	if got := simNames(s); !slices.Equal(got, []string{"theworxhub", "portal"}) {
		t.Fatalf("running simulators %v, want theworxhub and portal", got)
	}
	for flag, p := range others {
		ln, err := net.Listen("tcp", simAddr(p))
		if err != nil {
			t.Errorf("%s port %d is in use: an unreferenced simulator runs (%v)", flag, p, err)
			continue
		}
		ln.Close()
	}
	if b := s.Banner(); strings.Contains(b, "Cityworks") || strings.Contains(b, "Cubu sim") || !strings.Contains(b, s.TWHURL) {
		t.Fatalf("banner must list only the running simulators:\n%s", b)
	}
}

// The same file without a TheWorxHub connection starts only the portal simulator.
func TestConnectionsFileWithoutTheWorxHub(t *testing.T) {
	portalPort := freePort(t)
	file := writeConnections(t, 0, portalPort)
	o := freeOptions(t)
	o.ConnectionsFile, o.PortalSimPort = file, portalPort
	s := start(t, o)
	defer s.Stop()
	if got := simNames(s); !slices.Equal(got, []string{"portal"}) || s.TWH != nil || s.Portal == nil {
		t.Fatalf("running simulators %v (TWH %v), want only the portal", got, s.TWH)
	}
}

// writeConnections writes a connections file whose portal → TheWorxHub connection points at
// the given simulator ports (twhPort 0: a TheWorxHub that is no simulator).
func writeConnections(t *testing.T, twhPort, portalPort int) string {
	t.Helper()
	twh := "https://twh.example"
	if twhPort != 0 {
		twh = fmt.Sprintf("http://127.0.0.1:%d", twhPort)
	}
	yaml := fmt.Sprintf(`tenants:
  - id: acme
    name: Acme Living
    apiKeys: ["acme-key-0123456789"]
connections:
  - id: acme-twh
    tenant: acme
    requestSystem: {kind: portal, url: "http://localhost:%d/acme", secret: "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="}
    workSystem: {kind: theworxhub, baseUrl: "%s", clientId: acme-client, clientSecret: acme-secret, webhookSecret: acme-hook}
`, portalPort, twh)
	file := filepath.Join(t.TempDir(), "connections.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A taken simulator port fails at once, naming that simulator's flag.
func TestSimulatorPortClashNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, sim := range simulators {
		o := freeOptions(t)
		*sim.port(&o) = port
		began := time.Now()
		_, err := Start(context.Background(), o)
		var pe *PortError
		if !errors.As(err, &pe) || pe.Flag != sim.flag || !strings.Contains(err.Error(), sim.flag) {
			t.Errorf("%s: want a PortError naming %s, got %v", sim.name, sim.flag, err)
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("%s: a port clash must fail at once, took %s", sim.name, d)
		}
	}
}

// simState changes one simulator's state (as its staff would) and returns a check that the
// change is there.
type simState func(t *testing.T, h http.Handler) (check func(h http.Handler) bool)

var simStates = map[string]simState{
	"theworxhub": nil, // TestDevStackRestartResumesTickets: a ticket's request survives
	"cityworks": func(t *testing.T, h http.Handler) func(http.Handler) bool {
		sr, err := h.(*cwsim.Server).CreateRequest(cwsim.NewRequest{ProblemSid: 101, Details: "restart-cw", Address: "1 Main St"})
		if err != nil {
			t.Fatal(err)
		}
		return func(h http.Handler) bool {
			v, ok := h.(*cwsim.Server).Request(sr.RequestId)
			return ok && v.Details == "restart-cw"
		}
	},
	"seeclickfix": func(t *testing.T, h http.Handler) func(http.Handler) bool {
		is, err := h.(*scfsim.Server).Report(scfsim.ReportInput{Summary: "restart-scf", Description: "Pothole", RequestTypeID: 1001,
			Lat: scfsim.DefaultLat, Lng: scfsim.DefaultLng, Reporter: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		return func(h http.Handler) bool {
			v, ok := h.(*scfsim.Server).Issue(is.ID)
			return ok && v.Summary == "restart-scf"
		}
	},
	"cyprexx": func(t *testing.T, h http.Handler) func(http.Handler) bool {
		wo, err := h.(*cxsim.Server).Issue(cxsim.DefaultVendor, cxsim.WorkOrder{WorkOrderNumber: "restart-cx", Service: "Lawn",
			Address1: "1 Main St", City: "Springfield", State: "IL", Zip: "62701", ServiceDue: "2030-01-01",
			Tasks: []cxsim.Task{{TaskID: "t1", Name: "Mow", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return func(h http.Handler) bool {
			v, ok := h.(*cxsim.Server).WorkOrder(wo.WorkOrderID)
			return ok && v.WorkOrderNumber == "restart-cx"
		}
	},
	"pruvan": func(t *testing.T, h http.Handler) func(http.Handler) bool {
		in, err := h.(*pvsim.Server).SetIntegration(pvsim.Integration{ClientCode: "restart-pv", URL: "http://127.0.0.1:9/x"})
		if err != nil {
			t.Fatal(err)
		}
		return func(h http.Handler) bool {
			return slices.ContainsFunc(h.(*pvsim.Server).Integrations(), func(i pvsim.Integration) bool {
				return i.ClientCode == "restart-pv" && i.APIKey == in.APIKey
			})
		}
	},
	"cubu": func(t *testing.T, h http.Handler) func(http.Handler) bool {
		c, err := h.(*cubusim.Server).QueueUp(cubusim.NewCase{ContactEmail: "restart@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		return func(h http.Handler) bool { _, ok := h.(*cubusim.Server).Case(c.ID); return ok }
	},
}

// A restart on the same data dir keeps every simulator's state (those that keep state:
// TheWorxHub's requests, Cityworks' requests, SeeClickFix's issues, …).
func TestDevStackRestartKeepsSimulatorState(t *testing.T) {
	o := freeOptions(t)
	o.Ephemeral, o.DataDir = false, t.TempDir()
	s1 := start(t, o)
	checks := map[string]func(http.Handler) bool{}
	for _, sim := range s1.Sims {
		if _, ok := sim.Handler.(snapshotter); !ok {
			continue
		}
		mutate, known := simStates[sim.Name]
		if !known {
			s1.Stop()
			t.Fatalf("%s keeps state: add it to simStates", sim.Name)
		}
		if mutate != nil {
			checks[sim.Name] = mutate(t, sim.Handler)
		}
	}
	if len(checks) < 4 {
		s1.Stop()
		t.Fatalf("only %d simulators keep state", len(checks))
	}
	if err := s1.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for name := range checks {
		if _, err := os.Stat(filepath.Join(o.DataDir, name+"-sim.json")); err != nil {
			t.Errorf("%s state not saved: %v", name, err)
		}
	}
	s2 := start(t, o)
	defer s2.Stop()
	for name, check := range checks {
		if !check(s2.Sim(name).Handler) {
			t.Errorf("%s lost its state across the restart", name)
		}
	}
}
