package theworxhub

import (
	"context"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Validate implements vendorapi.Validator: it authenticates, reads the change feed and says
// whether pushes can be verified, each as a check with what to fix.
func (c *Client) Validate(ctx context.Context) []vendorapi.Check {
	auth := vendorapi.Check{Name: "theworxhub: authenticate (OAuth client credentials)"}
	if _, _, err := c.fetchToken(ctx); err != nil {
		auth.Detail = err.Error()
		auth.Fix = "check workSystem.baseUrl, clientId and clientSecret against TheWorxHub's API client settings"
		return []vendorapi.Check{auth, {Name: "theworxhub: read the change feed", Detail: "skipped: not authenticated"}}
	}
	auth.OK, auth.Detail = true, "token issued"
	feed := vendorapi.Check{Name: "theworxhub: read the change feed"}
	if _, err := c.Changes(ctx, time.Now().Add(-time.Minute), "", 1); err != nil {
		feed.Detail = err.Error()
		feed.Fix = "grant the API client read access to work requests"
	} else {
		feed.OK, feed.Detail = true, "modifiedSince answered"
	}
	push := vendorapi.Check{Name: "theworxhub: verify pushes (webhookSecret)", OK: c.Hooks.Secret != ""}
	if push.OK {
		push.Detail = "pushes to /v1/hooks/theworxhub/<connection> are verified with X-TWH-Signature"
	} else {
		push.Detail = "no webhookSecret: pushes are refused, changes arrive through the feed only"
		push.Fix = "set workSystem.webhookSecret to the secret of TheWorxHub's webhook subscription"
	}
	return []vendorapi.Check{auth, feed, push}
}
