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
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
)

// The registrations: one per vendor kind. Adding a vendor = one folder under vendorapi/ plus
// one connectors.RegisterWork/RegisterRequest here (docs/connectors.md).
func init() {
	connectors.RegisterWork(connectors.WorkKind{Kind: theworxhub.Vendor, RequestTypes: theworxhub.RequestTypes,
		Required: theworxhub.RequiredFields, RateLimit: theworxhub.RateLimitPerMinute, New: newTheWorxHub})
	connectors.RegisterRequest(connectors.RequestKind{Kind: portal.Vendor, New: newPortal})
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
