package cyprexx

import (
	"context"
	"errors"
	"fmt"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Validate checks the Cyprexx side: the API token (one feed read) and the pushes. With
// options.callbackUrl it registers requestSystem.webhookSecret as the push key there (Cyprexx
// pings the callback first): the Validate step of the integration. Without pushes, changes
// still arrive with Refresh at requestSystem.pollInterval.
func (r *RequestSystem) Validate(ctx context.Context) []vendorapi.Check {
	const name = "requestSystem (cyprexx): "
	token := vendorapi.Check{Name: name + "API token"}
	page, err := r.cx.FullRefresh(ctx, "", 1)
	switch {
	case err == nil:
		token.OK = true
		token.Detail = "Cyprexx accepted the API token"
		if len(page.Items) == 0 {
			token.Detail += " (no active work orders right now)"
		}
	case IsInvalidToken(err):
		token.Detail = "Cyprexx refused the API token (revoked or regenerated): no work order can be read or relayed"
		token.Fix = "in Cyprexx generate a new API key (My Account → Manage Account Info → Integrations → Generate API Key) and set requestSystem.apiToken to it"
	default:
		token.Detail = "could not read Cyprexx's work orders: " + message(err)
		token.Fix = "check requestSystem.baseUrl and that Cyprexx is reachable from ticketsync"
	}
	push := vendorapi.Check{Name: name + "pushes"}
	hookPath := "/v1/hooks/cyprexx/" + r.conn
	switch {
	case r.pushKey == "":
		push.OK = true
		push.Detail = "no push key (requestSystem.webhookSecret): new and changed work orders arrive with Refresh only, every requestSystem.pollInterval"
	case r.opts.CallbackURL == "":
		push.OK = true
		push.Detail = fmt.Sprintf("pushes are verified with requestSystem.webhookSecret; Cyprexx must push to <ticketsync API>%s (set options.callbackUrl and validate registers it)", hookPath)
	default:
		pk, err := r.cx.RegisterPushKey(ctx, r.pushKey, r.opts.CallbackURL)
		switch {
		case err == nil:
			push.OK = true
			push.Detail = fmt.Sprintf("push key registered with Cyprexx (status %s); Cyprexx reached %s", pk.Status, r.opts.CallbackURL)
		case IsCallbackUnreachable(err):
			push.Detail = "Cyprexx could not reach " + r.opts.CallbackURL + " within 10 s, so it pushes nothing: changes arrive with Refresh only"
			push.Fix = fmt.Sprintf("make options.callbackUrl (…%s) reachable from Cyprexx, then validate again", hookPath)
		default:
			push.Detail = "could not register the push key: " + message(err)
			push.Fix = "check requestSystem.apiToken and baseUrl, then validate again"
		}
	}
	return []vendorapi.Check{token, push}
}

func message(err error) string {
	var ve *vendorapi.Error
	if errors.As(err, &ve) && ve.Message != "" {
		return ve.Message
	}
	return err.Error()
}
