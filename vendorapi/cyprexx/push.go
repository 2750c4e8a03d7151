package cyprexx

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Headers of every push Cyprexx sends to the registered callback URL.
const (
	// PushKeyHeader carries the push key registered with RegisterPushKey (the connection's
	// webhookSecret): it is what authenticates a push.
	PushKeyHeader = "X-Cyprexx-Push-Key"
	// DeliveryHeader carries a uuid that stays the same across the retries of one delivery.
	DeliveryHeader = "X-Cyprexx-Delivery"
)

// Push events.
const (
	EventPing      = "ping"
	EventCreated   = "workorder.created"
	EventUpdated   = "workorder.updated"
	EventCancelled = "workorder.cancelled"
)

// MaxPushBody bounds what ReadPush reads (a push is a few hundred bytes).
const MaxPushBody = 64 << 10

// Push verification failures, to tell "not configured" from "not from Cyprexx" in logs.
var (
	ErrNoPushKey       = errors.New("cyprexx: no push key configured for this connection")
	ErrPushKeyMissing  = errors.New("cyprexx: push without " + PushKeyHeader)
	ErrPushKeyMismatch = errors.New("cyprexx: push key does not match")
)

// PushEvent is a thin notification: which work order changed and when. It is a hint to GET
// the work order; deliveries may be lost, duplicated or reordered (Refresh and Full Refresh
// are the safety net).
type PushEvent struct {
	Event       string    `json:"event"`
	WorkOrderID string    `json:"workOrderId"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// DeliveryID is the X-Cyprexx-Delivery header (set by ReadPush): dedupe on it.
	DeliveryID string `json:"-"`
}

// VerifyPush checks a push's headers against the connection's push key, in constant time
// (lengths do not leak either). An empty configured key never verifies, so a misconfigured
// connection cannot accept forged pushes. The contract authenticates pushes by the key
// alone; the body is not signed.
func VerifyPush(pushKey string, h http.Header) error {
	if pushKey == "" {
		return ErrNoPushKey
	}
	got := strings.TrimSpace(h.Get(PushKeyHeader))
	if got == "" {
		return ErrPushKeyMissing
	}
	want, have := sha256.Sum256([]byte(pushKey)), sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return ErrPushKeyMismatch
	}
	return nil
}

// ParsePush decodes a push body (verify it first). Unknown fields are ignored; an event other
// than ping needs a workOrderId.
func ParsePush(body []byte) (PushEvent, error) {
	var ev PushEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return PushEvent{}, fmt.Errorf("cyprexx: push body: %w", err)
	}
	switch {
	case ev.Event == "":
		return PushEvent{}, errors.New("cyprexx: push without event")
	case ev.Event != EventPing && ev.WorkOrderID == "":
		return PushEvent{}, fmt.Errorf("cyprexx: %s push without workOrderId", ev.Event)
	}
	ev.UpdatedAt = ev.UpdatedAt.UTC()
	return ev, nil
}

// ReadPush verifies and parses an incoming push request: the push key first (nothing is read
// from an unauthenticated request), then at most MaxPushBody bytes of body.
func ReadPush(pushKey string, r *http.Request) (PushEvent, error) {
	if err := VerifyPush(pushKey, r.Header); err != nil {
		return PushEvent{}, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPushBody+1))
	if err != nil {
		return PushEvent{}, fmt.Errorf("cyprexx: read push: %w", err)
	}
	if len(body) > MaxPushBody {
		return PushEvent{}, fmt.Errorf("cyprexx: push body over %d bytes", MaxPushBody)
	}
	ev, err := ParsePush(body)
	if err != nil {
		return PushEvent{}, err
	}
	ev.DeliveryID = r.Header.Get(DeliveryHeader)
	return ev, nil
}
