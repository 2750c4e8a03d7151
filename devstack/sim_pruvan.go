package devstack

import (
	"net/http"

	"github.com/ticketsync/ticketsync/config"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// pruvanSim plays Pruvan in both directions: its push API (workSystem.baseUrl) and, as a
// Pruvan admin would configure it, one integration per connection (demo or --connections)
// whose workSystem.baseUrl points at it. Each integration's order source is the API's
// /v1/hooks/pruvan/<connection>, called with the connection's username, password (hash) and
// token, so Validate, Refresh and the photo uploads reach ticketsync.
var pruvanSim = &simulator{
	name: "pruvan", title: "Pruvan", kinds: []string{"pruvan"},
	flag: "--pruvan-sim-port", def: 8307, port: func(o *Options) *int { return &o.PruvanSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		return pvsim.New(pvsim.Options{BaseURL: b.url, Integrations: pruvanIntegrations(b)}), nil
	},
	// The saved state holds integrations (with the push keys' api keys and the validated
	// flag): keep those that still match the configuration, replace the others.
	restored: func(b *simBuild, h http.Handler) error {
		sim := h.(*pvsim.Server)
		have := map[string]pvsim.Integration{}
		for _, in := range sim.Integrations() {
			have[in.ClientCode] = in
		}
		for _, want := range pruvanIntegrations(b) {
			old, ok := have[want.ClientCode]
			if ok && old.URL == want.URL && old.Extension == want.Extension && old.Username == want.Username &&
				old.Password == want.Password && old.Token == want.Token && old.AutoAdmin == want.AutoAdmin {
				continue
			}
			if _, err := sim.SetIntegration(want); err != nil {
				return err
			}
		}
		return nil
	},
}

// pruvanIntegrations are the integrations of the connections on the simulator: the client
// code is the connection id.
func pruvanIntegrations(b *simBuild) []pvsim.Integration {
	var out []pvsim.Integration
	for _, c := range b.using("pruvan") {
		w := c.WorkSystem
		out = append(out, pvsim.Integration{ClientCode: c.ID, URL: b.hookURL("pruvan", c.ID),
			Username: w.Username, Password: w.Password, Token: w.Token, AutoAdmin: optionBool(c, "autoAdmin")})
	}
	return out
}

// optionBool reads a boolean connector option (false when absent or not a boolean).
func optionBool(c config.Connection, key string) bool {
	v, _ := c.Options[key].(bool)
	return v
}
