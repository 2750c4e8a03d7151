package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Staff actions: what people do in Cityworks itself. The Go methods and /_sim (control.go)
// share them.

// StaffError is a refused staff action; Code is the HTTP status /_sim answers with.
type StaffError struct {
	Code    int
	Message string
}

func (e *StaffError) Error() string { return e.Message }

func staffErr(code int, format string, a ...any) *StaffError {
	return &StaffError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// fromAPI turns a method's Status 1 failure into a staff error.
func fromAPI(e *apiError) *StaffError {
	if e.code == codeItemNotFound {
		return staffErr(http.StatusNotFound, "%s", e.text)
	}
	return staffErr(http.StatusBadRequest, "%s", e.text)
}

// RequestView is a service request with everything staff see on its page.
type RequestView struct {
	Request
	Answers     []RequestAnswer
	Comments    []Comment
	Attachments []Attachment
}

// WorkOrderView is a work order with its comments and attachments.
type WorkOrderView struct {
	WorkOrder
	Comments    []Comment
	Attachments []Attachment
}

func (s *Server) requestViewLocked(r *Request) RequestView {
	v := RequestView{Request: r.clone(), Answers: slices.Clone(s.st.Answers[r.RequestId]),
		Comments: s.st.comments(ActivityRequest, r.RequestId)}
	for _, a := range s.st.Attachments {
		if a.RequestId == r.RequestId {
			v.Attachments = append(v.Attachments, *a)
		}
	}
	return v
}

func (s *Server) workOrderViewLocked(wo *WorkOrder) WorkOrderView {
	v := WorkOrderView{WorkOrder: wo.clone(), Comments: s.st.comments(ActivityWorkOrder, wo.WorkOrderSid)}
	for _, a := range s.st.Attachments {
		if a.WorkOrderId == wo.WorkOrderId {
			v.Attachments = append(v.Attachments, *a)
		}
	}
	return v
}

// Requests returns every service request, by id.
func (s *Server) Requests() []RequestView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestView, 0, len(s.st.Requests))
	for _, id := range s.st.requestIDs() {
		out = append(out, s.requestViewLocked(s.st.Requests[id]))
	}
	return out
}

// Request returns one service request.
func (s *Server) Request(id int) (RequestView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Requests[id]
	if !ok {
		return RequestView{}, false
	}
	return s.requestViewLocked(r), true
}

// CreateRequest is staff entering a request directly in Cityworks (InitiatedByApp defaults
// to StaffApp), e.g. with X/Y so that it can be imported into the request system.
func (s *Server) CreateRequest(in NewRequest) (RequestView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.InitiatedByApp == "" {
		in.InitiatedByApp = StaffApp
	}
	r, e := s.createRequestLocked(in, "")
	if e != nil {
		return RequestView{}, fromAPI(e)
	}
	return s.requestViewLocked(r), nil
}

// statusAliases are the staff verbs the page offers.
var statusAliases = map[string]string{"open": SRInitiate, "dispatch": SRDispatch, "close": SRClosed, "cancel": SRCancel,
	"inprogress": SRInProg}

// SetRequestStatus is a staff status change: CLOSED closes, CANCEL cancels (with reason), any
// other status of the deployment's vocabulary (see Statuses) reopens the request with that
// status. The verbs open, dispatch, close and cancel are accepted too.
func (s *Server) SetRequestStatus(id int, status, reason string) (RequestView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Requests[id]
	if !ok {
		return RequestView{}, staffErr(http.StatusNotFound, "request %d not found", id)
	}
	code := strings.ToUpper(strings.TrimSpace(status))
	if alias, ok := statusAliases[strings.ToLower(strings.TrimSpace(status))]; ok {
		code = alias
	}
	if !s.knownStatusLocked(code) {
		return RequestView{}, staffErr(http.StatusBadRequest, "unknown status %q", status)
	}
	switch code {
	case SRClosed:
		if r.Cancel {
			return RequestView{}, staffErr(http.StatusConflict, "request %d is cancelled", id)
		}
		s.closeRequestLocked(r)
	case SRCancel:
		if r.IsClosed && !r.Cancel {
			return RequestView{}, staffErr(http.StatusConflict, "request %d is closed", id)
		}
		s.cancelRequestLocked(r, reason, s.now())
	default:
		r.IsClosed, r.DateTimeClosed, r.Cancel, r.CancelReason, r.DateCancelled = false, zeroTime, false, "", zeroTime
		r.Status = code
		if code == SRDispatch && r.DispatchToSid == 0 {
			r.DispatchToSid = staffSid
		}
	}
	if reason != "" && code != SRCancel {
		r.Resolution = reason
	}
	return s.requestViewLocked(r), nil
}

// AddRequestComment is a staff comment ("To SCF: …" ones are relayed to the public).
// author "" means "Cityworks Staff".
func (s *Server) AddRequestComment(id int, text, author string) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.Requests[id]; !ok {
		return Comment{}, staffErr(http.StatusNotFound, "request %d not found", id)
	}
	if strings.TrimSpace(text) == "" {
		return Comment{}, staffErr(http.StatusBadRequest, "text is required")
	}
	return *s.addCommentLocked(ActivityRequest, id, itoa(id), text, author), nil
}

// AddRequestAttachment is staff attaching a file.
func (s *Server) AddRequestAttachment(id int, filename, contentType string, content []byte, comments string) (Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.Requests[id]; !ok {
		return Attachment{}, staffErr(http.StatusNotFound, "request %d not found", id)
	}
	a, e := s.addAttachmentLocked(Attachment{RequestId: id, Comments: comments},
		&filePart{name: filename, contentType: contentType, content: content}, filename, "")
	if e != nil {
		return Attachment{}, fromAPI(e)
	}
	return *a, nil
}

// WorkOrders returns every work order, by id.
func (s *Server) WorkOrders() []WorkOrderView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkOrderView, 0, len(s.st.WorkOrders))
	for _, id := range s.st.workOrderIDs() {
		out = append(out, s.workOrderViewLocked(s.st.WorkOrders[id]))
	}
	return out
}

// WorkOrder returns one work order.
func (s *Server) WorkOrder(id string) (WorkOrderView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, ok := s.st.WorkOrders[id]
	if !ok {
		return WorkOrderView{}, false
	}
	return s.workOrderViewLocked(wo), true
}

// SetWorkOrderStatus: CLOSED (or close) closes, CANCEL (or cancel) cancels, OPEN/INPROG (or
// open/dispatch) reopen with that status.
func (s *Server) SetWorkOrderStatus(id, status, reason string) (WorkOrderView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, ok := s.st.WorkOrders[id]
	if !ok {
		return WorkOrderView{}, staffErr(http.StatusNotFound, "work order %s not found", id)
	}
	code := strings.ToUpper(strings.TrimSpace(status))
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "open":
		code = WOOpen
	case "dispatch", "inprogress":
		code = WOInProg
	case "close":
		code = WOClosed
	case "cancel":
		code = WOCancel
	}
	switch code {
	case WOClosed:
		if wo.Cancel {
			return WorkOrderView{}, staffErr(http.StatusConflict, "work order %s is cancelled", id)
		}
		s.closeWorkOrderLocked(wo)
	case WOCancel:
		if wo.IsClosed && !wo.Cancel {
			return WorkOrderView{}, staffErr(http.StatusConflict, "work order %s is closed", id)
		}
		s.cancelWorkOrderLocked(wo, reason)
	case WOOpen, WOInProg:
		wo.IsClosed, wo.DateWOClosed, wo.Cancel, wo.CancelReason, wo.DateCancelled = false, zeroTime, false, "", zeroTime
		wo.Status = code
	default:
		return WorkOrderView{}, staffErr(http.StatusBadRequest, "unknown work order status %q (OPEN, INPROG, CLOSED, CANCEL)", status)
	}
	return s.workOrderViewLocked(wo), nil
}

// AddWorkOrderComment is a staff comment on a work order.
func (s *Server) AddWorkOrderComment(id, text, author string) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, ok := s.st.WorkOrders[id]
	if !ok {
		return Comment{}, staffErr(http.StatusNotFound, "work order %s not found", id)
	}
	if strings.TrimSpace(text) == "" {
		return Comment{}, staffErr(http.StatusBadRequest, "text is required")
	}
	return *s.addCommentLocked(ActivityWorkOrder, wo.WorkOrderSid, wo.WorkOrderId, text, author), nil
}

// AddWorkOrderAttachment is staff attaching a file to a work order.
func (s *Server) AddWorkOrderAttachment(id, filename, contentType string, content []byte, comments string) (Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, ok := s.st.WorkOrders[id]
	if !ok {
		return Attachment{}, staffErr(http.StatusNotFound, "work order %s not found", id)
	}
	a, e := s.addAttachmentLocked(Attachment{WorkOrderId: wo.WorkOrderId, WorkOrderSid: wo.WorkOrderSid, Comments: comments},
		&filePart{name: filename, contentType: contentType, content: content}, filename, "")
	if e != nil {
		return Attachment{}, fromAPI(e)
	}
	return *a, nil
}

// ---- templates ----

// Problems returns every problem template with its questions and answers.
func (s *Server) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Problem, 0, len(s.st.Problems))
	for _, sid := range s.st.problemIDs() {
		out = append(out, s.st.Problems[sid].clone())
	}
	return out
}

// PutProblem adds (ProblemSid 0) or replaces a problem template. Questions and Answers left
// nil keep the existing ones. DateModified becomes now (incremental template sync sees it).
func (s *Server) PutProblem(p Problem) (Problem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ProblemCode = strings.ToUpper(strings.TrimSpace(p.ProblemCode))
	if p.ProblemCode == "" || strings.TrimSpace(p.Description) == "" {
		return Problem{}, staffErr(http.StatusBadRequest, "ProblemCode and Description are required")
	}
	for sid, other := range s.st.Problems {
		if sid != p.ProblemSid && other.ProblemCode == p.ProblemCode {
			return Problem{}, staffErr(http.StatusConflict, "problem code %s is taken by %d", p.ProblemCode, sid)
		}
	}
	if p.ProblemSid == 0 {
		s.st.NextProblem++
		p.ProblemSid = s.st.NextProblem
	} else if old, ok := s.st.Problems[p.ProblemSid]; !ok {
		return Problem{}, staffErr(http.StatusNotFound, "problem %d not found", p.ProblemSid)
	} else if p.Questions == nil && p.Answers == nil {
		p.Questions, p.Answers, p.BranchingModel = old.Questions, old.Answers, old.BranchingModel
	}
	if p.DomainId == 0 {
		p.DomainId = 1
	}
	for i := range p.Questions {
		p.Questions[i].ProblemSid = p.ProblemSid
	}
	p.DateModified = s.now()
	stored := p.clone()
	s.st.Problems[p.ProblemSid] = &stored
	return stored.clone(), nil
}

// QuestionInput is a question staff add to a problem. Format "THISTEXT" takes the fixed
// Answers; any other format (default "TEXT") is one free-text answer.
type QuestionInput struct {
	Question string
	Format   string
	Answers  []string
}

// AddQuestion appends a question (and its answers) to a problem.
func (s *Server) AddQuestion(problemSid int, in QuestionInput) (Problem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.st.Problems[problemSid]
	if !ok {
		return Problem{}, staffErr(http.StatusNotFound, "problem %d not found", problemSid)
	}
	if strings.TrimSpace(in.Question) == "" {
		return Problem{}, staffErr(http.StatusBadRequest, "Question is required")
	}
	format := strings.ToUpper(strings.TrimSpace(in.Format))
	if format == "" {
		format = "TEXT"
	}
	answers := slices.DeleteFunc(slices.Clone(in.Answers), func(a string) bool { return strings.TrimSpace(a) == "" })
	if format == "THISTEXT" && len(answers) == 0 {
		return Problem{}, staffErr(http.StatusBadRequest, "a THISTEXT question needs answers")
	}
	if format != "THISTEXT" {
		answers = []string{""}
	}
	s.st.NextQA++
	q := Question{QuestionId: s.st.NextQA, ProblemSid: problemSid, Question: in.Question, QuestionSequence: len(p.Questions) + 1}
	p.Questions = append(p.Questions, q)
	for i, a := range answers {
		s.st.NextQA++
		p.Answers = append(p.Answers, Answer{AnswerId: s.st.NextQA, QuestionId: q.QuestionId, Answer: strings.TrimSpace(a),
			AnswerFormat: format, AnswerSequence: i + 1})
	}
	p.DateModified = s.now()
	return p.clone(), nil
}

// DeleteQuestion removes a question, its answers and branches pointing at it.
func (s *Server) DeleteQuestion(problemSid, questionID int) (Problem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.st.Problems[problemSid]
	if !ok {
		return Problem{}, staffErr(http.StatusNotFound, "problem %d not found", problemSid)
	}
	n := len(p.Questions)
	p.Questions = slices.DeleteFunc(p.Questions, func(q Question) bool { return q.QuestionId == questionID })
	if len(p.Questions) == n {
		return Problem{}, staffErr(http.StatusNotFound, "question %d not found", questionID)
	}
	p.Answers = slices.DeleteFunc(p.Answers, func(a Answer) bool { return a.QuestionId == questionID })
	for i := range p.Answers {
		if p.Answers[i].NextQuestionId == questionID {
			p.Answers[i].NextQuestionId = 0
		}
	}
	p.DateModified = s.now()
	return p.clone(), nil
}

// WOTemplates returns every work-order template.
func (s *Server) WOTemplates() []WOTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WOTemplate, 0, len(s.st.WOTemplates))
	for _, t := range s.st.WOTemplates {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b WOTemplate) int { return idCompare(a.WOTemplateId, b.WOTemplateId) })
	return out
}

// PutWOTemplate adds (empty WOTemplateId: the next number) or replaces a work-order template.
func (s *Server) PutWOTemplate(t WOTemplate) (WOTemplate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ApplyToEntity = strings.ToUpper(strings.TrimSpace(t.ApplyToEntity))
	if strings.TrimSpace(t.Description) == "" || t.ApplyToEntity == "" {
		return WOTemplate{}, staffErr(http.StatusBadRequest, "Description and ApplyToEntity are required")
	}
	if t.WOTemplateId == "" {
		next := 1000
		for id := range s.st.WOTemplates {
			if n, err := strconv.Atoi(id); err == nil && n > next {
				next = n
			}
		}
		t.WOTemplateId = strconv.Itoa(next + 1)
	}
	if t.DomainId == 0 {
		t.DomainId = 1
	}
	stored := t
	s.st.WOTemplates[t.WOTemplateId] = &stored
	return t, nil
}

// Statuses returns the service-request status vocabulary.
func (s *Server) Statuses() []StatusCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.Statuses)
}
