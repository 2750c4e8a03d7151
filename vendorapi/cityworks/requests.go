package cityworks

import (
	"context"
	"slices"
	"strings"
	"time"
)

// ---- service requests (Ams/ServiceRequest/*) ----

// CreateRequest creates a service request. Cityworks' Create is not idempotent, so when
// in.OtherSystemId (our reference) is set the client first asks ByOtherSystemId and returns
// the request an earlier attempt created, if any: a create retried after a timeout thus never
// makes a duplicate. InitiatedByApp defaults to Config.InitiatedByApp.
func (c *Client) CreateRequest(ctx context.Context, in NewServiceRequest) (*ServiceRequest, error) {
	const op = "create service request"
	if in.ProblemSid == 0 {
		return nil, invalidArgument(op, "ProblemSid is required")
	}
	if in.InitiatedByApp == "" {
		in.InitiatedByApp = c.app
	}
	if in.OtherSystemId != "" {
		if found, err := c.RequestByOtherSystemID(ctx, in.OtherSystemId); err != nil || found != nil {
			return found, err
		}
	}
	var out ServiceRequest
	if _, err := c.call(ctx, rpc{op: op, path: "Ams/ServiceRequest/Create", data: &in}, &out); err != nil {
		return nil, err
	}
	if out.RequestId == 0 {
		// Committed or not, we cannot tell: retry, which finds it by OtherSystemId if it was.
		return nil, badValue(op, "created request has no RequestId")
	}
	return &out, nil
}

// Request returns one service request; an unknown id is a non-retryable not-found
// (IsNotFound, Status 1 code 35).
func (c *Client) Request(ctx context.Context, id int) (*ServiceRequest, error) {
	var out ServiceRequest
	if _, err := c.call(ctx, rpc{op: "get service request", path: "Ams/ServiceRequest/ById",
		data: map[string]int{"RequestId": id}}, &out); err != nil {
		return nil, err
	}
	if out.RequestId == 0 {
		return nil, badValue("get service request", "request without RequestId")
	}
	return &out, nil
}

// Requests returns the requests among ids that exist (unknown ids are left out), in batches
// of at most 100 ids per call.
func (c *Client) Requests(ctx context.Context, ids []int) ([]ServiceRequest, error) {
	var out []ServiceRequest
	for batch := range slices.Chunk(ids, batchSize) {
		var page []ServiceRequest
		if _, err := c.call(ctx, rpc{op: "get service requests", path: "Ams/ServiceRequest/ByIds",
			data: map[string][]int{"RequestIds": batch}}, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// RequestByOtherSystemID returns the request carrying otherSystemID, or (nil, nil) when there
// is none (Cityworks answers Status 0 with a null Value and warning 60; a Status 1 not-found
// from other deployments means the same).
func (c *Client) RequestByOtherSystemID(ctx context.Context, otherSystemID string) (*ServiceRequest, error) {
	const op = "find service request by other system id"
	if otherSystemID == "" {
		return nil, invalidArgument(op, "empty OtherSystemId")
	}
	var out *ServiceRequest
	_, err := c.call(ctx, rpc{op: op, path: "Ams/ServiceRequest/ByOtherSystemId",
		data: map[string]string{"OtherSystemId": otherSystemID}}, &out)
	switch {
	case IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case out == nil || out.RequestId == 0:
		return nil, nil
	case out.OtherSystemId != "" && out.OtherSystemId != otherSystemID:
		// Filter rather than trust: a server that ignored the parameter must not make us
		// adopt someone else's request.
		return nil, nil
	}
	return out, nil
}

// SearchRequests returns the ids matching the filters, ascending.
func (c *Client) SearchRequests(ctx context.Context, s RequestSearch) ([]int, error) {
	var ids []int
	if _, err := c.call(ctx, rpc{op: "search service requests", path: "Ams/ServiceRequest/Search", data: &s}, &ids); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// RequestsChangedSince returns the ids of requests created, closed or cancelled at or after
// since, ascending. Cityworks has no modified-date filter for service requests, so this is the
// union of three searches; other changes (status moves, comments) are found by polling open
// requests with Requests and comments with CommentsByActivity. The boundary is inclusive and
// Cityworks dates have whole seconds: callers dedupe and may see an item twice.
func (c *Client) RequestsChangedSince(ctx context.Context, since time.Time) ([]int, error) {
	at := NewTime(since.Truncate(time.Second))
	yes := true
	var all []int
	for _, s := range []RequestSearch{
		{DateTimeInitBegin: at},
		{Closed: &yes, DateTimeClosedBegin: at},
		{Canceled: &yes, DateCancelledBegin: at},
	} {
		ids, err := c.SearchRequests(ctx, s)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// CreatedElsewhereSince returns the requests created at or after since by anyone but us
// (InitiatedByApp differs from Config.InitiatedByApp): SRs staff entered directly in Cityworks.
func (c *Client) CreatedElsewhereSince(ctx context.Context, since time.Time) ([]ServiceRequest, error) {
	ids, err := c.SearchRequests(ctx, RequestSearch{DateTimeInitBegin: NewTime(since.Truncate(time.Second))})
	if err != nil {
		return nil, err
	}
	reqs, err := c.Requests(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(reqs, func(r ServiceRequest) bool {
		return strings.EqualFold(r.InitiatedByApp, c.app)
	}), nil
}

// CloseRequests closes requests and returns them. Closing a closed request is a no-op; an
// unknown id is a not-found and closes nothing.
func (c *Client) CloseRequests(ctx context.Context, ids ...int) ([]ServiceRequest, error) {
	var out []ServiceRequest
	_, err := c.call(ctx, rpc{op: "close service requests", path: "Ams/ServiceRequest/Close",
		data: map[string][]int{"RequestIds": ids}}, &out)
	return out, err
}

// CancelRequest cancels one request with a reason and returns it. Cancelling a cancelled
// request is a no-op.
func (c *Client) CancelRequest(ctx context.Context, id int, reason string) (*ServiceRequest, error) {
	const op = "cancel service request"
	in := struct {
		RequestIds   []int
		CancelReason string `json:",omitempty"`
	}{[]int{id}, reason}
	var out []ServiceRequest
	if _, err := c.call(ctx, rpc{op: op, path: "Ams/ServiceRequest/Cancel", data: &in}, &out); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].RequestId == id {
			return &out[i], nil
		}
	}
	return nil, badValue(op, "Cancel did not return the request")
}

// RequestWorkOrders returns the work orders created from the given requests.
func (c *Client) RequestWorkOrders(ctx context.Context, ids ...int) ([]RequestWorkOrder, error) {
	var out []RequestWorkOrder
	for batch := range slices.Chunk(ids, batchSize) {
		var page []RequestWorkOrder
		if _, err := c.call(ctx, rpc{op: "list request work orders", path: "Ams/ServiceRequest/RequestWorkOrders",
			data: map[string][]int{"RequestIds": batch}}, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// Statuses returns the deployment's service-request status codes.
func (c *Client) Statuses(ctx context.Context) ([]StatusCode, error) {
	var out []StatusCode
	_, err := c.call(ctx, rpc{op: "list statuses", path: "Ams/ServiceRequest/Statuses", data: struct{}{}}, &out)
	return out, err
}
