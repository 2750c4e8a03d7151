package devstack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// Issue 10: in the dev demo a crew completed a Cyprexx order (one Before/After task, as the
// staff page issues it) with one photo, and the completion date went to Cyprexx. That was the
// rule working — max(minPhotos 1, qa.requiredPhotosPerTask 1) is one photo — not what the demo
// means to show. The demo now requires two photos a task: one photo leaves the ticket needing
// attention with what is missing, and the second releases the completion.
func TestDemoCyprexxCompletionWaitsForTheSecondPhoto(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	ctx := context.Background()
	conn := DemoCyprexxConnection
	pv, cx, wo, project := cyprexxDemoOrder(t, s, conn, cxsim.Task{Name: "Mow lawn", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1})
	key := project.Key
	if _, err := pv.UploadPhotos(ctx, key, pvsim.PhotoRequest{Count: 1, Category: "Before", Task: "Mow lawn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pv.Complete(ctx, key, time.Now()); err != nil {
		t.Fatal(err)
	}
	id := ticket.ID(conn, wo.WorkOrderID)
	var reason string
	waitUntil(t, 20*time.Second, "the held completion on the ticket", func() bool {
		na, _ := getTicket(t, s, id)["needsAttention"].(map[string]any)
		reason, _ = na["reason"].(string)
		return strings.Contains(reason, "completion held")
	})
	if !strings.Contains(reason, "task T1 (Mow lawn): 1 of 2 photos relayed") {
		t.Fatalf("the reason must say what is missing: %s", reason)
	}
	if c := cx.Completions(); len(c) != 0 {
		t.Fatalf("completion date set with one of two photos: %+v", c)
	}

	if _, err := pv.UploadPhotos(ctx, key, pvsim.PhotoRequest{Count: 1, Category: "After", Task: "Mow lawn"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the completion date in Cyprexx", func() bool { return len(cx.Completions()) == 1 })
	if n := len(cx.Photos(wo.WorkOrderID)); n != 2 {
		t.Fatalf("%d photos at Cyprexx, want 2", n)
	}
}
