package sim

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// handleStaff serves /_sim: the staff-control JSON API and the HTML page. POSTs take JSON, or
// the page's form fields (then a success redirects back to the page).
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	seg := strings.Split(p, "/")
	form := simkit.IsForm(r)
	done := func(v any, err error) {
		var se *StaffError
		switch {
		case err != nil && !errors.As(err, &se):
			se = staffErr(http.StatusBadRequest, "%v", err)
			fallthrough
		case err != nil:
			if form {
				http.Error(w, se.Message, se.Code)
			} else {
				simkit.WriteJSON(w, se.Code, map[string]string{"error": se.Message})
			}
		case form:
			http.Redirect(w, r, "/_sim/", http.StatusSeeOther)
		default:
			simkit.WriteJSON(w, http.StatusOK, v)
		}
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost || r.Method == http.MethodPut
	switch {
	case p == "" && get:
		s.page(w)
	case p == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && post:
		var f Faults
		if err := readJSON(w, r, &f); err != nil {
			done(nil, err)
			return
		}
		s.SetFaults(f)
		done(s.Faults(), nil)
	case p == "stats" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case p == "reset" && post:
		s.Reset()
		done(map[string]bool{"ok": true}, nil)
	case p == "expire-tokens" && post:
		s.ExpireTokens()
		done(map[string]bool{"ok": true}, nil)
	case p == "requests" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Requests())
	case p == "requests" && post:
		in, err := newRequestInput(w, r, form)
		if err != nil {
			done(nil, err)
			return
		}
		done(s.CreateRequest(in))
	case seg[0] == "requests" && len(seg) >= 2:
		id, err := strconv.Atoi(seg[1])
		if err != nil {
			done(nil, staffErr(http.StatusNotFound, "no request %q", seg[1]))
			return
		}
		s.staffRequest(w, r, id, seg[2:], form, done)
	case p == "workorders" && get:
		simkit.WriteJSON(w, http.StatusOK, s.WorkOrders())
	case seg[0] == "workorders" && len(seg) >= 2:
		s.staffWorkOrder(w, r, seg[1], seg[2:], form, done)
	case p == "problems" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Problems())
	case p == "problems" && post:
		var pr Problem
		if form {
			pr = Problem{ProblemCode: r.PostFormValue("code"), Description: r.PostFormValue("description"),
				ForPublicSite: r.PostFormValue("public") != "", Priority: r.PostFormValue("priority")}
		} else if err := readJSON(w, r, &pr); err != nil {
			done(nil, err)
			return
		}
		done(s.PutProblem(pr))
	case seg[0] == "problems" && len(seg) >= 3 && seg[2] == "questions":
		s.staffQuestions(w, r, seg, form, done)
	case p == "wotemplates" && get:
		simkit.WriteJSON(w, http.StatusOK, s.WOTemplates())
	case p == "wotemplates" && post:
		var t WOTemplate
		if form {
			t = WOTemplate{WOTemplateId: r.PostFormValue("id"), Description: r.PostFormValue("description"),
				ApplyToEntity: r.PostFormValue("entity"), WOCategory: r.PostFormValue("category")}
		} else if err := readJSON(w, r, &t); err != nil {
			done(nil, err)
			return
		}
		done(s.PutWOTemplate(t))
	default:
		done(nil, staffErr(http.StatusNotFound, "no such staff endpoint %s %s", r.Method, r.URL.Path))
	}
}

// staffInput is the body of status, comment and attachment actions.
type staffInput struct {
	Status      string `json:"status"`
	Reason      string `json:"reason"`
	Text        string `json:"text"`
	Author      string `json:"author"`
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Content     []byte `json:"content"` // base64 in JSON
	Comments    string `json:"comments"`
}

func readStaffInput(w http.ResponseWriter, r *http.Request, form bool) (staffInput, error) {
	var in staffInput
	if !form {
		return in, readJSON(w, r, &in)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return in, err
		}
		if f, h, err := r.FormFile("file"); err == nil {
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil {
				return in, err
			}
			in.Filename, in.ContentType, in.Content = h.Filename, h.Header.Get("Content-Type"), b
		}
	}
	in.Status, in.Reason, in.Text, in.Author = r.FormValue("status"), r.FormValue("reason"), r.FormValue("text"), r.FormValue("author")
	in.Comments = r.FormValue("comments")
	if name := r.FormValue("filename"); name != "" {
		in.Filename = name
	}
	return in, nil
}

func (s *Server) staffRequest(w http.ResponseWriter, r *http.Request, id int, rest []string, form bool, done func(any, error)) {
	if len(rest) == 0 && r.Method == http.MethodGet {
		if v, ok := s.Request(id); ok {
			simkit.WriteJSON(w, http.StatusOK, v)
		} else {
			done(nil, staffErr(http.StatusNotFound, "request %d not found", id))
		}
		return
	}
	if r.Method != http.MethodPost || len(rest) != 1 {
		done(nil, staffErr(http.StatusNotFound, "no such staff endpoint %s %s", r.Method, r.URL.Path))
		return
	}
	in, err := readStaffInput(w, r, form)
	if err != nil {
		done(nil, err)
		return
	}
	switch rest[0] {
	case "status":
		done(s.SetRequestStatus(id, in.Status, in.Reason))
	case "comments":
		done(s.AddRequestComment(id, in.Text, in.Author))
	case "attachments":
		done(s.AddRequestAttachment(id, in.Filename, in.ContentType, in.Content, in.Comments))
	default:
		done(nil, staffErr(http.StatusNotFound, "no such action %q", rest[0]))
	}
}

func (s *Server) staffWorkOrder(w http.ResponseWriter, r *http.Request, id string, rest []string, form bool, done func(any, error)) {
	if len(rest) == 0 && r.Method == http.MethodGet {
		if v, ok := s.WorkOrder(id); ok {
			simkit.WriteJSON(w, http.StatusOK, v)
		} else {
			done(nil, staffErr(http.StatusNotFound, "work order %s not found", id))
		}
		return
	}
	if r.Method != http.MethodPost || len(rest) != 1 {
		done(nil, staffErr(http.StatusNotFound, "no such staff endpoint %s %s", r.Method, r.URL.Path))
		return
	}
	in, err := readStaffInput(w, r, form)
	if err != nil {
		done(nil, err)
		return
	}
	switch rest[0] {
	case "status":
		done(s.SetWorkOrderStatus(id, in.Status, in.Reason))
	case "comments":
		done(s.AddWorkOrderComment(id, in.Text, in.Author))
	case "attachments":
		done(s.AddWorkOrderAttachment(id, in.Filename, in.ContentType, in.Content, in.Comments))
	default:
		done(nil, staffErr(http.StatusNotFound, "no such action %q", rest[0]))
	}
}

// staffQuestions: POST problems/{sid}/questions adds; DELETE problems/{sid}/questions/{qid}
// (or POST …/{qid}/delete from the page) removes.
func (s *Server) staffQuestions(w http.ResponseWriter, r *http.Request, seg []string, form bool, done func(any, error)) {
	sid, err := strconv.Atoi(seg[1])
	if err != nil {
		done(nil, staffErr(http.StatusNotFound, "no problem %q", seg[1]))
		return
	}
	switch {
	case len(seg) == 3 && r.Method == http.MethodPost:
		var in QuestionInput
		if form {
			in = QuestionInput{Question: r.PostFormValue("question"), Format: r.PostFormValue("format"),
				Answers: strings.Split(r.PostFormValue("answers"), ",")}
		} else if err := readJSON(w, r, &in); err != nil {
			done(nil, err)
			return
		}
		done(s.AddQuestion(sid, in))
	case len(seg) == 4 && r.Method == http.MethodDelete, len(seg) == 5 && seg[4] == "delete" && r.Method == http.MethodPost:
		qid, err := strconv.Atoi(seg[3])
		if err != nil {
			done(nil, staffErr(http.StatusNotFound, "no question %q", seg[3]))
			return
		}
		done(s.DeleteQuestion(sid, qid))
	default:
		done(nil, staffErr(http.StatusNotFound, "no such staff endpoint %s %s", r.Method, r.URL.Path))
	}
}

// newRequestInput reads a staff-created request: NewRequest JSON or the page's form.
func newRequestInput(w http.ResponseWriter, r *http.Request, form bool) (NewRequest, error) {
	var in NewRequest
	if !form {
		return in, readJSON(w, r, &in)
	}
	sid, err := strconv.Atoi(r.PostFormValue("problemSid"))
	if err != nil {
		return in, staffErr(http.StatusBadRequest, "problemSid must be a number")
	}
	in.ProblemSid = sid
	if x, y := r.PostFormValue("x"), r.PostFormValue("y"); x != "" || y != "" {
		xf, errX := strconv.ParseFloat(x, 64)
		yf, errY := strconv.ParseFloat(y, 64)
		if errX != nil || errY != nil {
			return in, staffErr(http.StatusBadRequest, "x and y must be numbers")
		}
		in.X, in.Y = &xf, &yf
	}
	in.Address, in.City, in.Zip = r.PostFormValue("address"), r.PostFormValue("city"), r.PostFormValue("zip")
	in.Details = r.PostFormValue("details")
	in.CallerFirstName, in.CallerLastName = r.PostFormValue("callerFirstName"), r.PostFormValue("callerLastName")
	in.CallerEmail = r.PostFormValue("callerEmail")
	return in, nil
}

// readJSON reads a staff JSON body; any failure is a 400 for the staff member.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := simkit.ReadJSON(w, r, v, maxBodyBytes); err != nil {
		return staffErr(http.StatusBadRequest, "%v", err)
	}
	return nil
}
