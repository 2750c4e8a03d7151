package devstack

import (
	"net/http"
	"time"

	"github.com/ticketsync/ticketsync/config"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
)

// cyprexxSim plays Cyprexx: it accepts the API token of every connection (demo or
// --connections) whose requestSystem.baseUrl points at it. The first connection's token is
// the simulator's default vendor account (what its staff page issues work orders to); later
// ones are vendor accounts named after their connection. It pushes to the callback each
// connection registers with its push key (the API's /v1/hooks/cyprexx/<connection>). Its rate
// limit is the highest requestSystem.rateLimit of those connections, else the documented 60.
var cyprexxSim = &simulator{
	name: "cyprexx", title: "Cyprexx", kinds: []string{"cyprexx"},
	flag: "--cyprexx-sim-port", def: 8306, port: func(o *Options) *int { return &o.CyprexxSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		opts := cxsim.Options{DisableRateLimit: b.opts.NoSimRateLimit, Tokens: map[string]string{}}
		for i, c := range b.using("cyprexx") {
			vendor := c.ID
			if i == 0 {
				vendor = cxsim.DefaultVendor
			}
			opts.Tokens[c.RequestSystem.APIToken] = vendor
			opts.RateLimit = max(opts.RateLimit, c.RequestSystem.RateLimit)
		}
		if len(opts.Tokens) == 0 {
			opts.Tokens = nil
		}
		return cxsim.New(opts), nil
	},
}

// demoCyprexxPruvan is the demo property-preservation vendor: Cyprexx work orders become
// Pruvan projects (offered to every sub-user), with photos, surveys and completion relayed
// back. Cyprexx's feed is read every 10 s until `connections validate` registers the push key
// (requestSystem.webhookSecret) at callbackUrl; then its pushes bring changes at once.
// Required photos: each task needs max(its minPhotos, qa.requiredPhotosPerTask) relayed
// photos of any category it takes before the completion date goes to Cyprexx (it counts
// photos, not categories). The demo asks for two, so a Before/After task (minPhotos 1, as the
// staff page issues them) wants two photos, e.g. a Before and an After, and a crew completing
// with one sees the ticket held with "1 of 2 photos relayed" until the second arrives.
func demoCyprexxPruvan(sec demoSecrets, url func(string) string) config.Connection {
	return config.Connection{
		ID: DemoCyprexxConnection, Tenant: DemoTenant,
		RequestSystem: config.RequestSystem{Kind: "cyprexx", BaseURL: url(cyprexxSim.name), APIToken: sec.CyprexxToken,
			WebhookSecret: sec.CyprexxWebhookSecret, PollInterval: config.Duration{Duration: 10 * time.Second}},
		WorkSystem: config.WorkSystem{Kind: "pruvan", BaseURL: url(pruvanSim.name), Username: "demo-pruvan",
			Password: sec.PruvanPassword, Token: sec.PruvanToken},
		Options: map[string]any{"defaultAssignTo": "~all~", "autoAdmin": true,
			"qa":          map[string]any{"relayCategories": []any{"Before", "During", "After"}, "requiredPhotosPerTask": 2},
			"callbackUrl": url("api") + "/v1/hooks/cyprexx/" + DemoCyprexxConnection},
	}
}
