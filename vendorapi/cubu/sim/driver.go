package sim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Cubu S2S error codes (409).
const (
	ErrorInvalidStatus         = 1001
	ErrorLockedByAnotherUser   = 1002
	ErrorAssignedToAnotherUser = 1004
)

// ActionError is a refused action. Before is set when a before-hook blocked it.
type ActionError struct {
	Status    int          `json:"-"`
	ErrorCode int          `json:"errorCode,omitempty"`
	Message   string       `json:"message"`
	Before    *HookOutcome `json:"before,omitempty"`
}

func (e *ActionError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

func actionErr(status, code int, format string, a ...any) *ActionError {
	return &ActionError{Status: status, ErrorCode: code, Message: fmt.Sprintf(format, a...)}
}

// origin is who acts: an agent at the desk, the S2S API, or a kiosk (the customer).
type origin int

const (
	viaAgent origin = iota
	viaS2S
	viaKiosk
)

// NewCase describes a case to queue up (walk-in) or book (appointment).
type NewCase struct {
	ServiceID              string            `json:"serviceId"`     // default: the first service
	ServiceTypeID          string            `json:"serviceTypeId"` // default: the service's first type
	Channel                string            `json:"channel"`       // default FaceToFace
	Language               string            `json:"language"`      // default "en"
	Fields                 map[string]string `json:"fields"`
	TagIDs                 []string          `json:"tagIds"`
	ParentCaseID           string            `json:"parentCaseId"`
	CustomerRecordID       string            `json:"customerRecordId"`
	UseCustomerContactInfo bool              `json:"useCustomerContactInfo"`
	ContactEmail           string            `json:"contactEmail"`
	ContactPhoneNumber     string            `json:"contactPhoneNumber"`
	// Agent is the agent creating the case at the desk; empty means a kiosk.
	Agent string `json:"agent"`
	// Appointment is used by BookAppointment (default: tomorrow 09:30 for 30 minutes in
	// America/New_York).
	Appointment *Appointment `json:"appointment"`

	by origin
}

// Delivery is one webhook POST the simulator made.
type Delivery struct {
	Seq      int       `json:"seq"`
	At       time.Time `json:"at"`
	Hook     string    `json:"hook"`
	URL      string    `json:"url"`
	CaseID   string    `json:"caseId"`
	Copy     int       `json:"copy,omitempty"`     // 1.. for duplicate deliveries
	ReplayOf int       `json:"replayOf,omitempty"` // seq of the delivery this one repeats
	// Signing is "valid", "bad" (wrong secret) or "none" (no header: unsigned fault or
	// Authorization None).
	Signing       string `json:"signing"`
	Authorization string `json:"authorization,omitempty"`
	Body          string `json:"body"`
	Status        int    `json:"status"` // 0 when no answer
	Answer        string `json:"answer,omitempty"`
	Error         string `json:"error,omitempty"`
	DurationMs    int64  `json:"durationMs"`
}

// HookOutcome is a before-hook delivery and what Cubu made of the answer.
type HookOutcome struct {
	Delivery
	Allowed bool `json:"allowed"`
	// Message is the answer's message, shown to the agent.
	Message string `json:"message,omitempty"`
	// Reason says why the action was allowed or blocked.
	Reason string `json:"reason"`
}

// QueueUp queues up a walk-in (status Waiting) after beforeQueueUp allows it; afterQueueUp follows.
func (s *Server) QueueUp(nc NewCase) (Case, error) {
	if nc.by == viaAgent && nc.Agent == "" {
		nc.by = viaKiosk
	}
	nc.Appointment = nil
	return s.create(nc, HookBeforeQueueUp, HookAfterQueueUp, StatusWaiting, "queue up")
}

// BookAppointment books an appointment (status Pending) after beforeBookAppointment allows it.
func (s *Server) BookAppointment(nc NewCase) (Case, error) {
	if nc.by == viaAgent && nc.Agent == "" {
		nc.by = viaKiosk
	}
	if nc.Appointment == nil {
		day := s.now().Add(24 * time.Hour).Format(time.DateOnly)
		nc.Appointment = &Appointment{Date: day, Start: 9*60 + 30, Duration: 30, TimeZoneID: timeZoneDefault}
	}
	a := *nc.Appointment
	if _, err := time.Parse(time.DateOnly, a.Date); err != nil {
		return Case{}, actionErr(http.StatusUnprocessableEntity, 0, "appointment.date %q is not YYYY-MM-DD", a.Date)
	}
	if a.TimeZoneID == "" {
		a.TimeZoneID = timeZoneDefault
	}
	if a.Duration <= 0 {
		a.Duration = 30
	}
	if a.Start < 0 || a.Start >= 24*60 {
		return Case{}, actionErr(http.StatusUnprocessableEntity, 0, "appointment.start must be minutes past midnight (0-1439)")
	}
	nc.Appointment = &a
	return s.create(nc, HookBeforeBookAppointment, HookAfterBookAppointment, StatusPending, "book appointment")
}

func (s *Server) create(nc NewCase, before, after, status, action string) (Case, error) {
	s.mu.Lock()
	var sv Service
	var ok bool
	if nc.ServiceID == "" {
		sv, ok = s.opts.Services[0], true
	} else {
		sv, ok = s.service(nc.ServiceID)
	}
	if !ok {
		s.mu.Unlock()
		return Case{}, actionErr(http.StatusNotFound, 0, "service %q not found", nc.ServiceID)
	}
	if nc.ServiceTypeID == "" && len(sv.Types) > 0 {
		nc.ServiceTypeID = sv.Types[0].ID
	}
	if !slices.ContainsFunc(sv.Types, func(t ServiceType) bool { return strings.EqualFold(t.ID, nc.ServiceTypeID) }) {
		s.mu.Unlock()
		return Case{}, actionErr(http.StatusBadRequest, 0, "service type %q does not belong to service %s", nc.ServiceTypeID, sv.ID)
	}
	if nc.Channel == "" {
		nc.Channel = "FaceToFace"
	}
	if !slices.Contains([]string{"FaceToFace", "Video", "Phone"}, nc.Channel) {
		s.mu.Unlock()
		return Case{}, actionErr(http.StatusBadRequest, 0, "channel must be FaceToFace, Video or Phone")
	}
	if nc.Agent != "" {
		if _, ok := s.agent(nc.Agent); !ok {
			s.mu.Unlock()
			return Case{}, actionErr(http.StatusNotFound, 0, "agent %q not found", nc.Agent)
		}
	}
	if nc.Language == "" {
		nc.Language = "en"
	}
	now := s.now()
	s.tickets[sv.ID]++
	ref := now.Format(time.DateOnly)
	if nc.Appointment != nil {
		ref = nc.Appointment.Date
	}
	draft := &Case{
		ID: s.guidLocked(), ParentCaseID: nc.ParentCaseID, ReferenceDate: ref, UnitID: sv.UnitID,
		ServiceID: sv.ID, ServiceCategoryID: sv.CategoryID, ServiceTypeID: nc.ServiceTypeID, Status: "New",
		Channel: nc.Channel, Language: nc.Language, Ticket: Ticket{Prefix: sv.TicketPrefix, Number: 100 + s.tickets[sv.ID]},
		Fields: maps.Clone(nc.Fields), TagIDs: slices.Clone(nc.TagIDs), CustomerRecordID: nc.CustomerRecordID,
		UseCustomerContactInfo: nc.UseCustomerContactInfo, ContactEmail: nc.ContactEmail,
		ContactPhoneNumber: nc.ContactPhoneNumber, Appointment: nc.Appointment, CreatedAt: now, UpdatedAt: now,
	}
	if draft.Fields == nil {
		draft.Fields = map[string]string{}
	}
	s.mu.Unlock()
	by := nc.by
	return s.act("", draft, step{action: action, before: before, after: after, agent: nc.Agent, via: by,
		apply: func(c *Case) { c.Status = status }})
}

// CheckIn checks in the customer of a booked appointment (Pending → Waiting).
func (s *Server) CheckIn(caseID, agent string) (Case, error) {
	via := viaAgent
	if agent == "" {
		via = viaKiosk
	}
	return s.act(caseID, nil, step{action: "check in", before: HookBeforeCheckIn, after: HookAfterCheckIn, agent: agent, via: via,
		check: func(c *Case) *ActionError {
			if c.Appointment == nil || c.Status != StatusPending {
				return actionErr(http.StatusConflict, ErrorInvalidStatus, "only a booked appointment (Pending) can check in; case is %s", c.Status)
			}
			return nil
		},
		apply: func(c *Case) { c.Status = StatusWaiting }})
}

// StartWork: agent starts serving the case (Waiting or Pending → Active, locked by agent).
// Cubu sends no before-hook for it.
func (s *Server) StartWork(caseID, agent string) (Case, error) {
	return s.act(caseID, nil, step{action: "start work", after: HookAfterStartWork, agent: agent, via: viaAgent, needAgent: true,
		check: func(c *Case) *ActionError {
			if c.Status != StatusWaiting && c.Status != StatusPending {
				return actionErr(http.StatusConflict, ErrorInvalidStatus, "case is %s; work starts on Waiting or Pending cases", c.Status)
			}
			if c.AssignedTo != "" && !strings.EqualFold(c.AssignedTo, agent) {
				return actionErr(http.StatusConflict, ErrorAssignedToAnotherUser, "case is assigned to another user")
			}
			return nil
		},
		apply: func(c *Case) { c.Status, c.LockedBy = StatusActive, agent }})
}

// Resolve resolves the case as agent at the desk (beforeResolve can block it).
func (s *Server) Resolve(caseID, agent string) (Case, error) {
	return s.resolve(caseID, agent, viaAgent)
}

func (s *Server) resolve(caseID, agent string, via origin) (Case, error) {
	return s.act(caseID, nil, step{action: "resolve", before: HookBeforeResolve, after: HookAfterResolve, agent: agent, via: via, needAgent: true,
		check: func(c *Case) *ActionError {
			switch {
			case c.Status != StatusActive && c.Status != StatusPending && c.Status != StatusWaiting:
				return actionErr(http.StatusConflict, ErrorInvalidStatus, "Invalid case status %s: the case must be Active, Pending or Waiting", c.Status)
			case c.LockedBy != "" && c.Status == StatusActive && !strings.EqualFold(c.LockedBy, agent):
				return actionErr(http.StatusConflict, ErrorLockedByAnotherUser, "The case is locked by another user")
			case c.AssignedTo != "" && !strings.EqualFold(c.AssignedTo, agent):
				return actionErr(http.StatusConflict, ErrorAssignedToAnotherUser, "The case is assigned to another user")
			}
			return nil
		},
		apply: func(c *Case) {
			if c.Status != StatusActive {
				c.LockedBy = "" // resolved while Pending/Waiting: nobody was serving it
			}
			c.Status = StatusResolved
			s.stats.Resolves++
		}})
}

// CloseCase closes the case (any status but Closed).
func (s *Server) CloseCase(caseID, agent string) (Case, error) {
	return s.act(caseID, nil, step{action: "close", after: HookAfterClose, agent: agent, via: viaAgent,
		check: func(c *Case) *ActionError {
			if c.Status == StatusClosed {
				return actionErr(http.StatusConflict, ErrorInvalidStatus, "case is already Closed")
			}
			return nil
		},
		apply: func(c *Case) { c.Status = StatusClosed }})
}

// SetFields is the agent editing form answers (merged; "" clears a value). No hook.
func (s *Server) SetFields(caseID string, fields map[string]string) (Case, error) {
	return s.act(caseID, nil, step{action: "edit fields", apply: func(c *Case) {
		for k, v := range fields {
			if v == "" {
				delete(c.Fields, k)
			} else {
				c.Fields[k] = v
			}
		}
	}})
}

// Assign assigns the case to agent ("" unassigns). No hook.
func (s *Server) Assign(caseID, agent string) (Case, error) {
	if agent != "" {
		if _, ok := s.agent(agent); !ok {
			return Case{}, actionErr(http.StatusNotFound, 0, "agent %q not found", agent)
		}
	}
	return s.act(caseID, nil, step{action: "assign", apply: func(c *Case) { c.AssignedTo = agent }})
}

// step is one case action: precondition, optional before-hook, change, optional after-hook.
type step struct {
	action, before, after string
	agent                 string
	via                   origin
	needAgent             bool
	check                 func(*Case) *ActionError
	apply                 func(*Case)
}

// act runs st on the stored case id, or on draft (a case being created, stored only if the
// before-hook allows it).
func (s *Server) act(id string, draft *Case, st step) (Case, error) {
	if st.needAgent {
		if _, ok := s.agent(st.agent); !ok {
			return Case{}, actionErr(http.StatusNotFound, 0, "user %q not found", st.agent)
		}
	}
	trigger := st.agent
	if st.via != viaAgent {
		trigger = ""
	}
	s.mu.Lock()
	c, err := s.target(id, draft, st)
	if err != nil {
		s.mu.Unlock()
		return Case{}, err
	}
	if st.before != "" && s.opts.HookBaseURL != "" && st.via != viaS2S {
		d := s.prepareLocked(st.before, c.ID, s.payloadLocked(st.before, c, trigger))
		s.mu.Unlock()
		out := s.sendBefore(d)
		s.mu.Lock()
		if c, err = s.target(id, draft, st); err != nil { // it may have changed meanwhile
			s.mu.Unlock()
			return Case{}, err
		}
		c.LastBefore = &out
		if !out.Allowed {
			s.stats.BeforeHooksBlocked++
			if out.Message != "" && draft == nil {
				c.Notes = append(c.Notes, Note{At: s.now(), Source: st.before, Text: out.Message})
			}
			s.mu.Unlock()
			msg := out.Message
			if msg == "" {
				msg = out.Reason
			}
			return Case{}, &ActionError{Status: http.StatusConflict, Message: st.action + " blocked by " + st.before + ": " + msg, Before: &out}
		}
		s.stats.BeforeHooksAllowed++
		s.applyAnswerLocked(c, st.before, out)
	}
	if draft != nil {
		s.cases[c.ID] = c
		s.order = append(s.order, c.ID)
	}
	st.apply(c)
	c.UpdatedAt = s.now()
	by := st.agent
	switch st.via {
	case viaS2S:
		by = "s2s"
	case viaKiosk:
		by = "customer"
	}
	c.History = append(c.History, Event{At: c.UpdatedAt, Action: st.action, By: by, Status: c.Status})
	if st.after != "" && s.opts.HookBaseURL != "" {
		d := s.prepareLocked(st.after, c.ID, s.payloadLocked(st.after, c, trigger))
		for n := range 1 + s.faults.HookDuplicates {
			dc := d
			if n > 0 {
				s.seq++
				dc.Seq, dc.Copy = s.seq, n
			}
			s.hooks.Add(1)
			go s.sendAfter(dc)
		}
	}
	out := c.clone()
	s.mu.Unlock()
	return out, nil
}

// target finds the case an action applies to and checks the precondition.
func (s *Server) target(id string, draft *Case, st step) (*Case, *ActionError) {
	c := draft
	if c == nil {
		c = s.cases[strings.ToLower(id)]
		if c == nil {
			return nil, actionErr(http.StatusNotFound, 0, "case %q not found", id)
		}
	}
	if st.check != nil {
		if e := st.check(c); e != nil {
			return nil, e
		}
	}
	return c, nil
}

// beforeAnswer is what Cubu reads from a before-hook answer.
type beforeAnswer struct {
	Fields           map[string]*string `json:"fields"`
	TagIDs           *[]string          `json:"tagIds"`
	CustomerRecordID json.RawMessage    `json:"customerRecordId"`
	ServiceTypeID    string             `json:"serviceTypeId"`
	Channel          string             `json:"channel"`
	Cancel           bool               `json:"cancel"`
	Message          string             `json:"message"`
}

// judge decides what Cubu does with a before-hook answer: anything but a 2xx with an empty
// or JSON-object body and no cancel blocks the action.
func judge(d Delivery, timeout time.Duration) HookOutcome {
	out := HookOutcome{Delivery: d}
	switch {
	case d.Status == 0:
		out.Reason = fmt.Sprintf("no answer within %s (%s)", timeout, d.Error)
		return out
	case d.Status < 200 || d.Status > 299:
		out.Reason = fmt.Sprintf("webhook answered HTTP %d", d.Status)
		return out
	}
	if strings.TrimSpace(d.Answer) == "" {
		out.Allowed, out.Reason = true, "empty answer"
		return out
	}
	var a beforeAnswer
	if err := json.Unmarshal([]byte(d.Answer), &a); err != nil {
		out.Reason = "answer is not a JSON object: " + err.Error()
		return out
	}
	out.Message = a.Message
	if a.Cancel {
		out.Reason = "the webhook cancelled the action"
		return out
	}
	out.Allowed, out.Reason = true, "allowed"
	return out
}

// applyAnswerLocked applies an allowing answer's changes and records them.
func (s *Server) applyAnswerLocked(c *Case, hook string, out HookOutcome) {
	var a beforeAnswer
	if json.Unmarshal([]byte(out.Answer), &a) != nil {
		return
	}
	now := s.now()
	up := FieldUpdate{At: now, Source: hook}
	changed := false
	for k, v := range a.Fields {
		if up.Fields == nil {
			up.Fields = map[string]string{}
		}
		if v == nil || *v == "" {
			delete(c.Fields, k)
			up.Fields[k] = ""
		} else {
			c.Fields[k] = *v
			up.Fields[k] = *v
		}
		changed = true
	}
	if a.TagIDs != nil {
		c.TagIDs = slices.Clone(*a.TagIDs)
		up.TagIDs, changed = slices.Clone(*a.TagIDs), true
	}
	if len(a.CustomerRecordID) > 0 {
		var id *string
		if json.Unmarshal(a.CustomerRecordID, &id) == nil {
			c.CustomerRecordID = ""
			if id != nil {
				c.CustomerRecordID = *id
			}
			changed = true
		}
	}
	if a.ServiceTypeID != "" {
		c.ServiceTypeID, up.ServiceTypeID, changed = a.ServiceTypeID, a.ServiceTypeID, true
	}
	if a.Channel != "" {
		c.Channel, up.Channel, changed = a.Channel, a.Channel, true
	}
	if changed {
		c.FieldUpdates = append(c.FieldUpdates, up)
	}
	if a.Message != "" {
		c.Notes = append(c.Notes, Note{At: now, Source: hook, Text: a.Message})
	}
}
