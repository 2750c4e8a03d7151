package seeclickfix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// This file is the request side of a connection (vendorapi.RequestSystem): the ticket's
// vendor-neutral notifications become SeeClickFix's own calls. Intake (intake.go), the import
// of requests raised in the work system (importer.go) and the catalog sink (catalogsink.go)
// live beside it.

// OptionKeys are the options this side reads (the rest of the block belongs to the work side).
var OptionKeys = []string{"categories", "acknowledgeComment", "closeComment", "cancelComment", "intakeBacklog"}

// Options are the SeeClickFix side's options.
type Options struct {
	// Categories: only issues of these request types become tickets (the work side maps each
	// to a template); the other keys of each entry belong to the work side.
	Categories []struct {
		RequestType json.Number `json:"requestType"`
	} `json:"categories"`
	// AcknowledgeComment is posted when the work starts (SCF requires a comment with every
	// status change); CloseComment when it is done; CancelComment when it is cancelled.
	AcknowledgeComment string `json:"acknowledgeComment,omitempty"`
	CloseComment       string `json:"closeComment,omitempty"`
	CancelComment      string `json:"cancelComment,omitempty"`
	// IntakeBacklog also takes in issues created up to this long before the intake started
	// (default none: only new issues; a full refresh takes every open one).
	IntakeBacklog string `json:"intakeBacklog,omitempty"`
}

// Default comment texts.
const (
	DefaultAcknowledgeComment = "Thank you for your report. City staff are working on it."
	DefaultCloseComment       = "This issue has been resolved. Thank you for reporting it."
	DefaultCancelComment      = "This issue was closed by the city without further work."
)

// ParseOptions decodes the options this side reads. Keys in alsoKnown belong to the work side;
// any other unknown key is an error naming it.
func ParseOptions(raw map[string]any, alsoKnown []string) (Options, time.Duration, error) {
	var o Options
	own := map[string]any{}
	var unknown []string
	for k, v := range raw {
		switch {
		case slices.Contains(OptionKeys, k):
			own[k] = v
		case !slices.Contains(alsoKnown, k):
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return o, 0, fmt.Errorf("options: unknown key(s) %s", strings.Join(unknown, ", "))
	}
	b, _ := json.Marshal(own)
	if err := json.Unmarshal(b, &o); err != nil {
		return o, 0, fmt.Errorf("options: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	for i, c := range o.Categories {
		if _, err := c.RequestType.Int64(); err != nil {
			return o, 0, fmt.Errorf("options: categories[%d].requestType %q must be a SeeClickFix request type id", i, c.RequestType)
		}
	}
	var backlog time.Duration
	if o.IntakeBacklog != "" {
		d, err := time.ParseDuration(o.IntakeBacklog)
		if err != nil || d < 0 {
			return o, 0, fmt.Errorf("options: intakeBacklog %q must be a duration such as 24h", o.IntakeBacklog)
		}
		backlog = d
	}
	if o.AcknowledgeComment == "" {
		o.AcknowledgeComment = DefaultAcknowledgeComment
	}
	if o.CloseComment == "" {
		o.CloseComment = DefaultCloseComment
	}
	if o.CancelComment == "" {
		o.CancelComment = DefaultCancelComment
	}
	return o, backlog, nil
}

// ConnectorConfig configures a Connector.
type ConnectorConfig struct {
	Connection string
	Client     Config
	// Options is the connection's options block; WorkSideOptions are the keys the work side
	// reads.
	Options         map[string]any
	WorkSideOptions []string
	Logger          *slog.Logger
	Now             func() time.Time
}

// Connector is the SeeClickFix request side of a connection. It is safe for concurrent use.
type Connector struct {
	client     *Client
	connection string
	opts       Options
	types      []int64
	backlog    time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu   sync.Mutex
	work vendorapi.WorkSystem
	// published remembers what the catalog sink last sent per request type, so a periodic
	// sync of an unchanged catalog costs no SeeClickFix calls (20 a minute).
	published map[string]string
}

// NewConnector builds the request side.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	opts, backlog, err := ParseOptions(cfg.Options, cfg.WorkSideOptions)
	if err != nil {
		return nil, err
	}
	client, err := New(cfg.Client)
	if err != nil {
		return nil, err
	}
	c := &Connector{client: client, connection: cfg.Connection, opts: opts, backlog: backlog, log: cfg.Logger,
		now: cfg.Now, published: map[string]string{}}
	for _, cat := range opts.Categories {
		n, _ := cat.RequestType.Int64()
		c.types = append(c.types, n)
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Client is the underlying SeeClickFix client.
func (c *Connector) Client() *Client { return c.client }

// Kind is the connection kind.
func (c *Connector) Kind() string { return Vendor }

// UseWorkSystem gives this side the connection's work system (vendorapi.WorkPeer): imports of
// requests raised there, and the files of its feedback.
func (c *Connector) UseWorkSystem(w vendorapi.WorkSystem) {
	c.mu.Lock()
	c.work = w
	c.mu.Unlock()
}

func (c *Connector) peer() vendorapi.WorkSystem {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.work
}

// NotifiesThroughAPI implements vendorapi.APINotifier: notifications are calls to its API.
func (c *Connector) NotifiesThroughAPI() bool { return true }

// Notify turns a ticket's notification into SeeClickFix's calls, idempotently:
//   - status_changed to InProgress or OnHold acknowledges the issue (with acknowledgeComment);
//     an issue already acknowledged, closed or archived is left as it is;
//   - feedback_added posts the staff note as a public comment, with the feedback's image when
//     it has one; a retried delivery first looks for the comment among the issue's staff
//     comments;
//   - closed closes the issue, with closeComment (Done) or cancelComment (Canceled);
//   - needs_attention posts nothing: SCF's public comments would show the citizen our internal
//     problem, and the API offers no internal note. The timeline and the operator API carry it.
func (c *Connector) Notify(ctx context.Context, n vendorapi.Notification) error {
	const op = "notify"
	id, err := strconv.ParseInt(n.ExternalID, 10, 64)
	if err != nil || id <= 0 {
		return invalidArgument(op, fmt.Sprintf("external id %q is not a SeeClickFix issue id", n.ExternalID))
	}
	switch n.Kind {
	case vendorapi.NotifyStatusChanged:
		if n.Status != ticket.InProgress && n.Status != ticket.OnHold {
			return nil
		}
		_, err := c.client.Acknowledge(ctx, id, Post{Comment: c.opts.AcknowledgeComment})
		if isTransition(err) {
			return nil // closed or archived meanwhile: nothing to acknowledge
		}
		return err
	case vendorapi.NotifyFeedbackAdded:
		if n.Feedback == nil || strings.TrimSpace(n.Feedback.Text) == "" {
			return nil
		}
		return c.postFeedback(ctx, id, *n.Feedback, n.Attempt > 1)
	case vendorapi.NotifyClosed:
		text := c.opts.CloseComment
		if n.Status == ticket.Canceled {
			text = c.opts.CancelComment
		}
		_, err := c.client.Close(ctx, id, Post{Comment: text})
		return err
	}
	return nil
}

func isTransition(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Code == CodeInvalidTransition
}

// postFeedback posts a staff note. Posting is not idempotent, so a retry (retried) first looks
// for the note among the issue's staff comments: an earlier attempt may have posted it and
// lost the answer. The first attempt does not look, so two notes with the same text both go.
func (c *Connector) postFeedback(ctx context.Context, issueID int64, fb vendorapi.Feedback, retried bool) error {
	img, note, err := c.feedbackImage(ctx, fb)
	if err != nil {
		return err
	}
	post := Post{Comment: strings.TrimSpace(fb.Text), Image: img}
	if note != "" {
		post.Comment += "\n" + note
	}
	if retried {
		comments, err := c.client.Comments(ctx, issueID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(comments, func(cm Comment) bool { return cm.IsStaff() && strings.TrimSpace(cm.Comment) == post.Comment }) {
			return nil
		}
	}
	_, err = c.client.AddComment(ctx, issueID, post)
	return err
}

// feedbackImage reads the feedback's first image through the work system. A file SCF cannot
// show (not png/jpeg/gif, or too large) is named in the comment instead; a transient failure
// to read it is an error (the delivery is retried).
func (c *Connector) feedbackImage(ctx context.Context, fb vendorapi.Feedback) (*Image, string, error) {
	if len(fb.Attachments) == 0 {
		return nil, "", nil
	}
	a := fb.Attachments[0]
	opener, ok := c.peer().(vendorapi.AttachmentOpener)
	if !ok {
		return nil, "(attachment: " + a.Name + ")", nil
	}
	body, ct, err := opener.OpenAttachment(ctx, a)
	if err != nil {
		if vendorapi.IsRetryable(err) {
			return nil, "", err
		}
		return nil, "(attachment: " + a.Name + ")", nil
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, MaxImageBytes+1))
	if err != nil {
		return nil, "", &vendorapi.Error{Vendor: Vendor, Op: "read feedback image", Retryable: true, Err: err}
	}
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if len(data) > MaxImageBytes || (ct != "image/jpeg" && ct != "image/png" && ct != "image/gif") {
		return nil, "(attachment: " + a.Name + ")", nil
	}
	return &Image{Name: a.Name, Data: bytes.Clone(data)}, "", nil
}

// Validate checks the credential and the request types of options.categories
// (vendorapi.Validator).
func (c *Connector) Validate(ctx context.Context) []vendorapi.Check {
	login := vendorapi.Check{Name: "seeclickfix: organization API access", OK: true}
	if _, err := c.client.ListIssues(ctx, IssueQuery{PerPage: 1}); err != nil {
		login.OK, login.Detail = false, err.Error()
		login.Fix = "check requestSystem.baseUrl, organizationId and the credential (a member of the organization)"
		return []vendorapi.Check{login}
	}
	types := vendorapi.Check{Name: "seeclickfix: request types of options.categories exist", OK: true}
	var missing []string
	for _, id := range c.types {
		if _, err := c.client.RequestType(ctx, id); err != nil {
			if !vendorapi.IsNotFound(err) {
				types.OK, types.Detail = false, err.Error()
				return []vendorapi.Check{login, types}
			}
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) > 0 {
		types.OK, types.Detail = false, "not found: "+strings.Join(missing, ", ")
		types.Fix = "correct options.categories[].requestType (SeeClickFix request type ids)"
	} else {
		types.Detail = fmt.Sprintf("%d request types", len(c.types))
	}
	return []vendorapi.Check{login, types}
}
