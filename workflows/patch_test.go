package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// TheWorxHub refuses a request without a location and the ticket parks on its create; the
// corrected request (patch) is what the operator's retry creates.
func TestPatchedRequestIsCreatedOnRetry(t *testing.T) {
	h := newHarness(t, "req-patch")
	h.in.Request.Location = vendorapi.Location{}
	var parked, fixed ticket.State
	h.at(time.Minute, func() { parked = h.state() })
	h.at(2*time.Minute, func() {
		req := h.in.Request
		req.Location = vendorapi.Location{Address: "Building B, apt 3"}
		h.env.SignalWorkflow(ticket.SignalPatch, ticket.PatchSignal{Request: req, Fields: []string{"location"}})
		h.env.SignalWorkflow(ticket.SignalRetry, nil)
	})
	h.at(3*time.Minute, func() { fixed = h.state() })
	h.at(4*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	res := h.run()
	if parked.NeedsAttention == nil || parked.NeedsAttention.Step != ticket.StepCreate || parked.RemoteID != "" ||
		!strings.Contains(parked.NeedsAttention.Reason, "invalid") {
		t.Fatalf("without a location the create should park: %+v", parked.NeedsAttention)
	}
	if fixed.RemoteID == "" || fixed.NeedsAttention != nil || fixed.Status != ticket.Requested ||
		fixed.Request == nil || fixed.Request.Location.Address != "Building B, apt 3" {
		t.Fatalf("after patch and retry: %+v", fixed)
	}
	if wr := h.remote(); wr.Location != "Building B, apt 3" {
		t.Fatalf("TheWorxHub has location %q", wr.Location)
	}
	if d := eventDetail(t, h, ticket.EventRequestCorrected, "location"); !strings.Contains(d, "retry") {
		t.Fatalf("timeline: %q", d)
	}
	if res.Status != ticket.Canceled {
		t.Fatalf("result %+v", res)
	}
}

// Once the work system has the request, a correction cannot reach it: the timeline says so and
// nothing changes.
func TestPatchAfterCreateIsIgnored(t *testing.T) {
	h := newHarness(t, "req-patch-late")
	h.at(time.Minute, func() {
		req := h.in.Request
		req.Title = "Something else"
		h.env.SignalWorkflow(ticket.SignalPatch, ticket.PatchSignal{Request: req, Fields: []string{"title"}})
		h.poke()
	})
	h.at(2*time.Minute, func() { h.env.SignalWorkflow(ticket.SignalCancel, nil) })
	h.run()
	if wr := h.remote(); wr.Title != "Leaking sink" {
		t.Fatalf("the remote request changed: %q", wr.Title)
	}
	eventDetail(t, h, ticket.EventNote, "ignored: the work system already has the request")
}
