package workflows

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/ticket"
)

// receivePatches applies every buffered patch signal (drainSignals calls it: a patch takes
// effect at the ticket's next wake, which the `retry` that follows it provides, and is never
// lost to continue-as-new). It reports whether one was received.
func (r *run) receivePatches(ctx workflow.Context) bool {
	ch := workflow.GetSignalChannelWithOptions(ctx, ticket.SignalPatch, workflow.SignalChannelOptions{
		Description: `Correct the request of a ticket whose create was refused, before the work system has it; then send retry. Input: {"request": {…}, "fields": ["location.address"]}`})
	got := false
	for {
		var raw json.RawMessage
		if !ch.ReceiveAsync(&raw) {
			return got
		}
		got = true
		r.onPatch(ctx, raw)
	}
}

// onPatch replaces the request the create step sends (changeRequestPatch). Once the work
// system has the request, or the ticket finished, a correction can no longer reach it: the
// timeline says so.
func (r *run) onPatch(ctx workflow.Context, raw json.RawMessage) {
	if r.version(ctx, changeRequestPatch) == workflow.DefaultVersion {
		return // recorded before patch existed: the signal had no effect then
	}
	var p ticket.PatchSignal
	if err := json.Unmarshal(raw, &p); err != nil {
		r.emitLocal(ctx, ticket.EventNote, "request correction refused: "+err.Error())
		return
	}
	fields := strings.Join(p.Fields, ", ")
	switch {
	case r.s.Finished || r.s.RemoteID != "":
		r.emitLocal(ctx, ticket.EventNote, fmt.Sprintf("request correction (%s) ignored: the work system already has the request", fields))
	case ticket.RequestBytes(p.Request) > ticket.MaxRequestBytes:
		r.emitLocal(ctx, ticket.EventNote, fmt.Sprintf("request correction (%s) refused: over %d bytes once encoded", fields, ticket.MaxRequestBytes))
	default:
		r.in.Request = p.Request // continue-as-new carries r.in
		r.emitLocal(ctx, ticket.EventRequestCorrected, "corrected "+fields+"; retry creates the request with it")
	}
}
