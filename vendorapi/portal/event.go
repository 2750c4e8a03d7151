// Package portal delivers ticket events to a request portal as Standard Webhooks
// (contracts/portal.md): the event body, HMAC signing and verification, the HTTP sender with
// its error classification, and the retry schedule. The fake receiver lives in portal/sim.
package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
)

// Event types (body "type" and the Ticketsync-Event-Type header).
const (
	TypeStatusChanged  = ticket.EventStatusChanged
	TypeFeedbackAdded  = ticket.EventFeedbackAdded
	TypeNeedsAttention = ticket.EventNeedsAttention
	TypeClosed         = ticket.EventClosed
)

// EventTypes lists every event type the contract defines.
var EventTypes = []string{TypeStatusChanged, TypeFeedbackAdded, TypeNeedsAttention, TypeClosed}

// Event is one outbound event. Build it once (in the workflow) and deliver the same value on
// every attempt: the body must stay byte-identical across retries.
type Event struct {
	ID         string     // EventID(workflowID, seq); also the webhook-id
	Type       string     // one of the Type* constants
	OccurredAt time.Time  // when ticketsync observed the change; sent in UTC, millisecond precision
	Ticket     Ticket     //
	Feedback   *Feedback  // required for ticket.feedback_added, nil otherwise (sent as null)
	Attention  *Attention // required for ticket.needs_attention, nil otherwise (key omitted)
}

// Ticket is the event's ticket snapshot. Empty PreviousStatus, RemoteID and Category are sent
// as JSON null.
type Ticket struct {
	ID             string
	Tenant         string
	ExternalID     string
	Status         string // Requested | InProgress | OnHold | Done | Canceled; "" (null) only on needs_attention before the first status
	PreviousStatus string // "" (or the internal Submitted) is sent as null: the ticket's first event
	RemoteID       string
	Category       string
}

// Feedback is a work-system note visible to the requester.
type Feedback struct {
	ID        string
	Text      string
	Author    string
	CreatedAt time.Time
}

// Attention explains why the ticket is parked for a human.
type Attention struct {
	Reason string
	Since  time.Time
}

// wire types fix the key order and the null/omitted rules of the contract.
type wireEvent struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	OccurredAt string         `json:"occurredAt"`
	Ticket     wireTicket     `json:"ticket"`
	Feedback   *wireFeedback  `json:"feedback"`
	Attention  *wireAttention `json:"attention,omitempty"`
}

type wireTicket struct {
	ID             string  `json:"id"`
	Tenant         string  `json:"tenant"`
	ExternalID     string  `json:"externalId"`
	Status         *string `json:"status"`
	PreviousStatus *string `json:"previousStatus"`
	RemoteID       *string `json:"remoteId"`
	Category       *string `json:"category"`
}

type wireFeedback struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Author    string `json:"author"`
	CreatedAt string `json:"createdAt"`
}

type wireAttention struct {
	Reason string `json:"reason"`
	Since  string `json:"since"`
}

// timeLayout is RFC 3339 in UTC with milliseconds only when non-zero ("2023-11-14T22:13:20Z").
const timeLayout = "2006-01-02T15:04:05.999Z07:00"

// maxTime is the last instant RFC 3339 can write (four-digit years): a vendor's absurd date is
// clamped to it rather than producing a body no receiver can parse.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)

func formatTime(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.After(maxTime) {
		t = maxTime
	}
	if t.Year() < 1 {
		t = time.Time{}
	}
	return t.Format(timeLayout)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// externalStatus hides the internal Submitted status (sent as null).
func externalStatus(s string) string {
	if s == ticket.Submitted {
		return ""
	}
	return s
}

// Validate checks the event against the contract before anything is signed or sent.
func (e Event) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !strings.HasPrefix(e.ID, "evt_") || len(e.ID) <= len("evt_") || strings.IndexFunc(e.ID, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		add("id %q must be evt_ followed by visible ASCII (it is the webhook-id header)", e.ID)
	}
	switch e.Type {
	case TypeStatusChanged, TypeFeedbackAdded, TypeNeedsAttention, TypeClosed:
	default:
		add("unknown event type %q", e.Type)
	}
	if e.OccurredAt.IsZero() || e.OccurredAt.UTC().Year() < 1 {
		add("occurredAt is zero or before year 1")
	}
	if e.Ticket.ID == "" || e.Ticket.Tenant == "" || e.Ticket.ExternalID == "" {
		add("ticket id, tenant and externalId are required")
	}
	// Contract gap: a ticket parked before the work system has it (status Submitted, never
	// sent) has no portal status yet; needs_attention then carries "status": null.
	if !sendable(e.Ticket.Status) && !(e.Type == TypeNeedsAttention && e.Ticket.Status == "") {
		add("ticket status %q is not a portal status that may be sent", e.Ticket.Status)
	}
	if p := e.Ticket.PreviousStatus; p != "" && p != ticket.Submitted && !sendable(p) {
		add("ticket previousStatus %q is not a portal status that may be sent", e.Ticket.PreviousStatus)
	}
	if (e.Type == TypeFeedbackAdded) != (e.Feedback != nil) {
		add("feedback must be set exactly for %s", TypeFeedbackAdded)
	}
	if (e.Type == TypeNeedsAttention) != (e.Attention != nil) {
		add("attention must be set exactly for %s", TypeNeedsAttention)
	}
	if e.Type == TypeClosed && !ticket.IsTerminal(e.Ticket.Status) {
		add("%s needs a terminal status, got %q", TypeClosed, e.Ticket.Status)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid portal event: %w", err)
	}
	return nil
}

// sendable: a portal status other than the internal Submitted.
func sendable(s string) bool { return s != ticket.Submitted && slices.Contains(ticket.Statuses, s) }

// Body renders the exact wire bytes: compact JSON, contract key order, "feedback":null when
// there is none, "attention" omitted unless set, HTML characters not escaped, no trailing newline.
func (e Event) Body() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	w := wireEvent{
		ID:         e.ID,
		Type:       e.Type,
		OccurredAt: formatTime(e.OccurredAt),
		Ticket: wireTicket{
			ID:             e.Ticket.ID,
			Tenant:         e.Ticket.Tenant,
			ExternalID:     e.Ticket.ExternalID,
			Status:         nullable(e.Ticket.Status),
			PreviousStatus: nullable(externalStatus(e.Ticket.PreviousStatus)),
			RemoteID:       nullable(e.Ticket.RemoteID),
			Category:       nullable(e.Ticket.Category),
		},
	}
	if f := e.Feedback; f != nil {
		w.Feedback = &wireFeedback{ID: f.ID, Text: f.Text, Author: f.Author, CreatedAt: formatTime(f.CreatedAt)}
	}
	if a := e.Attention; a != nil {
		w.Attention = &wireAttention{Reason: a.Reason, Since: formatTime(a.Since)}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseEvent decodes a body produced by Body (receivers, the simulator, tests). Unknown fields
// are ignored, as the contract asks of receivers.
func ParseEvent(body []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("portal event: %w", err)
	}
	var e Event
	var err error
	parse := func(s string) time.Time {
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil && err == nil {
			err = fmt.Errorf("portal event: bad time %q: %w", s, perr)
		}
		return t
	}
	e.ID, e.Type = w.ID, w.Type
	e.OccurredAt = parse(w.OccurredAt)
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e.Ticket = Ticket{ID: w.Ticket.ID, Tenant: w.Ticket.Tenant, ExternalID: w.Ticket.ExternalID,
		Status: deref(w.Ticket.Status), PreviousStatus: deref(w.Ticket.PreviousStatus),
		RemoteID: deref(w.Ticket.RemoteID), Category: deref(w.Ticket.Category)}
	if f := w.Feedback; f != nil {
		e.Feedback = &Feedback{ID: f.ID, Text: f.Text, Author: f.Author, CreatedAt: parse(f.CreatedAt)}
	}
	if a := w.Attention; a != nil {
		e.Attention = &Attention{Reason: a.Reason, Since: parse(a.Since)}
	}
	return e, err
}
