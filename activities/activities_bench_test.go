package activities

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// The read side of a poll: the remote request diffed against the feedback the ticket has
// already seen (trimRead), and a ticket event turned into the request system's notification.

func BenchmarkTrimRead(b *testing.B) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n)+"-feedback", func(b *testing.B) {
			all := make([]vendorapi.Feedback, n)
			seen := &ticket.IDSet{}
			for i := range all {
				all[i] = vendorapi.Feedback{ID: fmt.Sprintf("F-%d", i), Text: "The plumber comes tomorrow.",
					CreatedAt: base.Add(time.Duration(i) * time.Minute), VisibleToRequestor: true}
				if i < n-1 { // everything read but the newest item
					seen.Add(all[i].ID, all[i].CreatedAt)
				}
			}
			for b.Loop() {
				remote := &vendorapi.RemoteRequest{Feedback: all}
				trimRead(remote, seen, ticket.MaxFeedbackPerPoll)
				if len(remote.Feedback) != 1 {
					b.Fatalf("%d new items", len(remote.Feedback))
				}
			}
		})
	}
}

func BenchmarkNotification(b *testing.B) {
	ref := ticket.NewRef("sunrise", "sunrise-twh", "cubigo-1001")
	ev := ticket.Event{ID: "evt_1", Type: ticket.EventFeedbackAdded, OccurredAt: time.Now(), Status: ticket.InProgress,
		PreviousStatus: ticket.Requested, RemoteID: "104201", Category: "Plumbing",
		Feedback: &ticket.Feedback{ID: "500001", Text: "The plumber comes tomorrow.", Author: "J. Rivera", CreatedAt: time.Now()}}
	for b.Loop() {
		_ = engine.Notification(ref, ev, 1)
	}
}
