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
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
	_, err := c.accessToken(ctx)
	return err
}

// ValidateToken asks Cityworks whether the cached token is still valid (General/Authentication/
// Validate); false without a call when there is none.
func (c *Client) ValidateToken(ctx context.Context) (bool, error) {
	tok := c.cachedToken()
	if tok == "" {
		return false, nil
	}
	var ok bool
	_, err := c.unauthenticated(ctx, rpc{op: "validate token", path: "General/Authentication/Validate",
		data: map[string]string{"Token": tok}}, &ok)
	return ok, err
}

// accessToken returns the cached token or authenticates. Concurrent callers share one login.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if tok := c.cachedToken(); tok != "" {
		return tok, nil
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", vendorapi.TransportError(Vendor, "authenticate", ctx.Err())
	}
	defer func() { <-c.fetching }()
	if tok := c.cachedToken(); tok != "" { // obtained by someone else while we waited
		return tok, nil
	}
	in := authInput{LoginName: c.login, Password: c.password}
	if c.lifetime > 0 {
		in.Expires = max(int(c.lifetime/time.Minute), 1)
	}
	started := c.now()
	var out struct{ Token string }
	resp, err := c.unauthenticated(ctx, rpc{op: "authenticate", path: "General/Authentication/Authenticate", data: in}, &out)
	if err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", badResponse("authenticate", resp, "Authenticate returned no Token")
	}
	c.mu.Lock()
	c.token, c.tokenExp = out.Token, time.Time{}
	if c.lifetime > 0 {
		life := time.Duration(in.Expires) * time.Minute
		c.tokenExp = started.Add(life - min(tokenRefreshMargin, life/10))
	}
	c.mu.Unlock()
	return out.Token, nil
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

func (c *Client) cachedToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && (c.tokenExp.IsZero() || c.now().Before(c.tokenExp)) {
		return c.token
	}
	return ""
}

// dropToken forgets tok unless another caller already replaced it.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

type authInput struct {
	LoginName string
	Password  string
	Expires   int `json:",omitempty"` // minutes
}
