package cityworks

import (
	"context"
	"maps"
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

// ---- templates, questions and answers ----

// Problems lists service-request problems (ServiceRequest/Problems).
func (c *Client) Problems(ctx context.Context, f ProblemFilter) ([]Problem, error) {
	var out []Problem
	_, err := c.call(ctx, rpc{op: "list problems", path: "Ams/ServiceRequest/Problems", data: &f}, &out)
	return out, err
}

// RequestTemplates lists service-request templates; MinimumDateModified makes it incremental.
func (c *Client) RequestTemplates(ctx context.Context, f RequestTemplateFilter) ([]RequestTemplate, error) {
	var out []RequestTemplate
	_, err := c.call(ctx, rpc{op: "list request templates", path: "Ams/ServiceRequestTemplate/Templates", data: &f}, &out)
	return out, err
}

// ProblemQA returns one problem's questions and answers (ServiceRequest/QA).
func (c *Client) ProblemQA(ctx context.Context, problemSid int) (*ProblemQA, error) {
	var out ProblemQA
	if _, err := c.call(ctx, rpc{op: "get problem questions", path: "Ams/ServiceRequest/QA",
		data: map[string]int{"ProblemSid": problemSid}}, &out); err != nil {
		return nil, err
	}
	if out.ProblemSid == 0 {
		out.ProblemSid = problemSid
	}
	return &out, nil
}

// ProblemQAs returns several problems' questions and answers in one call per 100 problems
// (ServiceRequestTemplate/QA), keyed by ProblemSid.
func (c *Client) ProblemQAs(ctx context.Context, problemSids ...int) (map[int]ProblemQA, error) {
	out := map[int]ProblemQA{}
	for batch := range slices.Chunk(problemSids, batchSize) {
		var page []ProblemQA
		if _, err := c.call(ctx, rpc{op: "get problems questions", path: "Ams/ServiceRequestTemplate/QA",
			data: map[string][]int{"ProblemSids": batch}}, &page); err != nil {
			return nil, err
		}
		for _, qa := range page {
			out[qa.ProblemSid] = qa
		}
	}
	return out, nil
}

// ---- comments ----

// AddRequestComment adds a comment to a service request: Comment/Add, or on 2013 (no Comment
// service) ServiceRequest/AddComments, whose answer has no comment id. Not idempotent: before
// retrying one whose outcome is unknown, check RequestComments.
func (c *Client) AddRequestComment(ctx context.Context, requestID int, text string) (*CommentRecord, error) {
	const op = "add request comment"
	if strings.TrimSpace(text) == "" {
		return nil, invalidArgument(op, "empty comment")
	}
	if !c.hasCommentService() {
		in := struct {
			RequestId int
			Comments  string
		}{requestID, text}
		if _, err := c.call(ctx, rpc{op: op, path: "Ams/ServiceRequest/AddComments", data: &in}, nil); err != nil {
			return nil, err
		}
		return &CommentRecord{ActivityType: ActivityRequest, ActivitySid: requestID,
			ActivityId: FlexString(itoa(requestID)), Comments: text}, nil
	}
	return c.addComment(ctx, op, ActivityRequest, requestID, text)
}

// RequestComments lists a request's comments, oldest first. On 2013 they come from the
// ServiceRequest/Comments text blob (one comment per line) without ids, authors or dates.
func (c *Client) RequestComments(ctx context.Context, requestID int) ([]CommentRecord, error) {
	if !c.hasCommentService() {
		var blob string
		if _, err := c.call(ctx, rpc{op: "list request comments", path: "Ams/ServiceRequest/Comments",
			data: map[string]int{"RequestId": requestID}}, &blob); err != nil {
			return nil, err
		}
		return blobComments(ActivityRequest, requestID, blob), nil
	}
	m, err := c.CommentsByActivity(ctx, ActivityRequest, requestID)
	if err != nil {
		return nil, err
	}
	return m[requestID], nil
}

// CommentsByActivity lists the comments of many activities of one type (ActivityRequest with
// RequestIds, ActivityWorkOrder with WorkOrderSids), oldest first per activity. Not on 2013.
func (c *Client) CommentsByActivity(ctx context.Context, activityType int, sids ...int) (map[int][]CommentRecord, error) {
	const op = "list comments"
	if !c.hasCommentService() {
		return nil, invalidArgument(op, "Cityworks 2013 has no Comment service; use RequestComments/WorkOrderComments")
	}
	out := map[int][]CommentRecord{}
	for batch := range slices.Chunk(sids, batchSize) {
		in := struct {
			ActivityType int
			ActivitySids []int
		}{activityType, batch}
		var page map[string][]CommentRecord
		if _, err := c.call(ctx, rpc{op: op, path: "Ams/Comment/ByActivitySids", data: &in}, &page); err != nil {
			return nil, err
		}
		for _, k := range slices.Sorted(maps.Keys(page)) {
			sid, err := atoi(k)
			if err != nil {
				return nil, badValue(op, "comment map key "+k+" is not a number")
			}
			list := page[k]
			slices.SortStableFunc(list, func(a, b CommentRecord) int {
				if d := a.DateCreated.Compare(b.DateCreated.Time); d != 0 {
					return d
				}
				return a.CommentId - b.CommentId
			})
			out[sid] = append(out[sid], list...)
		}
	}
	return out, nil
}

func (c *Client) addComment(ctx context.Context, op string, activityType, sid int, text string) (*CommentRecord, error) {
	in := struct {
		ActivityType int
		ActivitySid  int
		Comments     string
	}{activityType, sid, text}
	var out CommentRecord
	if _, err := c.call(ctx, rpc{op: op, path: "Ams/Comment/Add", data: &in}, &out); err != nil {
		return nil, err
	}
	if out.CommentId == 0 {
		return nil, badValue(op, "comment without CommentId")
	}
	return &out, nil
}

// blobComments splits a 2013 comments blob into records, one per non-empty line.
func blobComments(activityType, sid int, blob string) []CommentRecord {
	var out []CommentRecord
	for line := range strings.Lines(blob) {
		if line = strings.TrimRight(line, "\r\n"); strings.TrimSpace(line) != "" {
			out = append(out, CommentRecord{ActivityType: activityType, ActivitySid: sid, Comments: line})
		}
	}
	return out
}
