package sim

import (
	"fmt"
	"slices"
	"time"
)

// Issue statuses of the contract.
const (
	StatusOpen         = "Open"
	StatusAcknowledged = "Acknowledged"
	StatusClosed       = "Closed"
	StatusArchived     = "Archived"
)

// Roles shown on reporters and commenters.
const (
	RoleCitizen  = "Registered User"
	RoleOfficial = "Verified Official"
)

// Actions of status changes (the last path segment of POST /issues/{id}/{action}).
const (
	ActionClose       = "close"
	ActionOpen        = "open"
	ActionAcknowledge = "acknowledge"
)

// Person is a reporter, commenter or assignee. ID 0 is the anonymous reporter.
type Person struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// User is an API credential: Basic (Username+Password) and/or Bearer (Token). Members are
// government members of the organization (Verified Officials): they may use the
// organization-scoped API and acknowledge issues.
type User struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
	Member   bool   `json:"member"`
}

func (u User) person() Person {
	role := RoleCitizen
	if u.Member {
		role = RoleOfficial
	}
	return Person{ID: u.ID, Name: u.Name, Role: role}
}

// Answer is an answered report-form question; Value is a string, number, bool or []string.
type Answer struct {
	Key      string `json:"key"`
	Question string `json:"question"`
	Value    any    `json:"value"`
	Private  bool   `json:"private,omitempty"` // shown to organization members only
}

// Comment is a public comment. Pending comments are held for moderation (not listed).
type Comment struct {
	ID            int64     `json:"id"`
	Text          string    `json:"comment"`
	Commenter     Person    `json:"commenter"`
	Image         string    `json:"image,omitempty"` // media key
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	EditableUntil time.Time `json:"editableUntil"`
	LastEditedAt  time.Time `json:"lastEditedAt,omitzero"`
	Pending       bool      `json:"pending,omitempty"`
}

// Post records one thing posted to an issue — a comment or a status change with its comment —
// so tests and the staff page can read back what a client (ticketsync) relayed. Via is "api"
// or "staff".
type Post struct {
	Kind       string    `json:"kind"` // "comment", "close", "open", "acknowledge"
	Via        string    `json:"via"`
	By         Person    `json:"by"`
	Comment    string    `json:"comment"`
	CommentID  int64     `json:"commentId,omitempty"`
	Image      []byte    `json:"image,omitempty"`
	ImageType  string    `json:"imageType,omitempty"`
	YouTubeURL string    `json:"youtubeUrl,omitempty"`
	Moderated  bool      `json:"moderated,omitempty"`
	StatusFrom string    `json:"statusFrom,omitempty"`
	StatusTo   string    `json:"statusTo,omitempty"`
	At         time.Time `json:"at"`
}

// Issue is the simulator's issue record (the API renders it per the contract).
type Issue struct {
	ID             int64     `json:"id"`
	Status         string    `json:"status"`
	Summary        string    `json:"summary"`
	Description    string    `json:"description"`
	Rating         int       `json:"rating"`
	Lat            float64   `json:"lat"`
	Lng            float64   `json:"lng"`
	Address        string    `json:"address"`
	RequestTypeID  int64     `json:"requestTypeId"`
	Reporter       Person    `json:"reporter"`
	Private        bool      `json:"private"`
	Image          string    `json:"image,omitempty"` // media key
	Answers        []Answer  `json:"answers"`
	Comments       []Comment `json:"comments"`
	Posts          []Post    `json:"posts"`
	Assignee       *Person   `json:"assignee,omitempty"`
	VoteCount      int       `json:"voteCount"`
	CreatedAt      time.Time `json:"createdAt"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	ClosedAt       time.Time `json:"closedAt,omitzero"`
	ReopenedAt     time.Time `json:"reopenedAt,omitzero"`
	UpdatedAt      time.Time `json:"updatedAt"`
	Pending        bool      `json:"pending,omitempty"` // held for moderation
}

func (is *Issue) clone() Issue {
	c := *is
	c.Answers = slices.Clone(is.Answers)
	c.Comments = slices.Clone(is.Comments)
	c.Posts = slices.Clone(is.Posts)
	if is.Assignee != nil {
		a := *is.Assignee
		c.Assignee = &a
	}
	return c
}

func (is *Issue) comment(id int64) *Comment {
	for i := range is.Comments {
		if is.Comments[i].ID == id {
			return &is.Comments[i]
		}
	}
	return nil
}

// RequestType is a request type with its questions. Community types have no organization.
// Inactive types are not offered for new reports (old issues still reference them).
// RemoteKind/RemoteID are set for types imported from Cityworks.
type RequestType struct {
	ID         int64      `json:"id"`
	Title      string     `json:"title"`
	Community  bool       `json:"community,omitempty"`
	AgencyID   int64      `json:"agencyId,omitempty"`
	Active     bool       `json:"active"`
	RemoteKind string     `json:"remoteKind,omitempty"`
	RemoteID   int64      `json:"remoteId,omitempty"`
	Questions  []Question `json:"questions"`
}

// Question is a report-form question; PrimaryKey is "summary", "description", "issue_image"
// or a number (as text). RemoteID links a question imported from Cityworks.
type Question struct {
	PrimaryKey        string        `json:"primary_key"`
	Question          string        `json:"question"`
	QuestionType      string        `json:"question_type"`
	AnswerKeptPrivate bool          `json:"answer_kept_private"`
	ResponseRequired  bool          `json:"response_required"`
	SelectValues      []SelectValue `json:"select_values,omitempty"`
	RemoteID          int64         `json:"remote_id,omitempty"`
}

// SelectValue is one choice of a select question.
type SelectValue struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// builtinQuestions are the primary questions every request type has.
func builtinQuestions() []Question {
	return []Question{
		{PrimaryKey: "summary", Question: "Summary", QuestionType: "text", ResponseRequired: true},
		{PrimaryKey: "description", Question: "Description", QuestionType: "textarea"},
		{PrimaryKey: "issue_image", Question: "Photo", QuestionType: "file"},
	}
}

// DefaultRequestTypes is the seed catalog: ids 1001–1004, "Other" always present.
func DefaultRequestTypes() []RequestType {
	q := func(extra ...Question) []Question { return append(builtinQuestions(), extra...) }
	return []RequestType{
		{ID: 1001, Title: "Pothole", Active: true, Questions: q(
			Question{PrimaryKey: "5001", Question: "How deep is it?", QuestionType: "select", ResponseRequired: true,
				SelectValues: []SelectValue{{Key: "1", Name: "Shallow"}, {Key: "2", Name: "Deep"}}},
			Question{PrimaryKey: "5002", Question: "Your phone number", QuestionType: "text", AnswerKeptPrivate: true})},
		{ID: 1002, Title: "Graffiti", Active: true, Questions: q(
			Question{PrimaryKey: "5003", Question: "Is it offensive?", QuestionType: "boolean"},
			Question{PrimaryKey: "5004", Question: "Surfaces", QuestionType: "multivaluelist",
				SelectValues: []SelectValue{{Key: "wall", Name: "Wall"}, {Key: "sign", Name: "Sign"}, {Key: "bridge", Name: "Bridge"}}})},
		{ID: 1003, Title: "Streetlight Out", Active: true, Questions: q(
			Question{PrimaryKey: "5005", Question: "Pole number", QuestionType: "text"})},
		{ID: 1004, Title: "Other", Active: true, Questions: q()},
	}
}

func (rt *RequestType) clone() RequestType {
	c := *rt
	c.Questions = slices.Clone(rt.Questions)
	for i := range c.Questions {
		c.Questions[i].SelectValues = slices.Clone(rt.Questions[i].SelectValues)
	}
	return c
}

// media is an uploaded file served by the simulator.
type media struct {
	Data        []byte `json:"data"`
	ContentType string `json:"contentType"`
}

// Error is an API error: HTTP status plus the exact JSON body SCF would send. The Go staff
// methods return it too.
type Error struct {
	Status int
	Body   any
	msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.msg) }

const docURL = "http://dev.seeclickfix.com"

// errMessage is {"message":…,"documentation_url":…} (401, 403, 404, 429).
func errMessage(status int, format string, a ...any) *Error {
	m := fmt.Sprintf(format, a...)
	return &Error{Status: status, msg: m, Body: map[string]string{"message": m, "documentation_url": docURL}}
}

// errFields is 422 {"errors":{"field":["msg",…]}}.
func errFields(field, msg string) *Error {
	return &Error{Status: 422, msg: field + " " + msg, Body: map[string]any{"errors": map[string][]string{field: {msg}}}}
}

// errFlat is 422 {"field":"msg"} — SCF's other validation shape, used by status changes.
func errFlat(field, msg string) *Error {
	return &Error{Status: 422, msg: field + " " + msg, Body: map[string]string{field: msg}}
}

// errBadJSON is SCF's 400.
func errBadJSON() *Error {
	return &Error{Status: 400, msg: "Unable to parse JSON", Body: map[string]string{"request": "Unable to parse JSON"}}
}
