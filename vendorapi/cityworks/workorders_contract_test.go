package cityworks_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

func TestWorkOrderLifecycle(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	sr := e.createSR(t, "ticketsync:c:wo-sr")
	ref := cityworks.ExternalReference("city-scf", "issue-12")
	x, y := -87.62, 41.87
	in := cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "STREET", Address: "200 E Randolph St", X: &x, Y: &y,
		Instructions: "Cold patch", RequestIds: []int{sr.RequestId}, Reference: ref, Texts: map[int]string{3: "district 4"}}
	wos, err := e.client.CreateWorkOrder(ctx, in)
	if err != nil || len(wos) != 1 {
		t.Fatalf("CreateWorkOrder = %+v, %v", wos, err)
	}
	wo := wos[0]
	if wo.WorkOrderId == "" || wo.WorkOrderSid == 0 || wo.WOTemplateId != "1001" || wo.Description != "Pothole Repair" ||
		wo.Status != sim.WOOpen || wo.Texts[20] != ref || wo.Texts[3] != "district 4" || wo.WOAddress != "200 E Randolph St" ||
		wo.WOXCoordinate != x || !wo.InitiateDate.Equal(e.clock.Now()) || !wo.DateWOClosed.IsZero() || wo.Closed() {
		t.Fatalf("created = %+v", wo)
	}
	if len(in.Texts) != 1 {
		t.Fatal("CreateWorkOrder must not modify the caller's Texts")
	}
	// A retry with the same reference adopts the first work order.
	again, err := e.client.CreateWorkOrder(ctx, in)
	if err != nil || len(again) != 1 || again[0].WorkOrderId != wo.WorkOrderId || e.sim.Stats().WorkOrderCreates != 1 {
		t.Fatalf("retried create = %+v, %v, creates %d", again, err, e.sim.Stats().WorkOrderCreates)
	}
	links, err := e.client.RequestWorkOrders(ctx, sr.RequestId)
	if err != nil || len(links) != 1 || links[0].WorkOrderId != wo.WorkOrderId || links[0].WorkOrderSid != wo.WorkOrderSid {
		t.Fatalf("RequestWorkOrders = %+v, %v", links, err)
	}
	if got, _ := e.client.Request(ctx, sr.RequestId); got.WorkOrderId != wo.WorkOrderId {
		t.Fatalf("SR WorkOrderId = %q", got.WorkOrderId)
	}

	got, err := e.client.WorkOrder(ctx, string(wo.WorkOrderId))
	if err != nil || got.WorkOrderSid != wo.WorkOrderSid || got.Texts[20] != ref {
		t.Fatalf("WorkOrder = %+v, %v", got, err)
	}
	if _, err := e.client.WorkOrder(ctx, "404"); !cityworks.IsNotFound(err) {
		t.Fatalf("unknown WO: %v", err)
	}
	byRef, err := e.client.WorkOrdersByReference(ctx, ref)
	if err != nil || len(byRef) != 1 || byRef[0].WorkOrderId != wo.WorkOrderId {
		t.Fatalf("WorkOrdersByReference = %+v, %v", byRef, err)
	}
	if none, err := e.client.WorkOrdersByReference(ctx, "ticketsync:city-scf:other"); err != nil || len(none) != 0 {
		t.Fatalf("unknown reference = %+v, %v", none, err)
	}

	other, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1002", EntityType: "LIGHT"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	closed, err := e.client.CloseWorkOrders(ctx, string(wo.WorkOrderId))
	if err != nil || !closed[0].Closed() || !closed[0].DateWOClosed.Equal(e.clock.Now()) || closed[0].Status != sim.WOClosed {
		t.Fatalf("Close = %+v, %v", closed, err)
	}
	yes := true
	ids, err := e.client.SearchWorkOrders(ctx, cityworks.WorkOrderSearch{Closed: &yes})
	if err != nil || !slices.Equal(ids, []string{string(wo.WorkOrderId)}) {
		t.Fatalf("search closed = %v, %v", ids, err)
	}
	ids, err = e.client.SearchWorkOrders(ctx, cityworks.WorkOrderSearch{WOTemplateId: []string{"1002"},
		InitiateDateBegin: cityworks.NewTime(e.clock.Now().Add(-3 * time.Hour))})
	if err != nil || !slices.Equal(ids, []string{string(other[0].WorkOrderId)}) {
		t.Fatalf("search by template = %v, %v", ids, err)
	}
	if _, err := e.client.CancelWorkOrder(ctx, string(wo.WorkOrderId), "x"); cityworks.EnvelopeStatus(err) != cityworks.StatusError {
		t.Fatalf("cancel closed WO: %v", err)
	}
	c, err := e.client.CancelWorkOrder(ctx, string(other[0].WorkOrderId), "duplicate")
	if err != nil || !c.Cancelled() || c.Status != sim.WOCancel {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	list, err := e.client.WorkOrders(ctx, []string{string(wo.WorkOrderId), "404", string(other[0].WorkOrderId)})
	if err != nil || len(list) != 2 {
		t.Fatalf("ByIds subset = %+v, %v", list, err)
	}
}

func TestWorkOrderReferenceField(t *testing.T) {
	e := newEnv(t, sim.Options{}, func(c *cityworks.Config) { c.WOReferenceField = "Text5" })
	ctx := context.Background()
	wos, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1003", EntityType: "SIGN", Reference: "ticketsync:x:1"})
	if err != nil || wos[0].Texts[5] != "ticketsync:x:1" || wos[0].Texts[20] != "" {
		t.Fatalf("Text5 reference: %+v, %v", wos, err)
	}
	if found, err := e.client.WorkOrdersByReference(ctx, "ticketsync:x:1"); err != nil || len(found) != 1 {
		t.Fatalf("by Text5 = %+v, %v", found, err)
	}
}

func TestWorkOrderValidation(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		in   cityworks.NewWorkOrder
		code int
	}{
		"unknown template": {cityworks.NewWorkOrder{WOTemplateId: "9", EntityType: "STREET"}, cityworks.CodeInvalidField},
		"wrong entity":     {cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "LIGHT"}, cityworks.CodeInvalidField},
		"entity sans uid":  {cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "STREET", Entities: []cityworks.WorkOrderEntity{{EntityType: "STREET"}}}, cityworks.CodeNoUIDSetForEntityType},
		"unknown request":  {cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "STREET", RequestIds: []int{99}}, cityworks.CodeItemNotFound},
	} {
		_, err := e.client.CreateWorkOrder(ctx, tc.in)
		if ve := vendorErr(t, err); ve.Retryable || !cityworks.HasCode(err, tc.code) {
			t.Errorf("%s: %+v", name, ve)
		}
	}
	if _, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1001"}); vendorErr(t, err).Code != "invalid_argument" {
		t.Errorf("missing EntityType: %v", err)
	}
	if n := len(e.sim.WorkOrders()); n != 0 {
		t.Fatalf("invalid creates stored %d work orders", n)
	}
}

func TestWorkOrderStaffStatus(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	wos, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1004", EntityType: "STREET"})
	if err != nil {
		t.Fatal(err)
	}
	id := string(wos[0].WorkOrderId)
	for _, step := range []struct{ status, want string }{{"dispatch", sim.WOInProg}, {"close", sim.WOClosed}, {"open", sim.WOOpen}, {"CANCEL", sim.WOCancel}} {
		if _, err := e.sim.SetWorkOrderStatus(id, step.status, "staff"); err != nil {
			t.Fatalf("%s: %v", step.status, err)
		}
		got, err := e.client.WorkOrder(ctx, id)
		if err != nil || got.Status != step.want || got.Closed() != (step.want == sim.WOClosed) || got.Cancelled() != (step.want == sim.WOCancel) {
			t.Fatalf("after %s: %+v, %v", step.status, got, err)
		}
	}
}
