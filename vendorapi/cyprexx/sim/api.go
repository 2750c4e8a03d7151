package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// ---- work orders ----

// MarshalJSON renders the wire form: millisecond timestamps, null for empty codes, [] for
// empty lists.
func (w WorkOrder) MarshalJSON() ([]byte, error) {
	type alias WorkOrder
	a := alias(w)
	if a.Tasks == nil {
		a.Tasks = []Task{}
	}
	if a.Forms == nil {
		a.Forms = []Form{}
	}
	return json.Marshal(struct {
		alias
		LockboxCode *string `json:"lockboxCode"`
		KeyCode     *string `json:"keyCode"`
		UpdatedAt   string  `json:"updatedAt"`
	}{a, nullable(w.LockboxCode), nullable(w.KeyCode), ts(w.UpdatedAt)})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (w *WorkOrder) clone() WorkOrder {
	c := *w
	c.Tasks = slices.Clone(w.Tasks)
	c.Forms = slices.Clone(w.Forms)
	for i := range c.Forms {
		c.Forms[i].Questions = slices.Clone(w.Forms[i].Questions)
	}
	return c
}

// lookupLocked finds a work order of the vendor: unknown → 404, another vendor's → 403.
func (s *Server) lookupLocked(vendor, id string) (*WorkOrder, *Error) {
	wo, ok := s.wos[id]
	switch {
	case !ok:
		return nil, errf(http.StatusNotFound, "not_found", "work order %q not found", id)
	case wo.Vendor != vendor:
		return nil, errf(http.StatusForbidden, "forbidden", "work order %q is not assigned to this vendor", id)
	}
	return wo, nil
}

func (s *Server) apiGet(w http.ResponseWriter, vendor, id string) {
	s.mu.Lock()
	wo, e := s.lookupLocked(vendor, id)
	var out WorkOrder
	if e == nil {
		out = wo.clone()
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// cursorPos is the keyset position after a page's last item, plus the query it continues.
// Keyset paging on (updatedAt, workOrderId) is what makes a work order updated while a
// client pages re-appear later with its new updatedAt rather than be skipped.
type cursorPos struct {
	Vendor string `json:"v"`
	Full   bool   `json:"f"`
	Since  int64  `json:"s"` // unix ms (feed)
	Mod    int64  `json:"m"` // unix ms
	ID     string `json:"i"`
	Issued int64  `json:"x"` // unix ms
	Epoch  int    `json:"e"`
}

func (s *Server) encodeCursorLocked(p cursorPos) string {
	b, _ := json.Marshal(p)
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

func (s *Server) decodeCursorLocked(c, vendor string) (cursorPos, *Error) {
	bad := errf(http.StatusBadRequest, "invalid_cursor", "cursor is invalid or expired; restart from updatedSince")
	data, sig, ok := strings.Cut(c, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(data)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return cursorPos{}, bad
	}
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(b)
	var p cursorPos
	if !hmac.Equal(got, mac.Sum(nil)[:12]) || json.Unmarshal(b, &p) != nil || p.Vendor != vendor || p.Epoch != s.cursorEpoch {
		return cursorPos{}, bad
	}
	if !s.opts.Now().Before(time.UnixMilli(p.Issued).Add(s.opts.CursorTTL)) {
		return cursorPos{}, bad
	}
	return p, nil
}

// apiList serves the feed (updatedSince, inclusive) and the full refresh (no updatedSince and
// no cursor: every active work order), both ordered by (updatedAt, workOrderId).
func (s *Server) apiList(w http.ResponseWriter, r *http.Request, vendor string) {
	q := r.URL.Query()
	limit := defaultLimit
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, errf(http.StatusBadRequest, "invalid_limit", "limit must be an integer from 1 to %d", maxLimit))
			return
		}
		limit = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := cursorPos{Vendor: vendor, Full: true}
	after := false
	if c := q.Get("cursor"); c != "" {
		p, e := s.decodeCursorLocked(c, vendor)
		if e != nil {
			writeError(w, e)
			return
		}
		pos, after = p, true
	} else if v := q.Get("updatedSince"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			e := errf(http.StatusBadRequest, "bad_request", "updatedSince must be an RFC 3339 timestamp")
			e.Details = map[string]any{"fields": map[string]string{"updatedSince": "invalid timestamp"}}
			writeError(w, e)
			return
		}
		pos.Full, pos.Since = false, t.UnixMilli()
	}
	var all []*WorkOrder
	for _, wo := range s.wos {
		m := wo.UpdatedAt.UnixMilli()
		switch {
		case wo.Vendor != vendor:
		case pos.Full && closed(wo.Status):
		case !pos.Full && m < pos.Since:
		case after && (m < pos.Mod || (m == pos.Mod && !idLess(pos.ID, wo.WorkOrderID))):
		default:
			all = append(all, wo)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.Before(b.UpdatedAt)
		}
		return idLess(a.WorkOrderID, b.WorkOrderID)
	})
	var next any
	if len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		pos.Mod, pos.ID, pos.Issued, pos.Epoch = last.UpdatedAt.UnixMilli(), last.WorkOrderID, s.opts.Now().UnixMilli(), s.cursorEpoch
		next = s.encodeCursorLocked(pos)
	}
	items := make([]WorkOrder, len(all))
	for i, wo := range all {
		items[i] = wo.clone()
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "nextCursor": next})
}

// idLess orders numeric-string ids numerically ("999" < "1000").
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// ---- push keys ----

// PushKey is a registered push key.
type PushKey struct {
	PushKey     string    `json:"pushKey"`
	CallbackURL string    `json:"callbackUrl"`
	Status      string    `json:"status"`
	ValidatedAt time.Time `json:"validatedAt"`
	Vendor      string    `json:"vendor"`
}

func (p PushKey) wire() map[string]any {
	return map[string]any{"pushKey": p.PushKey, "callbackUrl": p.CallbackURL, "status": p.Status, "validatedAt": ts(p.ValidatedAt)}
}

func (s *Server) apiRegisterPushKey(w http.ResponseWriter, r *http.Request, vendor string) {
	var in struct {
		PushKey     string `json:"pushKey"`
		CallbackURL string `json:"callbackUrl"`
	}
	if e := decodeBody(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	fields := map[string]string{}
	if strings.TrimSpace(in.PushKey) == "" {
		fields["pushKey"] = "is required"
	}
	if msg := checkCallback(in.CallbackURL); msg != "" {
		fields["callbackUrl"] = msg
	}
	if len(fields) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the push key registration is invalid")
		e.Details = map[string]any{"fields": fields}
		writeError(w, e)
		return
	}
	s.mu.Lock()
	if old, ok := s.pushKeys[in.PushKey]; ok && old.Vendor != vendor {
		s.mu.Unlock()
		writeError(w, errf(http.StatusConflict, "conflict", "push key already registered by another account"))
		return
	}
	failPing := simkit.Take(&s.faults.PingFail)
	s.stats.Pings++
	s.mu.Unlock()
	if failPing || !s.ping(r, in.PushKey, in.CallbackURL) {
		writeError(w, errf(http.StatusUnprocessableEntity, "callback_unreachable",
			"the ping to %s did not get a 2xx answer within %s", in.CallbackURL, s.opts.PingTimeout))
		return
	}
	s.mu.Lock()
	_, existed := s.pushKeys[in.PushKey]
	pk := &PushKey{PushKey: in.PushKey, CallbackURL: in.CallbackURL, Status: "active", ValidatedAt: s.now(), Vendor: vendor}
	s.pushKeys[in.PushKey] = pk
	out := pk.wire()
	s.mu.Unlock()
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
}

// checkCallback requires an absolute https URL (http only on loopback, for dev stacks).
func checkCallback(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case raw == "":
		return "is required"
	case err != nil || u.Host == "":
		return "must be an absolute URL"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && (u.Hostname() == "localhost" || strings.HasPrefix(u.Hostname(), "127.") || u.Hostname() == "::1"):
		return ""
	}
	return "must use https"
}

func (s *Server) apiDeletePushKey(w http.ResponseWriter, vendor, key string) {
	s.mu.Lock()
	pk, ok := s.pushKeys[key]
	if ok && pk.Vendor == vendor {
		delete(s.pushKeys, key)
	}
	s.mu.Unlock()
	if !ok || pk.Vendor != vendor {
		writeError(w, errf(http.StatusNotFound, "not_found", "no such push key"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- completion ----

// Completion is one accepted completion.
type Completion struct {
	WorkOrderID string    `json:"workOrderId"`
	CompletedAt time.Time `json:"completedAt"`
	ReceivedAt  time.Time `json:"receivedAt"`
}

func (s *Server) apiComplete(w http.ResponseWriter, r *http.Request, vendor, id string) {
	var in struct {
		CompletedAt string `json:"completedAt"`
	}
	if e := decodeBody(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	at, err := time.Parse(time.RFC3339Nano, in.CompletedAt)
	if err != nil {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "completedAt must be an RFC 3339 timestamp")
		e.Details = map[string]any{"fields": map[string]string{"completedAt": "invalid or missing timestamp"}}
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, e := s.lookupLocked(vendor, id)
	if e != nil {
		writeError(w, e)
		return
	}
	switch wo.Status {
	case StatusCancelled:
		writeError(w, errf(http.StatusConflict, "work_order_cancelled", "work order %s was cancelled", id))
		return
	case StatusCompleted:
		writeJSON(w, http.StatusOK, wo.clone()) // repeated: unchanged
		return
	}
	if missing := s.missingLocked(wo); len(missing) > 0 {
		e := errf(http.StatusUnprocessableEntity, "incomplete", "required photos or forms are missing")
		e.Details = map[string]any{"missing": missing}
		writeError(w, e)
		return
	}
	wo.Status = StatusCompleted
	s.completions = append(s.completions, Completion{WorkOrderID: id, CompletedAt: at.UTC(), ReceivedAt: s.now()})
	s.stats.Completions++
	s.touchLocked(wo, "workorder.updated")
	writeJSON(w, http.StatusOK, wo.clone())
}

// missingLocked lists what completion still needs: photos per task (minPhotos) and a
// submission for every form with a required question.
func (s *Server) missingLocked(wo *WorkOrder) []map[string]any {
	var missing []map[string]any
	for _, t := range wo.Tasks {
		n := 0
		for _, p := range s.photos[wo.WorkOrderID] {
			if p.TaskID == t.TaskID {
				n++
			}
		}
		if n < t.MinPhotos {
			missing = append(missing, map[string]any{"type": "photos", "taskId": t.TaskID, "required": t.MinPhotos, "received": n})
		}
	}
	for _, f := range wo.Forms {
		required := slices.ContainsFunc(f.Questions, func(q Question) bool { return q.Required })
		if _, done := s.surveys[wo.WorkOrderID][f.FormID]; required && !done {
			missing = append(missing, map[string]any{"type": "form", "formId": f.FormID})
		}
	}
	return missing
}
