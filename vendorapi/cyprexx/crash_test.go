package cyprexx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// photoTap sees every photo upload our side makes; on the upload numbered at it can act (cut
// the connection, arm a simulator fault) instead of, or before, forwarding it.
type photoTap struct {
	next    http.RoundTripper
	n       atomic.Int32
	at      int32
	onMatch func(req *http.Request) (resp *http.Response, handled bool, err error) // handled=false: forward
}

func (t *photoTap) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/photos") {
		if t.n.Add(1) == t.at && t.onMatch != nil {
			if resp, handled, err := t.onMatch(req); handled {
				return resp, err
			}
		}
	}
	return t.next.RoundTrip(req)
}

// twentyPhotos imports a work order and has the crew publish 20 photos.
func twentyPhotos(t *testing.T, tap *photoTap) (*pair, csim.WorkOrder, []psim.SentItem) {
	t.Helper()
	p := newPair(t, pairOpts{transport: func(next http.RoundTripper) http.RoundTripper { tap.next = next; return tap }})
	wo, project := p.imported(nil)
	sent := p.photos(project, psim.PhotoRequest{Count: 20, Category: "After", Task: "Cut grass", Size: 400 << 10})
	if len(p.get(project).Feedback) != 20 {
		t.Fatal("20 photos, 20 feedback items")
	}
	return p, wo, sent
}

// notifyFirstPhoto is the delivery of the first photo's feedback: it relays what is pending.
func notifyFirstPhoto(p *pair, wo csim.WorkOrder, sent []psim.SentItem) error {
	return p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, ticket.Requested,
		&vendorapi.Feedback{ID: pruvan.FeedbackID(sent[0].UUID)})
}

// A worker dies while sending photo 11 of 20 (the connection drops mid-body, Cyprexx never got
// it). The next attempt sends photos 11–20 only: no photo reaches Cyprexx twice.
func TestCrashMidRelayOfTwentyPhotosResendsNone(t *testing.T) {
	tap := &photoTap{at: 11}
	tap.onMatch = func(req *http.Request) (*http.Response, bool, error) {
		_, _ = io.CopyN(io.Discard, req.Body, 100<<10) // part of the photo went out…
		req.Body.Close()
		return nil, true, errors.New("connection reset by peer (worker killed)") // …then nothing
	}
	p, wo, sent := twentyPhotos(t, tap)
	err := notifyFirstPhoto(p, wo, sent)
	if err == nil || !vendorapi.IsRetryable(err) {
		t.Fatalf("the broken attempt must fail retryably: %v", err)
	}
	if n := count(p.items(wo.WorkOrderID), func(it pruvan.Item) bool { return it.State == pruvan.ItemRelayed }); n != 10 {
		t.Fatalf("10 photos were accepted before the crash and must be recorded, got %d", n)
	}
	if err := notifyFirstPhoto(p, wo, sent); err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	photos := p.cx.Photos(wo.WorkOrderID)
	if len(photos) != 20 {
		t.Fatalf("Cyprexx has %d photos", len(photos))
	}
	for i, ph := range photos {
		if ph.Uploads != 1 || ph.SourceID != sent[i].UUID || ph.SHA256 != sent[i].SHA256 {
			t.Fatalf("photo %d sent %d times (or altered): %+v", i+1, ph.Uploads, ph)
		}
	}
	if st := p.cx.Stats(); st.Ops["photo"] != 20 || st.PhotoRetries != 0 {
		t.Fatalf("photo calls reaching Cyprexx: %d (retries %d), want 20 and 0", st.Ops["photo"], st.PhotoRetries)
	}
	// Later deliveries (the other 19 photos' feedback) find nothing left to send.
	if err := p.notify(vendorapi.NotifyFeedbackAdded, wo.WorkOrderID, ticket.Requested,
		&vendorapi.Feedback{ID: pruvan.FeedbackID(sent[19].UUID)}); err != nil || p.cx.Stats().Ops["photo"] != 20 {
		t.Fatalf("a later delivery re-sent photos: %v %d", err, p.cx.Stats().Ops["photo"])
	}
}

// The worst moment: Cyprexx stored photo 11 but the answer was lost (connection reset after
// the upload). That one photo is sent again with the same sourceId and Cyprexx keeps one copy;
// none of the ten recorded before is sent again.
func TestCrashAfterCyprexxStoredAPhotoKeepsOneCopy(t *testing.T) {
	tap := &photoTap{at: 11}
	var p *pair
	tap.onMatch = func(*http.Request) (*http.Response, bool, error) {
		p.cx.SetFaults(csim.Faults{ResetAfterUpload: 1})
		return nil, false, nil
	}
	p, wo, sent := twentyPhotos(t, tap)
	if err := notifyFirstPhoto(p, wo, sent); err == nil {
		t.Fatal("the lost answer must fail the attempt")
	}
	if err := notifyFirstPhoto(p, wo, sent); err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	photos := p.cx.Photos(wo.WorkOrderID)
	if len(photos) != 20 {
		t.Fatalf("Cyprexx has %d photos, want 20 distinct", len(photos))
	}
	for i, ph := range photos {
		want := 1
		if i == 10 {
			want = 2 // sent again after the lost answer, stored once
		}
		if ph.Uploads != want {
			t.Fatalf("photo %d posted %d times, want %d", i+1, ph.Uploads, want)
		}
	}
	if st := p.cx.Stats(); st.PhotosStored != 20 || st.PhotoRetries != 1 {
		t.Fatalf("stored %d, retries %d", st.PhotosStored, st.PhotoRetries)
	}
}

// Inside an activity (DeliverEvent) the relay heartbeats its progress: what a dying attempt
// had done is visible in Temporal, and the next attempt starts after it.
func TestRelayHeartbeatsItsProgress(t *testing.T) {
	tap := &photoTap{at: 6}
	tap.onMatch = func(*http.Request) (*http.Response, bool, error) {
		return nil, true, errors.New("connection reset by peer")
	}
	p := newPair(t, pairOpts{transport: func(next http.RoundTripper) http.RoundTripper { tap.next = next; return tap }})
	wo, project := p.imported(nil)
	sent := p.photos(project, psim.PhotoRequest{Count: 8, Category: "After", Task: "Cut grass"})

	var beats []map[string]any
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var m map[string]any
		if err := d.Get(&m); err == nil {
			beats = append(beats, m)
		}
	})
	deliver := func(ctx context.Context) error {
		return p.req.Notify(ctx, vendorapi.Notification{ID: "evt-1", Kind: vendorapi.NotifyFeedbackAdded, ExternalID: wo.WorkOrderID,
			Feedback: &vendorapi.Feedback{ID: pruvan.FeedbackID(sent[0].UUID)}})
	}
	env.RegisterActivity(deliver)
	if _, err := env.ExecuteActivity(deliver); err == nil {
		t.Fatal("the attempt must fail at photo 6")
	}
	if len(beats) == 0 {
		t.Fatal("no heartbeat")
	}
	last := beats[len(beats)-1]
	if last["relayed"] != float64(5) || last["pending"] != float64(3) || last["workOrder"] != wo.WorkOrderID {
		t.Fatalf("the last heartbeat must show 5 relayed, 3 to go: %v", last)
	}
}
