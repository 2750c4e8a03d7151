package sim

import (
	"math"
	"slices"
	"strings"
	"time"
)

func registerRequests() {
	register("Ams", "ServiceRequest/Create", (*Server).apiCreateRequest, "creates")
	register("Ams", "ServiceRequest/ById", (*Server).apiRequestByID)
	register("Ams", "ServiceRequest/ByIds", (*Server).apiRequestsByIDs)
	register("Ams", "ServiceRequest/ByOtherSystemId", (*Server).apiRequestByOther)
	register("Ams", "ServiceRequest/Search", (*Server).apiSearchRequests)
	register("Ams", "ServiceRequest/Problems", (*Server).apiProblems)
	register("Ams", "ServiceRequest/QA", (*Server).apiQA)
	register("Ams", "ServiceRequest/Statuses", (*Server).apiStatuses)
	register("Ams", "ServiceRequest/Close", (*Server).apiCloseRequests)
	register("Ams", "ServiceRequest/Cancel", (*Server).apiCancelRequests)
	register("Ams", "ServiceRequest/AddComments", (*Server).apiRequestAddComments)
	register("Ams", "ServiceRequest/Comments", (*Server).apiRequestComments)
	register("Ams", "ServiceRequest/RequestWorkOrders", (*Server).apiRequestWorkOrders)
	register("Ams", "ServiceRequestTemplate/Templates", (*Server).apiRequestTemplates)
	register("Ams", "ServiceRequestTemplate/QA", (*Server).apiQAs)
}

// NewRequest is the data of ServiceRequest/Create, also used by staff creating a request
// directly in Cityworks.
type NewRequest struct {
	ProblemSid int
	Answers    []struct {
		AnswerId    int
		AnswerValue string
	}
	Address, City, State, Zip, Location string
	X, Y                                *float64
	Details, Comments                   string
	CallerFirstName, CallerLastName     string
	CallerEmail, CallerHomePhone        string
	CallerCellPhone, CallerWorkPhone    string
	CallerAddress, CallerComments       string
	OtherSystemId, InitiatedByApp       string
	Priority                            flexStr
	Status                              string
	SubmitToSid, DispatchToSid          int
	CustomFieldValues                   map[string]string
}

func (s *Server) apiCreateRequest(c *call) (reply, *apiError) {
	var in NewRequest
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	r, e := s.createRequestLocked(in, c.login)
	if e != nil {
		return reply{}, e
	}
	s.stats.Creates++
	return reply{value: r}, nil
}

// createRequestLocked validates and stores a request. Create is not idempotent: the same
// OtherSystemId twice makes two requests, as in Cityworks.
func (s *Server) createRequestLocked(in NewRequest, author string) (*Request, *apiError) {
	if in.ProblemSid == 0 {
		return nil, fail(codeInvalidField, "ProblemSid is required")
	}
	p, ok := s.st.Problems[in.ProblemSid]
	if !ok || p.Cancel {
		return nil, fail(codeItemNotFound, "Problem %d not found", in.ProblemSid)
	}
	if (in.X == nil) != (in.Y == nil) || (in.X != nil && (math.IsNaN(*in.X) || math.IsNaN(*in.Y))) {
		return nil, fail(codeInvalidMapLogicXY, "X and Y must be given together")
	}
	status := SRInitiate
	if in.Status != "" {
		if !s.knownStatusLocked(in.Status) {
			return nil, fail(codeInvalidField, "Status %q is not a request status", in.Status)
		}
		status = strings.ToUpper(in.Status)
	}
	prio := string(in.Priority)
	if prio == "" {
		prio = p.Priority
	}
	var answers []RequestAnswer
	for _, a := range in.Answers {
		i := slices.IndexFunc(p.Answers, func(x Answer) bool { return x.AnswerId == a.AnswerId })
		if i < 0 {
			return nil, fail(codeInvalidField, "Answer %d does not belong to problem %d", a.AnswerId, p.ProblemSid)
		}
		ans := p.Answers[i]
		q := ""
		if j := slices.IndexFunc(p.Questions, func(x Question) bool { return x.QuestionId == ans.QuestionId }); j >= 0 {
			q = p.Questions[j].Question
		}
		answers = append(answers, RequestAnswer{QuestionId: ans.QuestionId, Question: q, AnswerId: ans.AnswerId,
			Answer: ans.Answer, AnswerValue: a.AnswerValue})
		if ans.Priority != "" && string(in.Priority) == "" {
			prio = ans.Priority
		}
	}
	s.st.NextRequest++
	r := &Request{
		RequestId: s.st.NextRequest, ProblemSid: p.ProblemSid, ProblemCode: p.ProblemCode, Description: p.Description,
		Details: in.Details, Status: status, DateTimeInit: s.now(), OtherSystemId: in.OtherSystemId,
		InitiatedByApp: in.InitiatedByApp, ProbAddress: in.Address, ProbCity: in.City, ProbState: in.State,
		ProbZip: in.Zip, ProbLocation: in.Location, Priority: prio, DomainId: p.DomainId,
		SubmitToSid: in.SubmitToSid, DispatchToSid: in.DispatchToSid,
		CallerFirstName: in.CallerFirstName, CallerLastName: in.CallerLastName, CallerEmail: in.CallerEmail,
		CallerHomePhone: in.CallerHomePhone, CallerCellPhone: in.CallerCellPhone, CallerWorkPhone: in.CallerWorkPhone,
		CallerAddress: in.CallerAddress, CallerComments: in.CallerComments, CustomFieldValues: in.CustomFieldValues,
	}
	if in.X != nil {
		r.SRX, r.SRY = *in.X, *in.Y
	}
	s.st.Requests[r.RequestId] = r
	s.st.Answers[r.RequestId] = answers
	if strings.TrimSpace(in.Comments) != "" {
		s.addCommentLocked(ActivityRequest, r.RequestId, itoa(r.RequestId), in.Comments, author)
	}
	return r, nil
}

func (s *Server) knownStatusLocked(code string) bool {
	return slices.ContainsFunc(s.st.Statuses, func(c StatusCode) bool { return strings.EqualFold(c.Code, code) })
}

func (s *Server) apiRequestByID(c *call) (reply, *apiError) {
	var in struct{ RequestId int }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	r, ok := s.st.Requests[in.RequestId]
	if !ok {
		return reply{}, fail(codeItemNotFound, "Request %d not found", in.RequestId)
	}
	return reply{value: r}, nil
}

// apiRequestsByIDs returns the subset that exists, in the order asked.
func (s *Server) apiRequestsByIDs(c *call) (reply, *apiError) {
	var in struct{ RequestIds intList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if len(in.RequestIds) > s.opts.MaxBatch {
		return reply{}, fail(codeInvalidField, "RequestIds: at most %d ids per call", s.opts.MaxBatch)
	}
	out := []*Request{}
	for _, id := range in.RequestIds {
		if r, ok := s.st.Requests[id]; ok {
			out = append(out, r)
		}
	}
	return reply{value: out}, nil
}

// apiRequestByOther answers Status 0 with a null Value and warning 60 when nothing matches.
func (s *Server) apiRequestByOther(c *call) (reply, *apiError) {
	var in struct{ OtherSystemId string }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if in.OtherSystemId == "" {
		return reply{}, fail(codeInvalidField, "OtherSystemId is required")
	}
	for _, id := range s.st.requestIDs() {
		if r := s.st.Requests[id]; r.OtherSystemId == in.OtherSystemId {
			return reply{value: r}, nil
		}
	}
	return reply{warnings: []msg{{Code: codeWarningNotFound, Name: codeNames[codeWarningNotFound],
		DisplayText: "No request with OtherSystemId " + in.OtherSystemId, MessageType: 1,
		Service: "ServiceRequest/ByOtherSystemId"}}}, nil
}

type requestSearch struct {
	RequestIds                             intList
	OtherSystemId, Status, ProblemCode     strList
	InitiatedByApp                         strList
	ProblemSid                             intList
	Closed, Canceled                       *bool
	DateTimeInitBegin, DateTimeInitEnd     string
	DateTimeClosedBegin, DateTimeClosedEnd string
	DateCancelledBegin, DateCancelledEnd   string
	MaxResults                             int
}

// apiSearchRequests returns matching RequestIds ascending; date ranges are inclusive.
func (s *Server) apiSearchRequests(c *call) (reply, *apiError) {
	var in requestSearch
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	ranges := []struct {
		begin, end string
		get        func(*Request) time.Time
	}{
		{in.DateTimeInitBegin, in.DateTimeInitEnd, func(r *Request) time.Time { return r.DateTimeInit }},
		{in.DateTimeClosedBegin, in.DateTimeClosedEnd, func(r *Request) time.Time { return r.DateTimeClosed }},
		{in.DateCancelledBegin, in.DateCancelledEnd, func(r *Request) time.Time { return r.DateCancelled }},
	}
	var preds []func(*Request) bool
	for _, rg := range ranges {
		p, e := s.dateRange(rg.begin, rg.end)
		if e != nil {
			return reply{}, e
		}
		if p != nil {
			get := rg.get
			preds = append(preds, func(r *Request) bool { return p(get(r)) })
		}
	}
	ids := []int{}
	for _, id := range s.st.requestIDs() {
		r := s.st.Requests[id]
		ok := in.RequestIds.has(id) && in.OtherSystemId.has(r.OtherSystemId) && in.Status.has(r.Status) &&
			in.ProblemCode.has(r.ProblemCode) && in.InitiatedByApp.has(r.InitiatedByApp) && in.ProblemSid.has(r.ProblemSid) &&
			(in.Closed == nil || *in.Closed == r.IsClosed) && (in.Canceled == nil || *in.Canceled == r.Cancel)
		for _, p := range preds {
			ok = ok && p(r)
		}
		if ok {
			ids = append(ids, id)
		}
	}
	if in.MaxResults > 0 && len(ids) > in.MaxResults {
		ids = ids[:in.MaxResults]
	}
	return reply{value: ids}, nil
}

// dateRange builds an inclusive range predicate (nil when neither end is given). A zero
// (null) date never matches a range.
func (s *Server) dateRange(begin, end string) (func(time.Time) bool, *apiError) {
	b, err := s.parseDate(begin)
	if err != nil {
		return nil, fail(codeInvalidField, "%v", err)
	}
	e, err := s.parseDate(end)
	if err != nil {
		return nil, fail(codeInvalidField, "%v", err)
	}
	if b.IsZero() && e.IsZero() {
		return nil, nil
	}
	return func(t time.Time) bool {
		return !t.IsZero() && (b.IsZero() || !t.Before(b)) && (e.IsZero() || !t.After(e))
	}, nil
}

// requestsLocked resolves ids; any unknown id fails the whole call (code 35, nothing changes).
func (s *Server) requestsLocked(ids []int) ([]*Request, *apiError) {
	if len(ids) == 0 {
		return nil, fail(codeInvalidField, "RequestIds is required")
	}
	out := make([]*Request, 0, len(ids))
	for _, id := range ids {
		r, ok := s.st.Requests[id]
		if !ok {
			return nil, fail(codeItemNotFound, "Request %d not found", id)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Server) apiCloseRequests(c *call) (reply, *apiError) {
	var in struct{ RequestIds intList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	reqs, e := s.requestsLocked(in.RequestIds)
	if e != nil {
		return reply{}, e
	}
	for _, r := range reqs {
		if r.Cancel {
			return reply{}, fail(codeCloseFailed, "Request %d is cancelled and cannot be closed", r.RequestId)
		}
	}
	for _, r := range reqs {
		s.closeRequestLocked(r)
	}
	return reply{value: reqs}, nil
}

func (s *Server) closeRequestLocked(r *Request) {
	if r.IsClosed {
		return // closing a closed request changes nothing
	}
	r.IsClosed, r.DateTimeClosed, r.Status = true, s.now(), SRClosed
}

func (s *Server) apiCancelRequests(c *call) (reply, *apiError) {
	var in struct {
		RequestIds    intList
		CancelReason  string
		DateCancelled string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	at, err := s.parseDate(in.DateCancelled)
	if err != nil {
		return reply{}, fail(codeInvalidField, "%v", err)
	}
	reqs, e := s.requestsLocked(in.RequestIds)
	if e != nil {
		return reply{}, e
	}
	for _, r := range reqs {
		if r.IsClosed && !r.Cancel {
			return reply{}, fail(codeCancelFailed, "Request %d is closed and cannot be cancelled", r.RequestId)
		}
	}
	for _, r := range reqs {
		s.cancelRequestLocked(r, in.CancelReason, at)
	}
	return reply{value: reqs}, nil
}

func (s *Server) cancelRequestLocked(r *Request, reason string, at time.Time) {
	if r.Cancel {
		return // cancelling a cancelled request changes nothing
	}
	if at.IsZero() {
		at = s.now()
	}
	r.Cancel, r.CancelReason, r.DateCancelled, r.Status = true, reason, at.Truncate(time.Second), SRCancel
}

func (s *Server) apiRequestAddComments(c *call) (reply, *apiError) {
	var in struct {
		RequestId int
		Comments  string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if _, ok := s.st.Requests[in.RequestId]; !ok {
		return reply{}, fail(codeItemNotFound, "Request %d not found", in.RequestId)
	}
	if strings.TrimSpace(in.Comments) == "" {
		return reply{}, fail(codeMissingComments, "Comments are required")
	}
	s.addCommentLocked(ActivityRequest, in.RequestId, itoa(in.RequestId), in.Comments, c.login)
	return reply{value: blob(s.st.comments(ActivityRequest, in.RequestId))}, nil
}

// apiRequestComments returns all comments as one text blob, one per line, oldest first.
func (s *Server) apiRequestComments(c *call) (reply, *apiError) {
	var in struct{ RequestId int }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if _, ok := s.st.Requests[in.RequestId]; !ok {
		return reply{}, fail(codeItemNotFound, "Request %d not found", in.RequestId)
	}
	return reply{value: blob(s.st.comments(ActivityRequest, in.RequestId))}, nil
}

func blob(cs []Comment) string {
	lines := make([]string, 0, len(cs))
	for _, c := range cs {
		lines = append(lines, c.Comments)
	}
	return strings.Join(lines, "\n")
}

func (s *Server) apiRequestWorkOrders(c *call) (reply, *apiError) {
	var in struct{ RequestIds intList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	type link struct {
		RequestId    int
		WorkOrderId  string
		WorkOrderSid int
	}
	out := []link{}
	for _, id := range s.st.workOrderIDs() {
		wo := s.st.WorkOrders[id]
		for _, rid := range wo.RequestIds {
			if slices.Contains(in.RequestIds, rid) {
				out = append(out, link{rid, wo.WorkOrderId, wo.WorkOrderSid})
			}
		}
	}
	return reply{value: out}, nil
}
