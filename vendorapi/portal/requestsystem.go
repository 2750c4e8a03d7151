package portal

import (
	"context"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// RequestSystem is the portal as a vendorapi.RequestSystem: each notification becomes one
// Standard Webhooks event POSTed to the connection's endpoint, its id the webhook-id.
type RequestSystem struct {
	Sender *Sender
	Target Target
}

var _ vendorapi.RequestSystem = RequestSystem{}

// Kind implements vendorapi.RequestSystem.
func (RequestSystem) Kind() string { return Vendor }

// Notify implements vendorapi.RequestSystem.
func (p RequestSystem) Notify(ctx context.Context, n vendorapi.Notification) error {
	return p.Sender.Deliver(ctx, p.Target, EventOf(n), n.Attempt)
}

// notificationTypes maps the workflow's vendor-neutral notifications to the contract's types.
var notificationTypes = map[string]string{
	vendorapi.NotifyStatusChanged:  TypeStatusChanged,
	vendorapi.NotifyFeedbackAdded:  TypeFeedbackAdded,
	vendorapi.NotifyNeedsAttention: TypeNeedsAttention,
	vendorapi.NotifyClosed:         TypeClosed,
}

// EventOf renders a notification in the portal's vocabulary (contracts/portal.md).
func EventOf(n vendorapi.Notification) Event {
	out := Event{
		ID:         n.ID,
		Type:       notificationTypes[n.Kind],
		OccurredAt: n.OccurredAt.UTC(),
		Ticket: Ticket{
			ID:             n.TicketID,
			Tenant:         n.Tenant,
			ExternalID:     n.ExternalID,
			Status:         n.Status,
			PreviousStatus: n.PreviousStatus,
			RemoteID:       n.RemoteID,
			Category:       n.Category,
		},
	}
	if n.Feedback != nil {
		out.Feedback = &Feedback{ID: n.Feedback.ID, Text: n.Feedback.Text, Author: n.Feedback.Author, CreatedAt: n.Feedback.CreatedAt.UTC()}
	}
	if n.Kind == vendorapi.NotifyNeedsAttention {
		out.Attention = &Attention{Reason: n.Reason, Since: n.Since.UTC()}
	}
	return out
}
