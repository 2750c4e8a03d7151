package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// CreateTicket creates a ticket; created is false when the API answered 200 (the same
// externalId with the same body: an idempotent replay).
func (c *Client) CreateTicket(ctx context.Context, req CreateTicket) (t *Ticket, created bool, err error) {
	t = &Ticket{}
	status, err := c.call(ctx, http.MethodPost, "/v1/tickets", nil, req, t)
	if err != nil {
		return nil, false, err
	}
	return t, status == http.StatusCreated, nil
}

// CreateTicketJSON creates a ticket from a raw JSON body (a file the user wrote); the API
// validates it.
func (c *Client) CreateTicketJSON(ctx context.Context, body []byte) (t *Ticket, created bool, err error) {
	t = &Ticket{}
	status, err := c.call(ctx, http.MethodPost, "/v1/tickets", nil, rawJSON(body), t)
	if err != nil {
		return nil, false, err
	}
	return t, status == http.StatusCreated, nil
}

// rawJSON is sent as is (json.Marshal of a json.RawMessage would compact and check it; the
// API's own error for malformed input is the better message).
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// ListTickets reads one page of tickets.
func (c *Client) ListTickets(ctx context.Context, p ListTicketsParams) (*TicketPage, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("connection", p.Connection)
	set("externalId", p.ExternalID)
	set("status", p.Status)
	if p.NeedsAttention != nil {
		q.Set("needsAttention", strconv.FormatBool(*p.NeedsAttention))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	set("cursor", p.Cursor)
	out := &TicketPage{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/tickets", q, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// TicketByExternalID finds a connection's ticket by the request system's id; a ticket that
// does not exist is an *Error with Status 404, like GetTicket.
func (c *Client) TicketByExternalID(ctx context.Context, connection, externalID string) (*Ticket, error) {
	page, err := c.ListTickets(ctx, ListTicketsParams{Connection: connection, ExternalID: externalID})
	if err != nil {
		return nil, err
	}
	for _, t := range page.Items {
		if t.ExternalID == externalID {
			return &t, nil
		}
	}
	return nil, &Error{Method: http.MethodGet, Path: "/v1/tickets", Status: http.StatusNotFound,
		Problem: &Problem{Type: "about:blank", Title: "Not Found", Status: http.StatusNotFound,
			Detail: "no ticket with externalId " + strconv.Quote(externalID) + " on connection " + strconv.Quote(connection)}}
}

// GetTicket reads a ticket.
func (c *Client) GetTicket(ctx context.Context, id string) (*Ticket, error) {
	out := &Ticket{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/tickets/"+pathID(id), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListTicketEvents reads a ticket's timeline.
func (c *Client) ListTicketEvents(ctx context.Context, id string) (*Timeline, error) {
	out := &Timeline{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/tickets/"+pathID(id)+"/events", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) signal(ctx context.Context, id, verb string, body any) (*SignalAccepted, error) {
	out := &SignalAccepted{}
	if _, err := c.call(ctx, http.MethodPost, "/v1/tickets/"+pathID(id)+"/"+verb, nil, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddComment adds a comment to a ticket.
func (c *Client) AddComment(ctx context.Context, id string, comment Comment) (*SignalAccepted, error) {
	return c.signal(ctx, id, "comments", comment)
}

// CancelTicket cancels a ticket.
func (c *Client) CancelTicket(ctx context.Context, id, reason string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "cancel", Reason{Reason: reason})
}

// HoldTicket pauses a ticket's synchronisation.
func (c *Client) HoldTicket(ctx context.Context, id, reason string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "hold", Reason{Reason: reason})
}

// ResumeTicket resumes a paused ticket.
func (c *Client) ResumeTicket(ctx context.Context, id string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "resume", nil)
}

// RetryTicket retries the step a parked ticket waits on.
func (c *Client) RetryTicket(ctx context.Context, id string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "retry", nil)
}

// SkipTicketEvent drops an event whose delivery was abandoned (an operator action).
func (c *Client) SkipTicketEvent(ctx context.Context, id string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "skip", nil)
}

// RemapTicket moves a ticket to another status-mapping version.
func (c *Client) RemapTicket(ctx context.Context, id, mapping string) (*SignalAccepted, error) {
	return c.signal(ctx, id, "remap", Remap{Mapping: mapping})
}

// PatchTicket corrects the request of a ticket parked on invalid input.
func (c *Client) PatchTicket(ctx context.Context, id string, patch TicketPatch) (*Ticket, error) {
	out := &Ticket{}
	if _, err := c.call(ctx, http.MethodPatch, "/v1/tickets/"+pathID(id), nil, patch, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ErasePersonalData erases the requester's personal data of a finished ticket.
func (c *Client) ErasePersonalData(ctx context.Context, id string) (*Erasure, error) {
	out := &Erasure{}
	if _, err := c.call(ctx, http.MethodDelete, "/v1/tickets/"+pathID(id)+"/personal-data", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListStuckTickets lists the tickets that need an operator, oldest first.
func (c *Client) ListStuckTickets(ctx context.Context) (*StuckList, error) {
	out := &StuckList{}
	if _, err := c.call(ctx, http.MethodGet, "/v1/tickets/stuck", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}
