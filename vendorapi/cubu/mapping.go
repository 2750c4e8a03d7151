package cubu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldMapping says where a connection's Cubu forms keep what a work system needs. Values are
// Cubu field type ids (the keys of Case.Fields); every one is optional.
//
// Where each Cubu value goes in NewRequest:
//
//	caseId                                   → ExternalID
//	fields[Title]                            → Title (else the description's first line, else "Cubu ticket A119")
//	fields[Description]                      → Description (else "Cubu ticket A119: no description given")
//	fields[RequestType], RequestTypes[serviceTypeId], RequestTypes[serviceId], DefaultRequestType
//	                                         → RequestType (first non-empty)
//	fields[Address], fields[Lat], fields[Lng] → Location
//	fields[RequesterName]                    → Requester.Name (else "Cubu customer A119")
//	contactEmail, contactPhoneNumber         → Requester.Email, Requester.Phone
//	every other field                        → Answers[Labels[id] or id]
//	ticket, serviceId, serviceTypeId, unitId, customerRecordId → the fields of the same name
type FieldMapping struct {
	Title         string `json:"title,omitempty"`
	Description   string `json:"description,omitempty"`
	Address       string `json:"address,omitempty"`
	Lat           string `json:"lat,omitempty"`
	Lng           string `json:"lng,omitempty"`
	RequesterName string `json:"requesterName,omitempty"`
	RequestType   string `json:"requestType,omitempty"`
	// RequestTypes maps a serviceTypeId or serviceId to the work system's request type.
	RequestTypes       map[string]string `json:"requestTypes,omitempty"`
	DefaultRequestType string            `json:"defaultRequestType,omitempty"`
	// Labels names fields (field type id → question text) in Answers and in agent messages.
	Labels map[string]string `json:"labels,omitempty"`
}

// Neutral field names, as used by Decide's required list ("answers.<label or id>" too).
const (
	FieldTitle          = "title"
	FieldDescription    = "description"
	FieldRequestType    = "requestType"
	FieldAddress        = "location.address"
	FieldLat            = "location.lat"
	FieldLng            = "location.lng"
	FieldRequesterName  = "requester.name"
	FieldRequesterEmail = "requester.email"
	FieldRequesterPhone = "requester.phone"
	answersPrefix       = "answers."
)

var neutralFields = []string{FieldTitle, FieldDescription, FieldRequestType, FieldAddress, FieldLat,
	FieldLng, FieldRequesterName, FieldRequesterEmail, FieldRequesterPhone}

// MaxTitle bounds a title derived from the description (in runes).
const MaxTitle = 80

// Location is where the work is needed.
type Location struct {
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lng     *float64 `json:"lng,omitempty"`
}

// Person is the requester. Email and Phone are personal data.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// NewRequest is a Cubu case in vendor-neutral form, ready to become a ticket.
type NewRequest struct {
	ExternalID  string            `json:"externalId"` // the case id
	Title       string            `json:"title"`
	Description string            `json:"description"`
	RequestType string            `json:"requestType"`
	Location    Location          `json:"location"`
	Requester   Person            `json:"requester"`
	Answers     map[string]string `json:"answers,omitempty"`

	// Context that is not part of the ticket body but useful in its timeline.
	Ticket           string `json:"ticket,omitempty"` // "A119"
	ServiceID        string `json:"serviceId,omitempty"`
	ServiceTypeID    string `json:"serviceTypeId,omitempty"`
	UnitID           string `json:"unitId,omitempty"`
	CustomerRecordID string `json:"customerRecordId,omitempty"`
	// ContactFromCustomerRecord: Cubu says the contact lives in the customer record, which the
	// S2S API can read; Requester.Email/Phone are then whatever the hook carried (often empty).
	ContactFromCustomerRecord bool `json:"contactFromCustomerRecord,omitempty"`
	// Defaulted lists the neutral fields filled by a fallback rather than from the case.
	Defaulted []string `json:"defaulted,omitempty"`
	// Warnings are values that could not be used (e.g. a latitude that is not a number).
	Warnings []string `json:"warnings,omitempty"`
}

// MappingError is a case that cannot become a request at all.
type MappingError struct {
	CaseID string
	Reason string
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("cubu: case %s cannot be mapped: %s", e.CaseID, e.Reason)
}

// ToNewRequest maps a case (normally afterResolve or afterQueueUp, per the connection's
// createOn) to a NewRequest. It fails only when no request type can be found: a request without
// one would be rejected by every work system, so it is better named here.
func ToNewRequest(p Payload, m FieldMapping) (NewRequest, error) {
	c := p.CaseInfo()
	v := m.extract(p)
	label := ticketLabel(c)
	r := NewRequest{
		ExternalID:       c.CaseID,
		Title:            v.values[FieldTitle],
		Description:      v.values[FieldDescription],
		RequestType:      v.values[FieldRequestType],
		Location:         Location{Address: v.values[FieldAddress], Lat: v.lat, Lng: v.lng},
		Requester:        Person{Name: v.values[FieldRequesterName], Email: v.values[FieldRequesterEmail], Phone: v.values[FieldRequesterPhone]},
		Answers:          v.answers,
		Ticket:           c.Ticket.String(),
		ServiceID:        c.ServiceID,
		ServiceTypeID:    c.ServiceTypeID,
		UnitID:           c.UnitID,
		CustomerRecordID: c.CustomerRecordID,
		Warnings:         v.warnings,
	}
	if ct := ContactOf(p); ct != nil && ct.UseCustomerContactInfo {
		r.ContactFromCustomerRecord = true
	}
	if r.RequestType == "" {
		return NewRequest{}, &MappingError{CaseID: c.CaseID, Reason: fmt.Sprintf(
			"no request type for service type %q / service %q (set requestTypes or defaultRequestType)", c.ServiceTypeID, c.ServiceID)}
	}
	if r.Title == "" {
		r.Defaulted = append(r.Defaulted, FieldTitle)
		if line := firstLine(r.Description); line != "" {
			r.Title = clip(line, MaxTitle)
		} else {
			r.Title = "Cubu " + label
		}
	}
	if r.Description == "" {
		r.Defaulted = append(r.Defaulted, FieldDescription)
		r.Description = "Cubu " + label + ": no description given"
	}
	if r.Requester.Name == "" {
		r.Defaulted = append(r.Defaulted, FieldRequesterName)
		r.Requester.Name = "Cubu customer " + strings.TrimPrefix(label, "ticket ")
	}
	return r, nil
}

// ticketLabel names the case for people: "ticket A119", or "case 3f2a9c1e" without a ticket.
func ticketLabel(c *Case) string {
	if t := c.Ticket.String(); t != "" {
		return "ticket " + t
	}
	id := c.CaseID
	if len(id) > 8 {
		id = id[:8]
	}
	return "case " + id
}

// extracted holds what the case actually provides (no fallbacks), by neutral name.
type extracted struct {
	values   map[string]string
	lat, lng *float64
	answers  map[string]string
	warnings []string
}

func (m FieldMapping) extract(p Payload) extracted {
	c := p.CaseInfo()
	field := func(id string) string {
		if id == "" {
			return ""
		}
		return strings.TrimSpace(c.Fields[id])
	}
	v := extracted{values: map[string]string{
		FieldTitle:         field(m.Title),
		FieldDescription:   field(m.Description),
		FieldAddress:       field(m.Address),
		FieldLat:           field(m.Lat),
		FieldLng:           field(m.Lng),
		FieldRequesterName: field(m.RequesterName),
	}}
	v.values[FieldRequestType] = firstNonEmpty(field(m.RequestType), m.RequestTypes[c.ServiceTypeID],
		m.RequestTypes[c.ServiceID], m.DefaultRequestType)
	if ct := ContactOf(p); ct != nil {
		v.values[FieldRequesterEmail] = strings.TrimSpace(ct.ContactEmail)
		v.values[FieldRequesterPhone] = strings.TrimSpace(ct.ContactPhoneNumber)
	}
	v.lat = v.coordinate(FieldLat, v.values[FieldLat], 90)
	v.lng = v.coordinate(FieldLng, v.values[FieldLng], 180)
	if v.lat == nil {
		v.values[FieldLat] = ""
	}
	if v.lng == nil {
		v.values[FieldLng] = ""
	}

	used := map[string]bool{m.Title: true, m.Description: true, m.Address: true, m.Lat: true,
		m.Lng: true, m.RequesterName: true, m.RequestType: true}
	for _, id := range slices.Sorted(maps.Keys(c.Fields)) {
		val := strings.TrimSpace(c.Fields[id])
		if used[id] || val == "" {
			continue
		}
		if v.answers == nil {
			v.answers = map[string]string{}
		}
		key := m.label(id)
		if _, taken := v.answers[key]; taken {
			key += " (" + id + ")"
		}
		v.answers[key] = val
	}
	return v
}

// coordinate parses a latitude/longitude answer; a decimal comma is accepted (forms are
// localised). Unusable values become a warning, never a failure.
func (v *extracted) coordinate(name, s string, limit float64) *float64 {
	if s == "" {
		return nil
	}
	t := s
	if !strings.Contains(t, ".") && strings.Count(t, ",") == 1 {
		t = strings.Replace(t, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < -limit || f > limit || f != f {
		v.warnings = append(v.warnings, fmt.Sprintf("%s %q is not a coordinate within ±%g; ignored", name, clip(s, 40), limit))
		return nil
	}
	return &f
}

// label is the question text of a field, or its id.
func (m FieldMapping) label(id string) string {
	if l := strings.TrimSpace(m.Labels[id]); l != "" {
		return l
	}
	return id
}

// displayName names a neutral field for an agent: the mapped field's label when there is one.
func (m FieldMapping) displayName(name string) string {
	ids := map[string]string{FieldTitle: m.Title, FieldDescription: m.Description, FieldAddress: m.Address,
		FieldLat: m.Lat, FieldLng: m.Lng, FieldRequesterName: m.RequesterName, FieldRequestType: m.RequestType}
	if id := ids[name]; id != "" {
		if l := strings.TrimSpace(m.Labels[id]); l != "" {
			return l
		}
	}
	switch name {
	case FieldTitle:
		return "Title"
	case FieldDescription:
		return "Description"
	case FieldRequestType:
		return "Request type"
	case FieldAddress:
		return "Address"
	case FieldLat:
		return "Latitude"
	case FieldLng:
		return "Longitude"
	case FieldRequesterName:
		return "Name"
	case FieldRequesterEmail:
		return "Contact email"
	case FieldRequesterPhone:
		return "Contact phone number"
	}
	return strings.TrimPrefix(name, answersPrefix)
}

// ValidateRequired checks a required-fields list: neutral names or "answers.<label or id>".
func ValidateRequired(names []string) error {
	var bad []string
	for _, n := range names {
		if !slices.Contains(neutralFields, n) && (!strings.HasPrefix(n, answersPrefix) || n == answersPrefix) {
			bad = append(bad, strconv.Quote(n))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("cubu: unknown required field(s) %s (want %s, or answers.<question>)",
			strings.Join(bad, ", "), strings.Join(neutralFields, ", "))
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// clip shortens s to max runes, ending with "…" when cut.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}
