package ticket

import "github.com/ticketsync/ticketsync/vendorapi"

// SignalPatch replaces the request of a ticket whose create the work system refused (invalid
// input), while the work system does not have it yet; `retry` then creates it with the
// corrected request (PATCH /v1/tickets/{id}). Payload PatchSignal.
const SignalPatch = "patch"

// PatchSignal is the payload of `patch`: the whole corrected request and, for the timeline,
// the fields that changed.
type PatchSignal struct {
	Request vendorapi.NewRequest `json:"request"`
	Fields  []string             `json:"fields,omitempty"`
}

// EventRequestCorrected records a `patch` on the timeline (the fields that changed).
const EventRequestCorrected = "ticket.request_corrected"

// ReasonEndpointDisabled starts the park reason of a ticket whose deliveries wait for its
// connection's disabled endpoint (a 410 Gone, contracts/portal.md); it is also the reason's
// class the request system would see. Re-enabling the endpoint retries these tickets.
const ReasonEndpointDisabled = "the request system's endpoint is disabled"

// NoteCancelTooLate starts the timeline note of a cancel that reached a request the work system
// had already finished (DESIGN.md §3): the ticket ends with the work system's status.
const NoteCancelTooLate = "cancel came too late"
