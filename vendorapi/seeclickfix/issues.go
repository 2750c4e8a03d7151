package seeclickfix

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Page sizes of GET /issues.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
	// MaxPerPageDetails is the cap when details=true.
	MaxPerPageDetails = 20
)

// IssueQuery holds the parameters of GET /issues; zero fields are not sent (SCF's defaults
// apply: statuses open,acknowledged,closed — archived excluded —, sort created_at DESC).
type IssueQuery struct {
	Page    int
	PerPage int
	// Statuses are Filter* values.
	Statuses []string
	// Sort is updated_at, created_at, rating or distance; SortDirection ASC or DESC.
	Sort          string
	SortDirection string
	// CreatedAfter/CreatedBefore filter created_at (>= / <), UpdatedAfter/UpdatedBefore
	// updated_at (>= / <). SCF takes whole seconds: times are floored to the second, which with
	// the inclusive lower bounds can only add items.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	UpdatedAfter  time.Time
	UpdatedBefore time.Time
	Search        string
	RequestTypes  []int64
	// Details adds comments, questions, assignee… to every issue (per_page capped at 20).
	Details bool
	// Bounds restricts to a box: min_lat, min_lng, max_lat, max_lng.
	Bounds *Bounds
}

// Bounds is a lat/lng box.
type Bounds struct {
	MinLat, MinLng, MaxLat, MaxLng float64
}

// FormatTime renders t as SCF's filters expect: UTC, whole seconds, "YYYY-MM-DDTHH:MM:SSZ".
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

func (q IssueQuery) values() url.Values {
	v := url.Values{}
	setInt := func(k string, n int) {
		if n > 0 {
			v.Set(k, strconv.Itoa(n))
		}
	}
	setTime := func(k string, t time.Time) {
		if !t.IsZero() {
			v.Set(k, FormatTime(t))
		}
	}
	setInt("page", q.Page)
	setInt("per_page", q.PerPage)
	if len(q.Statuses) > 0 {
		v.Set("status", strings.Join(q.Statuses, ","))
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.SortDirection != "" {
		v.Set("sort_direction", q.SortDirection)
	}
	setTime("after", q.CreatedAfter)
	setTime("before", q.CreatedBefore)
	setTime("updated_at_after", q.UpdatedAfter)
	setTime("updated_at_before", q.UpdatedBefore)
	if q.Search != "" {
		v.Set("search", q.Search)
	}
	if len(q.RequestTypes) > 0 {
		ids := make([]string, len(q.RequestTypes))
		for i, id := range q.RequestTypes {
			ids[i] = strconv.FormatInt(id, 10)
		}
		v.Set("request_types", strings.Join(ids, ","))
	}
	if q.Details {
		v.Set("details", "true")
	}
	if b := q.Bounds; b != nil {
		f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
		v.Set("min_lat", f(b.MinLat))
		v.Set("min_lng", f(b.MinLng))
		v.Set("max_lat", f(b.MaxLat))
		v.Set("max_lng", f(b.MaxLng))
	}
	return v
}

// ListIssues returns one page of the organization's issues.
func (c *Client) ListIssues(ctx context.Context, q IssueQuery) (IssuePage, error) {
	const op = "list issues"
	if q.PerPage > MaxPerPage || (q.Details && q.PerPage > MaxPerPageDetails) || q.PerPage < 0 || q.Page < 0 {
		return IssuePage{}, invalidArgument(op, "page must be >= 1 and per_page 1..100 (1..20 with details)")
	}
	var body struct {
		Metadata struct {
			Pagination Pagination `json:"pagination"`
		} `json:"metadata"`
		Issues *[]Issue `json:"issues"`
	}
	resp, err := c.call(ctx, op, http.MethodGet, c.org+"/issues", q.values(), nil)
	if err != nil {
		return IssuePage{}, err
	}
	if err := c.decode(op, resp, &body); err != nil {
		return IssuePage{}, err
	}
	if body.Issues == nil { // e.g. some other JSON document: an empty page would lose the feed's place
		return IssuePage{}, badResponse(op, resp, "collection without issues")
	}
	return IssuePage{Issues: *body.Issues, Pagination: body.Metadata.Pagination}, nil
}

// Issue returns one issue; details adds its comments, questions and assignee. A missing
// issue is a non-retryable NotFound.
func (c *Client) Issue(ctx context.Context, id int64, details bool) (*Issue, error) {
	const op = "get issue"
	if id <= 0 {
		return nil, invalidArgument(op, "issue id must be positive")
	}
	var q url.Values
	if details {
		q = url.Values{"details": {"true"}}
	}
	var is Issue
	if err := c.do(ctx, op, http.MethodGet, c.issuePath(id), q, nil, &is); err != nil {
		return nil, err
	}
	if is.ID == 0 {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Code: CodeBadResponse, Message: "issue without id", Retryable: true}
	}
	return &is, nil
}

func (c *Client) issuePath(id int64) string {
	return c.org + "/issues/" + strconv.FormatInt(id, 10)
}

// Comments lists an issue's comments, oldest first.
func (c *Client) Comments(ctx context.Context, issueID int64) ([]Comment, error) {
	const op = "list comments"
	if issueID <= 0 {
		return nil, invalidArgument(op, "issue id must be positive")
	}
	var body struct {
		Comments []Comment `json:"comments"`
	}
	if err := c.do(ctx, op, http.MethodGet, c.issuePath(issueID)+"/comments", nil, nil, &body); err != nil {
		return nil, err
	}
	return body.Comments, nil
}

// Post is a comment to add, alone or with a status change. Image is optional.
type Post struct {
	Comment    string
	Image      *Image
	YouTubeURL string
}

// PostResult is SCF's answer to a comment or status change. Moderated means SCF accepted it
// but holds it for moderation (202): it appears later, Comment is nil. IssueStatus is the
// issue's status afterwards (when SCF said). AlreadyDone is set by status changes whose
// target state the issue was already in (see Close).
type PostResult struct {
	Comment     *Comment
	IssueStatus string
	Moderated   bool
	AlreadyDone bool
}

// postBody is the 201 body of comments and status changes: the comment's fields plus issue.
type postBody struct {
	Comment
	Issue *struct {
		Status string  `json:"status"`
		Rating FlexInt `json:"rating"`
	} `json:"issue"`
	Metadata *struct {
		Moderated bool `json:"moderated"`
	} `json:"metadata"`
}

// UnmarshalJSON decodes the embedded comment and the extra fields (Comment's own
// UnmarshalJSON would otherwise swallow the whole object).
func (p *postBody) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &p.Comment); err != nil {
		return err
	}
	var extra struct {
		Issue    json.RawMessage `json:"issue"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	if len(extra.Issue) > 0 && string(extra.Issue) != "null" {
		if err := json.Unmarshal(extra.Issue, &p.Issue); err != nil {
			return err
		}
	}
	if len(extra.Metadata) > 0 && string(extra.Metadata) != "null" {
		return json.Unmarshal(extra.Metadata, &p.Metadata)
	}
	return nil
}

// AddComment posts a public comment (with an optional image) as the API user. It is not
// idempotent: before retrying a post whose outcome is unknown, check Comments with HasComment.
func (c *Client) AddComment(ctx context.Context, issueID int64, p Post) (PostResult, error) {
	return c.post(ctx, "add comment", issueID, "comments", p)
}

// Close closes the issue with a public comment (required by SCF). An issue that is already
// Closed or Archived is success with AlreadyDone (a retried close whose first attempt went
// through must not park the ticket); other refusals are non-retryable invalid_transition.
func (c *Client) Close(ctx context.Context, issueID int64, p Post) (PostResult, error) {
	return c.transition(ctx, "close issue", issueID, "close", p, StatusClosed, StatusArchived)
}

// Acknowledge moves an Open issue to Acknowledged with a public comment (government members
// only). An issue already Acknowledged is success with AlreadyDone.
func (c *Client) Acknowledge(ctx context.Context, issueID int64, p Post) (PostResult, error) {
	return c.transition(ctx, "acknowledge issue", issueID, "acknowledge", p, StatusAcknowledged)
}

// Reopen moves a Closed issue back to Open with a public comment. An Open issue is success
// with AlreadyDone; archived issues cannot be reopened (invalid_transition).
func (c *Client) Reopen(ctx context.Context, issueID int64, p Post) (PostResult, error) {
	return c.transition(ctx, "reopen issue", issueID, "open", p, StatusOpen)
}

// transition posts a status change; on SCF's 422 it reads the issue back and reports
// AlreadyDone when the issue is in one of done.
func (c *Client) transition(ctx context.Context, op string, issueID int64, action string, p Post, done ...string) (PostResult, error) {
	if strings.TrimSpace(p.Comment) == "" {
		return PostResult{}, invalidArgument(op, "a comment is required for a status change")
	}
	res, err := c.post(ctx, op, issueID, action, p)
	if err == nil {
		return res, nil
	}
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || ve.HTTPStatus != http.StatusUnprocessableEntity {
		return PostResult{}, err
	}
	is, gerr := c.Issue(ctx, issueID, false)
	if gerr != nil {
		return PostResult{}, gerr
	}
	for _, st := range done {
		if is.Status == st {
			return PostResult{IssueStatus: is.Status, AlreadyDone: true}, nil
		}
	}
	ve.Code = CodeInvalidTransition
	if ve.Message == "" {
		ve.Message = "issue is " + is.Status
	} else {
		ve.Message += " (issue is " + is.Status + ")"
	}
	return PostResult{}, ve
}

// post sends {comment, image?, youtube_url?} to …/issues/{id}/{action}.
func (c *Client) post(ctx context.Context, op string, issueID int64, action string, p Post) (PostResult, error) {
	if issueID <= 0 {
		return PostResult{}, invalidArgument(op, "issue id must be positive")
	}
	if strings.TrimSpace(p.Comment) == "" && p.Image == nil {
		return PostResult{}, invalidArgument(op, "empty comment")
	}
	var in *payload
	var err error
	if p.Image != nil {
		fields := []formField{{"comment", p.Comment}}
		if p.YouTubeURL != "" {
			fields = append(fields, formField{"youtube_url", p.YouTubeURL})
		}
		in, err = multipartPayload(op, fields, "image", p.Image)
	} else {
		body := map[string]string{"comment": p.Comment}
		if p.YouTubeURL != "" {
			body["youtube_url"] = p.YouTubeURL
		}
		in, err = jsonPayload(op, body)
	}
	if err != nil {
		return PostResult{}, err
	}
	resp, err := c.call(ctx, op, http.MethodPost, c.issuePath(issueID)+"/"+action, nil, in)
	if err != nil {
		return PostResult{}, err
	}
	var body postBody
	if err := c.decode(op, resp, &body); err != nil {
		return PostResult{}, err
	}
	if resp.StatusCode == http.StatusAccepted || (body.Metadata != nil && body.Metadata.Moderated) {
		return PostResult{Moderated: true}, nil
	}
	out := PostResult{Comment: &body.Comment}
	if body.Issue != nil {
		out.IssueStatus = body.Issue.Status
	}
	return out, nil
}

// NewIssue is an issue to report (e.g. a Cityworks-originated request mirrored to SCF).
// Answers are keyed by question primary key ("summary", "description", numeric keys); values
// are strings, numbers, booleans or string slices (multivaluelist). Image is optional.
type NewIssue struct {
	Lat               float64
	Lng               float64
	Address           string
	RequestTypeID     int64
	Answers           map[string]any
	AnonymizeReporter bool
	Image             *Image
}

// CreatedIssue is SCF's answer to a report: the issue (when SCF returned it) and its id, or
// Moderated (202) when it is held for moderation.
type CreatedIssue struct {
	ID        int64
	Issue     *Issue
	Location  string
	Moderated bool
}

// CreateIssue reports an issue. Not idempotent: a retry after an unknown outcome can create
// a duplicate, so callers search (e.g. by summary) before retrying.
func (c *Client) CreateIssue(ctx context.Context, ni NewIssue) (CreatedIssue, error) {
	const op = "create issue"
	if ni.RequestTypeID <= 0 {
		return CreatedIssue{}, invalidArgument(op, "request type id is required")
	}
	var in *payload
	var err error
	if ni.Image != nil {
		fields := []formField{
			{"lat", strconv.FormatFloat(ni.Lat, 'f', -1, 64)},
			{"lng", strconv.FormatFloat(ni.Lng, 'f', -1, 64)},
			{"address", ni.Address},
			{"request_type_id", strconv.FormatInt(ni.RequestTypeID, 10)},
		}
		if ni.AnonymizeReporter {
			fields = append(fields, formField{"anonymize_reporter", "true"})
		}
		for _, k := range slices.Sorted(maps.Keys(ni.Answers)) {
			v := ni.Answers[k]
			name := "answers[" + k + "]"
			if _, multi := v.([]string); multi {
				name += "[]" // Rails form encoding of an array answer
			}
			for _, s := range formValues(v) {
				fields = append(fields, formField{name, s})
			}
		}
		in, err = multipartPayload(op, fields, "answers["+AnswerKeyIssueImage+"]", ni.Image)
	} else {
		in, err = jsonPayload(op, map[string]any{
			"lat": ni.Lat, "lng": ni.Lng, "address": ni.Address, "request_type_id": ni.RequestTypeID,
			"answers": ni.Answers, "anonymize_reporter": ni.AnonymizeReporter,
		})
	}
	if err != nil {
		return CreatedIssue{}, err
	}
	resp, err := c.call(ctx, op, http.MethodPost, c.org+"/issues", nil, in)
	if err != nil {
		return CreatedIssue{}, err
	}
	var body json.RawMessage
	if err := c.decode(op, resp, &body); err != nil {
		return CreatedIssue{}, err
	}
	out := CreatedIssue{Location: resp.Header.Get("Location")}
	var meta struct {
		Metadata *struct {
			Moderated bool `json:"moderated"`
		} `json:"metadata"`
	}
	json.Unmarshal(body, &meta)
	if resp.StatusCode == http.StatusAccepted || (meta.Metadata != nil && meta.Metadata.Moderated) {
		out.Moderated = true
		return out, nil
	}
	var is Issue
	if json.Unmarshal(body, &is) == nil && is.ID > 0 {
		out.ID, out.Issue = is.ID, &is
	} else {
		out.ID = idAfter(out.Location, "issues")
	}
	if out.ID == 0 {
		return CreatedIssue{}, badResponse(op, resp, "created issue has no id")
	}
	return out, nil
}

// formValues renders an answer for a form field.
func formValues(v any) []string {
	switch x := v.(type) {
	case nil:
		return []string{""}
	case string:
		return []string{x}
	case []string:
		return x
	case bool:
		return []string{strconv.FormatBool(x)}
	default:
		b, _ := json.Marshal(x)
		return []string{strings.Trim(string(b), `"`)}
	}
}
