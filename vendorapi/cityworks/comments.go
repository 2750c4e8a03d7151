package cityworks

import (
	"context"
	"maps"
	"slices"
	"strings"
)

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
