package cityworks

import (
	"context"
	"net/url"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ---- authentication ----

// Authenticate logs in now (calls do it lazily) and caches the token. Wrong or inactive
// credentials are a non-retryable "Auth" error.
func (c *Client) Authenticate(ctx context.Context) error {
	c.tokens.Clear()
	_, err := c.tokens.Token(ctx)
	return err
}

// ValidateToken asks Cityworks whether the cached token is still valid (General/Authentication/
// Validate); false without a call when there is none.
func (c *Client) ValidateToken(ctx context.Context) (bool, error) {
	tok := c.tokens.Cached()
	if tok == "" {
		return false, nil
	}
	var ok bool
	_, err := c.unauthenticated(ctx, rpc{op: "validate token", path: "General/Authentication/Validate",
		data: map[string]string{"Token": tok}}, &ok)
	return ok, err
}

// authenticate logs in for the token cache. Without a configured lifetime the token is used
// until the server ends the session (Status 2); with one, it is renewed a little before then.
func (c *Client) authenticate(ctx context.Context) (string, time.Time, error) {
	in := authInput{LoginName: c.login, Password: c.password}
	if c.lifetime > 0 {
		in.Expires = max(int(c.lifetime/time.Minute), 1)
	}
	started := c.now()
	var out struct{ Token string }
	resp, err := c.unauthenticated(ctx, rpc{op: "authenticate", path: "General/Authentication/Authenticate", data: in}, &out)
	if err != nil {
		return "", time.Time{}, err
	}
	if out.Token == "" {
		return "", time.Time{}, badResponse("authenticate", resp, "Authenticate returned no Token")
	}
	var refreshAt time.Time
	if c.lifetime > 0 {
		refreshAt = vendorapi.RefreshAt(started, time.Duration(in.Expires)*time.Minute, tokenRefreshMargin)
	}
	return out.Token, refreshAt, nil
}

// unauthenticated performs a call without a token (Authenticate, Validate).
func (c *Client) unauthenticated(ctx context.Context, r rpc, out any) (*response, error) {
	payload, err := c.encodeData(r.op, r.data)
	if err != nil {
		return nil, err
	}
	form := url.Values{"data": {string(payload)}}
	resp, err := c.roundTrip(ctx, r.op, c.base+"/Services/"+r.path, "application/x-www-form-urlencoded",
		[]byte(form.Encode()), "", c.timeout, maxResponseBody)
	if err != nil {
		return nil, err
	}
	env, err := c.decodeEnvelope(r.op, resp)
	if err != nil {
		return resp, err
	}
	return resp, c.decodeValue(r.op, resp, env, out)
}

type authInput struct {
	LoginName string
	Password  string
	Expires   int `json:",omitempty"` // minutes
}
