package devstack

import (
	"slices"
	"testing"

	"github.com/ticketsync/ticketsync/config"
)

// Which simulators a connections file references, without starting anything.
func TestSimulatorReferences(t *testing.T) {
	url := func(port int) string { return "http://" + simAddr(port) }
	twh, portal, cw, gis, scf, cx, pv, cubu := url(8301), url(8302), url(8303), url(8304), url(8305), url(8306), url(8307), url(8308)
	bases := map[*simulator]string{theWorxHubSim: twh, portalSim: portal, cityworksSim: cw, arcgisSim: gis,
		seeClickFixSim: scf, cyprexxSim: cx, pruvanSim: pv, cubuSim: cubu}
	for _, tc := range []struct {
		name string
		conn config.Connection
		want []string
	}{
		{"portal and TheWorxHub (localhost is 127.0.0.1, paths under the base)", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "portal", URL: "http://localhost:8302/hooks/acme"},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: twh + "/"}},
			[]string{"theworxhub", "portal"}},
		{"a real TheWorxHub is no simulator", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "portal", URL: portal + "/x"},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: "https://twh.example"}},
			[]string{"portal"}},
		{"another port is another service", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "portal", URL: "http://127.0.0.1:83021/x"},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: "http://127.0.0.1:8301x"}},
			nil},
		{"SeeClickFix, Cityworks and the geocoder in options", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "seeclickfix", BaseURL: scf},
			WorkSystem:    config.WorkSystem{Kind: "cityworks", BaseURL: cw + "/cityworks"},
			Options: map[string]any{"geocoder": map[string]any{"url": gis + "/arcgis/rest/services/Locator/GeocodeServer"},
				"categories": []any{map[string]any{"requestType": 1}}}},
			[]string{"cityworks", "arcgis", "seeclickfix"}},
		{"Cyprexx and Pruvan", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "cyprexx", BaseURL: cx},
			WorkSystem:    config.WorkSystem{Kind: "pruvan", BaseURL: pv}},
			[]string{"cyprexx", "pruvan"}},
		{"Cubu through its S2S URLs", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "cubu", S2S: &config.CubuS2S{BaseURL: "https://s2s.example", TokenURL: cubu + "/t/oauth2/v2.0/token"}},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: twh}},
			[]string{"theworxhub", "cubu"}},
		{"Cubu without S2S: by kind (its webhooks come from the simulator)", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "cubu"},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: "https://twh.example"}},
			[]string{"cubu"}},
		{"Cubu with a real S2S", config.Connection{
			RequestSystem: config.RequestSystem{Kind: "cubu", S2S: &config.CubuS2S{BaseURL: "https://s2s.example"}},
			WorkSystem:    config.WorkSystem{Kind: "theworxhub", BaseURL: "https://twh.example"}},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &config.File{Connections: []config.Connection{tc.conn}}
			var got []string
			for _, sim := range simulators {
				if sim.references(f, bases[sim]) {
					got = append(got, sim.name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("referenced %v, want %v", got, tc.want)
			}
		})
	}
}

// Every simulator has its own flag and default port, in the documented range.
func TestSimulatorRegistry(t *testing.T) {
	flags, ports, names := map[string]bool{}, map[int]bool{}, map[string]bool{}
	var o Options
	for _, sim := range simulators {
		if flags[sim.flag] || ports[sim.def] || names[sim.name] {
			t.Fatalf("%s: flag %s, port %d or name reused", sim.name, sim.flag, sim.def)
		}
		flags[sim.flag], ports[sim.def], names[sim.name] = true, true, true
		if sim.def < 8301 || sim.def > 8308 {
			t.Errorf("%s: default port %d outside 8301-8308", sim.name, sim.def)
		}
		if p := sim.port(&o); *p != 0 {
			t.Fatalf("%s: port field not zero in zero Options", sim.name)
		} else {
			*p = -1
		}
	}
	o.normalize()
	for _, sim := range simulators {
		if *sim.port(&o) != 0 {
			t.Errorf("%s: -1 must normalize to 0 (any free port), got %d", sim.name, *sim.port(&o))
		}
	}
	var d Options
	d.normalize()
	for _, sim := range simulators {
		if *sim.port(&d) != sim.def {
			t.Errorf("%s: default %d, got %d", sim.name, sim.def, *sim.port(&d))
		}
	}
}
