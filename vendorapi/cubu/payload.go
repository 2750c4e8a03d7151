package cubu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
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

// ---- value types ----

// Fields are the case's form answers: field type id → value. Cubu documents string values;
// numbers and booleans are kept as their JSON text and nested values as compact JSON, so a
// new field kind never makes a hook unreadable. A null value is left out.
type Fields map[string]string

// UnmarshalJSON implements the leniency described on Fields.
func (f *Fields) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && string(t) != "null" {
		return fmt.Errorf("fields: want an object of field type id → value, got %s", jsonKind(t))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	if raw == nil {
		*f = nil
		return nil
	}
	out := make(Fields, len(raw))
	for k, v := range raw {
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			out[k] = s
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				return err
			}
			out[k] = buf.String()
		}
	}
	*f = out
	return nil
}

// Date is a calendar date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether the date was absent (JSON null or missing).
func (d Date) IsZero() bool { return d == Date{} }

// String renders YYYY-MM-DD ("" for the zero date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// MarshalJSON writes "YYYY-MM-DD" or null.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD"; a .NET DateTime ("2024-12-16T00:00:00") keeps its date part.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*d = Date{}
		return err
	}
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q is not YYYY-MM-DD", truncate(s, 40))
	}
	*d = Date{t.Year(), t.Month(), t.Day()}
	return nil
}

// LocalDateTime is a wall-clock time with no zone ("2024-12-16T09:30:00"). Clock holds the
// wall-clock fields in UTC and is not an instant; use In with the appointment's zone.
type LocalDateTime struct {
	Clock time.Time
}

// IsZero reports whether the time was absent.
func (l LocalDateTime) IsZero() bool { return l.Clock.IsZero() }

// In interprets the wall clock in loc.
func (l LocalDateTime) In(loc *time.Location) time.Time {
	c := l.Clock
	return time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc)
}

// MarshalJSON writes the wall clock without a zone, or null.
func (l LocalDateTime) MarshalJSON() ([]byte, error) {
	if l.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(l.Clock.Format("2006-01-02T15:04:05.999999999"))
}

// UnmarshalJSON reads a wall clock; an offset, if Cubu sends one, is dropped (the wall clock
// is what the customer was told).
func (l *LocalDateTime) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*l = LocalDateTime{}
		return err
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		*l = LocalDateTime{Clock: t}
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*l = LocalDateTime{Clock: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)}
		return nil
	}
	return fmt.Errorf("local time %q is not YYYY-MM-DDThh:mm:ss", truncate(s, 40))
}

// UTCTime is an instant. A value without a zone designator (a .NET DateTime of unspecified
// kind) is read as UTC, as the field name promises.
type UTCTime struct {
	time.Time
}

// MarshalJSON writes RFC 3339 in UTC, or null.
func (u UTCTime) MarshalJSON() ([]byte, error) {
	if u.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(u.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements the rule described on UTCTime.
func (u *UTCTime) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*u = UTCTime{}
		return err
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*u = UTCTime{t.UTC()}
		return nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		*u = UTCTime{t}
		return nil
	}
	return fmt.Errorf("UTC time %q is not RFC 3339", truncate(s, 40))
}

// jsonString decodes a JSON string or null; the error names only the kind of value found.
func jsonString(b []byte) (s string, null bool, err error) {
	if string(b) == "null" {
		return "", true, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false, fmt.Errorf("date or time: want a string, got %s", jsonKind(b))
	}
	return s, false, nil
}

// jsonKind names the kind of a JSON value for error messages (never the value itself).
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
