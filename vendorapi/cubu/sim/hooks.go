package sim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Sign returns the Authorization value Cubu sends: "HMAC " + base64(HMAC-SHA256(key = the
// secret's UTF-8 bytes, msg = body)).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "HMAC " + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// prepareLocked numbers a delivery and signs it, applying the signature faults.
func (s *Server) prepareLocked(hook, caseID string, body []byte) Delivery {
	s.seq++
	d := Delivery{Seq: s.seq, Hook: hook, URL: s.hookURL(hook), CaseID: caseID, Body: string(body), Signing: "none"}
	switch {
	case simkit.Take(&s.faults.HookUnsigned):
	case s.opts.HMACSecret == "":
	case simkit.Take(&s.faults.HookBadSignature):
		d.Signing, d.Authorization = "bad", Sign(s.opts.HMACSecret+"-not-the-secret", body)
	default:
		d.Signing, d.Authorization = "valid", Sign(s.opts.HMACSecret, body)
	}
	return d
}

// sendBefore posts a before-hook and waits at most BeforeHookTimeout for the answer.
func (s *Server) sendBefore(d Delivery) HookOutcome {
	d = s.post(d, s.opts.BeforeHookTimeout)
	return judge(d, s.opts.BeforeHookTimeout)
}

// sendAfter posts an after-hook once: Cubu's retry policy is undocumented, assume none.
func (s *Server) sendAfter(d Delivery) {
	defer s.hooks.Done()
	s.post(d, s.opts.HookTimeout)
}

// post makes one delivery attempt and records it.
func (s *Server) post(d Delivery, timeout time.Duration) Delivery {
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	start := time.Now()
	d.At = s.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Body)))
	if err == nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("User-Agent", "Cubu-Webhooks/1.0")
		if d.Authorization != "" {
			req.Header.Set("Authorization", d.Authorization)
		}
		var resp *http.Response
		if resp, err = s.opts.HookClient.Do(req); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxHookAnswer))
			resp.Body.Close()
			d.Status, d.Answer = resp.StatusCode, string(b)
		}
	}
	if err != nil {
		d.Error = err.Error()
	}
	d.DurationMs = time.Since(start).Milliseconds()
	s.mu.Lock()
	s.stats.HookDeliveries++
	if d.Status < 200 || d.Status > 299 {
		s.stats.HookFailures++
	}
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > maxDeliveries {
		s.deliveries = slices.Delete(s.deliveries, 0, len(s.deliveries)-maxDeliveries)
	}
	s.mu.Unlock()
	return d
}

// Deliveries returns the recorded deliveries (the latest 500), in completion order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Replay sends delivery seq again, byte-identical (same body and Authorization), and waits
// for the answer: what a captured request replayed by an attacker, or a duplicate, looks like.
func (s *Server) Replay(seq int) (Delivery, bool) {
	s.mu.Lock()
	i := slices.IndexFunc(s.deliveries, func(d Delivery) bool { return d.Seq == seq })
	if i < 0 || s.opts.HookBaseURL == "" {
		s.mu.Unlock()
		return Delivery{}, false
	}
	d := s.deliveries[i]
	s.seq++
	d.ReplayOf, d.Seq, d.Copy = seq, s.seq, 0
	d.Status, d.Answer, d.Error = 0, "", ""
	s.mu.Unlock()
	return s.post(d, s.opts.HookTimeout), true
}
