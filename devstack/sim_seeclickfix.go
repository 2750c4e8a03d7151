package devstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ticketsync/ticketsync/config"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// Demo SeeClickFix API user (its password is a demo secret).
const demoSCFUser = "demo-scf"

// devSCFRateLimit is the dev SeeClickFix simulator's requests per minute for the demo: SCF's
// documented 20 would make the demo crawl; the demo connection's rateLimit matches it.
const devSCFRateLimit = 600

// seeClickFixSim plays SeeClickFix API v2: it accepts the API user of every connection (demo
// or --connections) whose requestSystem.baseUrl points at it, as members of its one
// organization. It pushes nothing: the intake polls it. Its rate limit is the highest
// requestSystem.rateLimit of those connections, else SCF's documented 20 a minute. The
// agencies of those connections (options.agencies) are its service areas: CatalogSync
// publishes request types into them and SCF refuses an unknown agency.
var seeClickFixSim = &simulator{
	name: "seeclickfix", title: "SeeClickFix", kinds: []string{"seeclickfix"},
	flag: "--scf-sim-port", def: 8305, port: func(o *Options) *int { return &o.SCFSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		opts := scfsim.Options{DisableRateLimit: b.opts.NoSimRateLimit}
		orgOf := ""
		for i, c := range b.using("seeclickfix") {
			r := c.RequestSystem
			opts.Users = append(opts.Users, scfsim.User{ID: int64(9100 + i), Name: c.ID, Username: r.Username,
				Password: r.Password, Token: r.Token, Member: true})
			switch {
			case opts.OrganizationID == 0:
				opts.OrganizationID, orgOf = r.OrganizationID, c.ID
			case r.OrganizationID != opts.OrganizationID:
				return nil, fmt.Errorf("connections %s (organization %d) and %s (organization %d) both point at the SeeClickFix simulator, which hosts one organization",
					orgOf, opts.OrganizationID, c.ID, r.OrganizationID)
			}
			opts.RateLimit = max(opts.RateLimit, r.RateLimit)
		}
		agencies, err := scfAgencies(b)
		if err != nil {
			return nil, err
		}
		opts.Agencies = agencies
		return scfsim.New(opts), nil
	},
	// Agencies live in the simulator's saved state: the configured ones replace theirs by id.
	restored: func(b *simBuild, h http.Handler) error {
		want, err := scfAgencies(b)
		if err != nil || len(want) == 0 {
			return err
		}
		sim := h.(*scfsim.Server)
		byID := map[int64]scfsim.Agency{}
		for _, a := range sim.Agencies() {
			byID[a.ID] = a
		}
		for _, a := range want {
			byID[a.ID] = a
		}
		list := make([]scfsim.Agency, 0, len(byID))
		for _, a := range byID {
			list = append(list, a)
		}
		return sim.SetAgencies(list)
	},
}

// scfAgencies are the agencies (options.agencies: id, name, GeoJSON geometry inline or in a
// file) of the connections on the simulator, as SeeClickFix would hold them. Two connections
// giving one id different areas cannot share the simulator's one organization.
func scfAgencies(b *simBuild) ([]scfsim.Agency, error) {
	var out []scfsim.Agency
	from := map[int64]scfsim.Agency{}
	owner := map[int64]string{}
	for _, c := range b.using("seeclickfix") {
		list, _ := c.Options["agencies"].([]any)
		for i, e := range list {
			m, _ := e.(map[string]any)
			id, err := strconv.ParseInt(fmt.Sprint(m["id"]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("connection %s: options.agencies[%d].id %v is not a number", c.ID, i, m["id"])
			}
			geo, err := agencyGeometry(m["geometry"])
			if err != nil {
				return nil, fmt.Errorf("connection %s: options.agencies[%d]: %w", c.ID, i, err)
			}
			name, _ := m["name"].(string)
			a := scfsim.Agency{ID: id, Name: name, Geometry: geo}
			if prev, ok := from[id]; ok {
				if string(prev.Geometry) != string(geo) {
					return nil, fmt.Errorf("connections %s and %s give agency %d different areas; they point at one SeeClickFix simulator, which hosts one organization", owner[id], c.ID, id)
				}
				continue
			}
			from[id], owner[id] = a, c.ID
			out = append(out, a)
		}
	}
	return out, nil
}

// agencyGeometry is an agency's GeoJSON as the simulator takes it: an inline object or the
// file it names (relative to the working directory, as the connector reads it), a one-feature
// FeatureCollection unwrapped to its feature.
func agencyGeometry(v any) (json.RawMessage, error) {
	var raw []byte
	var err error
	switch g := v.(type) {
	case string:
		raw, err = os.ReadFile(g)
	default:
		raw, err = json.Marshal(g)
	}
	if err != nil {
		return nil, fmt.Errorf("geometry: %w", err)
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if json.Unmarshal(raw, &fc) == nil && fc.Type == "FeatureCollection" && len(fc.Features) == 1 {
		raw = fc.Features[0]
	}
	return raw, nil
}

// The demo city's one agency: SeeClickFix agency id and its service area, a polygon (lng/lat,
// no holes) around the simulators' city centre (scfsim.DefaultLat/DefaultLng). It owns every
// Cityworks domain, so CatalogSync publishes all public templates into it, and an SR staff
// enter in Cityworks with X/Y inside it is imported into SeeClickFix.
const (
	DemoSCFAgencyID   = 11
	DemoSCFAgencyName = "Simville Public Works"
)

// DemoSCFServiceArea is the demo agency's GeoJSON Polygon.
const DemoSCFServiceArea = `{"type":"Polygon","coordinates":[[` +
	`[-72.99,41.26],[-72.88,41.26],[-72.86,41.31],[-72.89,41.36],[-72.98,41.36],[-73.01,41.31],[-72.99,41.26]]]}`

// demoSCFCityworks is the demo city: SeeClickFix issues become Cityworks service requests or
// work orders by request type, geocoded through the ArcGIS simulator; the catalog is published
// into the demo agency and SRs entered in Cityworks inside its area are imported.
func demoSCFCityworks(sec demoSecrets, url func(string) string) config.Connection {
	return config.Connection{
		ID: DemoSCFConnection, Tenant: DemoTenant,
		RequestSystem: config.RequestSystem{Kind: "seeclickfix", BaseURL: url(seeClickFixSim.name),
			OrganizationID: scfsim.DefaultOrganizationID, Username: demoSCFUser, Password: sec.SCFPassword,
			PollInterval: config.Duration{Duration: 5 * time.Second}, RateLimit: devSCFRateLimit},
		WorkSystem: config.WorkSystem{Kind: "cityworks", BaseURL: url(cityworksSim.name), Version: "23",
			LoginName: demoCityworksLogin, Password: sec.CityworksPassword},
		Options: map[string]any{
			"geocoder": map[string]any{"url": url(arcgisSim.name) + "/arcgis/rest/services/World/GeocodeServer"},
			// The simulators' seeded catalogs: SCF request types 1001–1004, Cityworks problems
			// 101 (POTHOLE), 102 (STLIGHT), 104 (MISSEDTRASH) and WO template 1004 (graffiti).
			"categories": []any{
				map[string]any{"requestType": 1001, "kind": "SR", "templateId": 101},
				map[string]any{"requestType": 1003, "kind": "SR", "templateId": 102},
				map[string]any{"requestType": 1002, "kind": "WO", "templateId": 1004, "entityType": "STREET"},
				map[string]any{"requestType": 1004, "kind": "SR", "templateId": 104},
			},
			"agencies": []any{map[string]any{"id": DemoSCFAgencyID, "name": DemoSCFAgencyName,
				"geometry": demoSCFArea()}},
			"importCityworksRequests": true,
		},
	}
}

// demoSCFArea is DemoSCFServiceArea as an inline GeoJSON object (what a connections file's
// YAML decodes to).
func demoSCFArea() map[string]any {
	var area map[string]any
	if err := json.Unmarshal([]byte(DemoSCFServiceArea), &area); err != nil {
		panic(err) // a constant
	}
	return area
}
