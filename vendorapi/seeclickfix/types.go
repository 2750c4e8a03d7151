package seeclickfix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Issue statuses as the API reports them. List filters use the lower-case forms (Filter*).
const (
	StatusOpen         = "Open"
	StatusAcknowledged = "Acknowledged"
	StatusClosed       = "Closed"
	StatusArchived     = "Archived"
)

// Status filter values of GET /issues. The API's default excludes archived issues.
const (
	FilterOpen         = "open"
	FilterAcknowledged = "acknowledged"
	FilterClosed       = "closed"
	FilterArchived     = "archived"
)

// Question types of a request type's questions.
const (
	QuestionText       = "text"
	QuestionTextarea   = "textarea"
	QuestionSelect     = "select"
	QuestionMultiValue = "multivaluelist"
	QuestionNumber     = "number"
	QuestionDatetime   = "datetime"
	QuestionBoolean    = "boolean"
	QuestionNote       = "note"
	QuestionFile       = "file"
)

// Built-in answer keys of the report form (secondary questions use numeric keys).
const (
	AnswerKeySummary     = "summary"
	AnswerKeyDescription = "description"
	AnswerKeyIssueImage  = "issue_image"
)

// RoleVerifiedOfficial is the role of staff (organization members) on comments and issues.
const RoleVerifiedOfficial = "Verified Official"

// Issue is an SCF issue. Blank fields arrive as null and decode to zero values (zero times
// included). Comments, Questions, Assignee, VoteCount and CommentCount are only filled by
// details=true.
type Issue struct {
	ID                int64          `json:"id"`
	Status            string         `json:"status"`
	Summary           string         `json:"summary"`
	Description       string         `json:"description"`
	Rating            FlexInt        `json:"rating"`
	Lat               float64        `json:"lat"`
	Lng               float64        `json:"lng"`
	Address           string         `json:"address"`
	Point             *GeoPoint      `json:"point"`
	CreatedAt         time.Time      `json:"created_at"`
	AcknowledgedAt    time.Time      `json:"acknowledged_at"`
	ClosedAt          time.Time      `json:"closed_at"`
	ReopenedAt        time.Time      `json:"reopened_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	PrivateVisibility bool           `json:"private_visibility"`
	URL               string         `json:"url"`
	HTMLURL           string         `json:"html_url"`
	CommentURL        string         `json:"comment_url"`
	FlagURL           string         `json:"flag_url"`
	RequestType       RequestTypeRef `json:"request_type"`
	Transitions       Transitions    `json:"transitions"`
	Reporter          User           `json:"reporter"`
	Media             IssueMedia     `json:"media"`

	Comments     []Comment        `json:"comments,omitempty"`
	Questions    []QuestionAnswer `json:"questions,omitempty"`
	Assignee     *User            `json:"assignee,omitempty"`
	VoteCount    int              `json:"vote_count,omitempty"`
	CommentCount int              `json:"comment_count,omitempty"`
}

// GeoPoint is a GeoJSON Point; Coordinates are [lng, lat].
type GeoPoint struct {
	Type        string    `json:"type"`
	Coordinates []float64 `json:"coordinates"`
}

// RequestTypeRef is the request type embedded in an issue.
type RequestTypeRef struct {
	ID               int64   `json:"id"`
	Title            string  `json:"title"`
	Organization     OrgName `json:"organization"`
	URL              string  `json:"url"`
	RelatedIssuesURL string  `json:"related_issues_url"`
}

// Transitions holds the status changes the caller may perform now (absent ones are not allowed).
type Transitions struct {
	CloseURL string `json:"close_url,omitempty"`
	OpenURL  string `json:"open_url,omitempty"`
}

// User is an issue's reporter, a comment's commenter or an assignee. The anonymous reporter
// has ID 0. Staff carry Role "Verified Official".
type User struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Role        string  `json:"role"`
	Avatar      Avatar  `json:"avatar"`
	HTMLURL     string  `json:"html_url"`
	WittyTitle  string  `json:"witty_title"`
	CivicPoints FlexInt `json:"civic_points"`
}

// Avatar holds a user's picture URLs.
type Avatar struct {
	Full          string `json:"full"`
	Square100x100 string `json:"square_100x100"`
}

// IssueMedia holds an issue's media URLs (empty when null). Image URLs redirect to the file;
// fetch them with Client.DownloadMedia.
type IssueMedia struct {
	ImageFull              string `json:"image_full"`
	ImageSquare100x100     string `json:"image_square_100x100"`
	RepresentativeImageURL string `json:"representative_image_url"`
	VideoURL               string `json:"video_url"`
}

// CommentMedia holds a comment's media URLs (empty when null).
type CommentMedia struct {
	VideoURL           string `json:"video_url"`
	ImageFull          string `json:"image_full"`
	ImageSquare100x100 string `json:"image_square_100x100"`
}

// Comment is a public comment on an issue. SCF gives comments no id field: ID is derived from
// FlagURL (…/comments/{id}/flag) and is 0 when that is missing. Comments stay editable until
// EditableUntil, so the text of a known comment can still change.
type Comment struct {
	ID            int64        `json:"-"`
	Comment       string       `json:"comment"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	EditableUntil time.Time    `json:"editable_until"`
	LastEditedAt  time.Time    `json:"last_edited_at"`
	Commenter     User         `json:"commenter"`
	IssueURL      string       `json:"issue_url"`
	FlagURL       string       `json:"flag_url"`
	Media         CommentMedia `json:"media"`
}

// UnmarshalJSON decodes a comment and derives its ID from flag_url.
func (c *Comment) UnmarshalJSON(b []byte) error {
	type alias Comment
	if err := json.Unmarshal(b, (*alias)(c)); err != nil {
		return err
	}
	c.ID = CommentIDFromURL(c.FlagURL)
	return nil
}

// IsStaff reports whether the comment was written by a verified official.
func (c Comment) IsStaff() bool { return c.Commenter.Role == RoleVerifiedOfficial }

// CommentIDFromURL extracts {id} from a …/comments/{id}[/flag] URL; 0 when there is none.
func CommentIDFromURL(raw string) int64 {
	return idAfter(raw, "comments")
}

// RequestTypeIDFromURL extracts {id} from a …/request_types/{id} URL; 0 when there is none.
func RequestTypeIDFromURL(raw string) int64 {
	return idAfter(raw, "request_types")
}

// idAfter returns the numeric path segment following segment in a URL or path.
func idAfter(raw, segment string) int64 {
	if raw == "" {
		return 0
	}
	p := raw
	if u, err := url.Parse(raw); err == nil {
		p = u.Path
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == segment {
			if id, err := strconv.ParseInt(parts[i+1], 10, 64); err == nil && id > 0 {
				return id
			}
		}
	}
	return 0
}

// QuestionAnswer is one answered report-form question of an issue (details=true).
type QuestionAnswer struct {
	Question string   `json:"question"`
	Answer   FlexText `json:"answer"`
}

// Pagination is the metadata.pagination object of collections. NextPage is nil on the last page.
type Pagination struct {
	Page            int    `json:"page"`
	PerPage         int    `json:"per_page"`
	Pages           int    `json:"pages"`
	NextPage        *int   `json:"next_page"`
	NextPageURL     string `json:"next_page_url"`
	PreviousPage    *int   `json:"previous_page"`
	PreviousPageURL string `json:"previous_page_url"`
}

// IssuePage is one page of GET /issues.
type IssuePage struct {
	Issues     []Issue
	Pagination Pagination
}

// RequestTypeOption is one entry of the report form (GET /issues/new). SCF sends no id: ID is
// derived from URL. An empty Organization means a community (non-government) request type.
type RequestTypeOption struct {
	ID           int64   `json:"-"`
	Title        string  `json:"title"`
	Organization OrgName `json:"organization"`
	URL          string  `json:"url"`
}

// RequestType is a request type with its report-form questions.
type RequestType struct {
	ID           int64      `json:"id"`
	Title        string     `json:"title"`
	Organization OrgName    `json:"organization"`
	Questions    []Question `json:"questions"`
}

// Question is one question of a request type's report form. PrimaryKey is "summary",
// "description" or "issue_image" for the built-in questions and a number (as text) for
// secondary ones; it is the key of the answers object when reporting an issue.
type Question struct {
	PrimaryKey        FlexString    `json:"primary_key"`
	Question          string        `json:"question"`
	QuestionType      string        `json:"question_type"`
	AnswerKeptPrivate bool          `json:"answer_kept_private"`
	ResponseRequired  bool          `json:"response_required"`
	SelectValues      []SelectValue `json:"select_values,omitempty"`
}

// SelectValue is one choice of a select or multivaluelist question.
type SelectValue struct {
	Key  FlexString `json:"key"`
	Name string     `json:"name"`
}

// ---- lenient scalar types: the API's types drifted over the years ----

// FlexInt accepts a JSON number, a numeric string ("rating" was a string in old docs) or null.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("seeclickfix: %s is not a number", b)
	}
	*f = FlexInt(n)
	return nil
}

// FlexString accepts a JSON string, number or null (primary keys and select keys are either).
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = FlexString(n.String())
	return nil
}

// FlexText is an answer rendered as text: strings as they are, numbers and booleans in JSON
// form, arrays (multivaluelist answers) joined with ", ", null as "".
type FlexText string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexText) UnmarshalJSON(b []byte) error {
	t, err := flexText(b)
	*f = FlexText(t)
	return err
}

func flexText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return "", err
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			s, err := flexText(it)
			if err != nil {
				return "", err
			}
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", "), nil
	default:
		return string(b), nil
	}
}

// OrgName accepts an organization given as a name, as an object with a name, or null.
type OrgName string

// UnmarshalJSON implements json.Unmarshaler.
func (o *OrgName) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*o = OrgName(obj.Name)
		return nil
	}
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*o = OrgName(s)
	return nil
}

// ---- vendor-neutral views used by the request-side connector ----

// Location is where the issue was reported.
func (i Issue) Location() vendorapi.Location {
	loc := vendorapi.Location{Address: i.Address}
	if i.Lat != 0 || i.Lng != 0 {
		lat, lng := i.Lat, i.Lng
		loc.Lat, loc.Lng = &lat, &lng
	}
	return loc
}

// Requester is the reporter as a person ("Anonymous" when the reporter hid their identity).
func (i Issue) Requester() vendorapi.Person {
	name := strings.TrimSpace(i.Reporter.Name)
	if i.Reporter.ID == 0 || name == "" {
		name = "Anonymous"
	}
	return vendorapi.Person{Name: name}
}

// Answers maps the issue's answered questions (details=true) by question text.
func (i Issue) Answers() map[string]string {
	if len(i.Questions) == 0 {
		return nil
	}
	out := make(map[string]string, len(i.Questions))
	for _, q := range i.Questions {
		out[q.Question] = string(q.Answer)
	}
	return out
}

// Attachments lists the issue's image (the full-size URL; bytes via Client.DownloadMedia).
func (i Issue) Attachments() []vendorapi.Attachment {
	if i.Media.ImageFull == "" {
		return nil
	}
	return []vendorapi.Attachment{{Name: fmt.Sprintf("scf-issue-%d-image", i.ID), URL: i.Media.ImageFull}}
}

// IsFinal reports whether the issue can no longer change status (archived).
func (i Issue) IsFinal() bool { return i.Status == StatusArchived }

// HasComment reports whether comments already hold one with text (whitespace-trimmed) by a
// commenter of userID (any commenter when userID is 0). Posting a comment is not idempotent,
// so callers check this before retrying a post whose outcome is unknown.
func HasComment(comments []Comment, text string, userID int64) bool {
	text = strings.TrimSpace(text)
	return slices.ContainsFunc(comments, func(c Comment) bool {
		return strings.TrimSpace(c.Comment) == text && (userID == 0 || c.Commenter.ID == userID)
	})
}
