package sim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

const maxFormBytes = 64 << 10

// handleReverseGeocode applies, in order: latency, front-end faults (reset, IIS pages, 429,
// HTML), the f parameter, the token, body-level error faults, then the lookup.
func (s *Server) handleReverseGeocode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeArcGISError(w, 400, "Unable to complete operation.", "Unreadable request")
		return
	}
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	s.mu.Lock()
	s.stats.Calls["reverseGeocode"]++
	if s.frontFaultLocked(w) {
		return // unlocked by frontFaultLocked
	}
	if f := strings.ToLower(r.Form.Get("f")); f != "json" && f != "pjson" {
		s.mu.Unlock()
		simkit.WriteHTML(w, http.StatusOK, helpPage) // f defaults to html
		return
	}
	if code, msg := s.checkTokenLocked(r); code != 0 {
		s.mu.Unlock()
		writeArcGISError(w, code, msg)
		return
	}
	if code, msg, detail := s.bodyFaultLocked(); code != 0 {
		s.mu.Unlock()
		if detail == "" {
			writeArcGISError(w, code, msg)
		} else {
			writeArcGISError(w, code, msg, detail)
		}
		return
	}
	x, y, perr := parseLocation(r.Form.Get("location"))
	if perr != "" {
		s.mu.Unlock()
		writeArcGISError(w, 400, "Cannot perform query. Invalid query parameters.", perr)
		return
	}
	dist := 0.0
	if d := r.Form.Get("distance"); d != "" {
		v, err := strconv.ParseFloat(d, 64)
		if err != nil || v < 0 {
			s.mu.Unlock()
			writeArcGISError(w, 400, "Cannot perform query. Invalid query parameters.", "'distance' parameter is invalid")
			return
		}
		dist = v
	}
	outSR, ok := parseOutSR(r.Form.Get("outSR"))
	if !ok {
		s.mu.Unlock()
		writeArcGISError(w, 400, "Cannot perform query. Invalid query parameters.", "Invalid outSR")
		return
	}
	p, found := s.nearestLocked(x, y, dist)
	if found {
		s.stats.Matches++
	} else {
		s.stats.NoMatches++
	}
	locator := s.opts.Locator
	s.mu.Unlock()

	if !found {
		writeArcGISError(w, 400, "Cannot perform query. Invalid query parameters.", "Unable to find address for the specified location.")
		return
	}
	writeArcJSON(w, map[string]any{"address": addressOf(p, locator), "location": locationOf(p, outSR)})
}

// checkTokenLocked returns 499 without a token and 498 for an unknown or expired one, on a
// secured service. Tokens come as the token parameter or X-Esri-Authorization: Bearer.
func (s *Server) checkTokenLocked(r *http.Request) (int, string) {
	if !s.opts.Secured {
		return 0, ""
	}
	tok := r.Form.Get("token")
	if h := r.Header.Get("X-Esri-Authorization"); tok == "" && h != "" {
		if scheme, v, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(v)
		}
	}
	switch exp, issued := s.tokens[tok]; {
	case tok == "":
		s.stats.TokenRequired++
		return 499, "Token Required."
	case contains(s.opts.Tokens, tok):
		return 0, ""
	case !issued || !s.opts.Now().Before(exp):
		s.stats.InvalidToken++
		return 498, "Invalid token."
	}
	return 0, ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// parseLocation reads a JSON point (WGS84 or Web Mercator) or "x,y" (WGS84) into WGS84.
func parseLocation(v string) (float64, float64, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, 0, "'location' parameter not specified"
	}
	if strings.HasPrefix(v, "{") {
		var pt struct {
			X, Y             *float64
			SpatialReference *struct {
				WKID       int `json:"wkid"`
				LatestWKID int `json:"latestWkid"`
			} `json:"spatialReference"`
		}
		if json.Unmarshal([]byte(v), &pt) != nil || pt.X == nil || pt.Y == nil {
			return 0, 0, "'location' parameter is invalid"
		}
		x, y := *pt.X, *pt.Y
		if sr := pt.SpatialReference; sr != nil && (sr.WKID == 102100 || sr.WKID == 3857 || sr.LatestWKID == 3857) {
			x, y = fromMercator(x, y)
		} else if sr != nil && sr.WKID != 0 && sr.WKID != 4326 {
			return 0, 0, fmt.Sprintf("spatial reference %d is not supported", sr.WKID)
		}
		return validLonLat(x, y)
	}
	xs, ys, ok := strings.Cut(v, ",")
	x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || errX != nil || errY != nil {
		return 0, 0, "'location' parameter is invalid"
	}
	return validLonLat(x, y)
}

func validLonLat(x, y float64) (float64, float64, string) {
	if math.IsNaN(x) || math.IsNaN(y) || math.Abs(x) > 180 || math.Abs(y) > 90 {
		return 0, 0, "'location' parameter is invalid"
	}
	return x, y, ""
}

// parseOutSR: empty is the service's own SR (Web Mercator); 4326 and 102100/3857 are known.
func parseOutSR(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 102100, true
	}
	if strings.HasPrefix(v, "{") {
		var sr struct {
			WKID int `json:"wkid"`
		}
		if json.Unmarshal([]byte(v), &sr) != nil {
			return 0, false
		}
		v = strconv.Itoa(sr.WKID)
	}
	switch v {
	case "4326":
		return 4326, true
	case "102100", "3857":
		return 102100, true
	}
	return 0, false
}

// nearestLocked finds the nearest place within dist meters (at least half a meter, which is
// what an old server's distance 0 effectively allows).
func (s *Server) nearestLocked(x, y, dist float64) (Place, bool) {
	best, bestD := -1, math.Max(dist, 0.5)
	for i, p := range s.places {
		if d := distanceMeters(x, y, p.X, p.Y); d <= bestD {
			best, bestD = i, d
		}
	}
	if best >= 0 {
		return s.places[best], true
	}
	if s.opts.AnyLocation {
		h := fnv.New32a()
		fmt.Fprintf(h, "%.5f,%.5f", x, y)
		return Place{X: x, Y: y, AddNum: strconv.Itoa(int(h.Sum32()%9000) + 100), StreetName: "Simulated Way",
			City: "Simville", Region: "Illinois", RegionAbbr: "IL", Postal: "60000"}, true
	}
	return Place{}, false
}

// addressOf renders a place in the locator's naming scheme; every value is a string.
func addressOf(p Place, locator string) map[string]string {
	short := strings.TrimSpace(p.AddNum + " " + p.StreetName)
	join := func(parts ...string) string {
		var keep []string
		for _, s := range parts {
			if s != "" {
				keep = append(keep, s)
			}
		}
		return strings.Join(keep, ", ")
	}
	typ := p.AddrType
	if typ == "" {
		typ = "PointAddress"
	}
	if locator == LocatorPro {
		return map[string]string{"Match_addr": join(short, p.City, p.RegionAbbr, p.Postal), "Street": short, "City": p.City,
			"State": p.RegionAbbr, "ZIP": p.Postal, "Loc_name": "Composite"}
	}
	match := join(short, p.City, p.Region, p.Postal)
	return map[string]string{
		"Match_addr": match, "LongLabel": join(match, "USA"), "ShortLabel": short, "Addr_type": typ, "Type": "",
		"PlaceName": "", "AddNum": p.AddNum, "Address": short, "Block": "", "Sector": "", "Neighborhood": p.Neighborhood,
		"District": "", "City": p.City, "MetroArea": "", "Subregion": "", "Region": p.Region, "RegionAbbr": p.RegionAbbr,
		"Territory": "", "Postal": p.Postal, "PostalExt": "", "CntryName": "United States", "CountryCode": "USA",
	}
}

// locationOf is the matched point in the output spatial reference.
func locationOf(p Place, outSR int) map[string]any {
	if outSR == 102100 {
		x, y := toMercator(p.X, p.Y)
		return map[string]any{"x": x, "y": y, "spatialReference": map[string]int{"wkid": 102100, "latestWkid": 3857}}
	}
	return map[string]any{"x": p.X, "y": p.Y, "spatialReference": map[string]int{"wkid": 4326, "latestWkid": 4326}}
}

// helpPage is what an operation answers when f is missing (its default is html).
const helpPage = `<html><head><title>Reverse Geocode (GeocodeServer)</title></head>
<body><h2>Reverse Geocode</h2><form><label>Location: <input name="location"></label>
<label>Format: <select name="f"><option>html</option><option>json</option><option>pjson</option></select></label>
<input type="submit" value="Reverse Geocode (GET)"></form></body></html>`
