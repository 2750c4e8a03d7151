package sim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
)

// ---- push API ----

// handlePush applies latency, then the injected faults in order (maintenance page, 429,
// 5xx, HTML on 200, application error), then the key check, then the operation.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.faults.Latency
	s.mu.Unlock()
	if !sleep(r.Context(), lat) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"response": false, "error": "method not allowed"})
		return
	}
	s.mu.Lock()
	s.stats.PushCalls++
	f := &s.faults
	switch {
	case take(&f.Maintenance):
		ra := f.RetryAfterSeconds
		s.mu.Unlock()
		if ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ra))
		}
		writeHTML(w, http.StatusServiceUnavailable, maintenancePage)
		return
	case take(&f.RateLimitBurst):
		s.stats.RateLimited++
		ra := max(f.RetryAfterSeconds, 1)
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"response": false, "error": "too many requests"})
		return
	case f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate:
		status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout}[s.rng.IntN(3)]
		s.mu.Unlock()
		writeJSON(w, status, map[string]any{"response": false, "error": "internal error"})
		return
	case take(&f.HTMLOn200):
		s.mu.Unlock()
		writeHTML(w, http.StatusOK, loginPage)
		return
	case take(&f.AppError):
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"response": false, "error": "temporary error, please try again"})
		return
	}
	in := s.byKeyLocked(r.URL.Query().Get("apiKey"))
	if in == nil {
		s.stats.InvalidKeys++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"response": false, "error": "invalid clientCode"})
		return
	}
	code := in.ClientCode
	if r.Method == http.MethodGet {
		s.stats.Triggers++
		drop := take(&f.DropPull)
		if drop {
			s.stats.PullsDropped++
		}
		s.mu.Unlock()
		if !drop {
			s.startPull(code)
		}
		writeJSON(w, http.StatusOK, map[string]any{"response": true, "error": "success"})
		return
	}
	s.mu.Unlock()
	s.pushUpsert(w, r, code)
}

// byKeyLocked finds the integration of an api key (constant-time per comparison).
func (s *Server) byKeyLocked(key string) *Integration {
	if key == "" {
		return nil
	}
	var found *Integration
	for _, in := range s.integr {
		if subtle.ConstantTimeCompare([]byte(in.APIKey), []byte(key)) == 1 {
			found = in
		}
	}
	return found
}

func (s *Server) pushUpsert(w http.ResponseWriter, r *http.Request, code string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"response": false, "error": "cannot read form: " + err.Error()})
		return
	}
	var body struct {
		WorkOrders []WorkOrder `json:"workOrders"`
	}
	if err := json.Unmarshal([]byte(r.PostForm.Get("workOrders")), &body); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"response": false, "error": "workOrders is not valid JSON"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wo := range body.WorkOrders {
		if msg := s.checkLocked(code, wo); msg != "" {
			writeJSON(w, http.StatusOK, map[string]any{"response": false, "error": msg})
			return
		}
	}
	for _, wo := range body.WorkOrders {
		s.importLocked(code, wo)
	}
	s.stats.Upserts++
	writeJSON(w, http.StatusOK, map[string]any{"response": true, "error": "success"})
}
