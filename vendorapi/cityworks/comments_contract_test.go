package cityworks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// 15.x and 23 use the Comment service: ids, authors and dates, oldest first.
func TestCommentsWithCommentService(t *testing.T) {
	for _, v := range []string{sim.Version2015, sim.Version15, sim.Version23} {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t, sim.Options{Version: v})
			ctx := context.Background()
			sr := e.createSR(t, "ticketsync:c:cm")
			ours, err := e.client.AddRequestComment(ctx, sr.RequestId, "Reporter: it got bigger overnight")
			if err != nil || ours.CommentId == 0 || ours.AuthorName != sim.DefaultLoginName || ours.ActivityType != cityworks.ActivityRequest ||
				ours.ActivitySid != sr.RequestId || !ours.DateCreated.Equal(e.clock.Now()) {
				t.Fatalf("AddRequestComment = %+v, %v", ours, err)
			}
			e.clock.Advance(time.Minute)
			staff, err := e.sim.AddRequestComment(sr.RequestId, "To SCF: crew scheduled for Monday", "")
			if err != nil {
				t.Fatal(err)
			}
			list, err := e.client.RequestComments(ctx, sr.RequestId)
			if err != nil || len(list) != 2 || list[0].CommentId != ours.CommentId || list[1].CommentId != staff.CommentId ||
				list[1].AuthorName != "Cityworks Staff" || !strings.HasPrefix(list[1].Comments, "To SCF:") {
				t.Fatalf("RequestComments = %+v, %v", list, err)
			}
			other := e.createSR(t, "ticketsync:c:cm2")
			m, err := e.client.CommentsByActivity(ctx, cityworks.ActivityRequest, sr.RequestId, other.RequestId, 99)
			if err != nil || len(m[sr.RequestId]) != 2 || len(m[other.RequestId]) != 0 || len(m) != 2 {
				t.Fatalf("CommentsByActivity = %+v, %v", m, err)
			}
			if _, err := e.client.AddRequestComment(ctx, sr.RequestId, "  "); vendorErr(t, err).Code != "invalid_argument" {
				t.Fatalf("empty comment: %v", err)
			}
		})
	}
}

// 2013 has no Comment service: comments go through ServiceRequest/AddComments and come back
// as the text blob, one per line, without ids.
func TestComments2013(t *testing.T) {
	e := newEnv(t, sim.Options{Version: sim.Version2013})
	ctx := context.Background()
	sr := e.createSR(t, "ticketsync:c:2013")
	added, err := e.client.AddRequestComment(ctx, sr.RequestId, "Reporter: still there")
	if err != nil || added.CommentId != 0 || added.Comments != "Reporter: still there" || added.ActivitySid != sr.RequestId {
		t.Fatalf("AddRequestComment = %+v, %v", added, err)
	}
	if _, err := e.sim.AddRequestComment(sr.RequestId, "To SCF: fixed", ""); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.RequestComments(ctx, sr.RequestId)
	if err != nil || len(list) != 2 || list[0].Comments != "Reporter: still there" || list[1].Comments != "To SCF: fixed" {
		t.Fatalf("RequestComments = %+v, %v", list, err)
	}
	if st := e.sim.Stats(); st.Calls["Comment/Add"] != 0 || st.Calls["ServiceRequest/AddComments"] != 1 || st.Calls["ServiceRequest/Comments"] != 1 {
		t.Fatalf("2013 must not use the Comment service: %+v", st.Calls)
	}
	if _, err := e.client.CommentsByActivity(ctx, cityworks.ActivityRequest, sr.RequestId); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("CommentsByActivity on 2013: %v", err)
	}
	if _, err := e.client.AddRequestComment(ctx, 99, "x"); !cityworks.IsNotFound(err) {
		t.Fatalf("2013 comment on unknown: %v", err)
	}

	wos, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "STREET"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddWorkOrderComment(ctx, &wos[0], "Crew: cold patch applied"); err != nil {
		t.Fatal(err)
	}
	wl, err := e.client.WorkOrderComments(ctx, &wos[0])
	if err != nil || len(wl) != 1 || wl[0].Comments != "Crew: cold patch applied" || wl[0].ActivitySid != wos[0].WorkOrderSid {
		t.Fatalf("WorkOrderComments = %+v, %v", wl, err)
	}
}

func TestWorkOrderComments(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	wos, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1002", EntityType: "LIGHT", Comments: "Created from SR"})
	if err != nil {
		t.Fatal(err)
	}
	wo := &wos[0]
	c, err := e.client.AddWorkOrderComment(ctx, wo, "Bucket truck needed")
	if err != nil || c.CommentId == 0 || c.ActivityType != cityworks.ActivityWorkOrder || c.ActivitySid != wo.WorkOrderSid ||
		string(c.ActivityId) != string(wo.WorkOrderId) {
		t.Fatalf("AddWorkOrderComment = %+v, %v", c, err)
	}
	if _, err := e.sim.AddWorkOrderComment(string(wo.WorkOrderId), "Replaced the lamp", "J. Crew"); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.WorkOrderComments(ctx, wo)
	if err != nil || len(list) != 3 || list[0].Comments != "Created from SR" || list[2].AuthorName != "J. Crew" {
		t.Fatalf("WorkOrderComments = %+v, %v", list, err)
	}
	if _, err := e.client.AddWorkOrderComment(ctx, &cityworks.WorkOrder{WorkOrderId: "1", WorkOrderSid: 1}, "x"); !cityworks.IsNotFound(err) {
		t.Fatalf("comment on unknown work order: %v", err)
	}
}
