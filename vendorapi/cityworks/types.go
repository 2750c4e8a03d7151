package cityworks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Field names are Cityworks' own (RequestId, not RequestID) so that the structs marshal to and
// from the wire without tags; the contract's spelling is the public name.

// FlexString is a value the contract types loosely (an id, a priority): Cityworks deployments
// send it as a JSON string or number. It decodes both and encodes as a string.
type FlexString string

// UnmarshalJSON accepts a string, a number, a bool or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			var v bool
			if json.Unmarshal(b, &v) != nil {
				return fmt.Errorf("cityworks: %s is neither a string nor a number", b)
			}
			*f = FlexString(strconv.FormatBool(v))
			return nil
		}
		*f = FlexString(n.String())
	}
	return nil
}

func (f FlexString) String() string { return string(f) }

// ServiceRequest is Cityworks' RequestBase (the contract's subset).
type ServiceRequest struct {
	RequestId      int
	ProblemSid     int
	ProblemCode    string
	Description    string // the problem's description; our free text is in Details
	Details        string
	Status         string // deployment code, e.g. INITIATE, CLOSED, CANCEL (see Statuses)
	IsClosed       bool
	DateTimeInit   Time
	DateTimeClosed Time
	Cancel         bool
	CancelReason   string
	DateCancelled  Time
	OtherSystemId  string
	InitiatedByApp string
	ProbAddress    string
	ProbCity       string
	ProbZip        string
	SRX            float64
	SRY            float64
	Priority       FlexString
	Resolution     string
	DomainId       int
	WorkOrderId    FlexString
	SubmitToSid    int
	DispatchToSid  int
}

// Closed reports whether the request is closed: IsClosed or a real DateTimeClosed.
func (r *ServiceRequest) Closed() bool { return r.IsClosed || !r.DateTimeClosed.IsZero() }

// Cancelled reports whether the request was cancelled.
func (r *ServiceRequest) Cancelled() bool { return r.Cancel }

// AnswerInput answers one question when creating a service request. AnswerValue is the free
// text for answers whose format is not THISTEXT (it may be empty for fixed choices).
type AnswerInput struct {
	AnswerId    int
	AnswerValue string
}

// NewServiceRequest is the data of ServiceRequest/Create. Only ProblemSid is required. There is
// no Description input: the description comes from the problem; free text goes in Details.
type NewServiceRequest struct {
	ProblemSid        int
	Answers           []AnswerInput     `json:",omitempty"`
	Address           string            `json:",omitempty"`
	City              string            `json:",omitempty"`
	State             string            `json:",omitempty"`
	Zip               string            `json:",omitempty"`
	Location          string            `json:",omitempty"`
	X                 *float64          `json:",omitempty"`
	Y                 *float64          `json:",omitempty"`
	WKID              int               `json:",omitempty"`
	VcsWKID           int               `json:",omitempty"`
	WKT               string            `json:",omitempty"`
	GeocodeAddress    bool              `json:",omitempty"`
	Details           string            `json:",omitempty"`
	Comments          string            `json:",omitempty"`
	CallerFirstName   string            `json:",omitempty"`
	CallerLastName    string            `json:",omitempty"`
	CallerEmail       string            `json:",omitempty"`
	CallerHomePhone   string            `json:",omitempty"`
	CallerCellPhone   string            `json:",omitempty"`
	CallerWorkPhone   string            `json:",omitempty"`
	CallerAddress     string            `json:",omitempty"`
	CallerComments    string            `json:",omitempty"`
	OtherSystemId     string            `json:",omitempty"` // our external reference: see CreateRequest
	InitiatedByApp    string            `json:",omitempty"` // default Config.InitiatedByApp
	Priority          string            `json:",omitempty"`
	Status            string            `json:",omitempty"`
	SubmitToSid       int               `json:",omitempty"`
	DispatchToSid     int               `json:",omitempty"`
	CustomFieldValues map[string]string `json:",omitempty"`
	// Texts sets Text1..Text20 by number.
	Texts map[int]string `json:"-"`
	// Extra adds other fields verbatim (Num1..5, Date1..5 as strings, …); it cannot override
	// the typed ones.
	Extra map[string]any `json:"-"`
}

// MarshalJSON merges Texts and Extra into the object.
func (n NewServiceRequest) MarshalJSON() ([]byte, error) {
	type plain NewServiceRequest
	return mergeFields(plain(n), n.Texts, n.Extra)
}

// RequestSearch is the data of ServiceRequest/Search. Date ranges are inclusive at both ends.
// There is no modified-date filter for service requests (see RequestsChangedSince).
type RequestSearch struct {
	RequestIds          []int    `json:",omitempty"`
	OtherSystemId       []string `json:",omitempty"`
	Status              []string `json:",omitempty"`
	ProblemSid          []int    `json:",omitempty"`
	ProblemCode         []string `json:",omitempty"`
	InitiatedByApp      []string `json:",omitempty"`
	Closed              *bool    `json:",omitempty"`
	Canceled            *bool    `json:",omitempty"`
	DateTimeInitBegin   Time     `json:",omitzero"`
	DateTimeInitEnd     Time     `json:",omitzero"`
	DateTimeClosedBegin Time     `json:",omitzero"`
	DateTimeClosedEnd   Time     `json:",omitzero"`
	DateCancelledBegin  Time     `json:",omitzero"`
	DateCancelledEnd    Time     `json:",omitzero"`
	MaxResults          int      `json:",omitempty"`
}

// RequestWorkOrder links a service request to a work order (ServiceRequest/RequestWorkOrders).
type RequestWorkOrder struct {
	RequestId    int
	WorkOrderId  FlexString
	WorkOrderSid int
}

// StatusCode is one entry of ServiceRequest/Statuses: the deployment's status vocabulary.
type StatusCode struct {
	Code        string
	CodeType    string
	Description string
	IsActive    bool
}

// Problem is a service-request problem (template) as ServiceRequest/Problems lists it.
type Problem struct {
	ProblemSid    int
	ProblemCode   string
	Description   string
	DomainId      int
	OtherSysCode  string
	OtherSysDesc1 string
	OtherSysDesc2 string
}

// ProblemFilter is the data of ServiceRequest/Problems.
type ProblemFilter struct {
	DomainId            int   `json:",omitempty"`
	DomainIds           []int `json:",omitempty"`
	ForPublicOnly       *bool `json:",omitempty"`
	OnlyActiveTemplates *bool `json:",omitempty"`
}

// RequestTemplate is a service-request template (ServiceRequestTemplate/Templates), used for
// incremental category sync by DateModified.
type RequestTemplate struct {
	ProblemSid    int
	ProblemCode   string
	Description   string
	Cancel        bool
	ForPublicSite bool
	DateModified  Time
	DomainId      int
	Priority      FlexString
}

// IsPublic reports whether the public may use the template: ForPublicSite and not cancelled.
func (t *RequestTemplate) IsPublic() bool { return t.ForPublicSite && !t.Cancel }

// RequestTemplateFilter is the data of ServiceRequestTemplate/Templates.
type RequestTemplateFilter struct {
	CanCreate           *bool `json:",omitempty"`
	DomainId            int   `json:",omitempty"`
	IncludeInactive     *bool `json:",omitempty"`
	MinimumDateModified Time  `json:",omitzero"`
	MaximumDateModified Time  `json:",omitzero"`
	TemplateIds         []int `json:",omitempty"`
}

// ProblemQA is a problem's questions and answers. Answers point at their question by
// QuestionId and, with a branching model, at the next question by NextQuestionId (0 = none).
type ProblemQA struct {
	ProblemSid     int
	BranchingModel bool
	Questions      []Question
	Answers        []Answer
}

// Question is one question of a problem.
type Question struct {
	QuestionId       int
	ProblemSid       int
	Question         string
	QuestionSequence int
}

// Answer is one possible answer. AnswerFormat "THISTEXT" is a fixed choice (Answer is the
// text); other formats take free text from the caller.
type Answer struct {
	AnswerId       int
	QuestionId     int
	Answer         string
	AnswerFormat   string
	AnswerSequence int
	NextQuestionId int
	TellCaller     FlexString
	Priority       FlexString
	SubmitTo       int
	DispatchTo     int
}

// IsFixedChoice reports whether the answer is a fixed choice rather than free text.
func (a *Answer) IsFixedChoice() bool { return strings.EqualFold(a.AnswerFormat, "THISTEXT") }

// AnswersTo returns the answers of question id in AnswerSequence order.
func (qa *ProblemQA) AnswersTo(questionID int) []Answer {
	var out []Answer
	for _, a := range qa.Answers {
		if a.QuestionId == questionID {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b Answer) int { return a.AnswerSequence - b.AnswerSequence })
	return out
}

// Activity types of comments.
const (
	ActivityRequest   = 1
	ActivityWorkOrder = 2
)

// CommentRecord is one comment (Comment/*). CommentId is the dedupe key; on Cityworks 2013,
// which has no Comment service, comments are read from a text blob and have no id or author.
type CommentRecord struct {
	CommentId          int
	ActivityType       int
	ActivitySid        int
	ActivityId         FlexString
	AuthorName         string
	AuthorSid          int
	Comments           string
	DateCreated        Time
	LastModified       Time
	LastModifiedByName string
}

// Attachment types.
const (
	AttachmentFile      = 0
	AttachmentSignature = 1
	AttachmentURL       = 2
)

// Attachment is a file attached to a service request (RequestId set) or a work order
// (WorkOrderId set). Attachment is the stored file name.
type Attachment struct {
	Id               int
	RequestId        int        `json:",omitempty"`
	WorkOrderId      FlexString `json:",omitempty"`
	WorkOrderSid     int        `json:",omitempty"`
	Attachment       string
	AttachmentType   int
	AttachedBy       string
	AttachedBySid    int
	Comments         string
	DateTimeAttached Time
	Description      string
	Title            string
}

// WorkOrder is Cityworks' WorkOrderBase (the contract's subset). Texts holds Text1..Text20.
type WorkOrder struct {
	WorkOrderId   FlexString
	WorkOrderSid  int
	WOTemplateId  FlexString
	Description   string
	Status        string
	IsClosed      bool
	DateWOClosed  Time
	Cancel        bool
	DateCancelled Time
	InitiateDate  Time
	WOAddress     string
	WOXCoordinate float64
	WOYCoordinate float64
	Texts         map[int]string `json:"-"`
}

// Closed reports whether the work order is closed: IsClosed or a real DateWOClosed.
func (w *WorkOrder) Closed() bool { return w.IsClosed || !w.DateWOClosed.IsZero() }

// Cancelled reports whether the work order was cancelled.
func (w *WorkOrder) Cancelled() bool { return w.Cancel }

// UnmarshalJSON reads the typed fields and Text1..Text20 into Texts.
func (w *WorkOrder) UnmarshalJSON(b []byte) error {
	type plain WorkOrder
	if err := json.Unmarshal(b, (*plain)(w)); err != nil {
		return err
	}
	texts, err := readTexts(b)
	w.Texts = texts
	return err
}

// MarshalJSON writes Texts as Text1..Text20.
func (w WorkOrder) MarshalJSON() ([]byte, error) {
	type plain WorkOrder
	return mergeFields(plain(w), w.Texts, nil)
}

// WorkOrderEntity is an asset a work order applies to.
type WorkOrderEntity struct {
	EntityType string
	EntityUid  string
	ObjectId   int `json:",omitempty"`
}

// NewWorkOrder is the data of WorkOrder/Create. WOTemplateId and EntityType are required.
// Reference, when set, is our external reference: the client writes it into the configured
// text field (Config.WOReferenceField) and WebServiceRequestId and looks for it before creating.
type NewWorkOrder struct {
	WOTemplateId        string
	EntityType          string
	Entities            []WorkOrderEntity `json:",omitempty"`
	Address             string            `json:",omitempty"`
	City                string            `json:",omitempty"`
	Zip                 string            `json:",omitempty"`
	X                   *float64          `json:",omitempty"`
	Y                   *float64          `json:",omitempty"`
	WKID                int               `json:",omitempty"`
	Comments            string            `json:",omitempty"`
	Instructions        string            `json:",omitempty"`
	InitiatedByApp      string            `json:",omitempty"`
	RequestIds          []int             `json:",omitempty"`
	Priority            string            `json:",omitempty"`
	CustomFieldValues   map[string]string `json:",omitempty"`
	WebServiceRequestId string            `json:",omitempty"`
	Texts               map[int]string    `json:"-"`
	Reference           string            `json:"-"`
}

// MarshalJSON writes Texts as Text1..Text20.
func (n NewWorkOrder) MarshalJSON() ([]byte, error) {
	type plain NewWorkOrder
	return mergeFields(plain(n), n.Texts, nil)
}

// WorkOrderSearch is the data of WorkOrder/Search. Texts filters Text1..Text20 by equality.
type WorkOrderSearch struct {
	WorkOrderIds      []string       `json:",omitempty"`
	WOTemplateId      []string       `json:",omitempty"`
	Status            []string       `json:",omitempty"`
	Closed            *bool          `json:",omitempty"`
	Canceled          *bool          `json:",omitempty"`
	InitiateDateBegin Time           `json:",omitzero"`
	InitiateDateEnd   Time           `json:",omitzero"`
	MaxResults        int            `json:",omitempty"`
	Texts             map[int]string `json:"-"`
}

// MarshalJSON writes Texts as Text1..Text20.
func (s WorkOrderSearch) MarshalJSON() ([]byte, error) {
	type plain WorkOrderSearch
	return mergeFields(plain(s), s.Texts, nil)
}

// WorkOrderTemplate is a work-order template (WorkOrder/Templates).
type WorkOrderTemplate struct {
	WOTemplateId    FlexString
	Description     string
	ApplyToEntity   string
	DomainId        int
	WOCategory      string
	IsTemplateClass bool
}

// WorkOrderTemplateFilter is the data of WorkOrder/Templates; EntityType is required by
// Cityworks (use the entity type of the templates you want, e.g. "STREET").
type WorkOrderTemplateFilter struct {
	EntityType    string
	EntityTypes   []string `json:",omitempty"`
	CanCreate     *bool    `json:",omitempty"`
	Category      string   `json:",omitempty"`
	DomainId      int      `json:",omitempty"`
	WOTemplateIds []string `json:",omitempty"`
}

// mergeFields marshals v and adds TextN fields and extra fields that v does not set itself.
func mergeFields(v any, texts map[int]string, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || (len(texts) == 0 && len(extra) == 0) {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, n := range slices.Sorted(maps.Keys(texts)) {
		if n < 1 || n > 20 {
			return nil, fmt.Errorf("cityworks: Text%d: text fields are Text1..Text20", n)
		}
		raw, _ := json.Marshal(texts[n])
		m["Text"+strconv.Itoa(n)] = raw
	}
	for k, val := range extra {
		if _, taken := m[k]; taken {
			continue
		}
		raw, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("cityworks: field %s: %w", k, err)
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// readTexts collects the non-empty Text1..Text20 of an object.
func readTexts(b []byte) (map[int]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out map[int]string
	for n := 1; n <= 20; n++ {
		raw, ok := m["Text"+strconv.Itoa(n)]
		if !ok {
			continue
		}
		var s FlexString
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("cityworks: Text%d: %w", n, err)
		}
		if s != "" {
			if out == nil {
				out = map[int]string{}
			}
			out[n] = string(s)
		}
	}
	return out, nil
}
