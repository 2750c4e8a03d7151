package theworxhub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Webhook headers TWH sends on every delivery.
const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(secret, raw body)>".
	SignatureHeader = "X-TWH-Signature"
	// DeliveryHeader carries a uuid that stays the same across retries of one delivery.
	DeliveryHeader = "X-TWH-Delivery"
)

// WebhookEvent is TWH's thin notification: it only says which request changed and when. It is
// a hint to poll (GET the object); the change feed stays the source of truth because
// deliveries may be lost, duplicated or reordered.
type WebhookEvent struct {
	Event      string    `json:"event"` // "workrequest.updated"
	ID         string    `json:"id"`
	ModifiedAt time.Time `json:"modifiedAt"`
}

// VerifyWebhook reports whether signatureHeader (the X-TWH-Signature value) is the
// HMAC-SHA256 of the raw body under secret. The comparison is constant-time; an empty secret
// never verifies, so a misconfigured connection cannot accept forged calls.
func VerifyWebhook(secret string, body []byte, signatureHeader string) bool {
	if secret == "" {
		return false
	}
	const prefix = "sha256="
	sig := strings.TrimSpace(signatureHeader)
	if len(sig) <= len(prefix) || !strings.EqualFold(sig[:len(prefix)], prefix) {
		return false
	}
	got, err := hex.DecodeString(sig[len(prefix):])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// ParseWebhook decodes a webhook body (verify it first). Unknown fields are ignored; a body
// without event or id is rejected.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return WebhookEvent{}, errors.New("theworxhub: webhook body: " + err.Error())
	}
	if ev.Event == "" || ev.ID == "" {
		return WebhookEvent{}, errors.New("theworxhub: webhook body lacks event or id")
	}
	ev.ModifiedAt = ev.ModifiedAt.UTC()
	return ev, nil
}

// Hooks handles TheWorxHub's pushes on /v1/hooks/theworxhub/{connection}: it verifies the
// signature before anything else (an unverified push never costs a vendor call), parses the
// thin notification and asks the engine to poke the request's ticket. Deliveries are deduped
// on X-TWH-Delivery plus modifiedAt (the same delivery id is reused across retries).
type Hooks struct {
	Secret string
}

var _ vendorapi.HookHandler = Hooks{}

// HandleHook implements vendorapi.HookHandler.
func (h Hooks) HandleHook(_ context.Context, _ vendorapi.HookEnv, req vendorapi.HookRequest) (vendorapi.HookResult, error) {
	if req.Path != "" {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusNotFound, "TheWorxHub has no hook "+req.Path)
	}
	if req.Method != http.MethodPost {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusMethodNotAllowed, "TheWorxHub pushes are POSTs")
	}
	if !VerifyWebhook(h.Secret, req.Body, req.Header.Get(SignatureHeader)) {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnauthorized, "bad or missing "+SignatureHeader)
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	ev, err := ParseWebhook(req.Body)
	if err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusBadRequest, "invalid webhook body: "+err.Error())
	}
	// The stamp spares the read when the ticket has it already (the push of our own create).
	res := vendorapi.HookResult{Intents: []vendorapi.Intent{{Kind: vendorapi.IntentPoke, RemoteID: ev.ID, ModifiedAt: ev.ModifiedAt}}}
	if d := req.Header.Get(DeliveryHeader); d != "" {
		res.DeliveryKey = d + "@" + ev.ModifiedAt.Format(time.RFC3339Nano)
	}
	return res, nil
}
