package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"go.temporal.io/sdk/temporal"
)

func TestCreateCommittedButResponseLostStillOneRemoteRequest(t *testing.T) {
	for _, fault := range []twhsim.Faults{{DropAfterCreate: 1}, {SlowCreate: 1, SlowCreateDelay: 8 * time.Second}} {
		h := newHarness(t, "req-drop")
		h.kit.TWH.SetFaults(fault)
		h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
		h.run()
		if n := len(h.kit.TWH.Requests()); n != 1 {
			t.Fatalf("fault %+v: %d remote requests, want exactly 1", fault, n)
		}
		if st := h.kit.TWH.Stats(); st.Creates != 1 {
			t.Fatalf("fault %+v: %d committed creates", fault, st.Creates)
		}
		evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		adopted := false
		for _, e := range evs {
			if e.Type == ticket.EventRemoteCreated && strings.Contains(string(e.Payload), "adopted=true") {
				adopted = true
			}
		}
		if !adopted {
			t.Fatalf("fault %+v: the retry should have adopted the committed request; timeline %+v", fault, evs)
		}
	}
}

func TestTransientVendorErrorsAreRetried(t *testing.T) {
	h := newHarness(t, "req-flaky")
	h.kit.TWH.SetFaults(twhsim.Faults{Maintenance: 2, RateLimitBurst: 2, RetryAfterSeconds: 1, HTMLOn200: 1})
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if n := len(h.kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests", n)
	}
	assertEvents(t, h.portalEvents(), "ticket.status_changed:Requested", "ticket.status_changed:Canceled<Requested", "ticket.closed:Canceled<Requested")
}

func TestNonRetryableCreateParksThenRetryAfterFix(t *testing.T) {
	kit := testkit.New(t, testkit.Options{})
	good := kit.Registry
	kit.Activities.Connections = brokenRegistry(t, kit)
	h := newHarnessWithKit(t, kit, "req-authfail")
	var parked ticket.State
	h.at(time.Minute, func() { parked = h.state() })
	h.at(2*time.Minute, func() {
		kit.Activities.Connections = good // the operator fixed the configuration
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != "create" || parked.Status != ticket.Submitted {
		t.Fatalf("parked state: %+v", parked)
	}
	if !strings.Contains(parked.NeedsAttention.Reason, "invalid_client") {
		t.Fatalf("reason should name the vendor error: %q", parked.NeedsAttention.Reason)
	}
	if n := len(kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests after retry", n)
	}
	evs := kit.Portal.EventsFor(h.in.Ref.TicketID)
	if len(evs) == 0 || evs[0].Event.Type != ticket.EventNeedsAttention || evs[0].Event.Attention == nil {
		t.Fatalf("the request system must hear about the parked create first: %+v", h.portalEvents())
	}
	if body := string(evs[0].Body); !strings.Contains(body, `"status":null`) || !strings.Contains(body, `"previousStatus":null`) || !strings.Contains(body, `"attention":{"reason":`) {
		t.Fatalf("a needs_attention before any portal status carries status null: %s", body)
	}
}

func TestLongTextTruncatedForTheWorxHubAndKeptOnTimeline(t *testing.T) {
	h := newHarness(t, "req-long")
	h.in.Request.Title = strings.Repeat("T", 250)
	h.in.Request.Answers = map[string]string{"floor": "2", "pets": "cat"}
	h.in.Request.Attachments = []vendorapi.Attachment{{Name: "sink.jpg", URL: "https://files.example/sink.jpg"}}
	h.at(time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	wr := h.remote()
	if n := len([]rune(wr.Title)); n != 200 || !strings.HasSuffix(wr.Title, "…") {
		t.Fatalf("title %d runes: %q", n, wr.Title)
	}
	if !strings.Contains(wr.Description, "- floor: 2\n- pets: cat") || !strings.Contains(wr.Description, "- sink.jpg: https://files.example/sink.jpg") {
		t.Fatalf("answers and attachments should follow the description: %q", wr.Description)
	}
	evs, err := h.kit.Store.ListEvents(context.Background(), h.in.Ref.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, e := range evs {
		if e.Type == ticket.EventTruncated && strings.Contains(string(e.Payload), strings.Repeat("T", 250)) {
			kept = true
		}
	}
	if !kept {
		t.Fatal("the full title must be kept on the timeline")
	}
}

// A create that keeps failing is retried at most vendorapi.MaxRetryInterval apart, however many
// attempts failed before: the ticket reaches the work system soon after the vendor recovers.
func TestCreateRetriesStayAtMostAMinuteApart(t *testing.T) {
	h := newHarness(t, "req-backoff")
	h.env.SetTestTimeout(time.Minute)
	var attempts []time.Time
	h.env.OnActivity("CreateRemote", mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CreateRemoteInput) (activities.CreateRemoteOutput, error) {
		attempts = append(attempts, h.env.Now())
		if len(attempts) <= 9 {
			return activities.CreateRemoteOutput{}, temporal.NewApplicationError("theworxhub: create work request: HTTP 502 server_error", "server_error")
		}
		return h.kit.Activities.CreateRemote(ctx, in)
	})
	var created ticket.State
	h.at(5*time.Minute, func() { created = h.state() })
	h.at(6*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if len(attempts) != 10 || created.Status != ticket.Requested {
		t.Fatalf("%d create attempts; status at 5 min %q, want Requested after the 10th", len(attempts), created.Status)
	}
	for i := 1; i < len(attempts); i++ {
		if gap := attempts[i].Sub(attempts[i-1]); gap > vendorapi.MaxRetryInterval+time.Second {
			t.Fatalf("attempt %d came %s after the one before, more than %s", i+1, gap, vendorapi.MaxRetryInterval)
		}
	}
	if n := len(h.kit.TWH.Requests()); n != 1 {
		t.Fatalf("%d remote requests", n)
	}
}
