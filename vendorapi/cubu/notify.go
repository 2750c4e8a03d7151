package cubu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// NotifiesThroughAPI implements vendorapi.APINotifier: notifications are calls to its API.
func (c *Connector) NotifiesThroughAPI() bool { return true }

// Notify implements vendorapi.RequestSystem. Cubu's S2S API can resolve a case as an agent and
// nothing else that fits: it has no call to add a note, set a field or set an arbitrary status
// on a case (contracts/cubu.md). So exactly one thing reaches Cubu: when the ticket closes
// Done, the case is resolved as s2s.agentUserId. Every other notification (status changes,
// feedback, needs-attention, a cancelled ticket) has no Cubu equivalent and is acknowledged
// without a call; it stays on the ticket's timeline. Parking the ticket for them instead would
// hold back the one notification Cubu can take.
//
// Idempotent per notification: a resolve answered 409 with errorCode 1001 (the case is no
// longer Active, Pending or Waiting) means the case is already past what a resolve does, be it
// from our own earlier attempt whose answer was lost or from an agent, so it counts as done.
// 1002 (locked by another user, who is serving the case right now) is retried with backoff;
// 1004 (assigned to another user) parks the ticket until someone reassigns the case.
func (c *Connector) Notify(ctx context.Context, n vendorapi.Notification) error {
	if !c.reports(n) {
		return nil
	}
	_, err := c.client.ResolveCase(ctx, n.ExternalID)
	switch ErrorCode(err) {
	case 0:
		return err
	case CodeInvalidStatus:
		return nil
	case CodeLockedByAnotherUser:
		var ve *vendorapi.Error
		if errors.As(err, &ve) {
			retry := *ve
			retry.Retryable = true
			return &retry
		}
	}
	return err
}

// reports says whether n makes a call to Cubu (see Notify). A ticket whose external id is no
// case id (raised on this connection some other way) has no case to resolve.
func (c *Connector) reports(n vendorapi.Notification) bool {
	return c.client != nil && n.Kind == vendorapi.NotifyClosed && n.Status == ticket.Done && IsGUID(n.ExternalID)
}

// Validate implements vendorapi.Validator: the hook settings, then (with s2s) a token from the
// token endpoint and a call to the S2S API as the configured agent, each with what to fix.
func (c *Connector) Validate(ctx context.Context) []vendorapi.Check {
	gate := "before-hooks always allow"
	if c.gate != "" && len(c.required) > 0 {
		gate = fmt.Sprintf("%s blocks the agent until the case has %s", c.gate, strings.Join(c.required, ", "))
	}
	checks := []vendorapi.Check{{Name: "cubu: webhooks (hmacSecrets, options)", OK: true,
		Detail: fmt.Sprintf("%d HMAC secret(s) accepted; %s creates the ticket; %s; replays remembered %s",
			len(c.secrets), c.opts.CreateOn, gate, c.opts.ReplayWindow)}}
	if c.client == nil {
		return append(checks, vendorapi.Check{Name: "cubu: S2S API (s2s)", OK: true,
			Detail: "not configured: nothing is reported back to Cubu (set s2s to resolve cases when their tickets are done)"})
	}
	token := vendorapi.Check{Name: "cubu: S2S token (client credentials)"}
	if err := c.client.CheckCredentials(ctx); err != nil {
		token.Detail = err.Error()
		token.Fix = "check s2s.tenantId (or s2s.tokenUrl), clientId and clientSecret against the app registration; Azure client secrets expire"
		return append(checks, token, vendorapi.Check{Name: "cubu: S2S API as the agent", Detail: "skipped: no token"})
	}
	token.OK, token.Detail = true, "token issued"
	api := vendorapi.Check{Name: "cubu: S2S API as the agent"}
	if cases, err := c.client.ActiveCases(ctx, ""); err != nil {
		api.Detail = err.Error()
		api.Fix = "check s2s.baseUrl, s2s.applicationId and s2s.agentUserId"
		if ve := (*vendorapi.Error)(nil); errors.As(err, &ve) && ve.HTTPStatus == http.StatusForbidden {
			api.Fix = "grant the app registration the Agent Impersonator role in Cubu"
		}
	} else {
		api.OK, api.Detail = true, fmt.Sprintf("listed the agent's active cases (%d)", len(cases))
	}
	return append(checks, token, api)
}
