package sim

import (
	"html/template"
	"net/http"
)

func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return errf(http.StatusInternalServerError, "server_error", "%v", err)
}

type pageRow struct {
	WO          WorkOrder
	Photos      []Photo
	Surveys     map[string]Submission
	Completions []Completion
}

type pageData struct {
	Rows       []pageRow
	PushKeys   []PushKey
	Deliveries []Delivery
	Stats      Stats
}

var pageTmpl = template.Must(template.New("sim").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Cyprexx simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}form{display:inline;margin:0 4px 2px 0}input[type=text]{width:8em}small{color:#666}</style></head>
<body><h1>Cyprexx simulator</h1>
<p><a href="/_sim/workorders">work orders JSON</a> · <a href="/_sim/pushkeys">push keys</a> · <a href="/_sim/deliveries">deliveries</a> · <a href="/_sim/completions">completions</a> · <a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/reset"><button>reset</button></form>
<form method="post" action="/_sim/tokens/revoke"><input type="text" name="token" placeholder="API token"><button>revoke token</button></form></p>
<h2>Issue a work order</h2>
<form method="post" action="/_sim/workorders">
<input type="text" name="service" value="Grass Cut"> <input type="text" name="address1" value="12 Palm Ave"> <input type="text" name="city" value="Doral">
<input type="text" name="state" value="FL" style="width:2em"> <input type="text" name="zip" value="33166" style="width:4em">
due <input type="date" name="serviceDue"> job# <input type="text" name="jobNumber" value="J-1"> lockbox <input type="text" name="lockboxCode" style="width:4em">
key <input type="text" name="keyCode" style="width:4em"> note <input type="text" name="note"><br>
tasks (name | categories | min photos, one per line)<br><textarea name="tasks" rows="2" cols="50">Cut grass | Before,After | 2</textarea>
<label><input type="checkbox" name="withForm" checked> property-condition form</label> vendor <input type="text" name="vendor" value="vendor-1"> <button>issue</button></form>
<h2>Work orders</h2>
<table><tr><th>work order</th><th>details</th><th>status</th><th>relayed</th><th>staff</th></tr>
{{range .Rows}}{{$id := .WO.WorkOrderID}}<tr><td>{{.WO.WorkOrderID}} · {{.WO.WorkOrderNumber}}<br><small>{{.WO.Vendor}} · {{.WO.UpdatedAt.Format "2006-01-02 15:04:05.000"}}</small></td>
<td><b>{{.WO.Service}}</b> due {{.WO.ServiceDue}}<br><small>{{.WO.Address1}}, {{.WO.City}} {{.WO.State}} · job {{.WO.JobNumber}}<br>{{.WO.Note}}<br>tasks: {{range .WO.Tasks}}{{.Name}} ({{.TaskID}}, min {{.MinPhotos}}); {{end}}<br>forms: {{range .WO.Forms}}{{.Name}} v{{.Version}}; {{end}}</small></td>
<td>{{.WO.Status}}</td>
<td>{{range .Photos}}<div><small>{{.PhotoID}} {{.TaskID}}/{{.Category}} {{.Size}} B sha256 {{printf "%.12s" .SHA256}}…{{if gt .Uploads 1}} ×{{.Uploads}}{{end}}</small></div>{{end}}
{{range $f, $s := .Surveys}}<div><small>survey {{$f}} v{{$s.FormVersion}}: {{len $s.Answers}} answers{{if $s.Replaced}} (replaced {{len $s.Replaced}}){{end}}</small></div>{{end}}
{{range .Completions}}<div><small>completed {{.CompletedAt.Format "2006-01-02 15:04"}}</small></div>{{end}}</td>
<td><form method="post" action="/_sim/workorders/{{$id}}"><select name="status"><option></option><option>Assigned</option><option>In Progress</option><option>On Hold</option><option>Completed</option></select>
<input type="text" name="note" placeholder="note"><input type="date" name="serviceDue"><button>update</button></form>
<form method="post" action="/_sim/workorders/{{$id}}/cancel"><button>cancel</button></form><br>
<form method="post" action="/_sim/workorders/{{$id}}/tasks"><textarea name="tasks" rows="1" cols="30" placeholder="name | categories | min"></textarea><button>change tasks</button></form></td></tr>
{{else}}<tr><td colspan="5">no work orders yet</td></tr>{{end}}</table>
<h2>Push keys</h2>
<table><tr><th>key</th><th>callback</th><th>vendor</th><th>validated</th></tr>
{{range .PushKeys}}<tr><td>{{printf "%.6s" .PushKey}}…</td><td>{{.CallbackURL}}</td><td>{{.Vendor}}</td><td>{{.ValidatedAt.Format "2006-01-02 15:04:05"}}</td></tr>{{else}}<tr><td colspan="4">none (the vendor has not validated)</td></tr>{{end}}</table>
<h2>Recent pushes</h2>
<table><tr><th>at</th><th>event</th><th>result</th></tr>
{{range .Deliveries}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.Event}} {{.WorkOrderID}}</td><td>{{if .Delivered}}delivered{{else}}{{.LastStatus}} {{.LastError}}{{end}} after {{.Attempts}} attempt(s) {{.Fault}}</td></tr>{{end}}</table>
</body></html>`))

func (s *Server) page(w http.ResponseWriter) {
	data := pageData{PushKeys: s.PushKeys(), Stats: s.Stats()}
	for _, wo := range s.WorkOrders() {
		row := pageRow{WO: wo, Photos: s.Photos(wo.WorkOrderID), Surveys: s.Surveys(wo.WorkOrderID)}
		for _, c := range s.Completions() {
			if c.WorkOrderID == wo.WorkOrderID {
				row.Completions = append(row.Completions, c)
			}
		}
		data.Rows = append(data.Rows, row)
	}
	d := s.Deliveries()
	if len(d) > 20 {
		d = d[len(d)-20:]
	}
	data.Deliveries = d
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, data)
}
