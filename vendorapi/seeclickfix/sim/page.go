package sim

import (
	"html/template"
	"net/http"
	"slices"
)

type pageData struct {
	Org          string
	Issues       []Issue
	RequestTypes []RequestType
	Titles       map[int64]string
	Faults       Faults
}

var pageFuncs = template.FuncMap{
	"reverse": func(in []Issue) []Issue { out := slices.Clone(in); slices.Reverse(out); return out },
}

var pageTmpl = template.Must(template.New("sim").Funcs(pageFuncs).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>SeeClickFix simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}
form{display:inline;margin:0 4px 2px 0}input[type=text]{width:11em}small{color:#666}.post{margin:2px 0}.api{background:#eef6ff}img{max-height:60px;vertical-align:middle}</style></head>
<body><h1>SeeClickFix simulator <small>{{.Org}}</small></h1>
<p><a href="/_sim/issues">issues JSON</a> · <a href="/_sim/request_types">request types</a> · <a href="/_sim/agencies">agencies</a> ·
<a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>
<h2>Citizen: report an issue</h2>
<form method="post" action="/_sim/issues" enctype="multipart/form-data">
<select name="requestTypeId">{{range .RequestTypes}}{{if .Active}}<option value="{{.ID}}">{{.Title}}</option>{{end}}{{end}}</select>
<input type="text" name="summary" placeholder="summary"> <input type="text" name="description" placeholder="description">
<input type="text" name="address" placeholder="address"> <input type="text" name="reporter" value="Jane Citizen">
<input type="text" name="lat" placeholder="lat (optional)" size="8"> <input type="text" name="lng" placeholder="lng (optional)" size="8">
<input type="file" name="image" accept="image/png,image/jpeg,image/gif"> <label><input type="checkbox" name="private">private</label>
<button>report</button></form>
<h2>Issues</h2>
<table><tr><th>id</th><th>issue</th><th>status</th><th>comments and status changes (<span class="api">blue: posted through the API</span>)</th><th>act</th></tr>
{{range reverse .Issues}}{{$id := .ID}}<tr><td>{{.ID}}{{if .Pending}}<br><small>moderation</small>
<form method="post" action="/_sim/issues/{{.ID}}/approve"><button>approve</button></form>{{end}}</td>
<td><b>{{index $.Titles .RequestTypeID}}</b>: {{.Summary}}{{if .Image}} <a href="/_media/{{.Image}}"><img src="/_media/{{.Image}}" alt="image"></a>{{end}}<br>
<small>{{.Description}}<br>{{.Address}} ({{.Lat}}, {{.Lng}}) · {{if .Reporter.ID}}{{.Reporter.Name}}{{else}}anonymous{{end}}{{if .Private}} · private{{end}}</small>
{{range .Answers}}<br><small>{{.Question}}: {{.Value}}</small>{{end}}</td>
<td>{{.Status}}<br><small>updated {{.UpdatedAt.Format "2006-01-02 15:04:05"}}</small></td>
<td>{{range .Comments}}<div class="post">{{if .Pending}}<i>[held]</i> <form method="post" action="/_sim/issues/{{$id}}/comments/{{.ID}}/approve"><button>approve</button></form>{{end}}
<b>{{.Commenter.Name}}</b>{{if eq .Commenter.Role "Verified Official"}} <small>(official)</small>{{end}}: {{.Text}}
{{if .Image}}<a href="/_media/{{.Image}}"><img src="/_media/{{.Image}}" alt="image"></a>{{end}}{{if not .LastEditedAt.IsZero}} <small>(edited)</small>{{end}}
<small>#{{.ID}}</small></div>{{end}}
{{range .Posts}}{{if ne .Kind "comment"}}<div class="post{{if eq .Via "api"}} api{{end}}"><small>{{.At.Format "15:04:05"}} {{.By.Name}}: {{.StatusFrom}} → {{.StatusTo}} ({{.Kind}})</small></div>{{else if eq .Via "api"}}<div class="post api"><small>{{.At.Format "15:04:05"}} {{.By.Name}} commented via API{{if .Moderated}} (held){{end}}</small></div>{{end}}{{end}}</td>
<td><form method="post" action="/_sim/issues/{{.ID}}/comments" enctype="multipart/form-data"><input type="text" name="comment" placeholder="citizen comment">
<input type="text" name="name" value="Jane Citizen" size="10"><input type="file" name="image"><button>comment</button></form><br>
{{if eq .Status "Open"}}<form method="post" action="/_sim/issues/{{.ID}}/acknowledge"><input type="text" name="comment" placeholder="comment" value="We are on it."><button>acknowledge</button></form>{{end}}
{{if or (eq .Status "Open") (eq .Status "Acknowledged")}}<form method="post" action="/_sim/issues/{{.ID}}/close"><input type="text" name="comment" placeholder="comment" value="Fixed, thank you."><button>close</button></form>{{end}}
{{if eq .Status "Closed"}}<form method="post" action="/_sim/issues/{{.ID}}/open"><input type="text" name="comment" placeholder="comment" value="Reopened."><button>reopen</button></form>
<form method="post" action="/_sim/issues/{{.ID}}/archive"><button>archive now</button></form>{{end}}
<form method="post" action="/_sim/issues/{{.ID}}/comments"><input type="hidden" name="staff" value="1"><input type="text" name="comment" placeholder="staff comment"><button>staff comment</button></form></td></tr>
{{else}}<tr><td colspan="5">no issues yet</td></tr>{{end}}</table></body></html>`))

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	d := pageData{Org: s.opts.OrganizationName, Issues: s.Issues(), RequestTypes: s.RequestTypes(), Faults: s.Faults(),
		Titles: map[int64]string{}}
	for _, rt := range d.RequestTypes {
		d.Titles[rt.ID] = rt.Title
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, d)
}
