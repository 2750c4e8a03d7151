package sim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// ---- push API ----

// handlePush applies latency, then the injected faults in order (maintenance page, 429,
// 5xx, HTML on 200, application error), then the key check, then the operation.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.faults.Latency
	s.mu.Unlock()
	if !simkit.Sleep(r.Context(), lat) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		simkit.WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"response": false, "error": "method not allowed"})
		return
	}
	s.mu.Lock()
	s.stats.PushCalls++
	f := &s.faults
	if simkit.Take(&f.Maintenance) {
		answer := simkit.Page(http.StatusServiceUnavailable, maintenancePage, f.RetryAfterSeconds)
		s.mu.Unlock()
		answer(w)
		return
	}
	kind, answer := simkit.APIFaults{RateLimitBurst: &f.RateLimitBurst, RetryAfterSeconds: f.RetryAfterSeconds,
		ErrorRate: f.ErrorRate, HTMLOn200: &f.HTMLOn200}.Inject(s.rng, faultAnswers)
	if kind == simkit.RateLimited {
		s.stats.RateLimited++
	}
	if answer == nil && simkit.Take(&f.AppError) {
		answer = func(w http.ResponseWriter) {
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": false, "error": "temporary error, please try again"})
		}
	}
	if answer != nil {
		s.mu.Unlock()
		answer(w)
		return
	}
	in := s.byKeyLocked(r.URL.Query().Get("apiKey"))
	if in == nil {
		s.stats.InvalidKeys++
		s.mu.Unlock()
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": false, "error": "invalid clientCode"})
		return
	}
	code := in.ClientCode
	if r.Method == http.MethodGet {
		s.stats.Triggers++
		drop := simkit.Take(&f.DropPull)
		if drop {
			s.stats.PullsDropped++
		}
		s.mu.Unlock()
		if !drop {
			s.startPull(code)
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": true, "error": "success"})
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
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": false, "error": "cannot read form: " + err.Error()})
		return
	}
	var body struct {
		WorkOrders []WorkOrder `json:"workOrders"`
	}
	if err := json.Unmarshal([]byte(r.PostForm.Get("workOrders")), &body); err != nil {
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": false, "error": "workOrders is not valid JSON"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wo := range body.WorkOrders {
		if msg := s.checkLocked(code, wo); msg != "" {
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": false, "error": msg})
			return
		}
	}
	for _, wo := range body.WorkOrders {
		s.importLocked(code, wo)
	}
	s.stats.Upserts++
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"response": true, "error": "success"})
}

// faultAnswers are the push API's bodies for the injected 429, 5xx and HTML-on-200.
var faultAnswers = simkit.Answers{
	TooMany: func(w http.ResponseWriter) {
		simkit.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"response": false, "error": "too many requests"})
	},
	ServerErrors: []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout},
	ServerError: func(w http.ResponseWriter, status int) {
		simkit.WriteJSON(w, status, map[string]any{"response": false, "error": "internal error"})
	},
	HTMLPage: loginPage,
}
