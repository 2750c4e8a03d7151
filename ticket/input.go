package ticket

import (
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Generation is the Ticket workflow's code generation: new tickets start with it, and take every
// behaviour change of a generation ≤ it without a GetVersion marker (workflows.changeGenerations).
const Generation = 2

// Input starts a Ticket workflow. On continue-as-new State carries everything over.
type Input struct {
	Ref            Ref                  `json:"ref"`
	Request        vendorapi.NewRequest `json:"request"`
	MappingVersion string               `json:"mappingVersion"`
	// PollInterval is the safety-net timer; 0 means the workflow's default.
	PollInterval time.Duration `json:"pollInterval,omitempty"`
	// EventMaxAge bounds the delivery retries of one event; 0 means the workflow's default.
	EventMaxAge time.Duration `json:"eventMaxAge,omitempty"`
	// DeliveryRetryCap caps the backoff between a notification's attempts: the connection's
	// requestSystem.retryMaxInterval, else vendorapi's MaxRetryInterval for a request system
	// notified through its API, else 0 for the webhook schedule's hour.
	DeliveryRetryCap time.Duration `json:"deliveryRetryCap,omitempty"`
	// Generation is the workflow code generation that started the ticket (the package's
	// Generation then): the behaviour changes it already had are not versioned per run. 0 =
	// before generations.
	Generation int    `json:"generation,omitempty"`
	State      *State `json:"state,omitempty"`
}

// CancelSignal is the payload of `cancel`.
type CancelSignal struct {
	Reason string `json:"reason"`
}

// CommentSignal is the payload of `comment`. ID, when the request system has one, makes the
// comment idempotent: a second signal with the same ID is dropped.
type CommentSignal struct {
	ID                 string `json:"id,omitempty"`
	Text               string `json:"text"`
	Author             string `json:"author"`
	VisibleToRequestor bool   `json:"visibleToRequestor,omitempty"`
	// Attachments are files that came with the comment (e.g. a citizen's photo on SeeClickFix).
	Attachments []vendorapi.Attachment `json:"attachments,omitempty"`
}

// HoldSignal is the payload of `hold`.
type HoldSignal struct {
	Reason string `json:"reason"`
}

// EventCounts summarises deliveries for the state query.
type EventCounts struct {
	Delivered int `json:"delivered"`
	Pending   int `json:"pending"`
	Skipped   int `json:"skipped"`
}

// State is the whole state of a ticket: the `state` query returns it as JSON, and
// continue-as-new carries it to the next run.
type State struct {
	TicketID       string      `json:"ticketId"`
	WorkflowID     string      `json:"workflowId"`
	Tenant         string      `json:"tenant"`
	Connection     string      `json:"connection"`
	ExternalID     string      `json:"externalId"`
	Status         string      `json:"status"`
	PreviousStatus string      `json:"previousStatus"`
	RemoteID       string      `json:"remoteId"`
	RemoteStatus   string      `json:"remoteStatus"`
	Category       string      `json:"category"`
	MappingVersion string      `json:"mappingVersion"`
	NeedsAttention *Attention  `json:"needsAttention"`
	Paused         *Pause      `json:"paused"`
	LastPoll       *time.Time  `json:"lastPoll"`
	NextPoll       *time.Time  `json:"nextPoll"`
	LastError      string      `json:"lastError,omitempty"`
	FeedHealthy    bool        `json:"feedHealthy"`
	Events         EventCounts `json:"events"`
	CreatedAt      time.Time   `json:"createdAt"`
	UpdatedAt      time.Time   `json:"updatedAt"`

	// Bookkeeping carried across continue-as-new.
	Seq              int64     `json:"seq"`
	Polls            int       `json:"polls"`
	Runs             int       `json:"runs"`
	RemoteModifiedAt time.Time `json:"remoteModifiedAt"`
	// SeenFeedback and SeenComments are the unbounded lists of runs before the bounded-state
	// change; a run reads them into SeenFeedbackIDs/SeenCommentIDs and carries them no more.
	SeenFeedback    []string        `json:"seenFeedback,omitempty"`
	SeenComments    []string        `json:"seenComments,omitempty"`
	Outbox          []Event         `json:"outbox,omitempty"`
	PendingComments []CommentSignal `json:"pendingComments,omitempty"`
	CancelRequested *CancelSignal   `json:"cancelRequested,omitempty"`
	DeliveryBlocked bool            `json:"deliveryBlocked,omitempty"`
	Finished        bool            `json:"finished,omitempty"`

	// Bounded seen sets (limits.go) and what a hand-over must not lose: the read model's write
	// version (store.TicketState.Version: one clock for the read model), whether the read model
	// lags the state, timeline rows not yet written, and wake-ups not yet acted on.
	SeenFeedbackIDs *IDSet  `json:"seenFeedbackIds,omitempty"`
	SeenCommentIDs  *IDSet  `json:"seenCommentIds,omitempty"`
	Version         int64   `json:"version,omitempty"`
	Dirty           bool    `json:"dirty,omitempty"`
	Unsynced        []Event `json:"unsynced,omitempty"`
	DroppedRows     int     `json:"droppedRows,omitempty"` // timeline rows lost to a long store outage
	PollNow         bool    `json:"pollNow,omitempty"`
	RetryRequested  bool    `json:"retryRequested,omitempty"`
	// FeedbackDeferred: feedback was left unread (outbox full or too much for one poll).
	FeedbackDeferred bool `json:"feedbackDeferred,omitempty"`
	// CancelAccepted: the work system took the requester's cancel while feedback was left
	// unread; the ticket ends Canceled once it has read it (unless the work system's own
	// terminal status ends it first).
	CancelAccepted bool `json:"cancelAccepted,omitempty"`
	// EndpointWait: deliveries wait for the connection's disabled endpoint (410 Gone).
	EndpointWait bool `json:"endpointWait,omitempty"`

	// Request is the request the create step sends (after any patch); set by the state query
	// only (the input carries it across continue-as-new).
	Request *vendorapi.NewRequest `json:"request,omitempty"`
}

// Result is the completed Ticket workflow's summary.
type Result struct {
	TicketID     string `json:"ticketId"`
	Status       string `json:"status"`
	RemoteID     string `json:"remoteId"`
	RemoteStatus string `json:"remoteStatus"`
	Events       int    `json:"eventsDelivered"`
	Polls        int    `json:"polls"`
}

// CatalogSyncInput names the connection whose work-system catalog is published to its request
// system (the CatalogSync workflow, started by the connection's schedule).
type CatalogSyncInput struct {
	Connection string `json:"connection"`
}

// ConnectionSyncInput names the connection whose change feed and intake are followed.
type ConnectionSyncInput struct {
	Connection string `json:"connection"`
	// Iterations counts follower activity runs across continue-as-new (for the UI).
	Iterations int `json:"iterations,omitempty"`
}
