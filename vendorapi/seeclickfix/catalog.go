package seeclickfix

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// RequestTypes lists the request types offered at a point (the report form, GET
// /issues/new?lat=&lng=). Each option's ID is derived from its URL.
func (c *Client) RequestTypes(ctx context.Context, lat, lng float64) ([]RequestTypeOption, error) {
	const op = "list request types"
	q := url.Values{
		"lat": {strconv.FormatFloat(lat, 'f', -1, 64)},
		"lng": {strconv.FormatFloat(lng, 'f', -1, 64)},
	}
	var body struct {
		RequestTypes []RequestTypeOption `json:"request_types"`
	}
	if err := c.do(ctx, op, http.MethodGet, c.org+"/issues/new", q, nil, &body); err != nil {
		return nil, err
	}
	for i := range body.RequestTypes {
		body.RequestTypes[i].ID = RequestTypeIDFromURL(body.RequestTypes[i].URL)
	}
	return body.RequestTypes, nil
}

// RequestType returns a request type with its questions.
func (c *Client) RequestType(ctx context.Context, id int64) (*RequestType, error) {
	const op = "get request type"
	if id <= 0 {
		return nil, invalidArgument(op, "request type id must be positive")
	}
	var rt RequestType
	if err := c.do(ctx, op, http.MethodGet, c.org+"/request_types/"+strconv.FormatInt(id, 10), nil, nil, &rt); err != nil {
		return nil, err
	}
	if rt.ID == 0 {
		rt.ID = id
	}
	return &rt, nil
}

// Kinds of Cityworks templates a request type can come from.
const (
	RemoteKindSR = "SR" // service request template (ProblemSid)
	RemoteKindWO = "WO" // work order template (WOTemplateId)
)

// CityworksRequestType is a Cityworks template published as an SCF request type (reference
// contract, no public spec). SCF keys it on (RemoteKind, RemoteID): an SR ProblemSid and a WO
// WOTemplateId may share a number. Templates no longer public are sent with Active false,
// never deleted (old issues reference them).
type CityworksRequestType struct {
	Title      string              `json:"title"`
	AgencyID   int64               `json:"agency_id"`
	RemoteKind string              `json:"remote_kind"`
	RemoteID   int64               `json:"remote_id"`
	Active     bool                `json:"active"`
	Questions  []CityworksQuestion `json:"questions"`
}

// CityworksQuestion is an imported SR question. Use NewCityworksQuestion for the import rules.
type CityworksQuestion struct {
	RemoteID          int64         `json:"remote_id"`
	Question          string        `json:"question"`
	QuestionType      string        `json:"question_type"`
	SelectValues      []SelectValue `json:"select_values"`
	AnswerKeptPrivate bool          `json:"answer_kept_private"`
	ResponseRequired  bool          `json:"response_required"`
}

var privateQuestionRE = regexp.MustCompile(`(?i)e-?mail|phone`)

// QuestionKeptPrivate is SCF Connect's rule: an imported question is private iff its text
// mentions an e-mail address or a phone number.
func QuestionKeptPrivate(question string) bool { return privateQuestionRE.MatchString(question) }

// NewCityworksQuestion applies SCF Connect's import rules: "select" when the question has
// answers (key = AnswerId, name = answer text), else "text"; private per QuestionKeptPrivate;
// always required.
func NewCityworksQuestion(questionID int64, question string, answers []SelectValue) CityworksQuestion {
	q := CityworksQuestion{RemoteID: questionID, Question: question, QuestionType: QuestionText,
		SelectValues: []SelectValue{}, AnswerKeptPrivate: QuestionKeptPrivate(question), ResponseRequired: true}
	if len(answers) > 0 {
		q.QuestionType, q.SelectValues = QuestionSelect, answers
	}
	return q
}

// UpsertCityworksRequestType creates or updates the request type of a Cityworks template
// (PUT …/integrations/cityworks/request_types/{remote_id}); it is idempotent. It returns the
// SCF request type id and whether it was created (201) rather than updated (200).
func (c *Client) UpsertCityworksRequestType(ctx context.Context, rt CityworksRequestType) (int64, bool, error) {
	const op = "upsert cityworks request type"
	switch {
	case rt.RemoteKind != RemoteKindSR && rt.RemoteKind != RemoteKindWO:
		return 0, false, invalidArgument(op, "remote kind must be SR or WO")
	case rt.RemoteID <= 0:
		return 0, false, invalidArgument(op, "remote id must be positive")
	case strings.TrimSpace(rt.Title) == "":
		return 0, false, invalidArgument(op, "title is required")
	}
	if rt.Questions == nil {
		rt.Questions = []CityworksQuestion{}
	}
	for i := range rt.Questions {
		if rt.Questions[i].SelectValues == nil {
			rt.Questions[i].SelectValues = []SelectValue{}
		}
	}
	in, err := jsonPayload(op, rt)
	if err != nil {
		return 0, false, err
	}
	resp, err := c.call(ctx, op, http.MethodPut,
		c.org+"/integrations/cityworks/request_types/"+strconv.FormatInt(rt.RemoteID, 10), nil, in)
	if err != nil {
		return 0, false, err
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := c.decode(op, resp, &out); err != nil {
		return 0, false, err
	}
	if out.ID <= 0 {
		return 0, false, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeBadResponse,
			Message: "request type without id", Retryable: true}
	}
	return out.ID, resp.StatusCode == http.StatusCreated, nil
}
