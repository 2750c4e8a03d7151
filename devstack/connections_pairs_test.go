package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

// A --connections file with a connection per vendor pair (credentials of its own, not the
// demo's) starts exactly the simulators it points at; they accept those credentials and push
// to those connections, so each pair's story plays as with the demo.
func TestConnectionsFilePairs(t *testing.T) {
	ports := map[string]int{}
	o := freeOptions(t)
	o.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, sim := range simulators {
		if sim != portalSim {
			ports[sim.name] = freePort(t)
			*sim.port(&o) = ports[sim.name]
		}
	}
	url := func(sim string) string { return fmt.Sprintf("http://127.0.0.1:%d", ports[sim]) }
	yaml := fmt.Sprintf(`tenants:
  - {id: city, name: City, apiKeys: ["city-key-0123456789"]}
connections:
  - id: city-cubu
    tenant: city
    requestSystem:
      kind: cubu
      hmacSecrets: [city-hmac-secret]
      s2s: {baseUrl: "%[1]s", applicationId: app-1, tenantId: tenant-1, clientId: city-client, clientSecret: city-s2s-secret,
            agentUserId: %[4]s, tokenUrl: "%[1]s/tenant-1/oauth2/v2.0/token"}
    workSystem: {kind: theworxhub, baseUrl: "%[2]s", clientId: city-twh, clientSecret: city-twh-secret, webhookSecret: city-twh-hook}
    options:
      fields: {description: %[5]s, address: %[6]s, requesterName: %[7]s, requestTypes: {%[8]s: Maintenance}}
  - id: city-scf
    tenant: city
    requestSystem: {kind: seeclickfix, baseUrl: "%[9]s", organizationId: 77, username: city-scf, password: city-scf-password,
                    pollInterval: 2s, rateLimit: 600}
    workSystem: {kind: cityworks, baseUrl: "%[10]s/cityworks", version: "15", loginName: city-cw, password: city-cw-password}
    options:
      geocoder: {url: "%[11]s/arcgis/rest/services/Locator/GeocodeServer", token: city-gis-token}
      categories: [{requestType: 1001, kind: SR, templateId: 101}]
  - id: city-cyprexx
    tenant: city
    requestSystem: {kind: cyprexx, baseUrl: "%[12]s", apiToken: city-cx-token, webhookSecret: city-cx-push, pollInterval: 5s}
    workSystem: {kind: pruvan, baseUrl: "%[13]s", username: city-pv, password: 0123456789abcdef0123456789abcdef01234567, token: city-pv-token}
    options: {callbackUrl: "http://%[3]s/v1/hooks/cyprexx/city-cyprexx"}
`, url("cubu"), url("theworxhub"), o.HTTPAddr, cubusim.DefaultAgentID, cubusim.FieldDescription, cubusim.FieldAddress,
		cubusim.FieldName, cubusim.DefaultServiceTypeMaintenance, url("seeclickfix"), url("cityworks"), url("arcgis"),
		url("cyprexx"), url("pruvan"))
	o.ConnectionsFile = filepath.Join(t.TempDir(), "connections.yaml")
	if err := os.WriteFile(o.ConnectionsFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, o)
	defer s.Stop()
	s.APIKey = "city-key-0123456789"
	want := []string{"theworxhub", "cityworks", "arcgis", "seeclickfix", "cyprexx", "pruvan", "cubu"}
	if got := simNames(s); !slices.Equal(got, want) {
		t.Fatalf("running simulators %v, want %v (no portal: no connection points at it)", got, want)
	}
	for _, p := range []struct{ story, conn string }{
		{DemoCubuConnection, "city-cubu"}, {DemoSCFConnection, "city-scf"}, {DemoCyprexxConnection, "city-cyprexx"},
	} {
		t.Run(p.conn, func(t *testing.T) { playDemo[p.story](t, s, p.conn) })
	}
}
