package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"go.temporal.io/sdk/activity"
)

// CreateRemoteInput asks for the remote request of a ticket.
type CreateRemoteInput struct {
	Ref     ticket.Ref           `json:"ref"`
	Request vendorapi.NewRequest `json:"request"`
}

// CreateRemoteOutput is the remote request as it exists after the call.
type CreateRemoteOutput struct {
	Kind      string                  `json:"kind"`
	Reference string                  `json:"reference"`
	Adopted   bool                    `json:"adopted"` // it existed already (earlier attempt or run)
	Remote    vendorapi.RemoteRequest `json:"remote"`
	Truncated []string                `json:"truncated,omitempty"`
	// Notes are the work system's remarks on the create and its attachments (CreateNotes,
	// AttachmentCopier), recorded on the timeline.
	Notes []string `json:"notes,omitempty"`
}

// CreateRemote creates the ticket's request in the work system exactly once: it looks the
// request up by our external reference first and creates only when absent; a duplicate-reference
// answer from the vendor (a create that committed but whose response was lost) is adopted.
func (a *Activities) CreateRemote(ctx context.Context, in CreateRemoteInput) (CreateRemoteOutput, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return CreateRemoteOutput{}, err
	}
	ref := ws.Reference(in.Ref.Connection, in.Ref.ExternalID)
	out := CreateRemoteOutput{Kind: ws.Kind(), Reference: ref}
	existing, err := ws.FindByReference(ctx, ref)
	if err != nil {
		return out, asTemporalError(ctx, fmt.Errorf("look up %s: %w", ref, err))
	}
	req := in.Request
	req.ExternalReference = ref
	if existing != nil {
		out.Adopted = true
		out.Remote = *existing
		a.recordRemoteID(ctx, in.Ref, existing.ID)
	} else {
		if t, ok := ws.(vendorapi.Truncator); ok {
			out.Truncated = t.Truncations(req)
		}
		var id string
		if cn, ok := ws.(vendorapi.CreateNotes); ok {
			id, out.Notes, err = cn.CreateWithNotes(ctx, req)
		} else {
			id, err = ws.Create(ctx, req)
		}
		if err != nil {
			return out, asTemporalError(ctx, err)
		}
		a.recordRemoteID(ctx, in.Ref, id)
		remote, err := ws.Get(ctx, id)
		if err != nil {
			return out, asTemporalError(ctx, fmt.Errorf("read back created request %s: %w", id, err))
		}
		out.Remote = *remote
		activity.GetLogger(ctx).Info("remote request ready", "remoteId", id, "reference", ref)
	}
	// Attachments follow the create (DESIGN.md §3), after an adoption too: a retry finishes
	// an upload an earlier attempt left undone (the copier dedupes by file name).
	if cp, ok := ws.(vendorapi.AttachmentCopier); ok && len(req.Attachments) > 0 {
		notes, err := cp.CopyAttachments(ctx, out.Remote.ID, req.Attachments)
		if err != nil {
			return out, asTemporalError(ctx, fmt.Errorf("attachments of %s: %w", out.Remote.ID, err))
		}
		out.Notes = append(out.Notes, notes...)
	}
	return out, nil
}

// recordRemoteID notes the created request's id in the read model at once (store.RecordRemoteID),
// so the work system's push about the create finds its ticket without a read; failing costs only
// that read.
func (a *Activities) recordRemoteID(ctx context.Context, ref ticket.Ref, remoteID string) {
	if err := a.Store.RecordRemoteID(ctx, ref.TicketID, remoteID); err != nil {
		activity.GetLogger(ctx).Warn("recording the remote id early failed", "remoteId", remoteID, "error", err)
	}
}

// PollInput names the remote request to read. With MaxFeedback > 0 (workflows since the
// bounded-state change) the read returns only feedback not in Seen, at most MaxFeedback items
// and maxReadBytes of it, and no comments (the workflow does not diff them): a request with
// thousands of notes must not make a result near Temporal's blob limit.
type PollInput struct {
	Ref         ticket.Ref    `json:"ref"`
	RemoteID    string        `json:"remoteId"`
	Seen        *ticket.IDSet `json:"seen,omitempty"`
	MaxFeedback int           `json:"maxFeedback,omitempty"`
	// Due is when the ticket's safety-net timer was due (zero for a poke): how late the poll
	// runs is the safety-net lag metric.
	Due time.Time `json:"due,omitzero"`
}

// maxReadBytes bounds the feedback text one read returns.
const maxReadBytes = 512 << 10

// PollRemote reads the remote request (the workflow diffs it).
func (a *Activities) PollRemote(ctx context.Context, in PollInput) (vendorapi.RemoteRequest, error) {
	remote, _, err := a.read(ctx, in)
	return remote, err
}

func (a *Activities) read(ctx context.Context, in PollInput) (vendorapi.RemoteRequest, bool, error) {
	if !in.Due.IsZero() {
		metrics.SetSafetyNetLag(in.Ref.Connection, max(0, time.Since(in.Due)))
	}
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return vendorapi.RemoteRequest{}, false, err
	}
	remote, err := ws.Get(ctx, in.RemoteID)
	if err != nil {
		return vendorapi.RemoteRequest{}, false, asTemporalError(ctx, err)
	}
	more := false
	if in.MaxFeedback > 0 {
		more = trimRead(remote, in.Seen, in.MaxFeedback)
	}
	return *remote, more, nil
}

// trimRead keeps the first max feedback items not seen yet (texts clipped, maxReadBytes in
// all), drops the comments, and reports whether feedback was held back.
func trimRead(remote *vendorapi.RemoteRequest, seen *ticket.IDSet, max int) (more bool) {
	remote.Comments = nil
	kept := remote.Feedback[:0:0]
	size := 0
	for _, fb := range remote.Feedback {
		if seen.Has(fb.ID, fb.CreatedAt) {
			continue
		}
		fb.Text, _ = ticket.Clip(fb.Text, ticket.MaxFeedbackText)
		if len(kept) == max || (len(kept) > 0 && size+len(fb.Text) > maxReadBytes) {
			more = true
			break
		}
		size += len(fb.Text)
		kept = append(kept, fb)
	}
	remote.Feedback = kept
	return more
}

// PollOutput is a poll's snapshot plus whether the connection's change feed is healthy, and
// whether feedback was held back for the next read.
type PollOutput struct {
	Remote      vendorapi.RemoteRequest `json:"remote"`
	FeedHealthy bool                    `json:"feedHealthy"`
	More        bool                    `json:"more,omitempty"`
}

// PollRemoteWithFeedHealth reads the remote request and reports the feed's health: the
// follower read the feed recently and without error.
func (a *Activities) PollRemoteWithFeedHealth(ctx context.Context, in PollInput) (PollOutput, error) {
	remote, more, err := a.read(ctx, in)
	if err != nil {
		return PollOutput{}, err
	}
	return PollOutput{Remote: remote, FeedHealthy: a.feedHealthy(ctx, in.Ref.Connection), More: more}, nil
}

// feedHealthy: the connection's feed announces every change (vendorapi.PartialFeed), its last
// successful read is recent (the follower records it every 30 s at most) and no error is
// outstanding.
func (a *Activities) feedHealthy(ctx context.Context, conn string) bool {
	ws, err := a.workSystem(conn)
	if err != nil {
		return false
	}
	if p, ok := ws.(vendorapi.PartialFeed); ok && p.FeedMissesChanges() {
		return false // the timer is the only path for what the feed leaves out
	}
	last, err := a.Store.GetCursor(ctx, conn, engine.FeedLastReadCursor)
	if err != nil || last == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, last)
	if err != nil {
		return false
	}
	interval := a.FeedInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if time.Since(t) > 2*time.Minute+3*interval {
		return false
	}
	lastErr, err := a.Store.GetCursor(ctx, conn, engine.FeedLastErrorCursor)
	return err == nil && lastErr == ""
}

// CancelRemoteInput asks to cancel the remote request.
type CancelRemoteInput struct {
	Ref      ticket.Ref `json:"ref"`
	RemoteID string     `json:"remoteId"` // empty: look it up by reference (create may have committed)
	Reason   string     `json:"reason"`
	// Seen and MaxFeedback bound the feedback returned, as for PollInput.
	Seen        *ticket.IDSet `json:"seen,omitempty"`
	MaxFeedback int           `json:"maxFeedback,omitempty"`
	// Due is when the ticket's safety-net timer was due (zero for a poke): how late the poll
	// runs is the safety-net lag metric.
	Due time.Time `json:"due,omitzero"`
}

// CancelRemoteOutput is the remote request after the cancel (nil when none ever existed).
// AlreadyFinished: the work system refused the cancel because it had finished the request
// first (the cancel came too late).
type CancelRemoteOutput struct {
	Remote          *vendorapi.RemoteRequest `json:"remote"`
	AlreadyFinished bool                     `json:"alreadyFinished,omitempty"`
	More            bool                     `json:"more,omitempty"` // feedback held back, as for PollOutput
}

// CancelRemote cancels the remote request. Cancelling a cancelled request is a no-op at the
// vendor; a request that already reached another terminal state (409) is read back instead.
func (a *Activities) CancelRemote(ctx context.Context, in CancelRemoteInput) (CancelRemoteOutput, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return CancelRemoteOutput{}, err
	}
	id := in.RemoteID
	if id == "" {
		existing, err := ws.FindByReference(ctx, ws.Reference(in.Ref.Connection, in.Ref.ExternalID))
		if err != nil {
			return CancelRemoteOutput{}, asTemporalError(ctx, err)
		}
		if existing == nil {
			return CancelRemoteOutput{}, nil
		}
		id = existing.ID
	}
	remote, err := ws.Cancel(ctx, id, in.Reason)
	var out CancelRemoteOutput
	if vendorapi.IsConflict(err) {
		out.AlreadyFinished = true
		remote, err = ws.Get(ctx, id)
	}
	if err != nil {
		return CancelRemoteOutput{}, asTemporalError(ctx, err)
	}
	if remote != nil && in.MaxFeedback > 0 {
		out.More = trimRead(remote, in.Seen, in.MaxFeedback)
	}
	out.Remote = remote
	return out, nil
}

// CommentInput is a requester comment to forward.
type CommentInput struct {
	Ref      ticket.Ref        `json:"ref"`
	RemoteID string            `json:"remoteId"`
	Comment  vendorapi.Comment `json:"comment"`
}

// AddRemoteComment forwards a requester comment. The vendor's POST is not idempotent, so a
// retried attempt first checks whether an earlier attempt already landed (same text+author).
func (a *Activities) AddRemoteComment(ctx context.Context, in CommentInput) (vendorapi.Comment, error) {
	ws, err := a.workSystem(in.Ref.Connection)
	if err != nil {
		return vendorapi.Comment{}, err
	}
	if activity.GetInfo(ctx).Attempt > 1 {
		remote, err := ws.Get(ctx, in.RemoteID)
		if err != nil {
			return vendorapi.Comment{}, asTemporalError(ctx, err)
		}
		for i := len(remote.Comments) - 1; i >= 0; i-- {
			c := remote.Comments[i]
			if c.Text == in.Comment.Text && c.Author == in.Comment.Author {
				return c, nil
			}
		}
	}
	c, err := ws.AddComment(ctx, in.RemoteID, in.Comment)
	return c, asTemporalError(ctx, err)
}
