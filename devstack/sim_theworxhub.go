package devstack

import (
	"net/http"

	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// devTWHRateLimit is the dev TheWorxHub simulator's calls per minute: far above TWH's
// documented 120/min, which keeps the demo (and its fast feed) lively. The demo connections'
// rateLimit matches it, and ticketsync paces itself to it.
const devTWHRateLimit = 6000

// theWorxHubSim plays TheWorxHub: it accepts the OAuth client of every connection (demo or
// --connections) whose workSystem.baseUrl points at it, and pushes its signed notifications
// to the first one's /v1/hooks/theworxhub/<connection> (it has one webhook subscription; the
// other connections on it follow through their change feed).
var theWorxHubSim = &simulator{
	name: "theworxhub", title: "TheWorxHub", kinds: []string{"theworxhub"},
	flag: "--twh-sim-port", def: 8301, port: func(o *Options) *int { return &o.TWHSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		opts := twhsim.Options{RateLimit: devTWHRateLimit, DisableRateLimit: b.opts.NoSimRateLimit,
			Clients: map[string]string{}}
		// Without a connection on it, it still runs (the demo's kinds may be missing) with
		// its default client.
		for _, c := range b.using("theworxhub") {
			opts.Clients[c.WorkSystem.ClientID] = c.WorkSystem.ClientSecret
			if opts.WebhookURL == "" {
				opts.WebhookURL = b.hookURL("theworxhub", c.ID)
				opts.WebhookSecret = c.WorkSystem.WebhookSecret
			}
		}
		if len(opts.Clients) == 0 {
			opts.Clients = nil
		}
		return twhsim.New(opts), nil
	},
}
