package sim

import (
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Staff transitions other than accepting (SetCategory) and requestor cancel. OnHold may also
// be closed directly; the contract only requires OnHold → InProgress.
var staffMoves = map[string][]string{
	StatusPending:    {StatusRejected},
	StatusInProgress: {StatusOnHold, StatusCompleted, StatusCancelled},
	StatusOnHold:     {StatusInProgress, StatusCompleted, StatusCancelled},
}

// Requests returns every work request of every tenant, ordered by id.
func (s *Server) Requests() []WorkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkRequest, 0, len(s.reqs))
	for _, wr := range s.reqs {
		out = append(out, wr.clone())
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

// Request returns one work request.
func (s *Server) Request(id string) (WorkRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wr, ok := s.reqs[id]
	if !ok {
		return WorkRequest{}, false
	}
	return wr.clone(), true
}

// SetCategory is staff categorising a request. A Pending request is thereby accepted: it
// moves to InProgress in the same change and gets its workOrderId. Re-categorising an open
// request only changes the category.
func (s *Server) SetCategory(id, category string) (WorkRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wr, e := s.getLocked("", id)
	if e != nil {
		return WorkRequest{}, e
	}
	category = strings.TrimSpace(category)
	if category == "" {
		return WorkRequest{}, fieldError("category", "is required")
	}
	if terminal[wr.Status] {
		return WorkRequest{}, errf(http.StatusConflict, "invalid_transition", "work request is %s", wr.Status)
	}
	wr.Category = category
	if wr.Status == StatusPending {
		wr.Status = StatusInProgress
	}
	if wr.WorkOrderID == "" && wr.Status == StatusInProgress {
		s.nextWO++
		wr.WorkOrderID = strconv.FormatInt(s.nextWO, 10)
	}
	s.touchLocked(wr)
	return wr.clone(), nil
}

// Transition is a staff status change, optionally carrying one feedback item (whose status is
// the new status). Rejecting a Pending request requires a reason. force skips all rules and
// accepts any status string (e.g. "Escalated", to test unmapped statuses).
func (s *Server) Transition(id, status string, fb *FeedbackInput, force bool) (WorkRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wr, e := s.getLocked("", id)
	if e != nil {
		return WorkRequest{}, e
	}
	status = strings.TrimSpace(status)
	if fb != nil && strings.TrimSpace(fb.Text) == "" {
		fb = nil
	}
	if status == "" {
		return WorkRequest{}, fieldError("status", "is required")
	}
	if !force {
		if !knownStatus[status] {
			return WorkRequest{}, fieldError("status", "unknown status (set force to use it anyway)")
		}
		allowed := false
		for _, to := range staffMoves[wr.Status] {
			allowed = allowed || to == status
		}
		if !allowed {
			msg := "cannot move a work request from " + wr.Status + " to " + status
			if wr.Status == StatusPending && status == StatusInProgress {
				msg += "; accept it by setting its category"
			}
			return WorkRequest{}, errf(http.StatusConflict, "invalid_transition", "%s", msg)
		}
		if status == StatusRejected && fb == nil {
			return WorkRequest{}, fieldError("feedback.text", "a reason is required to reject")
		}
	}
	wr.Status = status
	if fb != nil {
		s.addFeedbackLocked(wr, *fb)
	}
	s.touchLocked(wr)
	return wr.clone(), nil
}

// AddFeedback adds a staff feedback item without a status change (its status is the current one).
func (s *Server) AddFeedback(id string, fb FeedbackInput) (WorkRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wr, e := s.getLocked("", id)
	if e != nil {
		return WorkRequest{}, e
	}
	if strings.TrimSpace(fb.Text) == "" {
		return WorkRequest{}, fieldError("text", "is required")
	}
	s.addFeedbackLocked(wr, fb)
	s.touchLocked(wr)
	return wr.clone(), nil
}

func (s *Server) addFeedbackLocked(wr *WorkRequest, fb FeedbackInput) {
	author := strings.TrimSpace(fb.Author)
	if author == "" {
		author = "Staff"
	}
	wr.Feedback = append(wr.Feedback, Feedback{ID: s.newSubIDLocked(), Text: fb.Text, Author: author,
		VisibleToRequestor: fb.VisibleToRequestor, Status: wr.Status, CreatedAt: s.now()})
}

func fieldError(field, msg string) *Error {
	e := errf(http.StatusUnprocessableEntity, "validation_failed", "%s %s", field, msg)
	e.Fields = map[string]string{field: msg}
	return e
}

// ---- /_sim HTTP ----

// handleStaff serves the staff-control API. POSTs take JSON, or form fields from the HTML
// page (then the answer is a redirect back to the page).
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	form := simkit.IsForm(r)
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
			simkit.WriteJSON(w, http.StatusOK, v)
		}
	}
	switch {
	case p == "" && r.Method == http.MethodGet:
		s.page(w)
	case p == "workrequests" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Requests())
	case p == "faults" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if e := decodeBody(w, r, &f, false); e != nil {
			writeError(w, e)
			return
		}
		s.SetFaults(f)
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "reset" && r.Method == http.MethodPost:
		s.Reset()
		done(map[string]bool{"ok": true}, nil)
	case p == "revoke-tokens" && r.Method == http.MethodPost:
		s.RevokeAll()
		done(map[string]bool{"ok": true}, nil)
	case p == "stats" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case strings.HasPrefix(p, "workrequests/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(p, "workrequests/"), "/")
		s.staffRequest(w, r, id, action, form, done)
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such staff endpoint %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) staffRequest(w http.ResponseWriter, r *http.Request, id, action string, form bool, done func(any, error)) {
	if action == "" && r.Method == http.MethodGet {
		if wr, ok := s.Request(id); ok {
			simkit.WriteJSON(w, http.StatusOK, wr)
		} else {
			writeError(w, errf(http.StatusNotFound, "not_found", "work request %q not found", id))
		}
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	var in struct {
		Category string         `json:"category"`
		Status   string         `json:"status"`
		Force    bool           `json:"force"`
		Feedback *FeedbackInput `json:"feedback"`
		FeedbackInput
	}
	if form {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.Category, in.Status, in.Force = r.PostForm.Get("category"), r.PostForm.Get("status"), r.PostForm.Get("force") != ""
		in.FeedbackInput = FeedbackInput{Text: r.PostForm.Get("text"), Author: r.PostForm.Get("author"),
			VisibleToRequestor: r.PostForm.Get("visible") != ""}
		in.Feedback = &in.FeedbackInput
	} else if e := decodeBody(w, r, &in, false); e != nil {
		writeError(w, e)
		return
	}
	switch action {
	case "category":
		done(s.SetCategory(id, in.Category))
	case "status":
		done(s.Transition(id, in.Status, in.Feedback, in.Force))
	case "feedback": // body is the feedback itself: {text, author, visibleToRequestor}
		done(s.AddFeedback(id, in.FeedbackInput))
	default:
		writeError(w, errf(http.StatusNotFound, "not_found", "no such action %q", action))
	}
}

func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return errf(http.StatusInternalServerError, "server_error", "%v", err)
}

var pageTmpl = template.Must(template.New("sim").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>TheWorxHub simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}form{display:inline;margin:0 4px 0 0}input[type=text]{width:9em}small{color:#666}</style></head>
<body><h1>TheWorxHub simulator</h1>
<p><a href="/_sim/workrequests">JSON</a> · <a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/revoke-tokens"><button>revoke tokens</button></form>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>
<table><tr><th>id</th><th>request</th><th>status</th><th>feedback / comments</th><th>staff</th></tr>
{{range .}}<tr><td>{{.ID}}<br><small>{{.Tenant}}</small></td>
<td><b>{{.RequestType}}</b>: {{.Title}}<br><small>{{.Location}} · {{.RequestedFor.Name}} · {{.ExternalReference}}</small></td>
<td>{{.Status}}<br><small>{{.Category}} {{if .WorkOrderID}}WO {{.WorkOrderID}}{{end}}<br>{{.ModifiedAt.Format "2006-01-02 15:04:05.000"}}</small></td>
<td>{{range .Feedback}}<div>⇢ [{{.Status}}{{if not .VisibleToRequestor}}, internal{{end}}] {{.Text}}</div>{{end}}{{range .Comments}}<div>⇠ {{.Author}}: {{.Text}}</div>{{end}}</td>
<td><form method="post" action="/_sim/workrequests/{{.ID}}/category"><input type="text" name="category" placeholder="category"><button>accept</button></form>
<form method="post" action="/_sim/workrequests/{{.ID}}/status"><select name="status"><option>OnHold</option><option>InProgress</option><option>Completed</option><option>Cancelled</option><option>Rejected</option></select><input type="text" name="text" placeholder="feedback / reason"><label><input type="checkbox" name="visible" checked>visible</label><button>move</button></form>
<form method="post" action="/_sim/workrequests/{{.ID}}/feedback"><input type="text" name="text" placeholder="feedback"><label><input type="checkbox" name="visible" checked>visible</label><button>add</button></form></td></tr>
{{else}}<tr><td colspan="5">no work requests yet</td></tr>{{end}}</table></body></html>`))

func (s *Server) page(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, s.Requests())
}
