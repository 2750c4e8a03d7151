package devstack

import (
	"fmt"
	"net/http"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
)

// portalSim is the fake request portal: it receives the signed events of every portal
// connection (demo or --connections) whose requestSystem.url is under its URL, verifying
// them with their secrets.
// It keeps no state across restarts (the events are the API's, replayable from the store).
var portalSim = &simulator{
	name: "portal", title: "Portal", kinds: []string{"portal"},
	flag: "--portal-sim-port", def: 8302, pageLabel: "events received", port: func(o *Options) *int { return &o.PortalSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		var secrets []stdwebhooks.Secret
		for _, c := range b.using("portal") {
			for _, raw := range c.RequestSystem.PortalSecrets() {
				sec, err := stdwebhooks.ParseSecret(raw)
				if err != nil {
					return nil, fmt.Errorf("connection %s: %w", c.ID, err)
				}
				secrets = append(secrets, sec)
			}
		}
		return portalsim.New(portalsim.Options{Secrets: secrets}), nil
	},
}
