package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// ReportInput is a citizen's report made through the control API. Zero Lat/Lng mean the city
// center, a zero RequestTypeID the "Other" type, an empty Reporter an anonymous report.
// Required questions are not enforced here (the API enforces them).
type ReportInput struct {
	Summary       string         `json:"summary"`
	Description   string         `json:"description"`
	Lat           float64        `json:"lat"`
	Lng           float64        `json:"lng"`
	Address       string         `json:"address"`
	RequestTypeID int64          `json:"requestTypeId"`
	Reporter      string         `json:"reporter"`
	Answers       map[string]any `json:"answers"`
	Private       bool           `json:"private"`
	Image         []byte         `json:"image"` // base64 in JSON
	ImageName     string         `json:"imageName"`
}

// CommentInput is a comment by a citizen (Name) or, with Staff, by an employee. For status
// changes the author is always an employee. Image is optional (base64 in JSON).
type CommentInput struct {
	Comment string `json:"comment"`
	Name    string `json:"name"`
	Staff   bool   `json:"staff"`
	Image   []byte `json:"image"`
}

// personLocked returns the citizen or employee called name, creating them on first use.
func (s *Server) personLocked(name string, staff bool) User {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Jane Citizen"
		if staff {
			name = "City Staff"
		}
	}
	key := "citizen:" + name
	if staff {
		key = "staff:" + name
	}
	id, ok := s.citizens[key]
	if !ok {
		s.nextUser++
		id = s.nextUser
		s.citizens[key] = id
	}
	return User{ID: id, Name: name, Member: staff}
}

func staffImage(data []byte) (*upload, *Error) {
	if len(data) == 0 {
		return nil, nil
	}
	in := &input{files: map[string]*upload{"image": {name: "image", data: data}}}
	return in.image("image")
}

// Report stores a citizen's new issue.
func (s *Server) Report(r ReportInput) (Issue, error) {
	img, e := staffImage(r.Image)
	if e != nil {
		return Issue{}, e
	}
	if r.Lat == 0 && r.Lng == 0 {
		r.Lat, r.Lng = DefaultLat, DefaultLng
	}
	answers := map[string]any{}
	for k, v := range r.Answers {
		answers[k] = v
	}
	if r.Summary != "" {
		answers["summary"] = r.Summary
	}
	if r.Description != "" {
		answers["description"] = r.Description
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.RequestTypeID == 0 {
		for _, rt := range s.rtypes {
			if rt.Title == "Other" && rt.Active && (r.RequestTypeID == 0 || rt.ID < r.RequestTypeID) {
				r.RequestTypeID = rt.ID
			}
		}
	}
	in := &input{values: map[string]any{
		"lat": strconv.FormatFloat(r.Lat, 'f', -1, 64), "lng": strconv.FormatFloat(r.Lng, 'f', -1, 64),
		"address": r.Address, "request_type_id": strconv.FormatInt(r.RequestTypeID, 10),
		"answers": answers, "private": strconv.FormatBool(r.Private),
	}}
	reporter := Person{}
	if strings.TrimSpace(r.Reporter) != "" {
		reporter = s.personLocked(r.Reporter, false).person()
	}
	is, e := s.newIssueLocked(in, img, reporter, false)
	if e != nil {
		return Issue{}, e
	}
	return is.clone(), nil
}

func (s *Server) issueLocked(id int64) (*Issue, *Error) {
	is := s.issues[id]
	if is == nil {
		return nil, errMessage(http.StatusNotFound, "issue %d not found", id)
	}
	return is, nil
}

// AddComment adds a public comment by a citizen or an employee.
func (s *Server) AddComment(issueID int64, in CommentInput) (Comment, error) {
	img, e := staffImage(in.Image)
	if e != nil {
		return Comment{}, e
	}
	if strings.TrimSpace(in.Comment) == "" && img == nil {
		return Comment{}, errFields("comment", "can't be blank")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return Comment{}, e
	}
	c := s.addCommentLocked(is, s.personLocked(in.Name, in.Staff).person(), in.Comment, img, "staff", false)
	return *c, nil
}

// Transition is an employee's status change (action close, open or acknowledge) with its
// comment; the contract's rules apply (a 422 *Error otherwise).
func (s *Server) Transition(issueID int64, action string, in CommentInput) (Issue, error) {
	img, e := staffImage(in.Image)
	if e != nil {
		return Issue{}, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return Issue{}, e
	}
	if action != ActionClose && action != ActionOpen && action != ActionAcknowledge {
		return Issue{}, errFlat("action", "must be close, open or acknowledge")
	}
	if _, e := s.transitionLocked(is, action, s.personLocked(in.Name, true), in.Comment, img, "staff"); e != nil {
		return Issue{}, e
	}
	return is.clone(), nil
}

// EditComment changes a comment's text later, as its author may (comments have no id on the
// wire, so clients must notice edits by re-reading). The issue's updated_at moves too.
func (s *Server) EditComment(issueID, commentID int64, text string) (Comment, error) {
	if strings.TrimSpace(text) == "" {
		return Comment{}, errFields("comment", "can't be blank")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return Comment{}, e
	}
	c := is.comment(commentID)
	if c == nil {
		return Comment{}, errMessage(http.StatusNotFound, "comment %d not found", commentID)
	}
	now := s.now()
	c.Text, c.UpdatedAt, c.LastEditedAt = text, now, now
	s.touchLocked(is)
	return *c, nil
}

// ApproveComment publishes a comment held for moderation.
func (s *Server) ApproveComment(issueID, commentID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return e
	}
	c := is.comment(commentID)
	if c == nil || !c.Pending {
		return errMessage(http.StatusNotFound, "no pending comment %d", commentID)
	}
	c.Pending = false
	s.touchLocked(is)
	return nil
}

// ApproveIssue publishes a report held for moderation.
func (s *Server) ApproveIssue(issueID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return e
	}
	if !is.Pending {
		return errMessage(http.StatusNotFound, "issue %d is not pending", issueID)
	}
	is.Pending = false
	s.touchLocked(is)
	return nil
}

// Archive archives a Closed issue now, as SCF does ArchiveAfter its closing.
func (s *Server) Archive(issueID int64) (Issue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.issueLocked(issueID)
	if e != nil {
		return Issue{}, e
	}
	if is.Status != StatusClosed {
		return Issue{}, errFlat("status", "only closed issues are archived, this one is "+is.Status)
	}
	is.Status = StatusArchived
	s.touchLocked(is)
	return is.clone(), nil
}

// Issues returns every issue (pending ones included), by id.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		out = append(out, is.clone())
	}
	slices.SortFunc(out, func(a, b Issue) int { return int(a.ID - b.ID) })
	return out
}

// Issue returns one issue.
func (s *Server) Issue(id int64) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	is := s.issues[id]
	if is == nil {
		return Issue{}, false
	}
	return is.clone(), true
}

// Posted lists what was posted to an issue — comments and status changes with their
// comments and images — oldest first. Via "api" are what API clients (ticketsync) relayed.
func (s *Server) Posted(issueID int64) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issues[issueID]; is != nil {
		return slices.Clone(is.Posts)
	}
	return nil
}

// ---- /_sim HTTP ----

// handleStaff serves the control API. POSTs take JSON, or the HTML page's form fields (then
// the answer is a redirect back to the page).
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	form := simkit.IsForm(r)
	done := func(v any, err error) {
		switch {
		case err != nil && form:
			e := asError(err)
			http.Error(w, e.msg, e.Status)
		case err != nil:
			e := asError(err)
			simkit.WriteJSON(w, e.Status, map[string]any{"error": e.msg, "body": e.Body})
		case form:
			http.Redirect(w, r, "/_sim/", http.StatusSeeOther)
		default:
			simkit.WriteJSON(w, http.StatusOK, v)
		}
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case p == "" && get:
		s.page(w, r)
	case p == "issues" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Issues())
	case p == "issues" && post:
		var in ReportInput
		if err := staffInput(w, r, &in, func(f formReader) {
			in = ReportInput{Summary: f.get("summary"), Description: f.get("description"), Address: f.get("address"),
				Reporter: f.get("reporter"), Private: f.get("private") != "", Image: f.file("image")}
			in.Lat, _ = strconv.ParseFloat(f.get("lat"), 64)
			in.Lng, _ = strconv.ParseFloat(f.get("lng"), 64)
			in.RequestTypeID, _ = strconv.ParseInt(f.get("requestTypeId"), 10, 64)
		}); err != nil {
			done(nil, err)
			return
		}
		done(s.Report(in))
	case p == "request_types" && get:
		simkit.WriteJSON(w, http.StatusOK, s.RequestTypes())
	case p == "agencies" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Agencies())
	case p == "agencies" && (r.Method == http.MethodPut || post):
		var list []Agency
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&list); err != nil {
			done(nil, errBadJSON())
			return
		}
		done(s.Agencies(), s.SetAgencies(list))
	case p == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && (r.Method == http.MethodPut || post):
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&f); err != nil {
			done(nil, errBadJSON())
			return
		}
		s.SetFaults(f)
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "stats" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case p == "reset" && post:
		s.Reset()
		done(map[string]bool{"ok": true}, nil)
	case strings.HasPrefix(p, "issues/"):
		s.staffIssue(w, r, strings.Split(strings.TrimPrefix(p, "issues/"), "/"), done)
	default:
		simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint " + r.Method + " " + r.URL.Path})
	}
}

func (s *Server) staffIssue(w http.ResponseWriter, r *http.Request, parts []string, done func(any, error)) {
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		done(nil, errMessage(http.StatusNotFound, "no issue %q", parts[0]))
		return
	}
	if r.Method == http.MethodGet {
		switch {
		case len(parts) == 1:
			if is, ok := s.Issue(id); ok {
				simkit.WriteJSON(w, http.StatusOK, is)
				return
			}
			done(nil, errMessage(http.StatusNotFound, "issue %d not found", id))
		case len(parts) == 2 && parts[1] == "posted":
			simkit.WriteJSON(w, http.StatusOK, s.Posted(id))
		default:
			done(nil, errMessage(http.StatusNotFound, "no such control endpoint"))
		}
		return
	}
	if r.Method != http.MethodPost {
		done(nil, errMessage(http.StatusMethodNotAllowed, "use POST"))
		return
	}
	var in CommentInput
	if err := staffInput(w, r, &in, func(f formReader) {
		in = CommentInput{Comment: f.get("comment"), Name: f.get("name"), Staff: f.get("staff") != "", Image: f.file("image")}
	}); err != nil {
		done(nil, err)
		return
	}
	switch {
	case len(parts) == 2 && parts[1] == "comments":
		done(s.AddComment(id, in))
	case len(parts) == 2 && (parts[1] == ActionClose || parts[1] == ActionOpen || parts[1] == ActionAcknowledge):
		done(s.Transition(id, parts[1], in))
	case len(parts) == 2 && parts[1] == "approve":
		done(map[string]bool{"ok": true}, s.ApproveIssue(id))
	case len(parts) == 2 && parts[1] == "archive":
		done(s.Archive(id))
	case len(parts) == 4 && parts[1] == "comments" && (parts[3] == "edit" || parts[3] == "approve"):
		cid, _ := strconv.ParseInt(parts[2], 10, 64)
		if parts[3] == "edit" {
			done(s.EditComment(id, cid, in.Comment))
		} else {
			done(map[string]bool{"ok": true}, s.ApproveComment(id, cid))
		}
	default:
		done(nil, errMessage(http.StatusNotFound, "no such control endpoint"))
	}
}

// formReader reads the HTML page's fields (form-encoded or multipart with an image file).
type formReader struct{ r *http.Request }

func (f formReader) get(k string) string { return strings.TrimSpace(f.r.FormValue(k)) }

func (f formReader) file(k string) []byte {
	file, _, err := f.r.FormFile(k)
	if err != nil {
		return nil
	}
	defer file.Close()
	b, _ := io.ReadAll(io.LimitReader(file, MaxImageBytes+1))
	return b
}

// staffInput decodes a JSON body into v, or calls fromForm for the HTML page's forms.
func staffInput(w http.ResponseWriter, r *http.Request, v any, fromForm func(formReader)) error {
	if simkit.IsForm(r) {
		r.Body = http.MaxBytesReader(w, r.Body, maxMultipartBytes)
		if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return bodyError(err)
		}
		fromForm(formReader{r})
		return nil
	}
	switch err := simkit.ReadJSON(w, r, v, maxMultipartBytes*2); {
	case err == nil, errors.Is(err, simkit.ErrEmptyBody):
		return nil
	default:
		return bodyError(err) // 413 when too large, else bad JSON
	}
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, msg: err.Error(), Body: map[string]string{"message": err.Error()}}
}
