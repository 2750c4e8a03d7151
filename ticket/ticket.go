// Package ticket holds the identifiers and value types shared by the API, the workflows and the
// activities: ticket ids, workflow ids and the timeline event a workflow emits.
package ticket

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ID derives the ticket id from the connection and external id. Deterministic, so a retried or
// raced create, a replay and a crash recovery all agree on it without coordination.
func ID(connection, externalID string) string {
	sum := sha256.Sum256([]byte(connection + "\x00" + externalID))
	return "tkt_" + strings.ToLower(b32.EncodeToString(sum[:15]))
}

// Feedback is a requester-visible note from staff, as sent to the request system.
type Feedback struct {
	ID          string                 `json:"id"`
	Text        string                 `json:"text"`
	Author      string                 `json:"author"`
	CreatedAt   time.Time              `json:"createdAt"`
	Attachments []vendorapi.Attachment `json:"attachments,omitempty"` // e.g. a photo staff attached
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
