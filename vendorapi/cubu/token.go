package cubu

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Azure AD client-credentials tokens, cached per Client (vendorapi.TokenCache) until shortly
// before expiry.

// newToken fetches a token for the cache, to be replaced a little before it expires.
func (c *Client) newToken(ctx context.Context) (string, time.Time, error) {
	tok, ttl, err := c.fetchToken(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, vendorapi.RefreshAt(c.now(), ttl, tokenRefreshMargin), nil
}

// fetchToken runs the client-credentials grant. Azure answers 400/401 invalid_client for a
// wrong id or secret: non-retryable, the connection must be fixed.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	const op = "fetch token"
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.id},
		"client_secret": {c.secret},
		"scope":         {c.scope},
	}
	resp, err := c.roundTrip(ctx, op, http.MethodPost, c.tokenURL, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	if err != nil {
		return "", 0, err
	}
	var tr struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresIn   json.Number `json:"expires_in"` // Azure v1 sent it as a string
	}
	if err := c.decode(op, resp, &tr); err != nil {
		return "", 0, err
	}
	if tr.AccessToken == "" {
		return "", 0, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
			Message: "token response without access_token", Retryable: true}
	}
	secs, _ := strconv.ParseInt(tr.ExpiresIn.String(), 10, 64)
	ttl := time.Duration(secs) * time.Second
	if ttl <= 0 {
		ttl = defaultTokenTTL
	}
	return tr.AccessToken, ttl, nil
}
