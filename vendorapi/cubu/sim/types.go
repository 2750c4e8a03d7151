package sim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Agent is a Cubu user who serves customers.
type Agent struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// FieldType is a question on a service's form.
type FieldType struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ServiceType is a kind of visit within a service.
type ServiceType struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Service is a queue customers join.
type Service struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	UnitID       string        `json:"unitId"`
	CategoryID   string        `json:"categoryId"`
	TicketPrefix string        `json:"ticketPrefix"`
	Types        []ServiceType `json:"types"`
	Fields       []FieldType   `json:"fields"`
}

// Ticket is the queue ticket.
type Ticket struct {
	Prefix string `json:"prefix"`
	Number int    `json:"number"`
	Suffix string `json:"suffix,omitempty"`
}

func (t Ticket) String() string { return fmt.Sprintf("%s%d%s", t.Prefix, t.Number, t.Suffix) }

// Appointment is a booked slot; Start and Duration in minutes.
type Appointment struct {
	Date               string `json:"date"` // YYYY-MM-DD
	CUIndex            int    `json:"cuIndex"`
	Start              int    `json:"start"`
	Duration           int    `json:"duration"`
	TimeZoneID         string `json:"timeZoneId"`
	PreventSelfCheckIn bool   `json:"preventSelfCheckIn"`
}

// Note is a message shown to the agent about the case (a before-hook's "message").
type Note struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Text   string    `json:"text"`
}

// FieldUpdate is a change applied from a before-hook answer.
type FieldUpdate struct {
	At            time.Time         `json:"at"`
	Source        string            `json:"source"`
	Fields        map[string]string `json:"fields,omitempty"`
	TagIDs        []string          `json:"tagIds,omitempty"`
	ServiceTypeID string            `json:"serviceTypeId,omitempty"`
	Channel       string            `json:"channel,omitempty"`
}

// Event is one step of a case's history.
type Event struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	By     string    `json:"by,omitempty"` // agent id, "s2s" or "customer"
	Status string    `json:"status"`
}

// Case is a Cubu case as the simulator stores it.
type Case struct {
	ID                     string            `json:"id"`
	ParentCaseID           string            `json:"parentCaseId,omitempty"`
	ReferenceDate          string            `json:"referenceDate"`
	UnitID                 string            `json:"unitId"`
	ServiceID              string            `json:"serviceId"`
	ServiceCategoryID      string            `json:"serviceCategoryId"`
	ServiceTypeID          string            `json:"serviceTypeId"`
	Status                 string            `json:"status"`
	Channel                string            `json:"channel"`
	Language               string            `json:"language"`
	Ticket                 Ticket            `json:"ticket"`
	Fields                 map[string]string `json:"fields"`
	TagIDs                 []string          `json:"tagIds"`
	CustomerRecordID       string            `json:"customerRecordId,omitempty"`
	UseCustomerContactInfo bool              `json:"useCustomerContactInfo"`
	ContactPhoneNumber     string            `json:"contactPhoneNumber,omitempty"`
	ContactEmail           string            `json:"contactEmail,omitempty"`
	LockedBy               string            `json:"lockedBy,omitempty"`
	AssignedTo             string            `json:"assignedTo,omitempty"`
	Appointment            *Appointment      `json:"appointment,omitempty"`
	CreatedAt              time.Time         `json:"createdAt"`
	UpdatedAt              time.Time         `json:"updatedAt"`
	Notes                  []Note            `json:"notes"`
	FieldUpdates           []FieldUpdate     `json:"fieldUpdates"`
	History                []Event           `json:"history"`
	// LastBefore is the outcome of the most recent before-hook for this case.
	LastBefore *HookOutcome `json:"lastBefore,omitempty"`
}

func (c *Case) clone() Case {
	out := *c
	out.Fields = maps.Clone(c.Fields)
	out.TagIDs = slices.Clone(c.TagIDs)
	out.Notes = slices.Clone(c.Notes)
	out.FieldUpdates = slices.Clone(c.FieldUpdates)
	out.History = slices.Clone(c.History)
	if c.Appointment != nil {
		a := *c.Appointment
		out.Appointment = &a
	}
	if c.LastBefore != nil {
		o := *c.LastBefore
		out.LastBefore = &o
	}
	return out
}

// Stats count what the simulator saw. Ops counts S2S API calls by operation ("resolve",
// "queueUp", "activeCases"), faulted ones included.
type Stats struct {
	TokenRequests      int            `json:"tokenRequests"`
	TokensIssued       int            `json:"tokensIssued"`
	TokenErrors        int            `json:"tokenErrors"`
	APICalls           int            `json:"apiCalls"`
	Ops                map[string]int `json:"ops"`
	Unauthorized       int            `json:"unauthorized"`
	Forbidden          int            `json:"forbidden"`
	RateLimited        int            `json:"rateLimited"`
	ServerErrors       int            `json:"serverErrors"`
	Conflicts          int            `json:"conflicts"`
	Resolves           int            `json:"resolves"` // committed, any path
	HookDeliveries     int            `json:"hookDeliveries"`
	HookFailures       int            `json:"hookFailures"`
	BeforeHooksAllowed int            `json:"beforeHooksAllowed"`
	BeforeHooksBlocked int            `json:"beforeHooksBlocked"`
}
