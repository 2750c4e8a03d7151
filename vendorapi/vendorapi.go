// Package vendorapi holds what every vendor connector shares: the vendor-neutral view of a
// remote request, the interfaces the workflow's activities call, and the error classification
// that decides between "retry with backoff" and "park the ticket for a human".
//
// One vendor = one sub-package (vendorapi/<vendor>) with the HTTP client, a simulator
// (vendorapi/<vendor>/sim) and contract tests that run the client against the simulator.
package vendorapi

import (
	"context"
	"time"
)

// Person is the requester as the request system knows them.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Location is where the work is needed.
type Location struct {
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lng     *float64 `json:"lng,omitempty"`
}

// Attachment is a file the requester attached (by URL; bytes are fetched by the connector).
type Attachment struct {
	Name        string `json:"name,omitempty"`
	URL         string `json:"url"`
	ContentType string `json:"contentType,omitempty"`
}

// NewRequest is everything a work system needs to create a request. ExternalReference is our
// idempotency key in the work system (see WorkSystem.Reference).
type NewRequest struct {
	ExternalReference string            `json:"externalReference"`
	RequestType       string            `json:"requestType"`
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	Location          Location          `json:"location"`
	Requester         Person            `json:"requester"`
	Answers           map[string]string `json:"answers,omitempty"`
	Attachments       []Attachment      `json:"attachments,omitempty"`
}

// Feedback is a staff → requester note attached to a status transition.
type Feedback struct {
	ID                 string    `json:"id"`
	Text               string    `json:"text"`
	Author             string    `json:"author"`
	Status             string    `json:"status"` // the remote status the transition moved to
	VisibleToRequestor bool      `json:"visibleToRequestor"`
	CreatedAt          time.Time `json:"createdAt"`
	// Attachments are files that come with the feedback (e.g. a photo staff attached with a
	// public note); URLs may need the work system's AttachmentOpener.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Comment is a requester → staff note.
type Comment struct {
	ID        string    `json:"id,omitempty"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"createdAt,omitempty"`
	// Attachments are files that come with the comment (e.g. a citizen's photo).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// RemoteRequest is the vendor-neutral snapshot of a request in a work system.
// Status is the raw remote status (e.g. TheWorxHub "Pending"); translation to the portal
// vocabulary is the mapping's job, never the connector's.
type RemoteRequest struct {
	ID                string     `json:"id"`
	ExternalReference string     `json:"externalReference"`
	Status            string     `json:"status"`
	Category          string     `json:"category,omitempty"`
	WorkOrderID       string     `json:"workOrderId,omitempty"`
	CreatedAt         time.Time  `json:"createdAt"`
	ModifiedAt        time.Time  `json:"modifiedAt"`
	Feedback          []Feedback `json:"feedback,omitempty"`
	Comments          []Comment  `json:"comments,omitempty"`
}

// WorkSystem is a system where staff do the work (TheWorxHub, Cityworks, Pruvan).
// Every method is safe to retry: Create treats "already exists" as success.
type WorkSystem interface {
	// Kind is the connection kind, e.g. "theworxhub".
	Kind() string
	// Reference derives our idempotency key in the work system from the connection and the
	// request system's id. It is stable forever for a given pair.
	Reference(connectionID, externalID string) string
	// FindByReference returns the request carrying our reference, or (nil, nil) when absent.
	FindByReference(ctx context.Context, reference string) (*RemoteRequest, error)
	// Create creates the request and returns its remote id; a duplicate reference returns the
	// existing id and no error.
	Create(ctx context.Context, req NewRequest) (string, error)
	// Get returns the current state of a request.
	Get(ctx context.Context, id string) (*RemoteRequest, error)
	// Cancel cancels on behalf of the requester; cancelling a cancelled request is a no-op.
	Cancel(ctx context.Context, id, reason string) (*RemoteRequest, error)
	// AddComment forwards a requester comment. Not idempotent remotely: callers check the
	// request's comments before retrying (see activities).
	AddComment(ctx context.Context, id string, c Comment) (Comment, error)
}

// ReferenceParser is implemented by work systems whose references can be read back into the
// request system's id (not possible for hashed references). It lets a change notification reach
// its ticket even before the ticket's read model has recorded the remote id.
type ReferenceParser interface {
	ParseReference(connectionID, reference string) (externalID string, ok bool)
}

// ChangePage is one page of a work system's change feed.
type ChangePage struct {
	Items      []RemoteRequest
	NextCursor string // "" when this was the last page
}

// ChangeFeed is implemented by work systems that can list requests modified since a time.
type ChangeFeed interface {
	// Changes lists requests with modifiedAt >= since (inclusive), or continues from cursor.
	Changes(ctx context.Context, since time.Time, cursor string, limit int) (ChangePage, error)
}
