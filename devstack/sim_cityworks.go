package devstack

import (
	"fmt"
	"net/http"

	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// Demo Cityworks login (its password is a demo secret).
const demoCityworksLogin = "demo-cityworks"

// cityworksSim plays Cityworks AMS: it accepts the login of every connection (demo or
// --connections) whose workSystem.baseUrl points at it and emulates their version (one at a
// time; 23 without any).
// Cityworks pushes nothing: tickets poll it.
var cityworksSim = &simulator{
	name: "cityworks", title: "Cityworks", kinds: []string{"cityworks"},
	flag: "--cityworks-sim-port", def: 8303, port: func(o *Options) *int { return &o.CityworksSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		opts := cwsim.Options{Users: map[string]string{}}
		versionOf := ""
		for _, c := range b.using("cityworks") {
			w := c.WorkSystem
			opts.Users[w.LoginName] = w.Password
			switch {
			case opts.Version == "":
				opts.Version, versionOf = w.Version, c.ID
			case w.Version != opts.Version:
				return nil, fmt.Errorf("connections %s (version %s) and %s (version %s) both point at the Cityworks simulator, which emulates one version at a time",
					versionOf, opts.Version, c.ID, w.Version)
			}
		}
		if len(opts.Users) == 0 {
			opts.Users = nil // the simulator's default login
		}
		return cwsim.New(opts), nil
	},
}
