package sim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

const webhookAttempts = 3

// notifyLocked sends the thin "workrequest.updated" notification for wr, asynchronously and
// best effort, applying the webhook faults. Deliveries run in their own goroutines, so they
// arrive unordered (more so with WebhookJitter).
func (s *Server) notifyLocked(wr *WorkRequest) {
	if s.opts.WebhookURL == "" || s.ctx.Err() != nil {
		return
	}
	f := s.faults
	if simkit.Chance(s.rng, f.WebhookDropRate) {
		s.stats.WebhooksDropped++
		return
	}
	body, _ := json.Marshal(struct {
		Event      string `json:"event"`
		ID         string `json:"id"`
		ModifiedAt string `json:"modifiedAt"`
	}{"workrequest.updated", wr.ID, ts(wr.ModifiedAt)})
	secret := s.opts.WebhookSecret
	if simkit.Chance(s.rng, f.WebhookBadSignature) {
		secret += "-not-the-secret"
	}
	d := delivery{id: newUUID(), body: body, signature: Sign(secret, body)}
	copies := 1
	if simkit.Chance(s.rng, f.WebhookDuplicate) {
		copies = 2 // as if our acknowledgement had been lost: same delivery id again
	}
	for range copies {
		var jitter time.Duration
		if s.opts.WebhookJitter > 0 {
			jitter = time.Duration(s.rng.Int64N(int64(s.opts.WebhookJitter)))
		}
		s.wg.Add(1)
		go s.deliver(d, jitter)
	}
}

type delivery struct {
	id        string
	body      []byte
	signature string
}

// Sign returns the X-TWH-Signature value for body: "sha256=" + hex HMAC-SHA256(secret, body).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (s *Server) deliver(d delivery, jitter time.Duration) {
	defer s.wg.Done()
	if !simkit.Sleep(s.ctx, jitter) {
		return
	}
	for attempt := 1; attempt <= webhookAttempts; attempt++ {
		if s.post(d) {
			return
		}
		if attempt < webhookAttempts && !simkit.Sleep(s.ctx, time.Duration(attempt)*s.opts.WebhookRetryDelay) {
			return
		}
	}
}

// post makes one attempt; any 2xx counts as delivered.
func (s *Server) post(d delivery) bool {
	s.mu.Lock()
	s.stats.WebhookAttempts++
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TheWorxHub-Webhooks/1.0")
	req.Header.Set("X-TWH-Delivery", d.id)
	req.Header.Set("X-TWH-Signature", d.signature)
	resp, err := s.opts.WebhookClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
