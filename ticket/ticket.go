// Package ticket holds the identifiers and value types shared by the API, the workflows and the
// activities: ticket ids, workflow ids and the timeline event a workflow emits.
package ticket

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// WorkflowType is the Temporal workflow type of a ticket.
const WorkflowType = "Ticket"

// WorkflowID is the Temporal workflow id of a ticket: ticket/<connection-id>/<external-id>.
// The external id is the request system's own id: no personal data goes in here.
func WorkflowID(connection, externalID string) string {
	return "ticket/" + connection + "/" + externalID
}

// ConnectionSyncWorkflowID is the id of a connection's change-feed workflow.
func ConnectionSyncWorkflowID(connection string) string { return "ConnectionSync/" + connection }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ID derives the ticket id from the connection and external id. Deterministic, so a retried or
// raced create, a replay and a crash recovery all agree on it without coordination.
func ID(connection, externalID string) string {
	sum := sha256.Sum256([]byte(connection + "\x00" + externalID))
	return "tkt_" + strings.ToLower(b32.EncodeToString(sum[:15]))
}

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
)

// Delivered reports whether an event type goes to the request system.
func Delivered(eventType string) bool {
	switch eventType {
	case EventStatusChanged, EventFeedbackAdded, EventNeedsAttention, EventClosed:
		return true
	}
	return false
}

// Feedback is a requester-visible note from staff, as sent to the request system.
type Feedback struct {
	ID        string    `json:"id"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"createdAt"`
}

// Attention says why a ticket is parked and since when.
type Attention struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	Step   string    `json:"step,omitempty"` // create | poll | status | cancel | comment | delivery
}

// Pause says why syncing is paused (the hold signal) and since when.
type Pause struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
}

// Event is one entry of a ticket's timeline. ID is stable (derived from the workflow id and Seq)
// so retries, replays and continue-as-new never mint a second id for the same event.
type Event struct {
	ID             string     `json:"id"`
	Seq            int64      `json:"seq"`
	Type           string     `json:"type"`
	OccurredAt     time.Time  `json:"occurredAt"`
	Status         string     `json:"status,omitempty"`
	PreviousStatus string     `json:"previousStatus,omitempty"`
	RemoteID       string     `json:"remoteId,omitempty"`
	Category       string     `json:"category,omitempty"`
	Feedback       *Feedback  `json:"feedback,omitempty"`
	Attention      *Attention `json:"attention,omitempty"`
	Detail         string     `json:"detail,omitempty"` // local events: human-readable note
}

// Ref identifies a ticket everywhere: activities, store rows and event bodies.
type Ref struct {
	TicketID   string `json:"ticketId"`
	WorkflowID string `json:"workflowId"`
	Tenant     string `json:"tenant"`
	Connection string `json:"connection"`
	ExternalID string `json:"externalId"`
}

// NewRef builds a Ref from the tenant, connection and external id.
func NewRef(tenant, connection, externalID string) Ref {
	return Ref{
		TicketID:   ID(connection, externalID),
		WorkflowID: WorkflowID(connection, externalID),
		Tenant:     tenant,
		Connection: connection,
		ExternalID: externalID,
	}
}
