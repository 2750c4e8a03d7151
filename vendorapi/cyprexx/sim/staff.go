package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Issue is Cyprexx staff issuing a work order to a vendor (DefaultVendor when empty). Ids
// left empty are assigned (workOrderId, workOrderNumber, taskId, formId, questionId); the
// status defaults to Assigned and form versions to 1. The vendor's push keys get
// workorder.created.
func (s *Server) Issue(vendor string, wo WorkOrder) (WorkOrder, error) {
	if vendor == "" {
		vendor = DefaultVendor
	}
	fields := map[string]string{}
	for name, v := range map[string]string{"service": wo.Service, "address1": wo.Address1, "city": wo.City, "state": wo.State, "zip": wo.Zip} {
		if strings.TrimSpace(v) == "" {
			fields[name] = "is required"
		}
	}
	if len(wo.State) != 2 && fields["state"] == "" {
		fields["state"] = "must be a 2-letter code"
	}
	if wo.ServiceDue != "" {
		if _, err := time.Parse("2006-01-02", wo.ServiceDue); err != nil {
			fields["serviceDue"] = "must be YYYY-MM-DD"
		}
	}
	if len(fields) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the work order is invalid")
		e.Details = map[string]any{"fields": fields}
		return WorkOrder{}, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	wo.WorkOrderID = strconv.FormatInt(s.nextID, 10)
	if wo.WorkOrderNumber == "" {
		wo.WorkOrderNumber = fmt.Sprintf("WO-%d", s.nextID)
	}
	if wo.Status == "" {
		wo.Status = StatusAssigned
	}
	wo.Vendor = vendor
	normalize(&wo)
	wo.UpdatedAt = time.Time{}
	stored := wo.clone()
	s.wos[wo.WorkOrderID] = &stored
	s.touchLocked(&stored, "workorder.created")
	return stored.clone(), nil
}

// normalize assigns missing sub-ids and gives lists a value, so the wire form is [] not null.
func normalize(wo *WorkOrder) {
	for i := range wo.Tasks {
		t := &wo.Tasks[i]
		if t.TaskID == "" {
			t.TaskID = fmt.Sprintf("T%d", i+1)
		}
		if t.PhotoCategories == nil {
			t.PhotoCategories = []string{}
		}
	}
	for i := range wo.Forms {
		f := &wo.Forms[i]
		if f.FormID == "" {
			f.FormID = fmt.Sprintf("F%d", i+1)
		}
		if f.Version <= 0 {
			f.Version = 1
		}
		for j := range f.Questions {
			q := &f.Questions[j]
			if q.QuestionID == "" {
				q.QuestionID = fmt.Sprintf("q%d", j+1)
			}
			if q.Options == nil {
				q.Options = []string{}
			}
		}
	}
}

var readOnly = map[string]bool{"workOrderId": true, "updatedAt": true}

// Update applies a partial work order (JSON members by wire name) as Cyprexx staff editing
// it: any field but workOrderId and updatedAt, any status string (an open set). A form whose
// questions change without a new version gets version+1. Pushes workorder.updated, or
// workorder.cancelled when the status becomes Cancelled.
func (s *Server) Update(id string, patch json.RawMessage) (WorkOrder, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(patch, &members); err != nil {
		return WorkOrder{}, errf(http.StatusBadRequest, "bad_request", "patch must be a JSON object: %v", err)
	}
	allowed := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(WorkOrder{})) {
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "-" && !readOnly[tag] {
			allowed[tag] = true
		}
	}
	for k := range members {
		if !allowed[k] {
			return WorkOrder{}, errf(http.StatusUnprocessableEntity, "validation_failed", "field %q cannot be changed", k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.wos[id]
	if !ok {
		return WorkOrder{}, errf(http.StatusNotFound, "not_found", "work order %q not found", id)
	}
	next := cur.clone()
	if err := json.Unmarshal(patch, &next); err != nil {
		return WorkOrder{}, errf(http.StatusUnprocessableEntity, "validation_failed", "patch: %v", err)
	}
	next.WorkOrderID, next.UpdatedAt, next.Vendor = cur.WorkOrderID, cur.UpdatedAt, cur.Vendor
	normalize(&next)
	for i := range next.Forms {
		old := slices.IndexFunc(cur.Forms, func(f Form) bool { return f.FormID == next.Forms[i].FormID })
		if old >= 0 && next.Forms[i].Version == cur.Forms[old].Version && !reflect.DeepEqual(next.Forms[i].Questions, cur.Forms[old].Questions) {
			next.Forms[i].Version++
		}
	}
	event := "workorder.updated"
	if next.Status == StatusCancelled && cur.Status != StatusCancelled {
		event = "workorder.cancelled"
	}
	*cur = next
	s.touchLocked(cur, event)
	return cur.clone(), nil
}

// Cancel is Cyprexx cancelling a work order.
func (s *Server) Cancel(id string) (WorkOrder, error) {
	return s.Update(id, json.RawMessage(`{"status":"Cancelled"}`))
}

// SetTasks replaces a work order's tasks, e.g. after it was imported into Pruvan (where
// tasks are immutable: the connector must notice and flag it).
func (s *Server) SetTasks(id string, tasks []Task) (WorkOrder, error) {
	b, _ := json.Marshal(map[string][]Task{"tasks": tasks})
	return s.Update(id, b)
}

// WorkOrders returns every work order, ordered by id.
func (s *Server) WorkOrders() []WorkOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workOrdersLocked()
}

// workOrdersLocked is WorkOrders for callers holding s.mu.
func (s *Server) workOrdersLocked() []WorkOrder {
	out := make([]WorkOrder, 0, len(s.wos))
	for _, wo := range s.wos {
		out = append(out, wo.clone())
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].WorkOrderID, out[j].WorkOrderID) })
	return out
}

// WorkOrder returns one work order.
func (s *Server) WorkOrder(id string) (WorkOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, ok := s.wos[id]
	if !ok {
		return WorkOrder{}, false
	}
	return wo.clone(), true
}

// Photos returns the photos relayed for a work order, in upload order.
func (s *Server) Photos(workOrderID string) []Photo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Photo, len(s.photos[workOrderID]))
	for i, p := range s.photos[workOrderID] {
		out[i] = *p
	}
	return out
}

// Surveys returns the current submission per form of a work order.
func (s *Server) Surveys(workOrderID string) map[string]Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Submission{}
	for f, sub := range s.surveys[workOrderID] {
		out[f] = *sub
	}
	return out
}

// Completions returns every accepted completion, in order.
func (s *Server) Completions() []Completion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.completions)
}

// PushKeys returns the registered push keys.
func (s *Server) PushKeys() []PushKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PushKey, 0, len(s.pushKeys))
	for _, pk := range s.pushKeys {
		out = append(out, *pk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PushKey < out[j].PushKey })
	return out
}

// ---- staff HTTP API ----

func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/"), "/")
	form := simkit.IsForm(r)
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	done := func(v any, err error) {
		switch {
		case err != nil && form:
			e := asError(err)
			http.Error(w, e.Message, e.Status)
		case err != nil:
			writeError(w, asError(err))
		case form:
			http.Redirect(w, r, "/_sim/", http.StatusSeeOther)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
	body := func() (json.RawMessage, *Error) {
		var raw json.RawMessage
		if e := decodeBody(w, r, &raw); e != nil {
			return nil, e
		}
		return raw, nil
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch n := len(parts); {
	case get && parts[0] == "":
		s.page(w)
	case get && parts[0] == "workorders" && n == 1:
		writeJSON(w, http.StatusOK, s.WorkOrders())
	case post && parts[0] == "workorders" && n == 1:
		if form {
			done(s.Issue(r.PostForm.Get("vendor"), issueFromForm(r)))
			return
		}
		raw, e := body()
		if e != nil {
			writeError(w, e)
			return
		}
		var wo WorkOrder
		var v struct {
			Vendor string `json:"vendor"`
		}
		if err := json.Unmarshal(raw, &wo); err != nil {
			writeError(w, errf(http.StatusBadRequest, "bad_request", "work order: %v", err))
			return
		}
		json.Unmarshal(raw, &v)
		done(s.Issue(v.Vendor, wo))
	case get && parts[0] == "workorders" && n == 2:
		if wo, ok := s.WorkOrder(parts[1]); ok {
			writeJSON(w, http.StatusOK, wo)
		} else {
			writeError(w, errf(http.StatusNotFound, "not_found", "work order %q not found", parts[1]))
		}
	case post && parts[0] == "workorders" && n == 2:
		var patch json.RawMessage
		if form {
			m := map[string]string{}
			for _, k := range []string{"status", "note", "serviceDue", "lockboxCode", "keyCode", "jobNumber"} {
				if v := strings.TrimSpace(r.PostForm.Get(k)); v != "" {
					m[k] = v
				}
			}
			patch, _ = json.Marshal(m)
		} else {
			var e *Error
			if patch, e = body(); e != nil {
				writeError(w, e)
				return
			}
		}
		done(s.Update(parts[1], patch))
	case post && parts[0] == "workorders" && n == 3 && parts[2] == "cancel":
		done(s.Cancel(parts[1]))
	case post && parts[0] == "workorders" && n == 3 && parts[2] == "tasks":
		var tasks []Task
		if form {
			tasks = parseTasks(r.PostForm.Get("tasks"))
		} else {
			raw, e := body()
			if e != nil {
				writeError(w, e)
				return
			}
			if err := json.Unmarshal(raw, &tasks); err != nil {
				writeError(w, errf(http.StatusBadRequest, "bad_request", "tasks: %v", err))
				return
			}
		}
		done(s.SetTasks(parts[1], tasks))
	case get && parts[0] == "workorders" && n == 3 && parts[2] == "photos":
		writeJSON(w, http.StatusOK, s.Photos(parts[1]))
	case get && parts[0] == "workorders" && n == 3 && parts[2] == "surveys":
		writeJSON(w, http.StatusOK, s.Surveys(parts[1]))
	case get && parts[0] == "completions":
		writeJSON(w, http.StatusOK, s.Completions())
	case get && parts[0] == "pushkeys":
		writeJSON(w, http.StatusOK, s.PushKeys())
	case get && parts[0] == "deliveries":
		writeJSON(w, http.StatusOK, s.Deliveries())
	case post && parts[0] == "tokens" && n == 2 && parts[1] == "revoke":
		tok := r.PostForm.Get("token")
		if !form {
			var in struct {
				Token string `json:"token"`
			}
			if e := decodeBody(w, r, &in); e != nil {
				writeError(w, e)
				return
			}
			tok = in.Token
		}
		s.RevokeToken(tok)
		done(map[string]bool{"ok": true}, nil)
	case get && parts[0] == "faults":
		writeJSON(w, http.StatusOK, s.Faults())
	case (r.Method == http.MethodPut || post) && parts[0] == "faults":
		var f Faults
		if e := decodeBody(w, r, &f); e != nil {
			writeError(w, e)
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.Faults())
	case post && parts[0] == "reset":
		s.Reset()
		done(map[string]bool{"ok": true}, nil)
	case get && parts[0] == "stats":
		writeJSON(w, http.StatusOK, s.Stats())
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no staff endpoint %s %s", r.Method, r.URL.Path))
	}
}

// issueFromForm reads the staff page's issue form. Tasks are lines
// "name | Before,After | minPhotos"; "withForm" adds a standard property-condition survey.
func issueFromForm(r *http.Request) WorkOrder {
	f := r.PostForm
	wo := WorkOrder{Service: f.Get("service"), Address1: f.Get("address1"), Address2: f.Get("address2"), City: f.Get("city"),
		State: f.Get("state"), Zip: f.Get("zip"), ServiceDue: f.Get("serviceDue"), JobNumber: f.Get("jobNumber"),
		LockboxCode: f.Get("lockboxCode"), KeyCode: f.Get("keyCode"), Note: f.Get("note"), Tasks: parseTasks(f.Get("tasks"))}
	if f.Get("withForm") != "" {
		wo.Forms = []Form{StandardForm()}
	}
	return wo
}

// StandardForm is a small property-condition survey with one question of the main types.
func StandardForm() Form {
	return Form{FormID: "PCR", Name: "Property condition", Version: 1, Questions: []Question{
		{QuestionID: "lawnCut", Text: "Was the lawn cut?", AnswerType: "yesNo", Required: true},
		{QuestionID: "debris", Text: "Debris on site", AnswerType: "select", Options: []string{"none", "some", "heavy"}},
		{QuestionID: "frontPhoto", Text: "Photo of the front", AnswerType: "photo"},
		{QuestionID: "comments", Text: "Comments", AnswerType: "text"},
	}}
}

func parseTasks(text string) []Task {
	var tasks []Task
	for _, line := range strings.Split(text, "\n") {
		cols := strings.Split(line, "|")
		name := strings.TrimSpace(cols[0])
		if name == "" {
			continue
		}
		t := Task{Name: name, PhotoCategories: []string{"Before", "After"}, MinPhotos: 1}
		if len(cols) > 1 && strings.TrimSpace(cols[1]) != "" {
			t.PhotoCategories = nil
			for _, c := range strings.Split(cols[1], ",") {
				if c = strings.TrimSpace(c); c != "" {
					t.PhotoCategories = append(t.PhotoCategories, c)
				}
			}
		}
		if len(cols) > 2 {
			if n, err := strconv.Atoi(strings.TrimSpace(cols[2])); err == nil {
				t.MinPhotos = n
			}
		}
		tasks = append(tasks, t)
	}
	return tasks
}
