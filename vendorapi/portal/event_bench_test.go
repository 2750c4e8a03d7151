package portal

import (
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Building a delivery: the workflow's notification rendered as the portal's event, validated
// and encoded (the bytes that are signed and sent).

func benchNotification(feedback bool) vendorapi.Notification {
	n := vendorapi.Notification{ID: "evt_0123456789abcdef", Kind: vendorapi.NotifyStatusChanged, OccurredAt: time.Now(),
		Attempt: 1, TicketID: "tkt_1", Tenant: "sunrise", Connection: "sunrise-twh", ExternalID: "cubigo-1001",
		Status: "InProgress", PreviousStatus: "Requested", RemoteID: "104201", Category: "Plumbing"}
	if feedback {
		n.Kind = vendorapi.NotifyFeedbackAdded
		n.Feedback = &vendorapi.Feedback{ID: "500001", Text: "The plumber comes tomorrow between 9 and 11.",
			Author: "J. Rivera", CreatedAt: time.Now(), VisibleToRequestor: true}
	}
	return n
}

func BenchmarkEventBody(b *testing.B) {
	for _, tc := range []struct {
		name     string
		feedback bool
	}{{"status_changed", false}, {"feedback_added", true}} {
		b.Run(tc.name, func(b *testing.B) {
			n := benchNotification(tc.feedback)
			for b.Loop() {
				ev := EventOf(n)
				if err := ev.Validate(); err != nil {
					b.Fatal(err)
				}
				if _, err := ev.Body(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseEvent(b *testing.B) {
	body, err := EventOf(benchNotification(true)).Body()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseEvent(body); err != nil {
			b.Fatal(err)
		}
	}
}
