package apiclient

import (
	"context"
	"net/http"
	"net/url"
)

// ListConnections lists the tenant's connections with their status.
func (c *Client) ListConnections(ctx context.Context) (*ConnectionList, error) {
	out := &ConnectionList{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/connections", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetConnection reads a connection and its status.
func (c *Client) GetConnection(ctx context.Context, id string) (*Connection, error) {
	out := &Connection{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/connections/"+pathID(id), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ValidateConnection authenticates against both systems of a connection and reports each
// check; failed checks are not an error (see ValidationReport.Failed).
func (c *Client) ValidateConnection(ctx context.Context, id string) (*ValidationReport, error) {
	out := &ValidationReport{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/connections/"+pathID(id)+"/validate", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// RefreshConnection runs the request side's intake now; full reads everything rather than
// the changes since the cursor.
func (c *Client) RefreshConnection(ctx context.Context, id string, full bool) (*RefreshResult, error) {
	var q url.Values
	if full {
		q = url.Values{"full": {"true"}}
	}
	out := &RefreshResult{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/connections/"+pathID(id)+"/refresh", q, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// SyncConnectionCatalog copies the work system's catalog to the request system now.
func (c *Client) SyncConnectionCatalog(ctx context.Context, id string) (*CatalogResult, error) {
	out := &CatalogResult{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/connections/"+pathID(id)+"/sync-catalog", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// EnableConnectionEndpoint re-enables the request system's endpoint after a 410 Gone.
func (c *Client) EnableConnectionEndpoint(ctx context.Context, id string) (*Connection, error) {
	out := &Connection{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/connections/"+pathID(id)+"/enable-endpoint", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReplayEvent sends one event again with its original id.
func (c *Client) ReplayEvent(ctx context.Context, eventID string) (*ReplayResult, error) {
	out := &ReplayResult{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/events/"+pathID(eventID)+"/replay", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReplayEvents sends every event of a connection or tenant since a time again (or, with
// DryRun, lists what would be sent).
func (c *Client) ReplayEvents(ctx context.Context, req ReplayRequest) (*ReplayResult, error) {
	out := &ReplayResult{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/events/replay", nil, req, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Health calls /healthz.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	out := &Health{}
	if _, err := c.call(ctx, http.MethodGet, "/healthz", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Ready calls /readyz: an *Error with Status 503 when a dependency is down.
func (c *Client) Ready(ctx context.Context) (*Health, error) {
	out := &Health{}
	if _, err := c.call(ctx, http.MethodGet, "/readyz", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}
