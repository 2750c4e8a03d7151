package cityworks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// Category and Q&A sync rules: public SR templates (and WO templates when asked) grouped into
// agencies; retired templates flagged; every question required; private when it asks for an
// e-mail address or a phone number; secondary (branching follow-up) questions only when
// syncSecondaryQuestions is on; no limit on the number of categories.

func categoryByName(cats []vendorapi.Category, name string) *vendorapi.Category {
	for i := range cats {
		if cats[i].Name == name {
			return &cats[i]
		}
	}
	return nil
}

func TestCatalogRules(t *testing.T) {
	w := newCWWorld(t, nil)
	cats, err := w.conn.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	pothole := categoryByName(cats, "Pothole")
	if pothole == nil || pothole.Kind != "SR" || pothole.ID != "101" || pothole.Agency != "7" || pothole.Retired {
		t.Fatalf("pothole: %+v", pothole)
	}
	var texts []string
	for _, q := range pothole.Questions {
		if !q.Required {
			t.Fatalf("every synced question is required: %+v", q)
		}
		texts = append(texts, q.Text)
	}
	if strings.Join(texts, "|") != "How large is the pothole?|Is it a hazard to traffic right now?|What email address can we reach you at?" {
		t.Fatalf("questions in sequence: %q", texts)
	}
	size, hazard, email := pothole.Questions[0], pothole.Questions[1], pothole.Questions[2]
	if size.Private || size.Secondary || len(size.Choices) != 2 || size.Choices[0].Text != "Smaller than a dinner plate" || size.Choices[0].ID == "" {
		t.Fatalf("size question: %+v", size)
	}
	if !hazard.Secondary || hazard.Private {
		t.Fatalf("the hazard question is asked only after a large pothole: secondary, public: %+v", hazard)
	}
	if !email.Private || email.Secondary || len(email.Choices) != 0 {
		t.Fatalf("the email question is private, primary (every path asks it) and free text: %+v", email)
	}
	light := categoryByName(cats, "Streetlight Out")
	if light == nil || !light.Questions[1].Private || light.Questions[0].Private { // "Best phone number…"
		t.Fatalf("streetlight: %+v", light)
	}
	trash := categoryByName(cats, "Missed Trash Pickup")
	if trash == nil || !trash.Questions[1].Private { // "Phone number or email for follow-up"
		t.Fatalf("missed trash: %+v", trash)
	}
	// Internal and cancelled templates are retired (deactivated, never deleted), without Q&A.
	for _, name := range []string{"Internal Inspection", "Sign Problem (retired)"} {
		c := categoryByName(cats, name)
		if c == nil || !c.Retired || len(c.Questions) != 0 {
			t.Fatalf("%s: %+v", name, c)
		}
	}
	// A WO category is configured, so WO templates of its entity type are published too.
	repair := categoryByName(cats, "Pothole Repair")
	if repair == nil || repair.Kind != "WO" || repair.ID != "1001" || len(repair.Questions) != 0 {
		t.Fatalf("WO template: %+v", repair)
	}
	if categoryByName(cats, "Streetlight Repair") != nil {
		t.Fatal("LIGHT work orders are not configured: not published")
	}
}

func TestCatalogSecondarySwitch(t *testing.T) {
	w := newCWWorld(t, func(o map[string]any) {
		o["syncSecondaryQuestions"] = false
		o["catalogKinds"] = []any{"SR"}
	})
	cats, err := w.conn.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	pothole := categoryByName(cats, "Pothole")
	if len(pothole.Questions) != 2 || pothole.Questions[1].Text != "What email address can we reach you at?" {
		t.Fatalf("secondary questions must be left out: %+v", pothole.Questions)
	}
	if categoryByName(cats, "Pothole Repair") != nil {
		t.Fatal("catalogKinds [SR] publishes no WO template")
	}
}

func TestCatalogAgenciesByDomainAndNoLimit(t *testing.T) {
	w := newCWWorld(t, nil)
	for i := range 230 { // more than two batches of Q&A
		if _, err := w.cw.PutProblem(sim.Problem{ProblemCode: "BULK" + strconv.Itoa(i), Description: "Bulk " + strconv.Itoa(i),
			DomainId: 2, ForPublicSite: true}); err != nil {
			t.Fatal(err)
		}
	}
	ag := w.options["agencies"].([]any)[0].(map[string]any)
	w.options["agencies"] = []any{
		map[string]any{"id": 8, "name": "Parks", "geometry": ag["geometry"], "domainIds": []any{2}},
		ag,
	}
	w.options["catalogKinds"] = []any{"SR"}
	conn := w.build(t, w.options)
	cats, err := conn.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	parks, works := 0, 0
	for _, c := range cats {
		switch c.Agency {
		case "8":
			parks++
		case "7":
			works++
		}
	}
	if n := w.cw.Stats().Calls["ServiceRequestTemplate/QA"]; n != 3 {
		t.Fatalf("235 public problems take 3 Q&A calls of at most 100, got %d", n)
	}
	if parks != 230 || works != 6 {
		t.Fatalf("domain 2 → Parks (230), the rest → the catch-all Public Works (6): got %d / %d", parks, works)
	}
}

func TestOptionsAreStrictAndExplicit(t *testing.T) {
	w := newCWWorld(t, nil)
	dir := t.TempDir()
	holed := filepath.Join(dir, "holed.geojson")
	_ = os.WriteFile(holed, []byte(`{"type":"Polygon","coordinates":[
	  [[-73,41.2],[-72.8,41.2],[-72.8,41.4],[-73,41.4],[-73,41.2]],
	  [[-72.95,41.28],[-72.9,41.28],[-72.9,41.32],[-72.95,41.32],[-72.95,41.28]]]}`), 0o600)
	projected := filepath.Join(dir, "projected.geojson")
	_ = os.WriteFile(projected, []byte(`{"type":"Polygon","coordinates":[[[950000,650000],[960000,650000],[960000,660000],[950000,650000]]]}`), 0o600)
	cases := []struct {
		name string
		edit func(o map[string]any)
		want string
	}{
		{"unknown key", func(o map[string]any) { o["importCityworksRequest"] = true }, `unknown field "importCityworksRequest"`},
		{"cutout polygon", func(o map[string]any) { o["agencies"] = []any{map[string]any{"id": 7, "geometry": holed}} },
			"polygon 1 has 1 hole(s) (interior rings); cutouts are not supported"},
		{"projected coordinates", func(o map[string]any) { o["agencies"] = []any{map[string]any{"id": 7, "geometry": projected}} },
			"not WGS84 longitude/latitude"},
		{"missing file", func(o map[string]any) {
			o["agencies"] = []any{map[string]any{"id": 7, "geometry": filepath.Join(dir, "nope.geojson")}}
		},
			"no such file"},
		{"point geometry", func(o map[string]any) {
			o["agencies"] = []any{map[string]any{"id": 7, "geometry": map[string]any{"type": "Point", "coordinates": []any{-72.9, 41.3}}}}
		}, `"Point" is not an area`},
		{"bad kind", func(o map[string]any) {
			o["categories"] = []any{map[string]any{"requestType": 1, "kind": "XX", "templateId": 1}}
		}, "must be SR or WO"},
		{"WO without entity type", func(o map[string]any) {
			o["categories"] = []any{map[string]any{"requestType": 1, "kind": "WO", "templateId": "9"}}
		}, "entityType is required"},
		{"duplicate request type", func(o map[string]any) {
			o["categories"] = []any{map[string]any{"requestType": 1, "kind": "SR", "templateId": 101}, map[string]any{"requestType": 1, "kind": "SR", "templateId": 102}}
		}, "already mapped"},
		{"schedule", func(o map[string]any) { o["catalogSchedule"] = "@every 5s" }, "at least one minute"},
		{"reference field", func(o map[string]any) { o["woReferenceField"] = "Text21" }, "Text1 … Text20"},
		{"import without agencies", func(o map[string]any) { o["importCityworksRequests"] = true; o["agencies"] = []any{} }, "needs at least one agency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := map[string]any{}
			b, _ := json.Marshal(w.options)
			_ = json.Unmarshal(b, &opts)
			tc.edit(opts)
			_, err := w.tryBuild(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
	// The request side's keys are accepted; inline GeoJSON works; defaults apply.
	opts := map[string]any{"acknowledgeComment": "On it",
		"agencies": []any{map[string]any{"id": "7", "geometry": map[string]any{"type": "MultiPolygon",
			"coordinates": []any{[]any{[]any{[]any{-73.0, 41.25}, []any{-72.85, 41.25}, []any{-72.85, 41.35}, []any{-73.0, 41.25}}}}}}}}
	conn, err := w.tryBuild(opts)
	if err != nil {
		t.Fatal(err)
	}
	if o := conn.Options(); o.PublicCommentPrefix != "To SCF:" || conn.CatalogSchedule() != "@every 1h" || !o.SyncSecondary() {
		t.Fatalf("defaults: %+v", o)
	}
	if a := conn.Agencies(); len(a) != 1 || !a[0].Area.Contains(-72.9, 41.27) || a[0].Area.Contains(outLng, outLat) {
		t.Fatalf("inline area: %+v", a)
	}
	if keys := cityworks.OptionKeys(); !strings.Contains(strings.Join(keys, ","), "importCityworksRequests") {
		t.Fatalf("OptionKeys: %v", keys)
	}
}

func TestValidateChecks(t *testing.T) {
	w := newCWWorld(t, nil)
	w.options["geocoder"] = w.geocoder()
	conn := w.build(t, w.options)
	checks := conn.Validate(ctx(t))
	if len(checks) != 4 {
		t.Fatalf("checks: %+v", checks)
	}
	for _, c := range checks {
		if !c.OK {
			t.Fatalf("check failed: %+v", c)
		}
	}
	w.options["categories"] = []any{map[string]any{"requestType": 1, "kind": "SR", "templateId": 4242}}
	bad := w.build(t, w.options)
	checks = bad.Validate(ctx(t))
	if checks[2].OK || !strings.Contains(checks[2].Detail, "SR 4242") {
		t.Fatalf("a missing template must be reported: %+v", checks[2])
	}
	wrong, err := cityworks.NewConnector(cityworks.ConnectorConfig{Connection: testConn, Options: w.options,
		Client: cityworks.Config{BaseURL: w.cwSrv.URL, LoginName: "nobody", Password: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if checks := wrong.Validate(ctx(t)); len(checks) != 1 || checks[0].OK || checks[0].Fix == "" {
		t.Fatalf("bad login: %+v", checks)
	}
}
