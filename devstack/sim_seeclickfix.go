package devstack

import (
	"fmt"
	"net/http"
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
// requestSystem.rateLimit of those connections, else SCF's documented 20 a minute.
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
		return scfsim.New(opts), nil
	},
}

// demoSCFCityworks is the demo city: SeeClickFix issues become Cityworks service requests or
// work orders by request type, geocoded through the ArcGIS simulator.
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
		},
	}
}
