package sim

import (
	"bytes"
	"encoding/json"
	"time"
)

// Hook names (canonical) and the URL segment Cubu documents for each.
const (
	HookAfterBookAppointment  = "afterBookAppointment"
	HookAfterCheckIn          = "afterCheckIn"
	HookAfterClose            = "afterClose"
	HookAfterQueueUp          = "afterQueueUp"
	HookAfterResolve          = "afterResolve"
	HookAfterStartWork        = "afterStartWork"
	HookBeforeBookAppointment = "beforeBookAppointment"
	HookBeforeCheckIn         = "beforeCheckIn"
	HookBeforeQueueUp         = "beforeQueueUp"
	HookBeforeResolve         = "beforeResolve"
)

// documentedSegment holds the two hooks Cubu posts under another name.
var documentedSegment = map[string]string{HookAfterStartWork: "startWork", HookBeforeResolve: "beforeResolved"}

func (s *Server) hookURL(hook string) string {
	seg := hook
	if d, ok := documentedSegment[hook]; ok && !s.opts.CanonicalPaths {
		seg = d
	}
	return s.opts.HookBaseURL + "/service/actions/" + seg
}

// Which optional groups each hook carries (contract, "per-hook differences").
func hasContact(hook string) bool {
	return hook != HookAfterBookAppointment && hook != HookBeforeBookAppointment
}
func hasTriggeredBy(hook string) bool { return hook != HookAfterStartWork }
func hasAppointment(hook string) bool {
	return hook != HookAfterQueueUp && hook != HookBeforeQueueUp
}

// object writes a JSON object with keys in insertion order, as Cubu's serializer does.
type object struct {
	buf bytes.Buffer
}

func (o *object) add(key string, v any) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	k, _ := json.Marshal(key)
	o.buf.Write(k)
	o.buf.WriteByte(':')
	if raw, ok := v.(json.RawMessage); ok {
		o.buf.Write(raw)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	o.buf.Write(b)
}

func (o *object) bytes() []byte {
	if o.buf.Len() == 0 {
		return []byte("{}")
	}
	return append(o.buf.Bytes(), '}')
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// payloadLocked renders the body of hook for c. trigger is the acting agent ("" when a kiosk
// or the S2S API acted).
func (s *Server) payloadLocked(hook string, c *Case, trigger string) []byte {
	var o object
	o.add("caseId", c.ID)
	o.add("parentCaseId", null(c.ParentCaseID))
	o.add("referenceDate", c.ReferenceDate)
	o.add("unitId", c.UnitID)
	o.add("serviceId", c.ServiceID)
	o.add("serviceCategoryId", c.ServiceCategoryID)
	o.add("serviceTypeId", c.ServiceTypeID)
	o.add("status", c.Status)
	o.add("channel", c.Channel)
	o.add("language", c.Language)
	var t object
	t.add("prefix", c.Ticket.Prefix)
	t.add("number", c.Ticket.Number)
	t.add("suffix", null(c.Ticket.Suffix))
	o.add("ticket", json.RawMessage(t.bytes()))
	fields := c.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	o.add("fields", fields)
	tags := c.TagIDs
	if tags == nil {
		tags = []string{}
	}
	o.add("tagIds", tags)
	o.add("customerRecordId", null(c.CustomerRecordID))
	if hasContact(hook) {
		o.add("useCustomerContactInfo", c.UseCustomerContactInfo)
		o.add("contactPhoneNumber", null(c.ContactPhoneNumber))
		o.add("contactEmail", null(c.ContactEmail))
	}
	if hasTriggeredBy(hook) {
		a, ok := s.agent(trigger)
		if ok {
			o.add("triggeredByUserId", a.ID)
			o.add("triggeredByUserEmail", a.Email)
		} else {
			o.add("triggeredByUserId", nil)
			o.add("triggeredByUserEmail", nil)
		}
	}
	if hasContact(hook) {
		o.add("lockedByUserId", null(c.LockedBy))
	}
	if hook == HookAfterStartWork {
		a, _ := s.agent(c.LockedBy)
		o.add("lockedByUserEmail", null(a.Email))
	}
	if hasAppointment(hook) {
		if c.Appointment == nil {
			o.add("appointment", nil)
		} else {
			o.add("appointment", json.RawMessage(appointmentJSON(c.Appointment)))
		}
	}
	if s.faults.HookExtraFields {
		o.add("caseTimestamp", timestamp(c.UpdatedAt))
		o.add("unitName", "Main office")
		o.add("decRelease2024B", map[string]any{"priority": 2, "flags": []string{"vip"}, "nested": map[string]any{"x": nil}})
	}
	return o.bytes()
}

// appointmentJSON renders an appointment with its derived local and UTC times.
func appointmentJSON(a *Appointment) []byte {
	loc, err := time.LoadLocation(a.TimeZoneID)
	if err != nil {
		loc = time.UTC
	}
	day, err := time.ParseInLocation(time.DateOnly, a.Date, loc)
	var local, utc any
	if err == nil {
		at := time.Date(day.Year(), day.Month(), day.Day(), a.Start/60, a.Start%60, 0, 0, loc)
		local = at.Format("2006-01-02T15:04:05")
		utc = at.UTC().Format("2006-01-02T15:04:05Z")
	}
	var o object
	o.add("date", a.Date)
	o.add("cuIndex", a.CUIndex)
	o.add("start", a.Start)
	o.add("timeLocal", local)
	o.add("timeUtc", utc)
	o.add("timeZoneId", a.TimeZoneID)
	o.add("duration", a.Duration)
	o.add("preventSelfCheckIn", a.PreventSelfCheckIn)
	return o.bytes()
}
