package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("not an ApplicationError: %v", err)
	}
	return ae
}

// Cancellation is not failure: an attempt whose context ended (a stopping worker cancels it)
// is retried whatever the vendor client made of it; the same error on a live context keeps
// the vendor's verdict.
func TestInterruptedAttemptsAreRetryable(t *testing.T) {
	gaveUp := vendorapi.TransportError("theworxhub", "create work request", context.Canceled)
	if gaveUp.Retryable {
		t.Fatal("the vendor layer's own verdict changed: the caller gave up")
	}
	live := context.Background()
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if ae := appError(t, asTemporalError(stopped, gaveUp)); ae.NonRetryable() || ae.Type() != ErrTypeInterrupted {
		t.Fatalf("cancelled attempt: %+v", ae)
	}
	if ae := appError(t, asTemporalError(live, fmt.Errorf("wrapped: %w", context.Canceled))); ae.NonRetryable() {
		t.Fatalf("a cancellation inside the call: %+v", ae)
	}
	refused := &vendorapi.Error{Vendor: "theworxhub", Op: "create", HTTPStatus: http.StatusUnprocessableEntity}
	if ae := appError(t, asTemporalError(live, refused)); !ae.NonRetryable() {
		t.Fatalf("a refusal on a live context must park: %+v", ae)
	}
	if ae := appError(t, asTemporalError(stopped, refused)); ae.NonRetryable() {
		t.Fatalf("a refusal seen while stopping is retried (the next attempt decides): %+v", ae)
	}
}

// A read returns only feedback not seen yet, at most max items, clipped, and no comments.
func TestTrimReadBoundsTheResult(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	remote := &vendorapi.RemoteRequest{Comments: []vendorapi.Comment{{Text: "x"}}}
	seen := &ticket.IDSet{}
	for i := range 500 {
		fb := vendorapi.Feedback{ID: fmt.Sprintf("F-%d", i), Text: "note", CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if i == 7 {
			fb.Text = string(make([]byte, 2*ticket.MaxFeedbackText))
		}
		remote.Feedback = append(remote.Feedback, fb)
		if i < 5 {
			seen.Add(fb.ID, fb.CreatedAt)
		}
	}
	more := trimRead(remote, seen, 100)
	if !more || len(remote.Feedback) != 100 || remote.Feedback[0].ID != "F-5" || remote.Comments != nil {
		t.Fatalf("more=%t, %d items from %s, comments %v", more, len(remote.Feedback), remote.Feedback[0].ID, remote.Comments)
	}
	if n := len([]rune(remote.Feedback[2].Text)); n > ticket.MaxFeedbackText {
		t.Fatalf("a long text kept %d runes", n)
	}
	rest := &vendorapi.RemoteRequest{Feedback: remote.Feedback[:3]}
	if trimRead(rest, nil, 100) || len(rest.Feedback) != 3 {
		t.Fatal("a short read is not cut")
	}
}
