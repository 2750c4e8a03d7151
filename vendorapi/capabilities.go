package vendorapi

import (
	"context"
	"io"
	"time"
)

// Optional capabilities added for connectors whose two sides cooperate more closely (the
// SeeClickFix ↔ Cityworks pair): each is discovered by type assertion like the others in
// connector.go, and a connector that implements none of them behaves exactly as before.

// MaxRetryInterval caps the backoff between a vendor call's attempts (the workflow's activity
// retry policy). The backoff grows with every attempt, including those a Retry-After made short:
// a create that met nine faults in forty seconds (a chaos run) waited over four minutes for its
// tenth attempt at a 5-minute cap, long after the vendor had recovered. The vendor's load while
// it is down is bounded by the connection's rate limit, not by this.
const MaxRetryInterval = time.Minute

// APINotifier is implemented by request systems whose Notify calls the vendor's API (Cubu,
// SeeClickFix, Cyprexx) rather than posting a webhook to a receiver: their notifications are
// retried as vendor calls, at most MaxRetryInterval apart, instead of on the webhook schedule
// (10 s × 2ⁿ up to an hour, contracts/portal.md). A photo relay retried an hour later held a
// Cyprexx completion back as long (chaos run).
type APINotifier interface {
	NotifiesThroughAPI() bool
}

// CreateNotes is implemented by work systems whose create makes decisions the ticket's timeline
// should show (e.g. "reverse geocoding failed; the reporter's address was used"). CreateRemote
// calls CreateWithNotes instead of Create and records each note as a ticket.note event.
type CreateNotes interface {
	CreateWithNotes(ctx context.Context, req NewRequest) (remoteID string, notes []string, err error)
}

// AttachmentCopier is implemented by work systems that copy a request's attachments themselves
// (download from the request system, upload to the remote request). CreateRemote calls it after
// every create or adoption, so a retry finishes what an earlier attempt left undone: it must be
// idempotent (e.g. dedupe by file name). Notes go to the ticket's timeline (a file that could
// not be copied and never will, such as one over the vendor's size limit).
type AttachmentCopier interface {
	CopyAttachments(ctx context.Context, remoteID string, files []Attachment) (notes []string, err error)
}

// AttachmentOpener is implemented by work systems whose Feedback.Attachments can only be read
// with the work system's credentials (URL is then the work system's own reference to the
// file). A request system that relays feedback files (SeeClickFix comments with an image) reads
// them through it; it gets the work side through WorkPeer.
type AttachmentOpener interface {
	OpenAttachment(ctx context.Context, a Attachment) (body io.ReadCloser, contentType string, err error)
}

// ForeignRequest is a request raised directly in the work system (not through ticketsync) that
// the connection mirrors into its request system.
type ForeignRequest struct {
	RemoteID    string    `json:"remoteId"`
	RequestType string    `json:"requestType"` // the request system's type for its category
	Category    string    `json:"category,omitempty"`
	Agency      string    `json:"agency,omitempty"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Location    Location  `json:"location"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ForeignRequests is implemented by work systems that can list requests raised directly in
// them which the connection mirrors into the request system (e.g. Cityworks service requests
// entered by staff inside an agency's service area, when importCityworksRequests is on).
type ForeignRequests interface {
	// ImportsForeign reports whether the connection imports such requests at all.
	ImportsForeign() bool
	// ForeignRequests lists the requests created at or after since that are to be mirrored,
	// oldest first. Calls must be safe to repeat (the caller dedupes by RemoteID).
	ForeignRequests(ctx context.Context, since time.Time) ([]ForeignRequest, error)
}

// AnswerAdoptRemoteID is the NewRequest.Answers key that names an existing work-system request
// the ticket mirrors (an imported ForeignRequest): a work system implementing ForeignRequests
// adopts that request in Create instead of creating one.
const AnswerAdoptRemoteID = "ticketsync:adoptRemoteId"

// PartialFeed is implemented by work systems whose ChangeFeed announces only some changes of a
// request (Cityworks lists service requests created, closed or cancelled; it has no modified-date
// filter, so status moves between open states, comments, attachments and work orders are not in
// it). A quiet ticket relaxes its safety-net timer only while the feed announces every change:
// these keep the connection's poll interval.
type PartialFeed interface {
	// FeedMissesChanges reports that the change feed leaves some changes out.
	FeedMissesChanges() bool
}

// OrderedFeed is implemented by work systems whose ChangeFeed lists changes oldest first (by
// modification time; TheWorxHub orders by modifiedAt, id). Everything before a page's last
// change is then behind the follower once the page is poked: it saves its watermark page by
// page and may end a long pass early, resuming from there. Other feeds (Cityworks pages by
// request id) move the watermark only when a pass has read every page.
type OrderedFeed interface {
	// FeedInModificationOrder reports that the change feed lists changes oldest first.
	FeedInModificationOrder() bool
}

// CatalogScheduler is implemented by work systems with a catalog whose connection says how often
// CatalogSync runs: a Temporal schedule spec, "@every 1h" or a five-field cron expression.
type CatalogScheduler interface {
	CatalogSchedule() string
}

// WorkPeer is implemented by request systems that use their connection's work system directly
// (SeeClickFix's intake imports ForeignRequests and relays feedback files through
// AttachmentOpener). connectors introduces the work side once both sides are built, before any
// other call.
type WorkPeer interface {
	UseWorkSystem(w WorkSystem)
}
