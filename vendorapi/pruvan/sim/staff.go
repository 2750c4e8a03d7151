package sim

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// handleStaff serves the staff/control API (JSON) and the HTML page, whose forms post
// urlencoded fields and are redirected back to the page.
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	if s.opts.BaseURL == "" && r.Host != "" {
		s.mu.Lock()
		if s.baseURL == "" {
			s.baseURL = "http://" + r.Host
		}
		s.mu.Unlock()
	}
	segs := pathSegments(strings.TrimPrefix(r.URL.EscapedPath(), "/_sim"))
	form := simkit.IsForm(r)
	var in staffInput
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := in.read(w, r, form); err != nil {
			writeStaffError(w, errf(http.StatusBadRequest, "bad_request", "%v", err))
			return
		}
	}
	done := func(v any, err error) {
		switch {
		case err != nil && form:
			e := asError(err)
			http.Error(w, e.Message, e.Status)
		case err != nil:
			writeStaffError(w, asError(err))
		case form:
			http.Redirect(w, r, "/_sim/", http.StatusSeeOther)
		default:
			simkit.WriteJSON(w, http.StatusOK, v)
		}
	}
	ctx := r.Context()
	route := r.Method + " " + strings.Join(pattern(segs), "/")
	switch route {
	case "GET ":
		s.page(w)
	case "GET integrations":
		simkit.WriteJSON(w, http.StatusOK, s.Integrations())
	case "PUT integrations/*", "POST integrations/*":
		var integ Integration
		if form {
			integ = Integration{URL: in.get("url"), Extension: in.get("extension"), Username: in.get("username"),
				Password: in.get("password"), Token: in.get("token"), AutoAdmin: in.get("autoAdmin") != ""}
		} else if err := json.Unmarshal(in.raw, &integ); err != nil {
			done(nil, errf(http.StatusBadRequest, "bad_request", "integration: %v", err))
			return
		}
		integ.ClientCode = segs[1]
		done(s.SetIntegration(integ))
	case "POST integrations/*/validate":
		err := s.Validate(ctx, segs[1])
		done(map[string]bool{"validated": err == nil}, err)
	case "POST integrations/*/refresh":
		full := r.URL.Query().Get("full") == "true" || in.get("full") == "true" || in.get("full") == "on"
		done(s.Refresh(ctx, segs[1], full))
	case "POST integrations/*/full-refresh":
		done(s.Refresh(ctx, segs[1], true))
	case "GET projects":
		simkit.WriteJSON(w, http.StatusOK, s.Projects())
	case "GET projects/*":
		if p, ok := s.Project(segs[1]); ok {
			simkit.WriteJSON(w, http.StatusOK, p)
		} else {
			writeStaffError(w, errf(http.StatusNotFound, "not_found", "no project %q", segs[1]))
		}
	case "POST projects/*/edit":
		changes := map[string]string{}
		if form {
			if f, v := in.get("field"), in.get("value"); f != "" {
				changes[f] = v
			}
		} else if err := json.Unmarshal(in.raw, &changes); err != nil {
			done(nil, errf(http.StatusBadRequest, "bad_request", "edit: %v", err))
			return
		}
		done(s.Edit(segs[1], changes))
	case "POST projects/*/complete":
		var at time.Time
		if v := in.get("completedDate"); v != "" {
			t, err := parseStaffTime(v)
			if err != nil {
				done(nil, errf(http.StatusBadRequest, "bad_request", "completedDate: %v", err))
				return
			}
			at = t
		}
		done(s.Complete(ctx, segs[1], at))
	case "POST projects/*/status":
		done(s.SetStatus(ctx, segs[1], in.get("status"), time.Time{}))
	case "POST projects/*/photos":
		var req PhotoRequest
		if form {
			req = PhotoRequest{Category: in.get("category"), Task: in.get("task")}
			req.Count, _ = strconv.Atoi(in.get("count"))
			req.Size, _ = strconv.Atoi(in.get("size"))
		} else if err := json.Unmarshal(in.raw, &req); err != nil {
			done(nil, errf(http.StatusBadRequest, "bad_request", "photos: %v", err))
			return
		}
		done(s.UploadPhotos(ctx, segs[1], req))
	case "POST projects/*/survey":
		var req SurveyRequest
		if form {
			req = SurveyRequest{Task: in.get("task"), Template: in.get("template"), Answers: map[string]any{}}
			for _, line := range strings.Split(in.get("answers"), "\n") { // "id=answer" per line
				if id, ans, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
					req.Answers[strings.TrimSpace(id)] = strings.TrimSpace(ans)
				}
			}
		} else if err := json.Unmarshal(in.raw, &req); err != nil {
			done(nil, errf(http.StatusBadRequest, "bad_request", "survey: %v", err))
			return
		}
		done(s.SubmitSurvey(ctx, segs[1], req))
	case "GET calls":
		simkit.WriteJSON(w, http.StatusOK, s.Calls())
	case "GET faults":
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case "PUT faults", "POST faults":
		var f Faults
		if err := json.Unmarshal(in.raw, &f); err != nil {
			writeStaffError(w, errf(http.StatusBadRequest, "bad_request", "faults: %v", err))
			return
		}
		s.SetFaults(f)
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case "POST reset":
		s.Reset()
		done(map[string]bool{"ok": true}, nil)
	case "GET stats":
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	default:
		writeStaffError(w, errf(http.StatusNotFound, "not_found", "no staff endpoint %s %s", r.Method, r.URL.Path))
	}
}

// pathSegments splits an escaped path and unescapes each segment, so that a project key with
// a "/" (escaped as %2F) stays one segment.
func pathSegments(escaped string) []string {
	var out []string
	for _, seg := range strings.Split(strings.Trim(escaped, "/"), "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		out = append(out, seg)
	}
	return out
}

// pattern replaces the id segment (the second) by "*".
func pattern(segs []string) []string {
	p := append([]string(nil), segs...)
	if len(p) >= 2 {
		p[1] = "*"
	}
	return p
}

type staffInput struct {
	raw  []byte
	form url.Values
	obj  map[string]json.RawMessage
}

func (in *staffInput) read(w http.ResponseWriter, r *http.Request, form bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if form {
		if err := r.ParseForm(); err != nil {
			return err
		}
		in.form = r.PostForm
		return nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		b = []byte("{}")
	}
	in.raw = b
	json.Unmarshal(b, &in.obj) // a non-object body is read by the route itself
	return nil
}

// get reads a form field, or a JSON member rendered as text.
func (in *staffInput) get(name string) string {
	if in.form != nil {
		return strings.TrimSpace(in.form.Get(name))
	}
	v, ok := in.obj[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(v))
}

func parseStaffTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339, v)
}

func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return errf(http.StatusInternalServerError, "server_error", "%v", err)
}

func writeStaffError(w http.ResponseWriter, e *Error) {
	simkit.WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

type pageData struct {
	Integrations []Integration
	Projects     []Project
	Calls        []Call
	Stats        Stats
}

var pageTmpl = template.Must(template.New("sim").Funcs(template.FuncMap{
	"esc": url.PathEscape,
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Pruvan simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}form{display:inline;margin:0 4px 2px 0}input[type=text]{width:8em}small{color:#666}</style></head>
<body><h1>Pruvan simulator</h1>
<p><a href="/_sim/projects">projects JSON</a> · <a href="/_sim/integrations">integrations</a> · <a href="/_sim/calls">calls</a> · <a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>
<h2>Integrations</h2>
<table><tr><th>client code</th><th>order source</th><th>state</th><th>admin</th></tr>
{{range .Integrations}}<tr><td>{{.ClientCode}}</td><td>{{.URL}}/…{{.Extension}}<br><small>user {{.Username}}</small></td>
<td>{{if .Validated}}validated{{else}}not validated{{end}}{{if .AutoAdmin}} · Auto-Admin{{end}}<br><small>last import {{if .LastImport.IsZero}}never{{else}}{{.LastImport.Format "2006-01-02 15:04:05"}}{{end}}</small></td>
<td><form method="post" action="/_sim/integrations/{{esc .ClientCode}}/validate"><button>Validate</button></form>
<form method="post" action="/_sim/integrations/{{esc .ClientCode}}/refresh"><button>Refresh</button></form>
<form method="post" action="/_sim/integrations/{{esc .ClientCode}}/full-refresh"><button>Full refresh</button></form></td></tr>
{{else}}<tr><td colspan="4">no integrations (PUT /_sim/integrations/{code})</td></tr>{{end}}</table>
<h2>Projects</h2>
<table><tr><th>project</th><th>details</th><th>status</th><th>sent</th><th>crew</th></tr>
{{range .Projects}}<tr><td>{{.Key}}<br><small>{{.WorkOrder.Address1}}, {{.WorkOrder.City}} {{.WorkOrder.State}}</small></td>
<td>{{.WorkOrder.Description}}<br><small>due {{.WorkOrder.DueDate}} · ref {{.WorkOrder.Reference}}<br>tasks: {{range .WorkOrder.Services}}{{.ServiceName}}{{if .Survey}} (survey {{.Survey}}){{end}}; {{end}}</small>{{range .Notes}}<div><small>⚠ {{.}}</small></div>{{end}}</td>
<td>{{.Status}}<br><small>client: {{.WorkOrder.ClientStatus}}{{if .CompletedDate}}<br>done {{.CompletedDate}}{{end}}</small></td>
<td>{{range .Sent}}<div><small>{{.Kind}} {{.Category}} {{.Task}} {{if .Accepted}}✓{{else}}✗ {{.Error}}{{end}}</small></div>{{end}}</td>
<td><form method="post" action="/_sim/projects/{{esc .Key}}/photos"><input type="text" name="count" value="2" style="width:2em"><input type="text" name="category" value="Before"><input type="text" name="task" placeholder="task (first)"><button>upload photos</button></form><br>
<form method="post" action="/_sim/projects/{{esc .Key}}/survey"><input type="text" name="task" placeholder="task"><textarea name="answers" rows="2" placeholder="questionId=answer"></textarea><button>submit survey</button></form><br>
<form method="post" action="/_sim/projects/{{esc .Key}}/complete"><button>mark project complete</button></form>
<form method="post" action="/_sim/projects/{{esc .Key}}/edit"><select name="field"><option>description</option><option>instructions</option><option>dueDate</option><option>reference</option><option>assignedTo</option></select><input type="text" name="value"><button>edit</button></form></td></tr>
{{else}}<tr><td colspan="5">no projects yet: Validate, then Refresh</td></tr>{{end}}</table>
<h2>Recent order-source calls</h2>
<table><tr><th>at</th><th>method</th><th>result</th></tr>
{{range .Calls}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.ClientCode}} {{.Method}}</td><td>{{.HTTPStatus}} {{if .OK}}ok{{else}}{{.Error}}{{end}} <small>{{.Duration}}</small></td></tr>{{end}}</table>
</body></html>`))

func (s *Server) page(w http.ResponseWriter) {
	calls := s.Calls()
	if len(calls) > 20 {
		calls = calls[len(calls)-20:]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, pageData{Integrations: s.Integrations(), Projects: s.Projects(), Calls: calls, Stats: s.Stats()})
}
