package cyprexx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// The required-photo rule with the dev demo's settings (devstack demo-cyprexx-pruvan: relay
// Before, During and After; qa.requiredPhotosPerTask 2) and the demo story's work order (one
// task taking Before or After photos, minPhotos 1). A task needs max(minPhotos,
// requiredPhotosPerTask) relayed photos of any category it takes — two here, e.g. a Before and
// an After — and a crew that completes the project with one photo is held, whether its photos
// came before Pruvan's "complete" or after it, until the second is relayed.
func TestDemoCompletionWaitsForEveryRequiredPhoto(t *testing.T) {
	p := newPair(t, pairOpts{pruvanAutoAdmin: true, options: map[string]any{"defaultAssignTo": "~all~", "autoAdmin": true,
		"qa": map[string]any{"relayCategories": []any{"Before", "During", "After"}, "requiredPhotosPerTask": 2}}})
	wo, project := p.imported(func(w *csim.WorkOrder) {
		w.Tasks = []csim.Task{{Name: "Mow lawn", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1}}
		w.Forms = nil
	})
	held := func(want string) {
		t.Helper()
		err := p.completion(wo.WorkOrderID, project)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("completion must be held (%q): %v", want, err)
		}
		if c := p.cx.Completions(); len(c) != 0 {
			t.Fatalf("completion date set in Cyprexx with a required photo missing: %+v", c)
		}
	}

	// One photo before Pruvan's complete: relayed, yet one short.
	p.photos(project, psim.PhotoRequest{Count: 1, Category: "Before", Task: "Mow lawn"})
	if err := p.feedback(wo.WorkOrderID, project, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	p.completeInPruvan(project, time.Now())
	held("task T1 (Mow lawn): 1 of 2 photos relayed")
	held("task T1 (Mow lawn): 1 of 2 photos relayed") // an at-least-once redelivery changes nothing

	// The second photo arrives after the status: it asks the ticket to retry, which completes.
	retries := func() int {
		return count(p.signals(wo.WorkOrderID), func(s string) bool { return s == ticket.SignalRetry })
	}
	p.photos(project, psim.PhotoRequest{Count: 1, Category: "After", Task: "Mow lawn"})
	if retries() != 1 {
		t.Fatalf("an upload after Pruvan's complete must ask the ticket to retry: %v", p.signals(wo.WorkOrderID))
	}
	if err := p.completion(wo.WorkOrderID, project); err != nil {
		t.Fatalf("every required photo relayed: %v", err)
	}
	if c, ph := p.cx.Completions(), p.cx.Photos(wo.WorkOrderID); len(c) != 1 || len(ph) != 2 {
		t.Fatalf("completion %+v with %d photos at Cyprexx, want one with 2", c, len(ph))
	}
}

// Pruvan's complete before any photo: held at 0, still held after the first photo's retry.
func TestCompletionBeforeAnyPhotoIsHeldPhotoByPhoto(t *testing.T) {
	p := newPair(t, pairOpts{options: map[string]any{"qa": map[string]any{"requiredPhotosPerTask": 2}}})
	wo, project := p.imported(func(w *csim.WorkOrder) {
		w.Tasks = []csim.Task{{Name: "Mow lawn", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1}}
		w.Forms = nil
	})
	p.completeInPruvan(project, time.Now())
	for i, cat := range []string{"Before", "After"} {
		err := p.completion(wo.WorkOrderID, project)
		if want := []string{"0 of 2", "1 of 2"}[i]; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("photo %d: completion must be held (%s): %v", i, want, err)
		}
		if len(p.cx.Completions()) != 0 {
			t.Fatalf("completed with %d of 2 photos", i)
		}
		p.photos(project, psim.PhotoRequest{Count: 1, Category: cat, Task: "Mow lawn"})
	}
	if err := p.completion(wo.WorkOrderID, project); err != nil || len(p.cx.Completions()) != 1 {
		t.Fatalf("released once both photos arrived: %v %+v", err, p.cx.Completions())
	}
}
