// Package vendors registers every vendor kind with connectors: one RegisterWork or
// RegisterRequest per vendor package. It is imported for its side effect by the binary (app)
// and by tests, like a database/sql driver, so that the engine's packages (starter,
// workflows, engine, activities) never depend on a vendor package.
package vendors

import (
	"fmt"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cubu"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
)

// The registrations: one per vendor kind. Adding a vendor = one folder under vendorapi/ plus
// one connectors.RegisterWork/RegisterRequest here (docs/connectors.md).
func init() {
	connectors.RegisterWork(connectors.WorkKind{Kind: theworxhub.Vendor, RequestTypes: theworxhub.RequestTypes,
		Required: theworxhub.RequiredFields, RateLimit: theworxhub.RateLimitPerMinute, New: newTheWorxHub})
	connectors.RegisterRequest(connectors.RequestKind{Kind: portal.Vendor, New: newPortal})
	connectors.RegisterRequest(connectors.RequestKind{Kind: cubu.Vendor, New: newCubu})
	connectors.RegisterWork(connectors.WorkKind{Kind: cityworks.Vendor, New: newCityworks})
	connectors.RegisterRequest(connectors.RequestKind{Kind: seeclickfix.Vendor, RateLimit: seeclickfix.RateLimit, New: newSeeClickFix})
	connectors.RegisterRequest(connectors.RequestKind{Kind: cyprexx.Vendor, RateLimit: cyprexx.RateLimitPerMinute, New: newCyprexx})
	connectors.RegisterWork(connectors.WorkKind{Kind: pruvan.Vendor, New: newPruvan})
}

// optionKeys lists the options a side of another kind reads, so that each side's strict
// decode of the shared options block accepts the other side's keys (and only those).
func optionKeys(kind string) []string {
	switch kind {
	case seeclickfix.Vendor:
		return seeclickfix.OptionKeys
	case cityworks.Vendor:
		return cityworks.OptionKeys()
	case cyprexx.Vendor:
		return cyprexx.OptionKeys
	case pruvan.Vendor:
		return pruvan.OptionKeys
	case cubu.Vendor:
		return cubu.OptionKeys
	}
	return nil
}

// newCityworks builds Cityworks' work side: service requests or work orders per category,
// with the geocoder, agencies and import settings of the connection's options.
func newCityworks(c config.Connection, env connectors.Env) (vendorapi.WorkSystem, error) {
	w := c.WorkSystem
	m, _ := c.ResolvedMapping() // validated with the file
	return cityworks.NewConnector(cityworks.ConnectorConfig{
		Connection: c.ID, Options: c.Options, RequestSideOptions: optionKeys(c.RequestSystem.Kind),
		RequestSystemURL: c.RequestSystem.BaseURL, Mapping: m.Name, UserAgent: env.UserAgent,
		HTTPClient: env.Client(c.ID, "files", 0),
		Client: cityworks.Config{BaseURL: w.BaseURL, Version: w.Version, LoginName: w.LoginName, Password: w.Password,
			HTTPClient: env.Client(c.ID, cityworks.Vendor, w.RateLimit)},
	})
}

// newSeeClickFix builds SeeClickFix's request side. Its calls share one limiter per
// connection held in the store: SCF allows 20 a minute per credential, across every worker.
func newSeeClickFix(c config.Connection, env connectors.Env) (vendorapi.RequestSystem, error) {
	r := c.RequestSystem
	return seeclickfix.NewConnector(seeclickfix.ConnectorConfig{
		Connection: c.ID, Options: c.Options, WorkSideOptions: optionKeys(c.WorkSystem.Kind),
		Client: seeclickfix.Config{BaseURL: r.BaseURL, OrganizationID: r.OrganizationID, Username: r.Username,
			Password: r.Password, Token: r.Token, UserAgent: env.UserAgent,
			HTTPClient: env.Client(c.ID, seeclickfix.Vendor, connectors.RateLimit(seeclickfix.RateLimit, r.RateLimit))},
	})
}

func newTheWorxHub(c config.Connection, env connectors.Env) (vendorapi.WorkSystem, error) {
	w := c.WorkSystem
	return theworxhub.New(theworxhub.Config{BaseURL: w.BaseURL, ClientID: w.ClientID, ClientSecret: w.ClientSecret,
		WebhookSecret: w.WebhookSecret, UserAgent: env.UserAgent,
		HTTPClient: env.Client(c.ID, theworxhub.Vendor, connectors.RateLimit(theworxhub.RateLimitPerMinute, w.RateLimit))})
}

func newPortal(c config.Connection, env connectors.Env) (vendorapi.RequestSystem, error) {
	target := portal.Target{URL: c.RequestSystem.URL}
	for _, s := range c.RequestSystem.PortalSecrets() {
		sec, err := stdwebhooks.ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		target.Secrets = append(target.Secrets, sec)
	}
	sender := portal.NewSender(portal.SenderOptions{HTTPClient: env.Client(c.ID, portal.Vendor, c.RequestSystem.RateLimit), UserAgent: env.UserAgent})
	return portal.RequestSystem{Sender: sender, Target: target}, nil
}

// newCubu builds Cubu's request side. It is told what the connection's work system requires,
// whichever kind that is, so its before-hooks can block an incomplete case at the desk.
func newCubu(c config.Connection, env connectors.Env) (vendorapi.RequestSystem, error) {
	r := c.RequestSystem
	cfg := cubu.ConnectorConfig{Connection: c.ID, Secrets: r.HMACSecrets, Options: c.Options,
		WorkSideOptions: optionKeys(c.WorkSystem.Kind), WorkKind: c.WorkSystem.Kind}
	if wk, ok := connectors.LookupWorkKind(c.WorkSystem.Kind); ok {
		cfg.WorkRequired, cfg.WorkRequestTypes = wk.Required, wk.RequestTypes
	}
	if s := r.S2S; s != nil {
		cfg.S2S = &cubu.Config{BaseURL: s.BaseURL, ApplicationID: s.ApplicationID, TenantID: s.TenantID,
			ClientID: s.ClientID, ClientSecret: s.ClientSecret, AgentUserID: s.AgentUserID, TokenURL: s.TokenURL,
			UserAgent: env.UserAgent, HTTPClient: env.Client(c.ID, cubu.Vendor, r.RateLimit)}
	}
	return cubu.NewConnector(cfg)
}

// newPruvan builds Pruvan's work side: the order source Pruvan pulls from (its order book in
// the store, shared by the API, which serves Pruvan's calls, and the workers) and the push API.
func newPruvan(c config.Connection, env connectors.Env) (vendorapi.WorkSystem, error) {
	w := c.WorkSystem
	opts, err := pruvan.ParseOptions(c.Options, optionKeys(c.RequestSystem.Kind)...)
	if err != nil {
		return nil, err
	}
	var rec vendorapi.Records
	if env.Records != nil {
		rec = env.Records(c.ID)
	}
	push := pruvan.PushConfig{BaseURL: w.BaseURL, UserAgent: env.UserAgent, HTTPClient: env.Client(c.ID, pruvan.Vendor, w.RateLimit)}
	return pruvan.NewWorkSystem(pruvan.WorkConfig{Connection: c.ID, Options: opts, Records: rec, Push: push,
		Credentials: pruvan.Credentials{Username: w.Username, Password: w.Password, Token: w.Token}})
}

// newCyprexx builds Cyprexx's request side. Its work orders become Pruvan projects: the Pruvan
// work side is handed to it once both are built (vendorapi.WorkPeer).
func newCyprexx(c config.Connection, env connectors.Env) (vendorapi.RequestSystem, error) {
	r := c.RequestSystem
	if c.WorkSystem.Kind != pruvan.Vendor {
		return nil, fmt.Errorf("a cyprexx request system relays Cyprexx work orders to Pruvan: set workSystem.kind: pruvan (not %q)", c.WorkSystem.Kind)
	}
	opts, err := cyprexx.ParseOptions(c.Options, r.PollInterval.Duration, optionKeys(c.WorkSystem.Kind)...)
	if err != nil {
		return nil, err
	}
	hc := env.Client(c.ID, cyprexx.Vendor, connectors.RateLimit(cyprexx.RateLimitPerMinute, r.RateLimit))
	hc.Timeout = 0 // every call has its own bound; a photo upload may take longer than the base 30 s
	client, err := cyprexx.New(cyprexx.Config{BaseURL: r.BaseURL, APIToken: r.APIToken, HTTPClient: hc, UserAgent: env.UserAgent})
	if err != nil {
		return nil, err
	}
	var rec vendorapi.Records
	if env.Records != nil {
		rec = env.Records(c.ID)
	}
	return cyprexx.NewRequestSystem(cyprexx.RequestConfig{Connection: c.ID, Client: client, PushKey: r.WebhookSecret,
		Options: opts, Records: rec})
}
