package sim

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// handleStaff serves /_sim: the control JSON API and the HTML page. POSTs take JSON or the
// page's form fields (then a success redirects back to the page).
func (s *Server) handleStaff(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	form := simkit.IsForm(r)
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost || r.Method == http.MethodPut
	done := func(v any, status int, msg string) {
		switch {
		case status != 0 && form:
			http.Error(w, msg, status)
		case status != 0:
			simkit.WriteJSON(w, status, map[string]string{"error": msg})
		case form:
			http.Redirect(w, r, "/_sim/", http.StatusSeeOther)
		default:
			simkit.WriteJSON(w, http.StatusOK, v)
		}
	}
	switch {
	case p == "" && get:
		s.page(w)
	case p == "places" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Places())
	case p == "places" && post:
		var pl Place
		if form {
			x, errX := strconv.ParseFloat(r.PostFormValue("x"), 64)
			y, errY := strconv.ParseFloat(r.PostFormValue("y"), 64)
			if errX != nil || errY != nil {
				done(nil, http.StatusBadRequest, "x and y must be numbers")
				return
			}
			pl = Place{X: x, Y: y, AddNum: r.PostFormValue("addNum"), StreetName: r.PostFormValue("streetName"),
				City: r.PostFormValue("city"), Region: r.PostFormValue("region"), RegionAbbr: r.PostFormValue("regionAbbr"),
				Postal: r.PostFormValue("postal")}
		} else if err := simkit.ReadJSON(w, r, &pl, maxFormBytes); err != nil {
			done(nil, http.StatusBadRequest, err.Error())
			return
		}
		if _, _, bad := validLonLat(pl.X, pl.Y); bad != "" {
			done(nil, http.StatusBadRequest, "x must be a longitude and y a latitude")
			return
		}
		s.AddPlace(pl)
		done(pl, 0, "")
	case p == "places/clear" && post:
		s.ClearPlaces()
		done(map[string]bool{"ok": true}, 0, "")
	case p == "tokens" && post:
		tok, exp := s.IssueToken() // shown even to the page: the token is the point
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"token": tok, "expires": exp.UnixMilli()})
	case p == "expire-tokens" && post:
		s.ExpireTokens()
		done(map[string]bool{"ok": true}, 0, "")
	case p == "faults" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && post:
		var f Faults
		if err := simkit.ReadJSON(w, r, &f, maxFormBytes); err != nil {
			done(nil, http.StatusBadRequest, err.Error())
			return
		}
		s.SetFaults(f)
		done(s.Faults(), 0, "")
	case p == "stats" && get:
		simkit.WriteJSON(w, http.StatusOK, s.Stats())
	case p == "reset" && post:
		s.Reset()
		done(map[string]bool{"ok": true}, 0, "")
	default:
		done(nil, http.StatusNotFound, "no such staff endpoint "+r.Method+" "+r.URL.Path)
	}
}

var pageTmpl = template.Must(template.New("sim").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ArcGIS geocoder simulator</title>
<style>body{font:14px sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px}form{display:inline-block;margin:0 4px 2px 0}input[type=text]{width:8em}</style></head>
<body><h1>ArcGIS geocoder simulator <small>{{.Locator}} locator{{if .Secured}}, secured{{end}}</small></h1>
<p><a href="/_sim/places">places JSON</a> · <a href="/_sim/faults">faults</a> · <a href="/_sim/stats">stats</a>
<form method="post" action="/_sim/tokens"><button>issue token</button></form>
<form method="post" action="/_sim/expire-tokens"><button>expire tokens</button></form>
<form method="post" action="/_sim/places/clear"><button>clear places</button></form>
<form method="post" action="/_sim/reset"><button>reset</button></form></p>
<table><tr><th>x (lon)</th><th>y (lat)</th><th>address</th></tr>
{{range .Places}}<tr><td>{{.X}}</td><td>{{.Y}}</td><td>{{.AddNum}} {{.StreetName}}, {{.City}}, {{.Region}} {{.Postal}}</td></tr>
{{else}}<tr><td colspan="3">no places: every point is a no-match{{if $.AnyLocation}} (except that any location gets a made-up address){{end}}</td></tr>{{end}}</table>
<form method="post" action="/_sim/places"><b>Address for coordinates:</b>
<input type="text" name="x" placeholder="x (longitude)"><input type="text" name="y" placeholder="y (latitude)">
<input type="text" name="addNum" placeholder="number"><input type="text" name="streetName" placeholder="street">
<input type="text" name="city" placeholder="city"><input type="text" name="region" placeholder="state"><input type="text" name="regionAbbr" placeholder="ST">
<input type="text" name="postal" placeholder="zip"><button>add</button></form>
<p><small>Stats: {{.Stats.Matches}} matches, {{.Stats.NoMatches}} no-matches, {{.Stats.InvalidToken}} × 498, {{.Stats.TokenRequired}} × 499, {{.Stats.Faulted}} faults. Now {{.Now.Format "15:04:05"}}.</small></p>
</body></html>`))

func (s *Server) page(w http.ResponseWriter) {
	d := struct {
		Locator              string
		Secured, AnyLocation bool
		Places               []Place
		Stats                Stats
		Now                  time.Time
	}{s.opts.Locator, s.opts.Secured, s.opts.AnyLocation, s.Places(), s.Stats(), s.opts.Now()}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
