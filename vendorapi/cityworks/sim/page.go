package sim

import (
	"html/template"
	"net/http"
)

// The staff page: enough of Cityworks for a human to play the city's staff in the dev stack.

type pageData struct {
	Version     string
	Requests    []RequestView
	WorkOrders  []WorkOrderView
	Problems    []Problem
	WOTemplates []WOTemplate
	Statuses    []StatusCode
}

var pageTmpl = template.Must(template.New("sim").Funcs(template.FuncMap{
	"date": func(v any) string {
		if t, ok := v.(interface{ IsZero() bool }); ok && t.IsZero() {
			return ""
		}
		if t, ok := v.(interface{ Format(string) string }); ok {
			return t.Format("2006-01-02 15:04:05")
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Cityworks simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}
form{display:inline-block;margin:0 4px 2px 0}input[type=text]{width:10em}small{color:#666}h2{margin-top:1.5em}</style></head>
<body><h1>Cityworks simulator <small>version {{.Version}}</small></h1>
<p><a href="/_sim/requests">requests JSON</a> · <a href="/_sim/workorders">work orders JSON</a> · <a href="/_sim/problems">problems JSON</a> ·
<a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/expire-tokens"><button>expire tokens</button></form>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>

<h2>Service requests</h2>
<table><tr><th>id</th><th>problem / where</th><th>status</th><th>answers</th><th>comments / attachments</th><th>staff</th></tr>
{{range .Requests}}<tr><td>{{.RequestId}}<br><small>{{.InitiatedByApp}}</small></td>
<td><b>{{.ProblemCode}}</b> {{.Description}}<br>{{.Details}}<br><small>{{.ProbAddress}} {{.ProbCity}} · X {{.SRX}} Y {{.SRY}}<br>{{.OtherSystemId}}</small></td>
<td>{{.Status}}{{if .IsClosed}} (closed {{date .DateTimeClosed}}){{end}}{{if .Cancel}} (cancelled: {{.CancelReason}}){{end}}<br><small>init {{date .DateTimeInit}}{{if .WorkOrderId}} · WO {{.WorkOrderId}}{{end}}</small></td>
<td>{{range .Answers}}<div><small>{{.Question}}</small> {{.Answer}}{{.AnswerValue}}</div>{{end}}</td>
<td>{{range .Comments}}<div>{{.AuthorName}}: {{.Comments}}</div>{{end}}{{range .Attachments}}<div>📎 {{.Attachment}}</div>{{end}}</td>
<td><form method="post" action="/_sim/requests/{{.RequestId}}/status"><select name="status">{{range $.Statuses}}<option>{{.Code}}</option>{{end}}</select><input type="text" name="reason" placeholder="reason / resolution"><button>set</button></form>
<form method="post" action="/_sim/requests/{{.RequestId}}/comments"><input type="text" name="text" placeholder="To SCF: …"><button>comment</button></form>
<form method="post" action="/_sim/requests/{{.RequestId}}/attachments" enctype="multipart/form-data"><input type="file" name="file"><button>attach</button></form></td></tr>
{{else}}<tr><td colspan="6">no service requests yet</td></tr>{{end}}</table>
<form method="post" action="/_sim/requests"><b>New SR directly in Cityworks:</b>
<select name="problemSid">{{range .Problems}}{{if not .Cancel}}<option value="{{.ProblemSid}}">{{.ProblemCode}} {{.Description}}</option>{{end}}{{end}}</select>
<input type="text" name="x" placeholder="X (longitude)"><input type="text" name="y" placeholder="Y (latitude)">
<input type="text" name="address" placeholder="address"><input type="text" name="details" placeholder="details"><button>create</button></form>

<h2>Work orders</h2>
<table><tr><th>id</th><th>template / where</th><th>status</th><th>comments / attachments</th><th>staff</th></tr>
{{range .WorkOrders}}<tr><td>{{.WorkOrderId}}<br><small>sid {{.WorkOrderSid}}</small></td>
<td>{{.WOTemplateId}} {{.Description}}<br><small>{{.WOAddress}} · {{range $k, $v := .Texts}}Text{{$k}}={{$v}} {{end}}</small></td>
<td>{{.Status}}<br><small>init {{date .InitiateDate}}</small></td>
<td>{{range .Comments}}<div>{{.AuthorName}}: {{.Comments}}</div>{{end}}{{range .Attachments}}<div>📎 {{.Attachment}}</div>{{end}}</td>
<td><form method="post" action="/_sim/workorders/{{.WorkOrderId}}/status"><select name="status"><option>OPEN</option><option>INPROG</option><option>CLOSED</option><option>CANCEL</option></select><input type="text" name="reason" placeholder="reason"><button>set</button></form>
<form method="post" action="/_sim/workorders/{{.WorkOrderId}}/comments"><input type="text" name="text" placeholder="comment"><button>comment</button></form>
<form method="post" action="/_sim/workorders/{{.WorkOrderId}}/attachments" enctype="multipart/form-data"><input type="file" name="file"><button>attach</button></form></td></tr>
{{else}}<tr><td colspan="5">no work orders yet</td></tr>{{end}}</table>

<h2>SR problem templates</h2>
<table><tr><th>sid</th><th>problem</th><th>questions and answers</th><th>staff</th></tr>
{{range .Problems}}<tr><td>{{.ProblemSid}}</td><td><b>{{.ProblemCode}}</b> {{.Description}}<br><small>{{if .ForPublicSite}}public{{else}}internal{{end}}{{if .Cancel}}, retired{{end}} · priority {{.Priority}} · modified {{date .DateModified}}</small></td>
<td>{{$p := .}}{{range .Questions}}{{$q := .}}<div>{{.Question}} <small>{{range $p.Answers}}{{if eq .QuestionId $q.QuestionId}}[{{if .Answer}}{{.Answer}}{{else}}free text{{end}}{{if .NextQuestionId}} → {{.NextQuestionId}}{{end}}] {{end}}{{end}}</small>
<form method="post" action="/_sim/problems/{{$p.ProblemSid}}/questions/{{.QuestionId}}/delete"><button>×</button></form></div>{{end}}</td>
<td><form method="post" action="/_sim/problems/{{.ProblemSid}}/questions"><input type="text" name="question" placeholder="question"><select name="format"><option>TEXT</option><option>THISTEXT</option></select><input type="text" name="answers" placeholder="choices, comma separated"><button>add question</button></form></td></tr>{{end}}</table>
<form method="post" action="/_sim/problems"><b>New problem:</b> <input type="text" name="code" placeholder="CODE"><input type="text" name="description" placeholder="description">
<input type="text" name="priority" placeholder="priority"><label><input type="checkbox" name="public" checked>public</label><button>add</button></form>

<h2>Work order templates</h2>
<table><tr><th>id</th><th>description</th><th>entity</th><th>category</th></tr>
{{range .WOTemplates}}<tr><td>{{.WOTemplateId}}</td><td>{{.Description}}</td><td>{{.ApplyToEntity}}</td><td>{{.WOCategory}}</td></tr>{{end}}</table>
<form method="post" action="/_sim/wotemplates"><b>New WO template:</b> <input type="text" name="description" placeholder="description">
<input type="text" name="entity" placeholder="STREET"><input type="text" name="category" placeholder="category"><button>add</button></form>
</body></html>`))

func (s *Server) page(w http.ResponseWriter) {
	d := pageData{Version: s.opts.Version, Requests: s.Requests(), WorkOrders: s.WorkOrders(), Problems: s.Problems(),
		WOTemplates: s.WOTemplates(), Statuses: s.Statuses()}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
