package apiclient

import (
	"encoding/json"
	"time"
)

// Each type mirrors one schema of starter/openapi.json (named in its comment); a test checks
// that the JSON names match the schema's properties exactly.

// CreateTicket is the body of POST /v1/tickets (schema CreateTicket).
type CreateTicket struct {
	Connection  string       `json:"connection"`
	ExternalID  string       `json:"externalId"`
	RequestType string       `json:"requestType"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Location    *Location    `json:"location,omitempty"`
	Requester   *Requester   `json:"requester"`
	Answers     Answers      `json:"answers,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Location is where the work is needed (schema Location); Lat and Lng go together.
type Location struct {
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lng     *float64 `json:"lng,omitempty"`
}

// Requester is the person who raised the request (schema Requester).
type Requester struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Attachment is a file reference (schema Attachment).
type Attachment struct {
	Name        string `json:"name,omitempty"`
	URL         string `json:"url"`
	ContentType string `json:"contentType,omitempty"`
}

// Answers are the answers to the request type's questions: string, float64 or bool values
// (schema Answers).
type Answers map[string]any

// TicketPatch corrects the request of a parked ticket (schema TicketPatch): nil fields are
// left out of the body and stay as they are.
type TicketPatch struct {
	RequestType *string         `json:"requestType,omitempty"`
	Title       *string         `json:"title,omitempty"`
	Description *string         `json:"description,omitempty"`
	Location    *Location       `json:"location,omitempty"`
	Requester   *RequesterPatch `json:"requester,omitempty"`
	Answers     Answers         `json:"answers,omitempty"`
}

// RequesterPatch is the requester part of a TicketPatch (every field optional).
type RequesterPatch struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Ticket is the API's view of a ticket (schema Ticket).
type Ticket struct {
	ID             string       `json:"id"`
	WorkflowID     string       `json:"workflowId"`
	Tenant         string       `json:"tenant"`
	Connection     string       `json:"connection"`
	ExternalID     string       `json:"externalId"`
	Status         string       `json:"status"`
	RemoteID       *string      `json:"remoteId"`
	RemoteStatus   *string      `json:"remoteStatus"`
	Category       *string      `json:"category"`
	MappingVersion string       `json:"mappingVersion"`
	NeedsAttention *SinceReason `json:"needsAttention"`
	Paused         *SinceReason `json:"paused"`
	CreatedAt      time.Time    `json:"createdAt"`
	UpdatedAt      time.Time    `json:"updatedAt"`
	Links          *TicketLinks `json:"links,omitempty"`
}

// SinceReason is {since, reason} (schema SinceReason).
type SinceReason struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	// Pending: the state a signal just sent leads to, not applied yet (hold's answer).
	Pending bool `json:"pending,omitempty"`
}

// TicketLinks are links to other tools (schema TicketLinks).
type TicketLinks struct {
	TemporalWeb string `json:"temporalWeb,omitempty"`
}

// TicketPage is one page of a ticket list (schema TicketPage).
type TicketPage struct {
	Items      []Ticket `json:"items"`
	NextCursor *string  `json:"nextCursor"`
}

// ListTicketsParams filter GET /v1/tickets; zero values are left out.
type ListTicketsParams struct {
	Connection     string
	ExternalID     string
	Status         string
	NeedsAttention *bool
	Limit          int
	Cursor         string
}

// Timeline is a ticket's ordered events (schema Timeline).
type Timeline struct {
	Items []TimelineEvent `json:"items"`
}

// TimelineEvent is one timeline entry (schema TimelineEvent).
type TimelineEvent struct {
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"`
	Delivery   *Delivery       `json:"delivery"`
	Data       json.RawMessage `json:"data"`
}

// Delivery is the delivery state of an event sent to the request system (schema Delivery).
type Delivery struct {
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"lastError,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt"`
}

// Comment is the body of POST /v1/tickets/{id}/comments (schema Comment).
type Comment struct {
	Text   string `json:"text"`
	Author string `json:"author,omitempty"`
}

// Reason is the body of cancel and hold (schema Reason).
type Reason struct {
	Reason string `json:"reason,omitempty"`
}

// SignalAccepted answers a signal endpoint (schema SignalAccepted).
type SignalAccepted struct {
	Accepted bool   `json:"accepted"`
	Signal   string `json:"signal"`
	Ticket   Ticket `json:"ticket"`
}

// Remap is the body of POST /v1/tickets/{id}/remap (schema Remap).
type Remap struct {
	Mapping string `json:"mapping"`
}

// Erasure answers DELETE /v1/tickets/{id}/personal-data (schema Erasure).
type Erasure struct {
	Ticket   Ticket    `json:"ticket"`
	ErasedAt time.Time `json:"erasedAt"`
}

// StuckTicket is a ticket that needs an operator (schema StuckTicket).
type StuckTicket struct {
	Ticket Ticket    `json:"ticket"`
	Kind   string    `json:"kind"` // "parked" or "overdue"
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// StuckList answers GET /v1/tickets/stuck, oldest first (schema StuckList).
type StuckList struct {
	Items []StuckTicket `json:"items"`
}

// Connection is a connection and its status (schema Connection).
type Connection struct {
	ID            string        `json:"id"`
	Tenant        string        `json:"tenant"`
	RequestSystem string        `json:"requestSystem"`
	WorkSystem    string        `json:"workSystem"`
	Mapping       string        `json:"mapping"`
	PollInterval  string        `json:"pollInterval"`
	RequestTypes  []string      `json:"requestTypes"`
	Capabilities  []string      `json:"capabilities"`
	Feed          *StreamStatus `json:"feed"`   // the work system's change feed; nil without one
	Intake        *StreamStatus `json:"intake"` // the request system's intake; nil without one
}

// StreamStatus is the state of an inbound stream (schema StreamStatus).
type StreamStatus struct {
	Cursor     *string `json:"cursor"`
	LastRead   *string `json:"lastRead"`
	LagSeconds *int64  `json:"lagSeconds"`
	LastError  *string `json:"lastError"`
}

// ConnectionList answers GET /v1/connections (schema ConnectionList).
type ConnectionList struct {
	Items []Connection `json:"items"`
}

// ValidationReport answers POST /v1/connections/{id}/validate (schema ValidationReport).
type ValidationReport struct {
	Connection string  `json:"connection"`
	OK         bool    `json:"ok"`
	Checks     []Check `json:"checks"`
}

// Failed returns the checks that did not pass.
func (r ValidationReport) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Check is one check of a connection (schema Check).
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// RefreshResult answers POST /v1/connections/{id}/refresh (schema RefreshResult).
type RefreshResult struct {
	Connection string `json:"connection"`
	Full       bool   `json:"full"`
	New        int    `json:"new"`
	Updated    int    `json:"updated"`
	Unchanged  int    `json:"unchanged"`
	Failed     int    `json:"failed"`
	DurationMS int64  `json:"durationMs"`
}

// CatalogResult answers POST /v1/connections/{id}/sync-catalog (schema CatalogResult).
type CatalogResult struct {
	Connection string `json:"connection"`
	Categories int    `json:"categories"` // read from the work system
	Created    int    `json:"created"`
	Updated    int    `json:"updated"`
	Unchanged  int    `json:"unchanged"`
	Failed     int    `json:"failed"`
}

// ReplayRequest is the body of POST /v1/events/replay (schema ReplayRequest): Connection or
// Tenant, and Since.
type ReplayRequest struct {
	Connection string    `json:"connection,omitempty"`
	Tenant     string    `json:"tenant,omitempty"`
	Since      time.Time `json:"since"`
	DryRun     bool      `json:"dryRun,omitempty"`
}

// ReplayResult answers the replay endpoints (schema ReplayResult).
type ReplayResult struct {
	Count  int             `json:"count"`
	DryRun bool            `json:"dryRun"`
	Events []ReplayedEvent `json:"events"`
}

// ReplayedEvent is one event sent again with its original id (schema ReplayedEvent).
type ReplayedEvent struct {
	ID         string    `json:"id"`
	Ticket     string    `json:"ticket"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
}

// Health answers /healthz and /readyz (schema Health).
type Health struct {
	Status string `json:"status"`
	// Database and Temporal are /readyz's components: "ok" or "unavailable".
	Database string `json:"database,omitempty"`
	Temporal string `json:"temporal,omitempty"`
}
