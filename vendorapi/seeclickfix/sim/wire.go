package sim

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Wire rendering per the contract: every field present, blanks as null, timestamps ISO 8601
// with the organization's offset and whole seconds.

type wireAvatar struct {
	Full   string `json:"full"`
	Square string `json:"square_100x100"`
}

type wirePerson struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Role        *string    `json:"role"`
	Avatar      wireAvatar `json:"avatar"`
	HTMLURL     *string    `json:"html_url"`
	WittyTitle  string     `json:"witty_title"`
	CivicPoints int        `json:"civic_points"`
}

type wireMedia struct {
	VideoURL     *string `json:"video_url"`
	ImageFull    *string `json:"image_full"`
	ImageSquare  *string `json:"image_square_100x100"`
	Representive *string `json:"representative_image_url,omitempty"`
}

type wireComment struct {
	Comment       string     `json:"comment"`
	CreatedAt     *string    `json:"created_at"`
	UpdatedAt     *string    `json:"updated_at"`
	EditableUntil *string    `json:"editable_until"`
	LastEditedAt  *string    `json:"last_edited_at"`
	Commenter     wirePerson `json:"commenter"`
	IssueURL      string     `json:"issue_url"`
	FlagURL       string     `json:"flag_url"`
	Media         wireMedia  `json:"media"`
}

type wireRequestTypeRef struct {
	ID               int64   `json:"id"`
	Title            string  `json:"title"`
	Organization     *string `json:"organization"`
	URL              string  `json:"url"`
	RelatedIssuesURL string  `json:"related_issues_url"`
}

type wirePoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

type wireQA struct {
	Question string `json:"question"`
	Answer   any    `json:"answer"`
}

type wireIssue struct {
	ID                int64              `json:"id"`
	Status            string             `json:"status"`
	Summary           string             `json:"summary"`
	Description       *string            `json:"description"`
	Rating            int                `json:"rating"`
	Lat               float64            `json:"lat"`
	Lng               float64            `json:"lng"`
	Address           *string            `json:"address"`
	Point             wirePoint          `json:"point"`
	CreatedAt         *string            `json:"created_at"`
	AcknowledgedAt    *string            `json:"acknowledged_at"`
	ClosedAt          *string            `json:"closed_at"`
	ReopenedAt        *string            `json:"reopened_at"`
	UpdatedAt         *string            `json:"updated_at"`
	PrivateVisibility bool               `json:"private_visibility"`
	URL               string             `json:"url"`
	HTMLURL           string             `json:"html_url"`
	CommentURL        string             `json:"comment_url"`
	FlagURL           string             `json:"flag_url"`
	RequestType       wireRequestTypeRef `json:"request_type"`
	Transitions       map[string]string  `json:"transitions"`
	Reporter          wirePerson         `json:"reporter"`
	Media             wireMedia          `json:"media"`
	// details=true only
	Comments     *[]wireComment `json:"comments,omitempty"`
	Questions    *[]wireQA      `json:"questions,omitempty"`
	Assignee     *wirePerson    `json:"assignee,omitempty"`
	VoteCount    *int           `json:"vote_count,omitempty"`
	CommentCount *int           `json:"comment_count,omitempty"`
}

// view is what a rendering depends on: the public base URL, who asks, and the zone.
type view struct {
	base    string // scheme://host, no trailing slash
	caller  *User  // nil: anonymous
	details bool
	loc     *time.Location
	org     string
	rtypes  map[int64]*RequestType
}

func (v view) ts(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(v.loc).Format("2006-01-02T15:04:05-07:00")
	return &s
}

func (v view) api(format string, a ...any) string {
	return v.base + "/api/v2" + fmt.Sprintf(format, a...)
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (v view) person(p Person) wirePerson {
	w := wirePerson{ID: p.ID, Name: p.Name, Role: strOrNil(p.Role), WittyTitle: "Civic Sim",
		Avatar: wireAvatar{Full: v.base + "/assets/no-avatar.png", Square: v.base + "/assets/no-avatar-100.png"}}
	if p.ID == 0 {
		w.Name, w.WittyTitle = "Anonymous", ""
		return w
	}
	w.HTMLURL = strOrNil(fmt.Sprintf("%s/users/%d", v.base, p.ID))
	w.CivicPoints = int(p.ID % 97)
	return w
}

// mediaURLs are the redirecting URLs of a stored image (/files/{key}/… → /_media/{key}).
func (v view) mediaURLs(key string) (full, square *string) {
	if key == "" {
		return nil, nil
	}
	return strOrNil(v.base + "/files/" + key + "/full"), strOrNil(v.base + "/files/" + key + "/square")
}

func (v view) comment(is *Issue, c *Comment) wireComment {
	full, square := v.mediaURLs(c.Image)
	return wireComment{
		Comment: c.Text, CreatedAt: v.ts(c.CreatedAt), UpdatedAt: v.ts(c.UpdatedAt),
		EditableUntil: v.ts(c.EditableUntil), LastEditedAt: v.ts(c.LastEditedAt),
		Commenter: v.person(c.Commenter),
		IssueURL:  v.api("/issues/%d", is.ID),
		FlagURL:   v.api("/comments/%d/flag", c.ID),
		Media:     wireMedia{ImageFull: full, ImageSquare: square},
	}
}

// transitions lists what the caller may do now, per the contract's rules.
func (v view) transitions(is *Issue) map[string]string {
	t := map[string]string{}
	if v.caller == nil {
		return t
	}
	member := v.caller.Member
	switch is.Status {
	case StatusOpen:
		t["close_url"] = v.api("/issues/%d/close", is.ID)
	case StatusAcknowledged:
		if member {
			t["close_url"] = v.api("/issues/%d/close", is.ID)
		}
	case StatusClosed:
		t["open_url"] = v.api("/issues/%d/open", is.ID)
	}
	return t
}

func (v view) issue(is *Issue) wireIssue {
	full, square := v.mediaURLs(is.Image)
	rt := wireRequestTypeRef{ID: is.RequestTypeID, URL: v.api("/request_types/%d", is.RequestTypeID),
		RelatedIssuesURL: v.api("/issues?request_types=%d", is.RequestTypeID)}
	if t := v.rtypes[is.RequestTypeID]; t != nil {
		rt.Title = t.Title
		if !t.Community {
			rt.Organization = strOrNil(v.org)
		}
	}
	w := wireIssue{
		ID: is.ID, Status: is.Status, Summary: is.Summary, Description: strOrNil(is.Description),
		Rating: is.Rating, Lat: is.Lat, Lng: is.Lng, Address: strOrNil(is.Address),
		Point:     wirePoint{Type: "Point", Coordinates: [2]float64{is.Lng, is.Lat}},
		CreatedAt: v.ts(is.CreatedAt), AcknowledgedAt: v.ts(is.AcknowledgedAt), ClosedAt: v.ts(is.ClosedAt),
		ReopenedAt: v.ts(is.ReopenedAt), UpdatedAt: v.ts(is.UpdatedAt), PrivateVisibility: is.Private,
		URL:         v.api("/issues/%d", is.ID),
		HTMLURL:     fmt.Sprintf("%s/issues/%d", v.base, is.ID),
		CommentURL:  v.api("/issues/%d/comments", is.ID),
		FlagURL:     v.api("/issues/%d/flag", is.ID),
		RequestType: rt, Transitions: v.transitions(is), Reporter: v.person(is.Reporter),
		Media: wireMedia{ImageFull: full, ImageSquare: square, Representive: full},
	}
	if w.Media.Representive == nil {
		w.Media.Representive = strOrNil(v.base + "/assets/categories/" + strconv.FormatInt(is.RequestTypeID, 10) + ".png")
	}
	if v.details {
		cs := v.comments(is)
		qs := make([]wireQA, 0, len(is.Answers))
		for _, a := range is.Answers {
			if a.Private && (v.caller == nil || !v.caller.Member) {
				continue
			}
			qs = append(qs, wireQA{Question: a.Question, Answer: a.Value})
		}
		n, votes := len(cs), is.VoteCount
		w.Comments, w.Questions, w.CommentCount, w.VoteCount = &cs, &qs, &n, &votes
		if is.Assignee != nil {
			a := v.person(*is.Assignee)
			w.Assignee = &a
		}
	}
	return w
}

// comments renders the published comments, oldest first.
func (v view) comments(is *Issue) []wireComment {
	out := []wireComment{}
	for i := range is.Comments {
		if !is.Comments[i].Pending {
			out = append(out, v.comment(is, &is.Comments[i]))
		}
	}
	return out
}

type wireRequestType struct {
	ID           int64          `json:"id"`
	Title        string         `json:"title"`
	Organization *string        `json:"organization"`
	Questions    []wireQuestion `json:"questions"`
}

// wireQuestion renders numeric primary and select keys as JSON numbers, as SCF does.
type wireQuestion struct {
	PrimaryKey        any               `json:"primary_key"`
	Question          string            `json:"question"`
	QuestionType      string            `json:"question_type"`
	AnswerKeptPrivate bool              `json:"answer_kept_private"`
	ResponseRequired  bool              `json:"response_required"`
	SelectValues      []wireSelectValue `json:"select_values,omitempty"`
}

type wireSelectValue struct {
	Key  any    `json:"key"`
	Name string `json:"name"`
}

func numericOrString(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s {
		return n
	}
	return s
}

func (v view) requestType(rt *RequestType) wireRequestType {
	w := wireRequestType{ID: rt.ID, Title: rt.Title, Questions: []wireQuestion{}}
	if !rt.Community {
		w.Organization = strOrNil(v.org)
	}
	for _, q := range rt.Questions {
		wq := wireQuestion{PrimaryKey: numericOrString(q.PrimaryKey), Question: q.Question, QuestionType: q.QuestionType,
			AnswerKeptPrivate: q.AnswerKeptPrivate, ResponseRequired: q.ResponseRequired}
		for _, sv := range q.SelectValues {
			wq.SelectValues = append(wq.SelectValues, wireSelectValue{Key: numericOrString(sv.Key), Name: sv.Name})
		}
		w.Questions = append(w.Questions, wq)
	}
	return w
}

// pagination renders metadata.pagination; next/previous URLs keep the request's query.
func pagination(base string, u *url.URL, page, perPage, total int) map[string]any {
	pages := max(1, (total+perPage-1)/perPage)
	link := func(p int) (any, any) {
		if p < 1 || p > pages {
			return nil, nil
		}
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		return p, base + u.Path + "?" + q.Encode()
	}
	next, nextURL := link(page + 1)
	prev, prevURL := link(page - 1)
	return map[string]any{"page": page, "per_page": perPage, "pages": pages, "entries": total,
		"next_page": next, "next_page_url": nextURL, "previous_page": prev, "previous_page_url": prevURL}
}
