package workflows

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
)

// changeRemapSignal guards the remap signal. Code before it never read the "remap" channel, so
// a history it recorded may hold a remap signal that had no effect: replayed, such a history
// finds no marker and the signal is dropped again. Recorded in testdata/ticket-remap-v1.json.
const changeRemapSignal = "remap-signal"

// receiveRemaps applies every buffered remap signal (drainSignals calls it, so a remap takes
// effect at the ticket's next wake and is never lost to continue-as-new; the API pokes the
// ticket right after signalling). It reports whether one was received.
func (r *run) receiveRemaps(ctx workflow.Context) bool {
	ch := workflow.GetSignalChannelWithOptions(ctx, ticket.SignalRemap, workflow.SignalChannelOptions{
		Description: `Move the ticket to another status-mapping version of its work system and translate the current remote status with it; takes effect at the next wake (send poke). Input: {"mapping": "theworxhub-v2"}`})
	got := false
	var raw json.RawMessage
	for ch.ReceiveAsync(&raw) {
		got = true
		r.onRemap(ctx, raw)
		raw = nil
	}
	return got
}

// remapLookup is the mapping a remap resolved to, recorded in history by a side effect: a
// worker of another build (whose registry lacks the version, or a newer one that has it) must
// replay the same decision.
type remapLookup struct {
	Mapping mapping.Mapping `json:"mapping"`
	Err     string          `json:"err,omitempty"`
}

// onRemap switches the pinned mapping and re-translates the current remote status: an
// unmapped status parks the ticket (never guessed), a mapped one un-parks it and emits the
// status change the new table implies. A refused remap (unknown version, another work system
// kind) leaves the ticket as it was, with a note on the timeline.
func (r *run) onRemap(ctx workflow.Context, raw json.RawMessage) {
	var sig ticket.RemapSignal
	decodeSignal(raw, &sig, func(s string) { sig.Mapping = s })
	if r.version(ctx, changeRemapSignal) == workflow.DefaultVersion {
		return // recorded before remap existed: the signal had no effect then
	}
	name := strings.TrimSpace(sig.Mapping)
	if r.s.Finished || name == "" {
		return
	}
	var found remapLookup
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		m, err := mapping.Lookup(name)
		if err != nil {
			return remapLookup{Err: err.Error()}
		}
		return remapLookup{Mapping: m}
	}).Get(&found)
	switch {
	case err != nil:
		found.Err = err.Error()
	case found.Err == "" && found.Mapping.WorkKind != r.mapping.WorkKind:
		found.Err = fmt.Sprintf("mapping %s reads work system kind %q; this ticket's mapping %s reads %q",
			name, found.Mapping.WorkKind, r.mapping.Name, r.mapping.WorkKind)
	}
	if found.Err != "" {
		r.emitLocal(ctx, ticket.EventNote, "remap to "+name+" refused: "+found.Err)
		return
	}
	old := r.mapping.Name
	r.mapping = found.Mapping
	r.s.MappingVersion = found.Mapping.Name
	r.in.MappingVersion = found.Mapping.Name // continue-as-new starts the next run with it
	detail := fmt.Sprintf("status mapping %s → %s", old, found.Mapping.Name)
	if r.s.RemoteStatus != "" {
		detail += fmt.Sprintf("; remote status %q", r.s.RemoteStatus)
	}
	r.emitLocal(ctx, ticket.EventRemapped, detail)
	if r.s.RemoteID == "" || r.s.RemoteStatus == "" {
		return // nothing to translate yet: the first poll uses the new table
	}
	portal, ok := r.mapping.Translate(r.s.RemoteStatus)
	if !ok {
		// Same reason text as a poll would write, so the next poll does not park twice.
		r.park(ctx, ticket.StepStatus, fmt.Sprintf("unmapped remote status %q (mapping %s)", r.s.RemoteStatus, r.mapping.Name))
		return
	}
	r.unparkStep(ctx, ticket.StepStatus)
	r.setStatus(ctx, portal)
}
