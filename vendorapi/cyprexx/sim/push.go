package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

const (
	pushAttempts  = 3
	maxDeliveries = 500
	// Push header names of the contract.
	pushKeyHeader  = "X-Cyprexx-Push-Key"
	deliveryHeader = "X-Cyprexx-Delivery"
)

// Delivery is one push (all its attempts), for the staff page and tests.
type Delivery struct {
	DeliveryID  string    `json:"deliveryId"`
	Event       string    `json:"event"`
	WorkOrderID string    `json:"workOrderId"`
	CallbackURL string    `json:"callbackUrl"`
	At          time.Time `json:"at"`
	// Fault names an injected fault: "dropped", "bad_key", "missing_key", "duplicate".
	Fault      string `json:"fault,omitempty"`
	Attempts   int    `json:"attempts"`
	Delivered  bool   `json:"delivered"`
	LastStatus int    `json:"lastStatus,omitempty"`
	LastError  string `json:"lastError,omitempty"`
}

// ping is the Validate step's synchronous {"event":"ping"} push: reachable means a 2xx within
// PingTimeout.
func (s *Server) ping(r *http.Request, key, callback string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PingTimeout)
	defer cancel()
	status, _ := s.post(ctx, callback, key, newUUID(), []byte(`{"event":"ping"}`))
	return status >= 200 && status < 300
}

// touchLocked bumps updatedAt (never backwards, ties allowed) and pushes the change.
func (s *Server) touchLocked(wo *WorkOrder, event string) {
	t := s.now()
	if t.Before(wo.UpdatedAt) {
		t = wo.UpdatedAt
	}
	wo.UpdatedAt = t
	s.notifyLocked(wo, event)
}

// notifyLocked pushes event to every active push key of the work order's vendor,
// asynchronously and applying the push faults. Deliveries run in their own goroutines, so
// they arrive unordered (more so with PushJitter).
func (s *Server) notifyLocked(wo *WorkOrder, event string) {
	if s.ctx.Err() != nil {
		return
	}
	body, _ := json.Marshal(map[string]string{"event": event, "workOrderId": wo.WorkOrderID, "updatedAt": ts(wo.UpdatedAt)})
	for _, pk := range s.pushKeys {
		if pk.Vendor != wo.Vendor || pk.Status != "active" {
			continue
		}
		d := &Delivery{DeliveryID: newUUID(), Event: event, WorkOrderID: wo.WorkOrderID, CallbackURL: pk.CallbackURL, At: s.now()}
		s.deliveries = append(s.deliveries, d)
		if len(s.deliveries) > maxDeliveries {
			s.deliveries = s.deliveries[len(s.deliveries)-maxDeliveries:]
		}
		f := s.faults
		if simkit.Chance(s.rng, f.PushDropRate) {
			d.Fault = "dropped"
			s.stats.PushesDropped++
			continue
		}
		key := pk.PushKey
		switch {
		case simkit.Chance(s.rng, f.PushBadKeyRate):
			d.Fault, key = "bad_key", key+"-forged"
		case simkit.Chance(s.rng, f.PushMissingKeyRate):
			d.Fault, key = "missing_key", ""
		}
		copies := 1
		if simkit.Chance(s.rng, f.PushDuplicateRate) {
			copies = 2 // as if our acknowledgement had been lost: same delivery id again
			if d.Fault == "" {
				d.Fault = "duplicate"
			}
		}
		for range copies {
			var jitter time.Duration
			if s.opts.PushJitter > 0 {
				jitter = time.Duration(s.rng.Int64N(int64(s.opts.PushJitter)))
			}
			s.wg.Add(1)
			go s.deliver(d, key, body, jitter)
		}
	}
}

// deliver makes up to 3 attempts, d and 2d apart (PushRetryDelay), then gives up.
func (s *Server) deliver(d *Delivery, key string, body []byte, jitter time.Duration) {
	defer s.wg.Done()
	if !simkit.Sleep(s.ctx, jitter) {
		return
	}
	for attempt := 1; attempt <= pushAttempts; attempt++ {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.PushTimeout)
		status, err := s.post(ctx, d.CallbackURL, key, d.DeliveryID, body)
		cancel()
		s.mu.Lock()
		s.stats.PushAttempts++
		d.Attempts++
		d.LastStatus = status
		if err != nil {
			d.LastError = err.Error()
		}
		ok := status >= 200 && status < 300
		if ok {
			d.Delivered = true
			s.stats.PushesDelivered++
		} else if attempt == pushAttempts {
			s.stats.PushesDropped++
		}
		s.mu.Unlock()
		if ok || !simkit.Sleep(s.ctx, time.Duration(attempt)*s.opts.PushRetryDelay) {
			return
		}
	}
}

// post sends one push; key "" omits the push key header.
func (s *Server) post(ctx context.Context, target, key, delivery string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Cyprexx-Push/1.0")
	if key != "" {
		req.Header.Set(pushKeyHeader, key)
	}
	req.Header.Set(deliveryHeader, delivery)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Deliveries returns the recent pushes, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		out[i] = *d
	}
	return out
}
