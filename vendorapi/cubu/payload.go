package cubu

import (
	"fmt"
	"strconv"
	"time"
)

// Payload is a parsed service webhook body. The concrete type is the hook's *…Payload struct;
// switch on it for the per-hook parts, or use ContactOf, TriggeredByOf and AppointmentOf.
type Payload interface {
	// Hook is the webhook the body was parsed for.
	Hook() Hook
	// CaseInfo is the part every hook carries.
	CaseInfo() *Case
}

// Case is what every service webhook says about the case. JSON nulls read as "" (ids) or nil
// (Fields, TagIDs); unknown JSON fields are ignored (Cubu adds fields per release).
type Case struct {
	CaseID            string   `json:"caseId"`       // GUID, lower case after Parse
	ParentCaseID      string   `json:"parentCaseId"` // only when applicable
	ReferenceDate     Date     `json:"referenceDate"`
	UnitID            string   `json:"unitId"`
	ServiceID         string   `json:"serviceId"`
	ServiceCategoryID string   `json:"serviceCategoryId"`
	ServiceTypeID     string   `json:"serviceTypeId"`
	Status            string   `json:"status"` // after hooks: target status; before hooks: current one
	Channel           Channel  `json:"channel"`
	Language          string   `json:"language"` // locale, e.g. "en"
	Ticket            Ticket   `json:"ticket"`
	Fields            Fields   `json:"fields"` // form answers by field type id
	TagIDs            []string `json:"tagIds"`
	CustomerRecordID  string   `json:"customerRecordId"`
}

// CaseInfo implements Payload for every struct that embeds Case.
func (c *Case) CaseInfo() *Case { return c }

// Contact is how to reach the customer. It is personal data: keep it out of Temporal history
// and logs. When UseCustomerContactInfo is set, the contact comes from the customer record
// (CustomerRecordID) and the two fields below may be empty.
type Contact struct {
	UseCustomerContactInfo bool   `json:"useCustomerContactInfo"`
	ContactPhoneNumber     string `json:"contactPhoneNumber"`
	ContactEmail           string `json:"contactEmail"`
}

// TriggeredBy is the Cubu user whose action fired the hook; both fields are empty when a
// kiosk or the S2S API triggered it.
type TriggeredBy struct {
	TriggeredByUserID    string `json:"triggeredByUserId"`
	TriggeredByUserEmail string `json:"triggeredByUserEmail"`
}

// LockedBy is the user serving an Active case; empty if the case was, e.g., resolved while
// Pending or Waiting.
type LockedBy struct {
	LockedByUserID string `json:"lockedByUserId"`
}

// Channel is how the customer is served.
type Channel string

// Channels of the contract (values from S2S Queue Up). Others are passed through unchanged.
const (
	ChannelFaceToFace Channel = "FaceToFace"
	ChannelVideo      Channel = "Video"
	ChannelPhone      Channel = "Phone"
)

// Ticket is the queue ticket shown to the customer, e.g. prefix "A", number 119 → "A119".
type Ticket struct {
	Prefix string `json:"prefix"`
	Number int    `json:"number"`
	Suffix string `json:"suffix"` // null reads as ""
}

// String renders the ticket as the customer sees it ("A119"); "" for a zero ticket.
func (t Ticket) String() string {
	if t == (Ticket{}) {
		return ""
	}
	return t.Prefix + strconv.Itoa(t.Number) + t.Suffix
}

// Appointment is a booked slot. Start and Duration are minutes (Start past local midnight of
// Date); TimeLocal is the wall clock in TimeZoneID, TimeUTC the same instant in UTC.
type Appointment struct {
	Date               Date          `json:"date"`
	CUIndex            int           `json:"cuIndex"`
	Start              int           `json:"start"`
	TimeLocal          LocalDateTime `json:"timeLocal"`
	TimeUTC            UTCTime       `json:"timeUtc"`
	TimeZoneID         string        `json:"timeZoneId"`
	Duration           int           `json:"duration"`
	PreventSelfCheckIn bool          `json:"preventSelfCheckIn"`
}

// StartsAt is the appointment's instant: TimeUTC when given, else the local wall clock (or
// Date + Start minutes) in TimeZoneID, which must then be an IANA zone name.
func (a *Appointment) StartsAt() (time.Time, error) {
	if !a.TimeUTC.IsZero() {
		return a.TimeUTC.Time, nil
	}
	loc, err := time.LoadLocation(a.TimeZoneID)
	if a.TimeZoneID == "" || err != nil {
		return time.Time{}, fmt.Errorf("cubu: appointment has no timeUtc and time zone %q is not a known IANA zone", a.TimeZoneID)
	}
	if !a.TimeLocal.IsZero() {
		return a.TimeLocal.In(loc), nil
	}
	if a.Date.IsZero() {
		return time.Time{}, fmt.Errorf("cubu: appointment has neither a time nor a date")
	}
	d := a.Date
	return time.Date(d.Year, d.Month, d.Day, 0, a.Start, 0, 0, loc), nil
}

// End is StartsAt plus Duration.
func (a *Appointment) End() (time.Time, error) {
	t, err := a.StartsAt()
	if err != nil {
		return t, err
	}
	return t.Add(time.Duration(a.Duration) * time.Minute), nil
}

// ---- per-hook payloads ----

// AfterBookAppointmentPayload: an appointment was booked. Booking hooks carry no contact and
// no lockedBy.
type AfterBookAppointmentPayload struct {
	Case
	TriggeredBy
	Appointment *Appointment `json:"appointment"`
}

// BeforeBookAppointmentPayload (synchronous): an appointment is about to be booked.
type BeforeBookAppointmentPayload struct {
	Case
	TriggeredBy
	Appointment *Appointment `json:"appointment"`
}

// AfterQueueUpPayload: a walk-in was queued up (no appointment).
type AfterQueueUpPayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
}

// BeforeQueueUpPayload (synchronous): a walk-in is about to be queued up.
type BeforeQueueUpPayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
}

// AfterCheckInPayload: a customer with an appointment checked in.
type AfterCheckInPayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
	Appointment *Appointment `json:"appointment"`
}

// BeforeCheckInPayload (synchronous): a customer is about to check in.
type BeforeCheckInPayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
	Appointment *Appointment `json:"appointment"`
}

// AfterStartWorkPayload: an agent started serving the case. It names the agent (lockedBy*)
// and has no triggeredBy* fields. Cubu posts it to ".../startWork".
type AfterStartWorkPayload struct {
	Case
	Contact
	LockedBy
	LockedByUserEmail string       `json:"lockedByUserEmail"`
	Appointment       *Appointment `json:"appointment"`
}

// AfterResolvePayload: the case was resolved.
type AfterResolvePayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
	Appointment *Appointment `json:"appointment"`
}

// BeforeResolvePayload (synchronous): the case is about to be resolved. Cubu posts it to
// ".../beforeResolved".
type BeforeResolvePayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
	Appointment *Appointment `json:"appointment"`
}

// AfterClosePayload: the case was closed.
type AfterClosePayload struct {
	Case
	Contact
	TriggeredBy
	LockedBy
	Appointment *Appointment `json:"appointment"`
}

func (*AfterBookAppointmentPayload) Hook() Hook  { return AfterBookAppointment }
func (*BeforeBookAppointmentPayload) Hook() Hook { return BeforeBookAppointment }
func (*AfterQueueUpPayload) Hook() Hook          { return AfterQueueUp }
func (*BeforeQueueUpPayload) Hook() Hook         { return BeforeQueueUp }
func (*AfterCheckInPayload) Hook() Hook          { return AfterCheckIn }
func (*BeforeCheckInPayload) Hook() Hook         { return BeforeCheckIn }
func (*AfterStartWorkPayload) Hook() Hook        { return AfterStartWork }
func (*AfterResolvePayload) Hook() Hook          { return AfterResolve }
func (*BeforeResolvePayload) Hook() Hook         { return BeforeResolve }
func (*AfterClosePayload) Hook() Hook            { return AfterClose }

// newPayload returns an empty payload of h's type.
func newPayload(h Hook) Payload {
	switch h {
	case AfterBookAppointment:
		return &AfterBookAppointmentPayload{}
	case BeforeBookAppointment:
		return &BeforeBookAppointmentPayload{}
	case AfterQueueUp:
		return &AfterQueueUpPayload{}
	case BeforeQueueUp:
		return &BeforeQueueUpPayload{}
	case AfterCheckIn:
		return &AfterCheckInPayload{}
	case BeforeCheckIn:
		return &BeforeCheckInPayload{}
	case AfterStartWork:
		return &AfterStartWorkPayload{}
	case AfterResolve:
		return &AfterResolvePayload{}
	case BeforeResolve:
		return &BeforeResolvePayload{}
	case AfterClose:
		return &AfterClosePayload{}
	}
	return nil
}

// ContactOf returns the contact part of p, or nil for hooks without one (booking hooks).
func ContactOf(p Payload) *Contact {
	switch v := p.(type) {
	case *AfterQueueUpPayload:
		return &v.Contact
	case *BeforeQueueUpPayload:
		return &v.Contact
	case *AfterCheckInPayload:
		return &v.Contact
	case *BeforeCheckInPayload:
		return &v.Contact
	case *AfterStartWorkPayload:
		return &v.Contact
	case *AfterResolvePayload:
		return &v.Contact
	case *BeforeResolvePayload:
		return &v.Contact
	case *AfterClosePayload:
		return &v.Contact
	}
	return nil
}

// TriggeredByOf returns who triggered p, or nil for afterStartWork (see LockedByOf).
func TriggeredByOf(p Payload) *TriggeredBy {
	switch v := p.(type) {
	case *AfterBookAppointmentPayload:
		return &v.TriggeredBy
	case *BeforeBookAppointmentPayload:
		return &v.TriggeredBy
	case *AfterQueueUpPayload:
		return &v.TriggeredBy
	case *BeforeQueueUpPayload:
		return &v.TriggeredBy
	case *AfterCheckInPayload:
		return &v.TriggeredBy
	case *BeforeCheckInPayload:
		return &v.TriggeredBy
	case *AfterResolvePayload:
		return &v.TriggeredBy
	case *BeforeResolvePayload:
		return &v.TriggeredBy
	case *AfterClosePayload:
		return &v.TriggeredBy
	}
	return nil
}

// LockedByOf returns the id of the user serving the case ("" when none or not carried).
func LockedByOf(p Payload) string {
	switch v := p.(type) {
	case *AfterQueueUpPayload:
		return v.LockedByUserID
	case *BeforeQueueUpPayload:
		return v.LockedByUserID
	case *AfterCheckInPayload:
		return v.LockedByUserID
	case *BeforeCheckInPayload:
		return v.LockedByUserID
	case *AfterStartWorkPayload:
		return v.LockedByUserID
	case *AfterResolvePayload:
		return v.LockedByUserID
	case *BeforeResolvePayload:
		return v.LockedByUserID
	case *AfterClosePayload:
		return v.LockedByUserID
	}
	return ""
}

// AppointmentOf returns p's appointment, or nil (walk-ins, queue-up hooks, JSON null).
func AppointmentOf(p Payload) *Appointment {
	switch v := p.(type) {
	case *AfterBookAppointmentPayload:
		return v.Appointment
	case *BeforeBookAppointmentPayload:
		return v.Appointment
	case *AfterCheckInPayload:
		return v.Appointment
	case *BeforeCheckInPayload:
		return v.Appointment
	case *AfterStartWorkPayload:
		return v.Appointment
	case *AfterResolvePayload:
		return v.Appointment
	case *BeforeResolvePayload:
		return v.Appointment
	case *AfterClosePayload:
		return v.Appointment
	}
	return nil
}
