package devstack

import (
	"net/http"

	"github.com/ticketsync/ticketsync/config"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

// cubuSim plays Cubu: its S2S API and token endpoint (requestSystem.s2s.baseUrl/tokenUrl) and
// the agents whose actions fire the HMAC-signed service webhooks. Cubu has one webhook "Base
// URL" per service, so the hooks go to the first connection (demo or --connections) of kind
// cubu that uses it: <API>/v1/hooks/cubu/<connection>/service/actions/<hook>, signed with its
// first hmacSecrets entry. The S2S application takes that connection's tenant, application,
// client id and secret, and its agentUserId becomes one of the agents.
var cubuSim = &simulator{
	name: "cubu", title: "Cubu", kinds: []string{"cubu"},
	flag: "--cubu-sim-port", def: 8308, port: func(o *Options) *int { return &o.CubuSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		var opts cubusim.Options
		var conns []config.Connection
		for _, c := range b.file.Connections {
			// A Cubu request system without S2S points at no URL, yet needs Cubu's webhooks.
			if r := c.RequestSystem; r.Kind == "cubu" && (r.S2S == nil || connectionSides(c)[0].pointsAt(b.url)) {
				conns = append(conns, c)
			}
		}
		if len(conns) > 0 {
			c := conns[0]
			r := c.RequestSystem
			opts.HookBaseURL = b.hookURL("cubu", c.ID)
			if len(r.HMACSecrets) > 0 {
				opts.HMACSecret = r.HMACSecrets[0]
			}
			if s := r.S2S; s != nil {
				opts.TenantID, opts.ApplicationID, opts.ClientID, opts.ClientSecret = s.TenantID, s.ApplicationID, s.ClientID, s.ClientSecret
				if s.AgentUserID != "" && s.AgentUserID != cubusim.DefaultAgentID && s.AgentUserID != cubusim.SecondAgentID {
					opts.Agents = []cubusim.Agent{{ID: cubusim.DefaultAgentID, Email: cubusim.DefaultAgentEmail},
						{ID: cubusim.SecondAgentID, Email: cubusim.SecondAgentEmail}, {ID: s.AgentUserID, Email: "integration@example.org"}}
				}
			}
		}
		return cubusim.New(opts), nil
	},
}

// demoCubuTWH is the demo public-service desk: a case resolved in Cubu becomes a TheWorxHub
// work request, and its progress goes back to the case through Cubu's S2S API.
func demoCubuTWH(sec demoSecrets, url func(string) string) config.Connection {
	base := url(cubuSim.name)
	return config.Connection{
		ID: DemoCubuConnection, Tenant: DemoTenant,
		RequestSystem: config.RequestSystem{Kind: "cubu", HMACSecrets: []string{sec.CubuHMACSecret},
			S2S: &config.CubuS2S{BaseURL: base, ApplicationID: cubusim.DefaultApplicationID, TenantID: cubusim.DefaultTenantID,
				ClientID: cubusim.DefaultClientID, ClientSecret: sec.CubuClientSecret, AgentUserID: cubusim.DefaultAgentID,
				TokenURL: base + "/" + cubusim.DefaultTenantID + "/oauth2/v2.0/token"}},
		WorkSystem: config.WorkSystem{Kind: "theworxhub", BaseURL: url(theWorxHubSim.name), ClientID: demoCubuClientID,
			ClientSecret: sec.ClientSecret, WebhookSecret: sec.WebhookSecret, RateLimit: devTWHRateLimit},
		// The simulator's default service: its form fields and service types.
		Options: map[string]any{"createOn": "afterResolve", "fields": map[string]any{
			"description": cubusim.FieldDescription, "address": cubusim.FieldAddress, "requesterName": cubusim.FieldName,
			"requestTypes": map[string]any{cubusim.DefaultServiceTypeMaintenance: "Maintenance",
				cubusim.DefaultServiceTypeHousekeeping: "Housekeeping", cubusim.DefaultServiceTypeITSupport: "IT Support"},
			"labels": map[string]any{cubusim.FieldAddress: "Where (building, apartment)", cubusim.FieldPreferred: "Preferred time"},
		}},
	}
}
