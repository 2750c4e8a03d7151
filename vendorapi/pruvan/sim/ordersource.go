package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Pruvan → order source: the calls Pruvan makes to an integration's web services.

const maxAnswerBytes = 32 << 20 // a full refresh of many projects

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func jsonCompact(dst *bytes.Buffer, b []byte) error { return json.Compact(dst, b) }

// payloadLocked builds a payload with the integration's credentials (or a wrong password when
// the BadCredentials fault fires) and, with UnknownFields, members the contract does not name.
func (s *Server) payloadLocked(in *Integration, fields map[string]any) map[string]any {
	p := map[string]any{"username": in.Username, "password": in.Password, "token": in.Token}
	if simkit.Take(&s.faults.BadCredentials) {
		p["password"] = strings.Repeat("0", 40)
	}
	if s.faults.UnknownFields {
		p["pruvanBuild"] = "sim-9.9.9"
		p["deviceInfo"] = map[string]any{"os": "android", "version": 14}
	}
	for k, v := range fields {
		p[k] = v
	}
	return p
}

func (s *Server) integration(code string) (Integration, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.integr[code]
	if !ok {
		return Integration{}, errf(http.StatusNotFound, "not_found", "no integration %q", code)
	}
	if in.URL == "" {
		return Integration{}, errf(http.StatusConflict, "not_configured", "integration %q has no web service URL", code)
	}
	return *in, nil
}

// post sends one order-source call and records it. The answer is returned whatever its
// status; err is set only when there was none.
func (s *Server) post(ctx context.Context, in Integration, method, contentType string, body io.Reader) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	start := time.Now()
	call := Call{Method: method, ClientCode: in.ClientCode, At: s.now()}
	status, data, err := func() (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL+"/"+method+in.Extension, body)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("User-Agent", "Pruvan-Integrations/1.0 (simulator)")
		resp, err := s.opts.HTTPClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		return resp.StatusCode, data, err
	}()
	call.Duration, call.HTTPStatus = time.Since(start), status
	call.OK = err == nil && status == http.StatusOK
	if err != nil {
		call.Error = err.Error()
	} else if !call.OK {
		call.Error = answerError(data)
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if len(s.calls) > maxCalls {
		s.calls = slices.Delete(s.calls, 0, len(s.calls)-maxCalls)
	}
	if !call.OK {
		s.stats.CallFailures++
	}
	s.mu.Unlock()
	return status, data, err
}

// postForm posts payload=<JSON> as application/x-www-form-urlencoded.
func (s *Server) postForm(ctx context.Context, in Integration, method string, payload map[string]any) (int, []byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, nil, err
	}
	form := url.Values{"payload": {string(b)}}.Encode()
	return s.post(ctx, in, method, "application/x-www-form-urlencoded", strings.NewReader(form))
}

// answerError extracts a readable error from an order source's answer.
func answerError(b []byte) string {
	var a struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &a) != nil {
		if len(b) > 200 {
			b = b[:200]
		}
		return "unreadable answer: " + string(b)
	}
	var s string
	if json.Unmarshal(a.Error, &s) == nil {
		return s
	}
	return string(a.Error)
}

func callFailed(method string, status int, data []byte, err error) *Error {
	if err != nil {
		return errf(http.StatusBadGateway, "order_source_unreachable", "%s: %v", method, err)
	}
	return errf(http.StatusBadGateway, "order_source_error", "%s answered %d: %s", method, status, answerError(data))
}

// Calls returns the recent order-source calls, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Validate is the admin's "Validate" button: Pruvan sends the integration's push key to the
// order source's validate method and expects {"validated":true}.
func (s *Server) Validate(ctx context.Context, code string) error {
	in, e := s.integration(code)
	if e != nil {
		return e
	}
	key, err := s.PushKey(code)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.stats.Validates++
	p := s.payloadLocked(&in, map[string]any{"pushKey": key})
	s.mu.Unlock()
	status, data, err := s.postForm(ctx, in, "validate", p)
	var ans struct {
		Validated bool `json:"validated"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(data, &ans) != nil || !ans.Validated {
		return callFailed("validate", status, data, err)
	}
	s.mu.Lock()
	if cur, ok := s.integr[code]; ok {
		cur.Validated = true
	}
	s.mu.Unlock()
	return nil
}

// ImportResult is what one getWorkOrders call imported.
type ImportResult struct {
	Full      bool     `json:"full"`
	Timestamp *int64   `json:"timestamp"` // what was sent; null = full refresh
	Received  int      `json:"received"`
	Created   int      `json:"created"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Rejected  []string `json:"rejected,omitempty"` // work orders Pruvan could not import
}

// Refresh is "Refresh" (incremental: timestamp = start of the last successful import, or
// null if there was none) or "Full refresh" (timestamp null).
func (s *Server) Refresh(ctx context.Context, code string, full bool) (ImportResult, error) {
	in, e := s.integration(code)
	if e != nil {
		return ImportResult{}, e
	}
	start := s.now()
	res := ImportResult{Full: full || in.LastImport.IsZero()}
	if !res.Full {
		t := in.LastImport.Unix()
		res.Timestamp = &t
	}
	s.mu.Lock()
	s.stats.GetWorkOrders++
	if res.Full {
		s.stats.FullRefreshes++
	}
	var tsv any // JSON null for a full refresh
	if res.Timestamp != nil {
		tsv = *res.Timestamp
	}
	p := s.payloadLocked(&in, map[string]any{"timestamp": tsv})
	s.mu.Unlock()
	status, data, err := s.postForm(ctx, in, "getWorkOrders", p)
	var ans struct {
		WorkOrders []WorkOrder      `json:"workOrders"`
		Error      *json.RawMessage `json:"error"`
	}
	if err != nil || status != http.StatusOK {
		return res, callFailed("getWorkOrders", status, data, err)
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return res, errf(http.StatusBadGateway, "order_source_error", "getWorkOrders: undecodable answer: %v", err)
	}
	if msg := answerError(data); ans.Error != nil && msg != "" && msg != "null" {
		return res, errf(http.StatusBadGateway, "order_source_error", "getWorkOrders: %s", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res.Received = len(ans.WorkOrders)
	for _, wo := range ans.WorkOrders {
		if msg := s.checkLocked(code, wo); msg != "" {
			res.Rejected = append(res.Rejected, msg)
			continue
		}
		switch s.importLocked(code, wo) {
		case "created":
			res.Created++
		case "updated":
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	if cur, ok := s.integr[code]; ok {
		cur.LastImport = start
	}
	return res, nil
}

// startPull runs the import a push key call asked for, in the background.
func (s *Server) startPull(code string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !simkit.Sleep(s.ctx, s.opts.PullDelay) {
			return
		}
		s.Refresh(s.ctx, code, false) // failures are recorded in Calls
	}()
}

// StatusResult is the order source's answer to a status call.
type StatusResult struct {
	OK    bool              `json:"ok"`
	Error map[string]string `json:"error,omitempty"` // {workOrderNumber, error}
}

// SetStatus sends a status call for one project (with an unknown number alongside when the
// MixedStatusBatch fault fires). The project takes the status unless the order source
// refused this very work order.
func (s *Server) SetStatus(ctx context.Context, key, status string, completed time.Time) (StatusResult, error) {
	s.mu.Lock()
	p, ok := s.projects[key]
	if !ok {
		s.mu.Unlock()
		return StatusResult{}, errf(http.StatusNotFound, "not_found", "no project %q", key)
	}
	code, won := p.ClientCode, p.WorkOrder.WorkOrderNumber
	s.mu.Unlock()
	in, e := s.integration(code)
	if e != nil {
		return StatusResult{}, e
	}
	item := map[string]any{"workOrderNumber": won, "status": status}
	if !completed.IsZero() {
		item["completedDate"] = ts(completed)
	}
	s.mu.Lock()
	s.stats.StatusCalls++
	items := []any{item}
	if simkit.Take(&s.faults.MixedStatusBatch) {
		items = append(items, map[string]any{"workOrderNumber": "UNKNOWN-" + simkit.RandomHex(4), "status": status})
	}
	if s.faults.UnknownFields {
		item["pruvanStatusId"] = 7
	}
	pl := s.payloadLocked(&in, map[string]any{"workOrders": items})
	s.mu.Unlock()
	httpStatus, data, err := s.postForm(ctx, in, "status", pl)
	if err != nil || httpStatus != http.StatusOK {
		return StatusResult{}, callFailed("status", httpStatus, data, err)
	}
	var ans struct {
		Status bool            `json:"status"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return StatusResult{}, errf(http.StatusBadGateway, "order_source_error", "status: undecodable answer: %v", err)
	}
	res := StatusResult{OK: ans.Status}
	if !ans.Status {
		var eo map[string]string
		if json.Unmarshal(ans.Error, &eo) != nil {
			eo = map[string]string{"error": string(ans.Error)}
		}
		res.Error = eo
	}
	if res.OK || res.Error["workOrderNumber"] != won {
		s.mu.Lock()
		p.Status = status
		if !completed.IsZero() {
			p.CompletedDate = ts(completed)
		}
		p.UpdatedAt = s.now()
		s.mu.Unlock()
	}
	return res, nil
}

// Complete is "mark project complete" with a completion date (now when zero).
func (s *Server) Complete(ctx context.Context, key string, completed time.Time) (StatusResult, error) {
	if completed.IsZero() {
		completed = s.now()
	}
	return s.SetStatus(ctx, key, StatusComplete, completed)
}
