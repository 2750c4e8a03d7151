package pruvan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// The Pruvan work side of a connection. Pruvan pulls from its order sources, so "creating a
// request" in Pruvan means making the project available to Pruvan's next getWorkOrders (kept
// in the order book, see book.go) and calling the push key so that pull happens at once. What
// happens in Pruvan comes back through its calls to our hooks (hooks.go): status reports
// become the remote status, uploaded photos and surveys become feedback items with the photo
// as an attachment, which the request system relays.

// Raw statuses of a Pruvan project as Get reports them (mapping/data/pruvan-v1.json). Pruvan's
// own statuses come from its status calls; the others say where the project is before that,
// and whether its source order ended.
const (
	// StatusAvailable: the ticket made the project available; Pruvan has not pulled it yet.
	StatusAvailable = "Available"
	// StatusUnassigned and StatusAssigned: Pruvan pulled it (Assigned when it went to a
	// sub-user, e.g. by Default Assign To) and reported no status yet.
	StatusUnassigned = "Un-assigned"
	StatusAssigned   = "Assigned"
	// StatusCancelled: the source order was cancelled (the project was closed as Cancelled).
	StatusCancelled = "Cancelled"
	// StatusClosed: the source order ended otherwise — typically completed once the request
	// system accepted the completion that Pruvan's "complete" led to. "complete" alone is
	// not the end: the crew is done, the client has yet to take it.
	StatusClosed = "Closed"
)

// WorkConfig configures the Pruvan work side of one connection.
type WorkConfig struct {
	Connection string
	// Push is Pruvan's push API (workSystem.baseUrl).
	Push PushConfig
	// Credentials are the integration's (workSystem.username, password — the hash Pruvan
	// sends — and token): every call Pruvan makes is checked against them.
	Credentials Credentials
	Options     Options
	// Records is the connection's durable state (connectors.Env.Records). Without it the
	// connector builds, but every call fails: the process cannot serve Pruvan.
	Records vendorapi.Records
	// SpoolDir is where an upload whose file precedes its payload waits (default os.TempDir()).
	SpoolDir string
	Now      func() time.Time
}

// WorkSystem is the Pruvan work side: vendorapi.WorkSystem plus CreateNotes,
// ReferenceParser, AttachmentOpener, HookHandler, HookStreamer and Validator. The request side
// of a Cyprexx → Pruvan connection also publishes projects into it and records what it
// relayed (book.go).
type WorkSystem struct {
	conn  string
	push  *PushClient
	creds Credentials
	opts  Options
	rec   vendorapi.Records
	spool string
	now   func() time.Time
}

var (
	_ vendorapi.WorkSystem       = (*WorkSystem)(nil)
	_ vendorapi.CreateNotes      = (*WorkSystem)(nil)
	_ vendorapi.ReferenceParser  = (*WorkSystem)(nil)
	_ vendorapi.AttachmentOpener = (*WorkSystem)(nil)
	_ vendorapi.HookHandler      = (*WorkSystem)(nil)
	_ vendorapi.HookStreamer     = (*WorkSystem)(nil)
	_ vendorapi.Validator        = (*WorkSystem)(nil)
)

// NewWorkSystem validates cfg; no network call is made.
func NewWorkSystem(cfg WorkConfig) (*WorkSystem, error) {
	var problems []string
	if cfg.Connection == "" {
		problems = append(problems, "connection id is required")
	}
	for _, f := range []struct{ name, v string }{{"username", cfg.Credentials.Username},
		{"password", cfg.Credentials.Password}, {"token", cfg.Credentials.Token}} {
		if strings.TrimSpace(f.v) == "" {
			problems = append(problems, fmt.Sprintf("workSystem.%s is required: Pruvan sends it with every call and a call without it is refused", f.name))
		}
	}
	push, err := NewPushClient(cfg.Push)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	w := &WorkSystem{conn: cfg.Connection, push: push, creds: cfg.Credentials, opts: cfg.Options, rec: cfg.Records,
		spool: cfg.SpoolDir, now: cfg.Now}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Kind is the connection kind.
func (w *WorkSystem) Kind() string { return Vendor }

// Reference is the request system's id: Pruvan has no field for a foreign reference (its
// "reference" carries the client's job number), so the order book keeps the link between
// the request system's id and the project id.
func (w *WorkSystem) Reference(_, externalID string) string { return externalID }

// ParseReference reads a reference back (it is the request system's id).
func (w *WorkSystem) ParseReference(connectionID, reference string) (string, bool) {
	return reference, reference != "" && connectionID == w.conn
}

// FindByReference returns the project the ticket created, or nil when it has not yet.
func (w *WorkSystem) FindByReference(ctx context.Context, reference string) (*vendorapi.RemoteRequest, error) {
	rs, err := w.records()
	if err != nil {
		return nil, err
	}
	o, rec, ok, err := getJSON[order](ctx, rs, collOrder, reference)
	if err != nil {
		return nil, storeErr("find project", err)
	}
	if !ok || o.Current == nil {
		return nil, nil
	}
	return w.remote(ctx, rs, rec, o)
}

// Create makes the project available to Pruvan and calls the push key.
func (w *WorkSystem) Create(ctx context.Context, req vendorapi.NewRequest) (string, error) {
	id, _, err := w.CreateWithNotes(ctx, req)
	return id, err
}

// CreateWithNotes makes the project published for req.ExternalReference available to
// Pruvan's getWorkOrders (offered to options.defaultAssignTo) and calls the push key so
// Pruvan pulls it at once. A push key that is missing or refused does not fail the create
// (the project arrives with Pruvan's next Refresh): the notes say so on the ticket's timeline.
func (w *WorkSystem) CreateWithNotes(ctx context.Context, req vendorapi.NewRequest) (string, []string, error) {
	const op = "create project"
	rs, err := w.records()
	if err != nil {
		return "", nil, err
	}
	var notes []string
	o, ok, err := update(ctx, rs, collOrder, req.ExternalReference, nil, func(o *order) (bool, error) {
		notes = nil
		if o.Current != nil {
			return false, nil
		}
		m, err := Merge(nil, o.Source, w.opts.AutoAdmin)
		if err != nil {
			return false, err
		}
		cur := m.WorkOrder
		if cur.AssignedTo == "" && w.opts.DefaultAssignTo != "" {
			cur.AssignedTo = w.opts.DefaultAssignTo
			notes = append(notes, fmt.Sprintf("project offered to %s in Pruvan (Default Assign To)", w.opts.DefaultAssignTo))
		}
		o.Current = &cur
		return true, nil
	})
	if err != nil {
		return "", nil, storeErr(op, err)
	}
	if !ok {
		return "", nil, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusUnprocessableEntity, Code: "not_published",
			Message: fmt.Sprintf("no project was published for %q: Pruvan projects come from the request system's work orders (intake or push)", req.ExternalReference)}
	}
	switch err := w.trigger(ctx); {
	case err == nil:
		notes = append(notes, "Pruvan was asked to import the project now (push key)")
	case errors.Is(err, errNoPushKey):
		notes = append(notes, "no push key: Pruvan never validated this integration, so the project imports only when someone presses Refresh in Pruvan (see connections validate)")
	default:
		notes = append(notes, "the push key call failed, so the project imports with Pruvan's next Refresh: "+err.Error())
	}
	return o.Project, notes, nil
}

// Get returns the project as Pruvan last reported it.
func (w *WorkSystem) Get(ctx context.Context, id string) (*vendorapi.RemoteRequest, error) {
	rs, o, rec, err := w.byProject(ctx, "get project", id)
	if err != nil {
		return nil, err
	}
	return w.remote(ctx, rs, rec, o)
}

func (w *WorkSystem) byProject(ctx context.Context, op, id string) (vendorapi.Records, order, vendorapi.Record, error) {
	rs, err := w.records()
	if err != nil {
		return nil, order{}, vendorapi.Record{}, err
	}
	notFound := &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusNotFound, Code: "not_found",
		Message: fmt.Sprintf("no project %q in this connection's order book", id)}
	ext, ok, err := w.lookup(ctx, rs, id)
	if err != nil || !ok {
		return nil, order{}, vendorapi.Record{}, errors.Join(err, notFound)
	}
	o, rec, ok, err := getJSON[order](ctx, rs, collOrder, ext)
	if err != nil {
		return nil, order{}, vendorapi.Record{}, storeErr(op, err)
	}
	if !ok {
		return nil, order{}, vendorapi.Record{}, notFound
	}
	return rs, o, rec, nil
}

// Cancel closes the project as Cancelled (its source order was cancelled). A project whose
// source order already ended otherwise (completed) cannot be cancelled (409: the ticket reads
// it back and ends as it did).
func (w *WorkSystem) Cancel(ctx context.Context, id, _ string) (*vendorapi.RemoteRequest, error) {
	const op = "cancel project"
	rs, o, _, err := w.byProject(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if o.Closed != "" && !isCancelled(o.Closed) {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusConflict, Code: "already_closed",
			Message: "the project's source order already ended as " + o.Closed}
	}
	if err := w.Close(ctx, o.ExternalID, StatusCancelled); err != nil {
		return nil, err
	}
	o, rec, _, err := getJSON[order](ctx, rs, collOrder, o.ExternalID)
	if err != nil {
		return nil, storeErr(op, err)
	}
	return w.remote(ctx, rs, rec, o)
}

// AddComment: Pruvan's integration API carries no comments (refused, not retried).
func (w *WorkSystem) AddComment(context.Context, string, vendorapi.Comment) (vendorapi.Comment, error) {
	return vendorapi.Comment{}, &vendorapi.Error{Vendor: Vendor, Op: "add comment", HTTPStatus: http.StatusUnprocessableEntity,
		Code: "unsupported", Message: "Pruvan's integration API has no comments"}
}

// remote renders a project as the vendor-neutral snapshot: status, and the notes and items
// as feedback (a photo carries itself as an attachment the request system opens through
// OpenAttachment).
func (w *WorkSystem) remote(ctx context.Context, rs vendorapi.Records, rec vendorapi.Record, o order) (*vendorapi.RemoteRequest, error) {
	st, _, _, err := getJSON[ProjectStatus](ctx, rs, collStatus, o.ExternalID)
	if err != nil {
		return nil, storeErr("read status", err)
	}
	items, err := w.Items(ctx, o.ExternalID)
	if err != nil {
		return nil, err
	}
	status := rawStatus(o, st)
	r := &vendorapi.RemoteRequest{ID: o.Project, ExternalReference: o.ExternalID, Status: status,
		Category: o.Source.Description, CreatedAt: rec.CreatedAt, ModifiedAt: rec.UpdatedAt}
	if st.ReportedAt.After(r.ModifiedAt) {
		r.ModifiedAt = st.ReportedAt
	}
	for _, n := range o.Notes {
		r.Feedback = append(r.Feedback, vendorapi.Feedback{ID: n.ID, Text: n.Text, Author: "ticketsync", Status: status,
			VisibleToRequestor: true, CreatedAt: n.At})
	}
	for _, it := range items {
		r.Feedback = append(r.Feedback, itemFeedback(it, status))
		if it.ReceivedAt.After(r.ModifiedAt) {
			r.ModifiedAt = it.ReceivedAt
		}
	}
	if st.IsComplete() {
		r.Feedback = append(r.Feedback, completionFeedback(st, status))
	}
	slices.SortStableFunc(r.Feedback, func(a, b vendorapi.Feedback) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return r, nil
}

// rawStatus: the source order's end decides (Cancelled, Closed); before that, Pruvan's last
// report; before any report, where the project is.
func rawStatus(o order, st ProjectStatus) string {
	switch {
	case o.Closed != "" && isCancelled(o.Closed):
		return StatusCancelled
	case o.Closed != "":
		return StatusClosed
	case st.IsComplete():
		return StatusComplete
	case st.Status != "":
		return st.Status
	case o.ImportedAt != nil && o.Current != nil && o.Current.AssignedTo != "":
		return StatusAssigned
	case o.ImportedAt != nil:
		return StatusUnassigned
	}
	return StatusAvailable
}

func isCancelled(s string) bool {
	return strings.EqualFold(s, StatusCancelled) || strings.EqualFold(s, "Canceled")
}

// completionPrefix starts the id of the feedback item that says Pruvan reported the project
// complete: the request system's cue to set its completion date.
const completionPrefix = "pruvan-complete:"

// IsCompletion reports whether a feedback id is the "complete in Pruvan" item.
func IsCompletion(feedbackID string) bool { return strings.HasPrefix(feedbackID, completionPrefix) }

func completionFeedback(st ProjectStatus, status string) vendorapi.Feedback {
	when := st.CompletedDate
	if when == "" {
		when = st.ReportedAt.UTC().Format(time.RFC3339)
	}
	return vendorapi.Feedback{ID: completionPrefix + when, Author: "Pruvan", Status: status, VisibleToRequestor: true,
		CreatedAt: st.ReportedAt, Text: "The crew marked the project complete in Pruvan (completed " + when + ")"}
}

// FeedbackID is the feedback id of an uploaded item (its Pruvan uuid, namespaced).
func FeedbackID(uuid string) string { return "pruvan:" + uuid }

// attachmentPrefix starts the URL of a photo kept in the order book.
const attachmentPrefix = "pruvan:photo/"

func itemFeedback(it Item, status string) vendorapi.Feedback {
	author := it.Picture.CreatedBySubUser
	if author == "" {
		author = it.Picture.CreatedBy
	}
	if author == "" {
		author = "Pruvan"
	}
	fb := vendorapi.Feedback{ID: FeedbackID(it.UUID), Author: author, Status: status, VisibleToRequestor: true, CreatedAt: it.ReceivedAt}
	switch it.Kind {
	case ItemSurvey:
		fb.Text = fmt.Sprintf("Survey %s submitted in Pruvan for %s", it.Picture.SurveyTemplate(), it.Picture.ServiceName())
	default:
		fb.Text = fmt.Sprintf("%s photo taken in Pruvan for %s (%s, %d bytes, sha256 %s)", it.Picture.EvidenceType,
			it.Picture.ServiceName(), it.FileName, it.Size, short(it.SHA256))
		if it.VerificationLink != "" {
			fb.Text += "; Pruvan Validator: " + it.VerificationLink
		}
		fb.Attachments = []vendorapi.Attachment{it.Attachment()}
	}
	return fb
}

// Attachment is how a photo travels as a feedback attachment; OpenAttachment streams it.
func (it Item) Attachment() vendorapi.Attachment {
	return vendorapi.Attachment{Name: it.FileName, URL: attachmentPrefix + it.UUID, ContentType: it.ContentType}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// OpenAttachment streams a photo Pruvan uploaded (a feedback attachment) from the order book,
// unaltered. It is gone once the request system has it (Relay).
func (w *WorkSystem) OpenAttachment(ctx context.Context, a vendorapi.Attachment) (io.ReadCloser, string, error) {
	const op = "open photo"
	uuid, ok := strings.CutPrefix(a.URL, attachmentPrefix)
	if !ok || uuid == "" {
		return nil, "", &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: "not a Pruvan photo: " + a.URL}
	}
	rs, err := w.records()
	if err != nil {
		return nil, "", err
	}
	body, ok, err := rs.OpenBlob(ctx, photoBlob(uuid))
	if err != nil {
		return nil, "", storeErr(op, err)
	}
	if !ok {
		// 404, not 410: a Gone from a request system's call means "endpoint disabled".
		return nil, "", &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusNotFound, Code: "not_kept",
			Message: "photo " + uuid + " is no longer kept (it was relayed or skipped)"}
	}
	ct := a.ContentType
	if ct == "" {
		ct = "image/jpeg"
	}
	return body, ct, nil
}
