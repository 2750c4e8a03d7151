package sim

// Wire-level tests of the simulator itself (raw HTTP, no client).

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, srv *httptest.Server, q url.Values, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/arcgis/rest/services/World/GeocodeServer/reverseGeocode?"+q.Encode(), nil)
	if len(header) == 2 {
		req.Header.Set(header[0], header[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	if m == nil {
		m = map[string]any{"raw": string(body)}
	}
	return resp, m
}

func errorOf(m map[string]any) (float64, string) {
	e, _ := m["error"].(map[string]any)
	if e == nil {
		return 0, ""
	}
	var details []string
	for _, d := range e["details"].([]any) {
		details = append(details, d.(string))
	}
	return e["code"].(float64), strings.Join(details, "; ")
}

func TestWireFormat(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	pt := `{"x":-121.4933,"y":38.5815,"spatialReference":{"wkid":4326}}`

	// f defaults to html.
	resp, m := get(t, srv, url.Values{"location": {pt}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(m["raw"].(string), "Reverse Geocode") {
		t.Fatalf("f omitted: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// outSR omitted: the location comes back in the service's Web Mercator.
	_, m = get(t, srv, url.Values{"location": {pt}, "distance": {"100"}, "f": {"json"}})
	loc := m["location"].(map[string]any)
	sr := loc["spatialReference"].(map[string]any)
	if sr["wkid"] != 102100.0 || sr["latestWkid"] != 3857.0 || math.Abs(loc["x"].(float64)-(-13524574.33)) > 1 || math.Abs(loc["y"].(float64)-4661906.57) > 1 {
		t.Fatalf("default outSR: %v", loc)
	}
	// "x,y" works as well as a Web Mercator point.
	for _, l := range []string{"-121.4933,38.5815", `{"x":-13524574.3,"y":4661906.6,"spatialReference":{"wkid":102100}}`} {
		_, m = get(t, srv, url.Values{"location": {l}, "distance": {"100"}, "outSR": {"4326"}, "f": {"pjson"}})
		if a, ok := m["address"].(map[string]any); !ok || a["City"] != "Sacramento" {
			t.Errorf("location %s: %v", l, m)
		}
	}
	// Distance missing means 0: an old server finds nothing 10 m away.
	if _, m := get(t, srv, url.Values{"location": {pt}, "f": {"json"}}); m["address"] != nil {
		t.Fatalf("distance 0 matched %v", m)
	}
	for q, want := range map[string]string{
		"":                 "'location' parameter not specified",
		"abc":              "'location' parameter is invalid",
		`{"x":1}`:          "'location' parameter is invalid",
		`{"x":1000,"y":1}`: "'location' parameter is invalid",
		`{"x":1,"y":2,"spatialReference":{"wkid":2263}}`: "spatial reference 2263 is not supported",
	} {
		resp, m := get(t, srv, url.Values{"location": {q}, "f": {"json"}})
		if code, details := errorOf(m); resp.StatusCode != 200 || code != 400 || details != want {
			t.Errorf("location %q: %d %v %q", q, resp.StatusCode, code, details)
		}
	}
	_, m = get(t, srv, url.Values{"location": {"0,0"}, "distance": {"100"}, "f": {"json"}})
	if code, details := errorOf(m); code != 400 || details != "Unable to find address for the specified location." {
		t.Fatalf("no match: %v", m)
	}
}

func TestSecuredTokens(t *testing.T) {
	now := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Secured: true, TokenTTL: time.Minute, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	q := url.Values{"location": {"-121.4933,38.5815"}, "distance": {"100"}, "f": {"json"}}
	if _, m := get(t, srv, q); func() float64 { c, _ := errorOf(m); return c }() != 499 {
		t.Fatalf("no token: %v", m)
	}
	tok, exp := s.IssueToken()
	if !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("expiry %v", exp)
	}
	if _, m := get(t, srv, q, "X-Esri-Authorization", "Bearer "+tok); m["address"] == nil {
		t.Fatalf("header token: %v", m)
	}
	q.Set("token", tok)
	if _, m := get(t, srv, q); m["address"] == nil {
		t.Fatalf("query token: %v", m)
	}
	now = now.Add(2 * time.Minute)
	if _, m := get(t, srv, q); func() float64 { c, _ := errorOf(m); return c }() != 498 {
		t.Fatalf("expired token: %v", m)
	}
	if st := s.Stats(); st.InvalidToken != 1 || st.TokenRequired != 1 || st.Calls["generateToken"] != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestStaffControl(t *testing.T) {
	s := New(Options{Empty: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, path, ct, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(http.MethodPost, "/_sim/places", "application/json", `{"x":-72.92,"y":41.31,"addNum":"165","streetName":"Church St","city":"New Haven"}`); code != 200 {
		t.Fatalf("add place: %d", code)
	}
	form := url.Values{"x": {"-73"}, "y": {"41"}, "streetName": {"Main St"}}
	if code, _ := do(http.MethodPost, "/_sim/places", "application/x-www-form-urlencoded", form.Encode()); code != http.StatusSeeOther {
		t.Fatalf("form place: %d", code)
	}
	if code, _ := do(http.MethodPost, "/_sim/places", "application/json", `{"x":500,"y":1}`); code != 400 {
		t.Fatalf("bad place: %d", code)
	}
	if len(s.Places()) != 2 {
		t.Fatalf("places = %+v", s.Places())
	}
	if code, body := do(http.MethodPut, "/_sim/faults", "application/json", `{"latency":250,"forbidden":1,"expireTokens":true}`); code != 200 ||
		!strings.Contains(body, `"latency":"250ms"`) || !strings.Contains(body, `"expireTokens":false`) || s.Faults().Forbidden != 1 {
		t.Fatalf("faults: %d %s", code, body)
	}
	if code, body := do(http.MethodPost, "/_sim/tokens", "", ""); code != 200 || !strings.Contains(body, `"token":"`) {
		t.Fatalf("tokens: %d %s", code, body)
	}
	if code, body := do(http.MethodGet, "/_sim/", "", ""); code != 200 || !strings.Contains(body, "Church St") {
		t.Fatalf("page: %d", code)
	}
	if code, body := do(http.MethodGet, "/_sim/stats", "", ""); code != 200 || !strings.Contains(body, `"generateToken":1`) {
		t.Fatalf("stats: %s", body)
	}
	if code, _ := do(http.MethodPost, "/_sim/reset", "", ""); code != 200 || len(s.Places()) != 0 || s.Faults().Forbidden != 0 {
		t.Fatal("reset")
	}
	if code, _ := do(http.MethodGet, "/_sim/nope", "", ""); code != 404 {
		t.Fatalf("unknown endpoint: %d", code)
	}
}
