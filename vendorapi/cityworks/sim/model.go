package sim

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// The model uses Cityworks' field names. Dates are time.Time here (RFC 3339 in the staff JSON
// and snapshots); the API writes them the Cityworks way (see wire.go).

// Request is a service request: the RequestBase fields the contract lists plus what Create
// stores.
type Request struct {
	RequestId         int
	ProblemSid        int
	ProblemCode       string
	Description       string
	Details           string
	Status            string
	IsClosed          bool
	DateTimeInit      time.Time
	DateTimeClosed    time.Time
	Cancel            bool
	CancelReason      string
	DateCancelled     time.Time
	OtherSystemId     string
	InitiatedByApp    string
	ProbAddress       string
	ProbCity          string
	ProbState         string
	ProbZip           string
	ProbLocation      string
	SRX               float64
	SRY               float64
	Priority          string
	Resolution        string
	DomainId          int
	WorkOrderId       string
	SubmitToSid       int
	DispatchToSid     int
	CallerFirstName   string
	CallerLastName    string
	CallerEmail       string
	CallerHomePhone   string
	CallerCellPhone   string
	CallerWorkPhone   string
	CallerAddress     string
	CallerComments    string
	CustomFieldValues map[string]string `json:",omitempty"`
}

// RequestAnswer is a stored answer of a request (staff view only; not in RequestBase).
type RequestAnswer struct {
	QuestionId  int
	Question    string
	AnswerId    int
	Answer      string
	AnswerValue string
}

// WorkOrder is a work order (WorkOrderBase subset). Texts holds Text1..Text20.
type WorkOrder struct {
	WorkOrderId    string
	WorkOrderSid   int
	WOTemplateId   string
	Description    string
	Status         string
	IsClosed       bool
	DateWOClosed   time.Time
	Cancel         bool
	CancelReason   string
	DateCancelled  time.Time
	InitiateDate   time.Time
	WOAddress      string
	WOXCoordinate  float64
	WOYCoordinate  float64
	EntityType     string
	Priority       string
	Instructions   string
	InitiatedByApp string
	RequestIds     []int          `json:",omitempty"`
	Texts          map[int]string `json:",omitempty"`
}

// Comment is a CommentRecord.
type Comment struct {
	CommentId          int
	ActivityType       int
	ActivitySid        int
	ActivityId         string
	AuthorName         string
	AuthorSid          int
	Comments           string
	DateCreated        time.Time
	LastModified       time.Time
	LastModifiedByName string
}

// Attachment is a stored file; Content is not part of the API listing.
type Attachment struct {
	Id               int
	RequestId        int    `json:",omitempty"`
	WorkOrderId      string `json:",omitempty"`
	WorkOrderSid     int    `json:",omitempty"`
	Attachment       string
	AttachmentType   int
	AttachedBy       string
	AttachedBySid    int
	Comments         string
	DateTimeAttached time.Time
	Description      string
	Title            string
	ContentType      string `json:"-"`
	Content          []byte `json:"-"`
}

// Problem is a service-request problem template with its questions and answers.
type Problem struct {
	ProblemSid     int
	ProblemCode    string
	Description    string
	DomainId       int
	OtherSysCode   string
	OtherSysDesc1  string
	OtherSysDesc2  string
	Cancel         bool
	ForPublicSite  bool
	DateModified   time.Time
	Priority       string
	BranchingModel bool
	Questions      []Question
	Answers        []Answer
}

// Question is a problem's question.
type Question struct {
	QuestionId       int
	ProblemSid       int
	Question         string
	QuestionSequence int
}

// Answer is a possible answer; AnswerFormat "THISTEXT" is a fixed choice, others free text.
type Answer struct {
	AnswerId       int
	QuestionId     int
	Answer         string
	AnswerFormat   string
	AnswerSequence int
	NextQuestionId int
	TellCaller     string
	Priority       string
	SubmitTo       int
	DispatchTo     int
}

// WOTemplate is a work-order template.
type WOTemplate struct {
	WOTemplateId    string
	Description     string
	ApplyToEntity   string
	DomainId        int
	WOCategory      string
	IsTemplateClass bool
}

// StatusCode is an entry of ServiceRequest/Statuses.
type StatusCode struct {
	Code        string
	CodeType    string
	Description string
	IsActive    bool
}

// Service-request and work-order status codes of the seeded vocabulary.
const (
	SRInitiate = "INITIATE"
	SRDispatch = "DISPATCH"
	SRInProg   = "INPROG"
	SRClosed   = "CLOSED"
	SRCancel   = "CANCEL"
	WOOpen     = "OPEN"
	WOInProg   = "INPROG"
	WOClosed   = "CLOSED"
	WOCancel   = "CANCEL"
)

// Activity types of comments.
const (
	ActivityRequest   = 1
	ActivityWorkOrder = 2
)

// state is everything Reset clears and Snapshot keeps.
type state struct {
	Requests    map[int]*Request
	Answers     map[int][]RequestAnswer // by RequestId
	WorkOrders  map[string]*WorkOrder
	Comments    []*Comment
	Attachments []*Attachment
	Problems    map[int]*Problem
	WOTemplates map[string]*WOTemplate
	Statuses    []StatusCode
	NextRequest int
	NextWOSid   int
	NextWO      int
	NextComment int
	NextAttach  int
	NextProblem int
	NextQA      int // question and answer ids share one sequence
}

func newState(now time.Time, seeded bool) state {
	st := state{
		Requests: map[int]*Request{}, Answers: map[int][]RequestAnswer{}, WorkOrders: map[string]*WorkOrder{},
		Problems: map[int]*Problem{}, WOTemplates: map[string]*WOTemplate{},
		Statuses: []StatusCode{
			{SRInitiate, "REQSTATUS", "Initiated", true},
			{SRDispatch, "REQSTATUS", "Dispatched", true},
			{SRInProg, "REQSTATUS", "In Progress", true},
			{SRClosed, "REQSTATUS", "Closed", true},
			{SRCancel, "REQSTATUS", "Cancelled", true},
		},
		NextRequest: 20000, NextWOSid: 500000, NextWO: 23000, NextComment: 9000, NextAttach: 700,
		NextProblem: 100, NextQA: 1000,
	}
	if seeded {
		seed(&st, now)
	}
	return st
}

func (st *state) requestIDs() []int { return slices.Sorted(maps.Keys(st.Requests)) }

func (st *state) workOrderIDs() []string {
	return slices.SortedFunc(maps.Keys(st.WorkOrders), idCompare)
}

// idCompare orders numeric ids numerically (shorter first), others lexically.
func idCompare(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func (st *state) problemIDs() []int { return slices.Sorted(maps.Keys(st.Problems)) }

func (st *state) comments(activityType, sid int) []Comment {
	var out []Comment
	for _, c := range st.Comments {
		if c.ActivityType == activityType && c.ActivitySid == sid {
			out = append(out, *c)
		}
	}
	return out
}

func (p *Problem) clone() Problem {
	c := *p
	c.Questions = slices.Clone(p.Questions)
	c.Answers = slices.Clone(p.Answers)
	return c
}

func (w *WorkOrder) clone() WorkOrder {
	c := *w
	c.RequestIds = slices.Clone(w.RequestIds)
	c.Texts = maps.Clone(w.Texts)
	return c
}

func (r *Request) clone() Request {
	c := *r
	c.CustomFieldValues = maps.Clone(r.CustomFieldValues)
	return c
}

// seed installs realistic defaults: public problems (some asking for an email or a phone
// number, one with a branching follow-up), an internal one, a retired one, and work-order
// templates for streets, lights and signs.
func seed(st *state, now time.Time) {
	mod := now.Add(-30 * 24 * time.Hour)
	type qa struct {
		q       string
		format  string   // THISTEXT or TEXT
		answers []string // fixed choices (THISTEXT); one empty answer for free text
	}
	add := func(code, desc string, public, cancel bool, prio string, qs ...qa) *Problem {
		st.NextProblem++
		p := &Problem{ProblemSid: st.NextProblem, ProblemCode: code, Description: desc, DomainId: 1,
			ForPublicSite: public, Cancel: cancel, Priority: prio, DateModified: mod}
		for i, q := range qs {
			st.NextQA++
			qid := st.NextQA
			p.Questions = append(p.Questions, Question{QuestionId: qid, ProblemSid: p.ProblemSid, Question: q.q, QuestionSequence: i + 1})
			for j, a := range q.answers {
				st.NextQA++
				p.Answers = append(p.Answers, Answer{AnswerId: st.NextQA, QuestionId: qid, Answer: a, AnswerFormat: q.format,
					AnswerSequence: j + 1})
			}
		}
		st.Problems[p.ProblemSid] = p
		return p
	}
	pothole := add("POTHOLE", "Pothole", true, false, "2",
		qa{"How large is the pothole?", "THISTEXT", []string{"Smaller than a dinner plate", "Larger than a dinner plate"}},
		qa{"Is it a hazard to traffic right now?", "THISTEXT", []string{"Yes", "No"}},
		qa{"What email address can we reach you at?", "TEXT", []string{""}})
	// Branching: only a large pothole asks whether it is a hazard; every path ends with the
	// email question.
	pothole.BranchingModel = true
	hazard, email := pothole.Questions[1].QuestionId, pothole.Questions[2].QuestionId
	for i := range pothole.Answers {
		a := &pothole.Answers[i]
		switch {
		case a.Answer == "Larger than a dinner plate":
			a.NextQuestionId, a.Priority = hazard, "1"
		case a.QuestionId != email:
			a.NextQuestionId = email
		}
	}
	add("STLIGHT", "Streetlight Out", true, false, "3",
		qa{"What is the pole number (on the tag)?", "TEXT", []string{""}},
		qa{"Best phone number to reach you?", "TEXT", []string{""}})
	add("GRAFFITI", "Graffiti Removal", true, false, "3",
		qa{"Is the graffiti offensive?", "THISTEXT", []string{"Yes", "No"}},
		qa{"On what kind of property?", "THISTEXT", []string{"Public", "Private"}})
	add("MISSEDTRASH", "Missed Trash Pickup", true, false, "3",
		qa{"Which cart was missed?", "THISTEXT", []string{"Trash", "Recycling", "Yard waste"}},
		qa{"Phone number or email for follow-up", "TEXT", []string{""}})
	add("INTINSP", "Internal Inspection", false, false, "4")
	add("OLDSIGN", "Sign Problem (retired)", true, true, "3")

	for _, t := range []WOTemplate{
		{WOTemplateId: "1001", Description: "Pothole Repair", ApplyToEntity: "STREET", WOCategory: "STREETS"},
		{WOTemplateId: "1002", Description: "Streetlight Repair", ApplyToEntity: "LIGHT", WOCategory: "ELECTRIC"},
		{WOTemplateId: "1003", Description: "Sign Replacement", ApplyToEntity: "SIGN", WOCategory: "STREETS"},
		{WOTemplateId: "1004", Description: "Graffiti Abatement", ApplyToEntity: "STREET", WOCategory: "CODE"},
	} {
		t.DomainId = 1
		st.WOTemplates[t.WOTemplateId] = &t
	}
}

var zeroTime time.Time
