package ticket

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Workflow types. Public: operators filter on them in Temporal Web and the temporal CLI.
const (
	WorkflowType               = "Ticket"
	ConnectionSyncWorkflowType = "ConnectionSync"
	CatalogSyncWorkflowType    = "CatalogSync"
)

// WorkflowID is the Temporal workflow id of a ticket: ticket/<connection-id>/<external-id>.
// The external id is the request system's own id: no personal data goes in here.
func WorkflowID(connection, externalID string) string {
	return "ticket/" + connection + "/" + externalID
}

// ConnectionSyncWorkflowID is the id of a connection's change-feed and intake workflow.
func ConnectionSyncWorkflowID(connection string) string { return "ConnectionSync/" + connection }

// CatalogSyncWorkflowID is the id of a connection's catalog sync workflow (and its schedule).
func CatalogSyncWorkflowID(connection string) string { return "CatalogSync/" + connection }

// Signal and query names of the Ticket workflow: a contract with operators (temporal CLI,
// Temporal Web) and portal backends. Never rename them.
const (
	SignalCancel  = "cancel"
	SignalComment = "comment"
	SignalHold    = "hold"
	SignalResume  = "resume"
	SignalPoke    = "poke"
	SignalRetry   = "retry"
	// SignalSkip drops the event whose delivery was abandoned so later events can flow
	// (contracts/portal.md: "later events wait for an operator signal (retry or skip)").
	SignalSkip = "skip"
	// SignalRemap moves the ticket to another version of its status mapping and translates the
	// current remote status with it (payload RemapSignal; POST /v1/tickets/{id}/remap).
	SignalRemap = "remap"

	QueryState = "state"
)

// Portal statuses (DESIGN.md §1). Submitted is internal: never sent to a request system.
const (
	Submitted  = "Submitted"
	Requested  = "Requested"
	InProgress = "InProgress"
	OnHold     = "OnHold"
	Done       = "Done"
	Canceled   = "Canceled"
)

// Statuses lists every portal status, in lifecycle order.
var Statuses = []string{Submitted, Requested, InProgress, OnHold, Done, Canceled}

// IsTerminal reports whether a portal status ends the ticket.
func IsTerminal(status string) bool { return status == Done || status == Canceled }

// Park steps: which step of the ticket needs a human (Attention.Step).
const (
	StepCreate   = "create"
	StepPoll     = "poll"
	StepStatus   = "status"
	StepCancel   = "cancel"
	StepComment  = "comment"
	StepDelivery = "delivery"
)

// Event types. The first four are delivered to the request system (contracts/portal.md); the
// local ones only enrich the timeline (GET /v1/tickets/{id}/events).
const (
	EventStatusChanged  = "ticket.status_changed"
	EventFeedbackAdded  = "ticket.feedback_added"
	EventNeedsAttention = "ticket.needs_attention"
	EventClosed         = "ticket.closed"

	EventRemoteCreated    = "ticket.remote_created"
	EventCommentForwarded = "ticket.comment_forwarded"
	EventTruncated        = "ticket.text_truncated"
	EventPaused           = "ticket.paused"
	EventResumed          = "ticket.resumed"
	EventSkipped          = "ticket.delivery_skipped"
	EventNote             = "ticket.note"
	// EventRemapped records a move to another status-mapping version (the remap signal).
	EventRemapped = "ticket.remapped"
	// EventErased is the audit entry of an erasure of the requester's personal data: who and
	// when (DELETE /v1/tickets/{id}/personal-data). Retention never prunes it.
	EventErased = "ticket.erased"
)

// DeliveredEventTypes lists the event types sent to the request system.
var DeliveredEventTypes = []string{EventStatusChanged, EventFeedbackAdded, EventNeedsAttention, EventClosed}

// Delivered reports whether an event type goes to the request system.
func Delivered(eventType string) bool {
	switch eventType {
	case EventStatusChanged, EventFeedbackAdded, EventNeedsAttention, EventClosed:
		return true
	}
	return false
}

var eventIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// EventID derives the event id from the ticket's workflow id and the event's sequence number:
// "evt_" + lowercase unpadded base32 of the first 16 bytes of SHA-256(workflowID + "#" + seq).
// Deterministic, so every retry and every workflow replay carries the same id, and opaque, so
// the workflow id (which names the connection) does not leak to the request system.
func EventID(workflowID string, seq int64) string {
	sum := sha256.Sum256([]byte(workflowID + "#" + strconv.FormatInt(seq, 10)))
	return "evt_" + eventIDEncoding.EncodeToString(sum[:16])
}

// Search attribute keys (Keyword / Bool), registered by `dev` and documented for production.
var (
	SATenant         = temporal.NewSearchAttributeKeyKeyword("TicketTenant")
	SAConnection     = temporal.NewSearchAttributeKeyKeyword("TicketConnection")
	SAExternalID     = temporal.NewSearchAttributeKeyKeyword("TicketExternalId")
	SARemoteID       = temporal.NewSearchAttributeKeyKeyword("TicketRemoteId")
	SAStatus         = temporal.NewSearchAttributeKeyKeyword("TicketStatus")
	SANeedsAttention = temporal.NewSearchAttributeKeyBool("TicketNeedsAttention")
)

// SearchAttributeKeys lists the ticket search attributes in a stable order.
var SearchAttributeKeys = []temporal.SearchAttributeKey{SATenant, SAConnection, SAExternalID, SARemoteID, SAStatus, SANeedsAttention}

// StartSearchAttributes are the search attributes a ticket's workflow starts with: findable
// in Temporal Web from its first moment, before the workflow runs.
func StartSearchAttributes(ref Ref) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SATenant.ValueSet(ref.Tenant),
		SAConnection.ValueSet(ref.Connection),
		SAExternalID.ValueSet(ref.ExternalID),
		SAStatus.ValueSet(Submitted),
		SANeedsAttention.ValueSet(false),
	)
}

// SearchAttributeTypes maps each ticket search attribute to its indexed type, for registration.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	out := make(map[string]enumspb.IndexedValueType, len(SearchAttributeKeys))
	for _, k := range SearchAttributeKeys {
		out[k.GetName()] = k.GetValueType()
	}
	return out
}
