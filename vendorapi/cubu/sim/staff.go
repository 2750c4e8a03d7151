package sim

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// handleStaff serves the control API under /_sim/. POSTs take JSON, or the HTML page's form
// fields (then the answer redirects back to the page with a message).
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	form := simkit.IsForm(r)
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case p == "" && get:
		s.page(w, r.URL.Query().Get("msg"))
	case p == "config" && get:
		simkit.WriteJSON(w, http.StatusOK, s.config())
	case p == "cases" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Cases())
	case p == "cases" && post:
		s.staffCreate(w, r, form)
	case p == "deliveries" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Deliveries())
	case p == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && form && post:
		s.SetFaults(hookFaultsFromForm(s.Faults(), r.PostForm))
		back(w, r, "faults updated")
	case p == "faults" && (r.Method == http.MethodPut || post):
		var f Faults
		if err := readJSON(w, r, &f, false); err != nil {
			simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		s.SetFaults(f)
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "stats" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case p == "reset" && post:
		s.Reset()
		done(w, r, form, map[string]bool{"ok": true}, nil, "reset")
	case p == "revoke-tokens" && post:
		s.RevokeAll()
		done(w, r, form, map[string]bool{"ok": true}, nil, "tokens revoked")
	case strings.HasPrefix(p, "deliveries/") && strings.HasSuffix(p, "/replay") && post:
		seq, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "deliveries/"), "/replay"))
		d, ok := s.Replay(seq)
		if !ok {
			done(w, r, form, nil, actionErr(http.StatusNotFound, 0, "delivery %d not found (or webhooks are off)", seq), "")
			return
		}
		done(w, r, form, d, nil, "replayed delivery "+strconv.Itoa(seq)+": HTTP "+strconv.Itoa(d.Status))
	case strings.HasPrefix(p, "cases/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(p, "cases/"), "/")
		s.staffCase(w, r, id, action, form)
	default:
		simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "no such control endpoint " + r.Method + " " + r.URL.Path})
	}
}

// actionInput is the JSON body of /_sim/cases and /_sim/cases/{id}/{action}.
type actionInput struct {
	NewCase
	Kind string `json:"kind"` // walkIn (default) | appointment
}

func (s *Server) staffCreate(w http.ResponseWriter, r *http.Request, form bool) {
	var in actionInput
	if form {
		in = actionFromForm(r.PostForm)
	} else if err := readJSON(w, r, &in, false); err != nil {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	in.by = viaAgent
	var c Case
	var err error
	switch in.Kind {
	case "", "walkIn":
		c, err = s.QueueUp(in.NewCase)
	case "appointment":
		c, err = s.BookAppointment(in.NewCase)
	default:
		err = actionErr(http.StatusBadRequest, 0, "kind must be walkIn or appointment")
	}
	done(w, r, form, actionResult(c, err), err, "created ticket "+c.Ticket.String())
}

func (s *Server) staffCase(w http.ResponseWriter, r *http.Request, id, action string, form bool) {
	if action == "" && r.Method == http.MethodGet {
		if c, ok := s.Case(id); ok {
			simkit.WriteJSON(w, http.StatusOK, c)
		} else {
			simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "case " + id + " not found"})
		}
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		simkit.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use POST"})
		return
	}
	var in actionInput
	if form {
		in = actionFromForm(r.PostForm)
	} else if err := readJSON(w, r, &in, true); err != nil {
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	if action == "act" && form { // the page's row form names the action in its button
		action = r.PostForm.Get("do")
	}
	var c Case
	var err error
	switch action {
	case "check-in":
		c, err = s.CheckIn(id, in.Agent)
	case "start-work":
		c, err = s.StartWork(id, in.Agent)
	case "resolve":
		c, err = s.Resolve(id, in.Agent)
	case "close":
		c, err = s.CloseCase(id, in.Agent)
	case "fields":
		c, err = s.SetFields(id, in.Fields)
	case "assign":
		c, err = s.Assign(id, in.Agent)
	default:
		simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "no such action " + action})
		return
	}
	done(w, r, form, actionResult(c, err), err, action+" "+c.Ticket.String()+": done")
}

func actionResult(c Case, err error) any {
	if err != nil {
		return nil
	}
	return map[string]any{"case": c, "before": c.LastBefore}
}

// done answers a control call: JSON (errors as {message, errorCode?, before?}) or, for form
// posts, a redirect to the page with a message.
func done(w http.ResponseWriter, r *http.Request, form bool, v any, err error, okMsg string) {
	if err != nil {
		var ae *ActionError
		if !errors.As(err, &ae) {
			ae = actionErr(http.StatusInternalServerError, 0, "%v", err)
		}
		if form {
			msg := ae.Message
			if ae.Before != nil && ae.Before.Answer != "" {
				msg += " — answer: " + ae.Before.Answer
			}
			back(w, r, msg)
			return
		}
		simkit.WriteJSON(w, ae.Status, ae)
		return
	}
	if form {
		back(w, r, okMsg)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, v)
}

func back(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/_sim/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

// actionFromForm reads the page's forms: field_<fieldTypeId> inputs become Fields.
func actionFromForm(f url.Values) actionInput {
	in := actionInput{Kind: f.Get("kind")}
	in.Agent, in.ServiceTypeID, in.Channel = f.Get("agent"), f.Get("serviceTypeId"), f.Get("channel")
	in.ContactEmail, in.ContactPhoneNumber = f.Get("contactEmail"), f.Get("contactPhoneNumber")
	for k, v := range f {
		if id, ok := strings.CutPrefix(k, "field_"); ok && len(v) > 0 && (v[0] != "" || f.Get("action") == "fields") {
			if in.Fields == nil {
				in.Fields = map[string]string{}
			}
			in.Fields[id] = v[0]
		}
	}
	return in
}

func hookFaultsFromForm(f Faults, v url.Values) Faults {
	f.HookDuplicates, _ = strconv.Atoi(v.Get("hookDuplicates"))
	f.HookBadSignature, _ = strconv.Atoi(v.Get("hookBadSignature"))
	f.HookUnsigned, _ = strconv.Atoi(v.Get("hookUnsigned"))
	f.HookExtraFields = v.Get("hookExtraFields") != ""
	return f
}

// config is what a developer needs to point a connection at this simulator.
func (s *Server) config() map[string]any {
	return map[string]any{
		"tenantId": s.opts.TenantID, "applicationId": s.opts.ApplicationID, "clientId": s.opts.ClientID,
		"clientSecret": s.opts.ClientSecret, "tokenPath": "/" + s.opts.TenantID + "/oauth2/v2.0/token",
		"roles": s.opts.Roles, "agents": s.opts.Agents, "services": s.opts.Services,
		"hookBaseUrl": s.opts.HookBaseURL, "hmac": s.opts.HMACSecret != "", "canonicalPaths": s.opts.CanonicalPaths,
	}
}

type pageData struct {
	Msg        string
	HookURL    string
	Signed     bool
	Cases      []Case
	Deliveries []Delivery
	Agents     []Agent
	Service    Service
	Faults     Faults
	Stats      Stats
}

func (s *Server) page(w http.ResponseWriter, msg string) {
	ds := s.Deliveries()
	slices.Reverse(ds)
	if len(ds) > 20 {
		ds = ds[:20]
	}
	cs := s.Cases()
	slices.Reverse(cs)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, pageData{Msg: msg, HookURL: s.opts.HookBaseURL, Signed: s.opts.HMACSecret != "", Cases: cs,
		Deliveries: ds, Agents: s.opts.Agents, Service: s.opts.Services[0], Faults: s.Faults(), Stats: s.Stats()})
}

var pageTmpl = template.Must(template.New("sim").Funcs(template.FuncMap{
	"label": func(sv Service, id string) string {
		for _, f := range sv.Fields {
			if f.ID == id {
				return f.Label
			}
		}
		for _, t := range sv.Types {
			if t.ID == id {
				return t.Name
			}
		}
		return id
	},
	"short": func(s string) string {
		if len(s) > 160 {
			return s[:160] + "…"
		}
		return s
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Cubu simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}
form{display:inline;margin:0 4px 0 0}input[type=text]{width:11em}small,code{color:#555}.msg{background:#ffd;padding:.4em;border:1px solid #cc9}
.ok{color:#070}.no{color:#a00}fieldset{display:inline-block;vertical-align:top}</style></head>
<body><h1>Cubu simulator</h1>
<p>Webhooks → <code>{{if .HookURL}}{{.HookURL}}/service/actions/…{{else}}off{{end}}</code> · signing: {{if .Signed}}HMAC{{else}}None{{end}} ·
<a href="/_sim/cases">cases</a> · <a href="/_sim/deliveries">deliveries</a> · <a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a> · <a href="/_sim/config">config</a>
<form method="post" action="/_sim/revoke-tokens"><button>revoke S2S tokens</button></form>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>
{{if .Msg}}<p class="msg">{{.Msg}}</p>{{end}}
<fieldset><legend>New case ({{.Service.Name}})</legend><form method="post" action="/_sim/cases">
<label><input type="radio" name="kind" value="walkIn" checked>walk-in</label> <label><input type="radio" name="kind" value="appointment">appointment</label><br>
<select name="serviceTypeId">{{range .Service.Types}}<option value="{{.ID}}">{{.Name}}</option>{{end}}</select>
<select name="channel"><option>FaceToFace</option><option>Video</option><option>Phone</option></select>
<select name="agent"><option value="">kiosk</option>{{range .Agents}}<option value="{{.ID}}">{{.Email}}</option>{{end}}</select><br>
{{range .Service.Fields}}<input type="text" name="field_{{.ID}}" placeholder="{{.Label}}"> {{end}}<br>
<input type="text" name="contactEmail" placeholder="contact email"> <input type="text" name="contactPhoneNumber" placeholder="contact phone">
<button>queue up / book</button></form></fieldset>
<fieldset><legend>Webhook faults</legend><form method="post" action="/_sim/faults">
send each after-hook <input type="number" name="hookDuplicates" min="0" value="{{.Faults.HookDuplicates}}" style="width:3em"> extra times ·
bad signature next <input type="number" name="hookBadSignature" min="0" value="{{.Faults.HookBadSignature}}" style="width:3em"> ·
unsigned next <input type="number" name="hookUnsigned" min="0" value="{{.Faults.HookUnsigned}}" style="width:3em"> ·
<label><input type="checkbox" name="hookExtraFields" {{if .Faults.HookExtraFields}}checked{{end}}>unknown extra fields</label>
<button>set</button></form><br><small>deliveries {{.Stats.HookDeliveries}}, failed {{.Stats.HookFailures}}, before-hooks allowed {{.Stats.BeforeHooksAllowed}}, blocked {{.Stats.BeforeHooksBlocked}}; S2S calls {{.Stats.APICalls}}</small></fieldset>
<h2>Cases</h2>
<table><tr><th>ticket</th><th>status</th><th>fields</th><th>last before-hook answer</th><th>notes / updates</th><th>act as agent</th></tr>
{{range .Cases}}{{$c := .}}<tr><td><b>{{.Ticket.Prefix}}{{.Ticket.Number}}</b><br><small>{{.ID}}</small></td>
<td>{{.Status}}<br><small>{{label $.Service .ServiceTypeID}} · {{.Channel}}{{if .LockedBy}}<br>locked by {{.LockedBy}}{{end}}{{if .Appointment}}<br>appt {{.Appointment.Date}} +{{.Appointment.Start}}min{{end}}</small></td>
<td>{{range $k, $v := .Fields}}<div><small>{{label $.Service $k}}:</small> {{$v}}</div>{{end}}</td>
<td>{{with .LastBefore}}<span class="{{if .Allowed}}ok{{else}}no{{end}}">{{.Hook}}: {{if .Allowed}}allowed{{else}}blocked{{end}}</span> (HTTP {{.Status}}, {{.DurationMs}} ms)<br><small>{{.Reason}}</small>{{if .Message}}<br>“{{.Message}}”{{end}}<br><code>{{short .Answer}}</code>{{end}}</td>
<td>{{range .Notes}}<div>✉ {{.Text}}</div>{{end}}{{range .FieldUpdates}}<div><small>{{.Source}} set</small> {{range $k, $v := .Fields}}{{label $.Service $k}}={{$v}} {{end}}</div>{{end}}</td>
<td><form method="post" action="/_sim/cases/{{$c.ID}}/act"><select name="agent">{{range $.Agents}}<option value="{{.ID}}">{{.Email}}</option>{{end}}</select>
<button name="do" value="check-in">check in</button><button name="do" value="start-work">start work</button><button name="do" value="resolve">resolve</button><button name="do" value="close">close</button></form><br>
<form method="post" action="/_sim/cases/{{$c.ID}}/fields"><input type="hidden" name="action" value="fields">{{range $.Service.Fields}}<input type="text" name="field_{{.ID}}" placeholder="{{.Label}}" value="{{index $c.Fields .ID}}">{{end}}<button>save fields</button></form></td></tr>
{{else}}<tr><td colspan="6">no cases yet</td></tr>{{end}}</table>
<h2>Recent deliveries</h2>
<table><tr><th>#</th><th>hook</th><th>signing</th><th>answer</th><th></th></tr>
{{range .Deliveries}}<tr><td>{{.Seq}}{{if .Copy}} <small>copy {{.Copy}}</small>{{end}}{{if .ReplayOf}} <small>replay of {{.ReplayOf}}</small>{{end}}</td><td>{{.Hook}}<br><small>{{.URL}}</small></td><td>{{.Signing}}</td>
<td>HTTP {{.Status}} {{.Error}}<br><code>{{short .Answer}}</code></td><td><form method="post" action="/_sim/deliveries/{{.Seq}}/replay"><button>replay</button></form></td></tr>
{{else}}<tr><td colspan="5">no deliveries yet</td></tr>{{end}}</table></body></html>`))
