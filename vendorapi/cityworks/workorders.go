package cityworks

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ---- work orders (Ams/WorkOrder/*) ----

// CreateWorkOrder creates work orders from a template (one per entity; usually one) and
// returns them. Work orders have no OtherSystemId, so when in.Reference is set the client
// writes it into the configured text field (Config.WOReferenceField) and WebServiceRequestId,
// and first searches that field: a create retried after a timeout returns the work orders the
// first attempt made instead of duplicating them.
func (c *Client) CreateWorkOrder(ctx context.Context, in NewWorkOrder) ([]WorkOrder, error) {
	const op = "create work order"
	if in.WOTemplateId == "" || in.EntityType == "" {
		return nil, invalidArgument(op, "WOTemplateId and EntityType are required")
	}
	if in.InitiatedByApp == "" {
		in.InitiatedByApp = c.app
	}
	if in.Reference != "" {
		found, err := c.WorkOrdersByReference(ctx, in.Reference)
		if err != nil || len(found) > 0 {
			return found, err
		}
		texts := maps.Clone(in.Texts) // the caller's map stays as it was
		if texts == nil {
			texts = map[int]string{}
		}
		texts[c.refFieldNumber()] = in.Reference
		in.Texts = texts
		if in.WebServiceRequestId == "" {
			in.WebServiceRequestId = in.Reference
		}
	}
	var out []WorkOrder
	if _, err := c.call(ctx, rpc{op: op, path: "Ams/WorkOrder/Create", data: &in}, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 || out[0].WorkOrderId == "" {
		return nil, badValue(op, "Create returned no work order")
	}
	return out, nil
}

// WorkOrder returns one work order; an unknown id is a non-retryable not-found.
func (c *Client) WorkOrder(ctx context.Context, workOrderID string) (*WorkOrder, error) {
	var out WorkOrder
	if _, err := c.call(ctx, rpc{op: "get work order", path: "Ams/WorkOrder/ById",
		data: map[string]string{"WorkOrderId": workOrderID}}, &out); err != nil {
		return nil, err
	}
	if out.WorkOrderId == "" {
		return nil, badValue("get work order", "work order without WorkOrderId")
	}
	return &out, nil
}

// WorkOrders returns the work orders among ids that exist, in batches of at most 100.
func (c *Client) WorkOrders(ctx context.Context, ids []string) ([]WorkOrder, error) {
	var out []WorkOrder
	for batch := range slices.Chunk(ids, batchSize) {
		var page []WorkOrder
		if _, err := c.call(ctx, rpc{op: "get work orders", path: "Ams/WorkOrder/ByIds",
			data: map[string][]string{"WorkOrderIds": batch}}, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// SearchWorkOrders returns the WorkOrderIds matching the filters.
func (c *Client) SearchWorkOrders(ctx context.Context, s WorkOrderSearch) ([]string, error) {
	var ids []FlexString
	if _, err := c.call(ctx, rpc{op: "search work orders", path: "Ams/WorkOrder/Search", data: &s}, &ids); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, string(id))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// WorkOrdersByReference returns the work orders whose reference field holds reference
// (normally none or one).
func (c *Client) WorkOrdersByReference(ctx context.Context, reference string) ([]WorkOrder, error) {
	const op = "find work orders by reference"
	if reference == "" {
		return nil, invalidArgument(op, "empty reference")
	}
	n := c.refFieldNumber()
	ids, err := c.SearchWorkOrders(ctx, WorkOrderSearch{Texts: map[int]string{n: reference}})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	wos, err := c.WorkOrders(ctx, ids)
	if err != nil {
		return nil, err
	}
	// Filter rather than trust: a server ignoring the text filter would list everything.
	return slices.DeleteFunc(wos, func(w WorkOrder) bool { return w.Texts[n] != reference }), nil
}

// CloseWorkOrders closes work orders and returns them (codes 36 incomplete tasks, 34
// required custom fields… are non-retryable validation errors).
func (c *Client) CloseWorkOrders(ctx context.Context, ids ...string) ([]WorkOrder, error) {
	var out []WorkOrder
	_, err := c.call(ctx, rpc{op: "close work orders", path: "Ams/WorkOrder/Close",
		data: map[string][]string{"WorkOrderIds": ids}}, &out)
	return out, err
}

// CancelWorkOrder cancels one work order and returns it; cancelling a cancelled one is a no-op.
func (c *Client) CancelWorkOrder(ctx context.Context, workOrderID, reason string) (*WorkOrder, error) {
	const op = "cancel work order"
	in := struct {
		WorkOrderIds []string
		CancelReason string `json:",omitempty"`
	}{[]string{workOrderID}, reason}
	var out []WorkOrder
	if _, err := c.call(ctx, rpc{op: op, path: "Ams/WorkOrder/Cancel", data: &in}, &out); err != nil {
		return nil, err
	}
	for i := range out {
		if string(out[i].WorkOrderId) == workOrderID {
			return &out[i], nil
		}
	}
	return nil, badValue(op, "Cancel did not return the work order")
}

// WorkOrderTemplates lists work-order templates.
func (c *Client) WorkOrderTemplates(ctx context.Context, f WorkOrderTemplateFilter) ([]WorkOrderTemplate, error) {
	var out []WorkOrderTemplate
	_, err := c.call(ctx, rpc{op: "list work order templates", path: "Ams/WorkOrder/Templates", data: &f}, &out)
	return out, err
}

// AddWorkOrderComment adds a comment to a work order: Comment/Add with the WorkOrderSid, or on
// 2013 WorkOrder/AddComments. Not idempotent: check WorkOrderComments before retrying.
func (c *Client) AddWorkOrderComment(ctx context.Context, wo *WorkOrder, text string) (*CommentRecord, error) {
	const op = "add work order comment"
	if wo == nil || wo.WorkOrderSid == 0 {
		return nil, invalidArgument(op, "work order with WorkOrderSid required")
	}
	if strings.TrimSpace(text) == "" {
		return nil, invalidArgument(op, "empty comment")
	}
	if !c.hasCommentService() {
		in := struct {
			WorkOrderId  string
			WorkOrderSid int
			Comments     string
		}{string(wo.WorkOrderId), wo.WorkOrderSid, text}
		if _, err := c.call(ctx, rpc{op: op, path: "Ams/WorkOrder/AddComments", data: &in}, nil); err != nil {
			return nil, err
		}
		return &CommentRecord{ActivityType: ActivityWorkOrder, ActivitySid: wo.WorkOrderSid,
			ActivityId: wo.WorkOrderId, Comments: text}, nil
	}
	return c.addComment(ctx, op, ActivityWorkOrder, wo.WorkOrderSid, text)
}

// WorkOrderComments lists a work order's comments, oldest first (from the text blob on 2013).
func (c *Client) WorkOrderComments(ctx context.Context, wo *WorkOrder) ([]CommentRecord, error) {
	const op = "list work order comments"
	if wo == nil || wo.WorkOrderSid == 0 {
		return nil, invalidArgument(op, "work order with WorkOrderSid required")
	}
	if !c.hasCommentService() {
		var blob string
		if _, err := c.call(ctx, rpc{op: op, path: "Ams/WorkOrder/Comments",
			data: map[string]string{"WorkOrderId": string(wo.WorkOrderId)}}, &blob); err != nil {
			return nil, err
		}
		return blobComments(ActivityWorkOrder, wo.WorkOrderSid, blob), nil
	}
	m, err := c.CommentsByActivity(ctx, ActivityWorkOrder, wo.WorkOrderSid)
	if err != nil {
		return nil, err
	}
	return m[wo.WorkOrderSid], nil
}

// refFieldNumber is N of the configured TextN reference field (validated by New).
func (c *Client) refFieldNumber() int {
	n, _ := strconv.Atoi(strings.TrimPrefix(c.woRefField, "Text"))
	return n
}

// badValue is a 200 Status 0 answer whose Value is unusable: retry (see badResponse).
func badValue(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: 200, Code: "bad_response", Message: msg, Retryable: true}
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) }
