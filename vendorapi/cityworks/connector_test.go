package cityworks_test

// Connector tests: the Cityworks work side (service requests, work orders, geocoding, comments,
// files, feed, import, catalog) against the Cityworks and ArcGIS simulators over real HTTP.
// This file holds the helpers and the create paths; connector_*_test.go cover one topic each.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	arcgissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

const testConn = "city-scf"

// Points: the service area is a box around the simulated city; Chicago is outside it.
var (
	inLat, inLng   = 41.3083, -72.9279
	outLat, outLng = 41.8837, -87.6324
)

// areaGeoJSON is the agency's service area: a box around the simulated city.
const areaGeoJSON = `{"type":"Feature","properties":{"name":"Public Works"},"geometry":{"type":"Polygon",
 "coordinates":[[[-73.0,41.25],[-72.85,41.25],[-72.85,41.35],[-73.0,41.35],[-73.0,41.25]]]}}`

// cwWorld is a connector wired to the simulators.
type cwWorld struct {
	cw      *sim.Server
	cwSrv   *httptest.Server
	geo     *arcgissim.Server
	geoSrv  *httptest.Server
	files   *httptest.Server
	conn    *cityworks.Connector
	options map[string]any
}

// filesHandler serves the request system's images: /img/{name} redirects to /raw/{name}, as
// SeeClickFix's image URLs redirect to its file store.
func filesHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/img/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/raw/"+r.PathValue("name"), http.StatusFound)
	})
	mux.HandleFunc("/raw/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "gone" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(jpegBytes(r.PathValue("name")))
	})
	return mux
}

// jpegBytes is a tiny JPEG-looking file (the magic bytes are what content sniffing reads).
func jpegBytes(tag string) []byte {
	return append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, []byte(tag)...)
}

// baseOptions maps request type 1001 to the POTHOLE problem (101), 1003 to STLIGHT (102) and
// 2001 to the Pothole Repair WO template, with one agency.
func baseOptions(t *testing.T) map[string]any {
	path := filepath.Join(t.TempDir(), "public-works.geojson")
	if err := os.WriteFile(path, []byte(areaGeoJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	var opts map[string]any
	raw := `{"categories":[{"requestType":1001,"kind":"SR","templateId":101},{"requestType":1003,"kind":"SR","templateId":102},
	  {"requestType":2001,"kind":"WO","templateId":"1001","entityType":"STREET"}],
	  "agencies":[{"id":7,"name":"Public Works","geometry":"` + path + `"}],
	  "publicCommentPrefix":"To SCF:","timeZone":"America/New_York"}`
	if err := json.Unmarshal([]byte(raw), &opts); err != nil {
		t.Fatal(err)
	}
	return opts
}

func newCWWorld(t *testing.T, edit func(opts map[string]any)) *cwWorld {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	w := &cwWorld{cw: sim.New(sim.Options{Seed: 1, Location: ny})}
	w.cwSrv = httptest.NewServer(w.cw)
	t.Cleanup(w.cwSrv.Close)
	w.geo = arcgissim.New(arcgissim.Options{Seed: 1, Empty: true})
	w.geo.AddPlace(arcgissim.Place{X: inLng, Y: inLat, AddNum: "165", StreetName: "Church St", City: "New Haven",
		Region: "Connecticut", RegionAbbr: "CT", Postal: "06510"})
	w.geoSrv = httptest.NewServer(w.geo)
	t.Cleanup(w.geoSrv.Close)
	w.files = httptest.NewServer(filesHandler())
	t.Cleanup(w.files.Close)
	w.options = baseOptions(t)
	if edit != nil {
		edit(w.options)
	}
	w.conn = w.build(t, w.options)
	return w
}

func (w *cwWorld) build(t *testing.T, opts map[string]any) *cityworks.Connector {
	t.Helper()
	c, err := w.tryBuild(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *cwWorld) tryBuild(opts map[string]any) (*cityworks.Connector, error) {
	return cityworks.NewConnector(cityworks.ConnectorConfig{
		Connection: testConn, Options: opts, RequestSideOptions: []string{"categories", "acknowledgeComment"},
		RequestSystemURL: w.files.URL, Mapping: "cityworks-v1", UserAgent: "ticketsync/test",
		Client: cityworks.Config{BaseURL: w.cwSrv.URL + "/cityworks", Version: w.cw.Version(),
			LoginName: sim.DefaultLoginName, Password: sim.DefaultPassword, Timeout: 5 * time.Second},
	})
}

func (w *cwWorld) geocoder() map[string]any {
	return map[string]any{"url": w.geoSrv.URL + "/arcgis/rest/services/Locator/GeocodeServer"}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr(f float64) *float64 { return &f }

// request is a citizen's pothole report as SeeClickFix intake produces it.
func request(ext string) vendorapi.NewRequest {
	return vendorapi.NewRequest{
		ExternalReference: cityworks.ExternalReference(testConn, ext), RequestType: "1001",
		Title: "Pothole on Church St", Description: "Deep hole near the bus stop",
		Location:  vendorapi.Location{Address: "165 Church St, New Haven", Lat: ptr(inLat), Lng: ptr(inLng)},
		Requester: vendorapi.Person{Name: "Jane Q Public"},
		Answers: map[string]string{
			"How large is the pothole?":               "Larger than a dinner plate",
			"What email address can we reach you at?": "jane@example.org",
			"Anything else?":                          "It fills with water",
		},
	}
}

// srOf returns the simulator's view of a service request by remote id.
func (w *cwWorld) srOf(t *testing.T, remoteID string) sim.RequestView {
	t.Helper()
	for _, r := range w.cw.Requests() {
		if "SR-"+strconv.Itoa(r.RequestId) == remoteID {
			return r
		}
	}
	t.Fatalf("no service request %s in the simulator", remoteID)
	return sim.RequestView{}
}

func TestCreateServiceRequest(t *testing.T) {
	w := newCWWorld(t, nil)
	req := request("4711")
	id, notes, err := w.conn.CreateWithNotes(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "SR-") || len(notes) != 0 {
		t.Fatalf("id %q notes %v: want an SR and no notes without a geocoder", id, notes)
	}
	sr := w.srOf(t, id)
	if sr.OtherSystemId != req.ExternalReference || sr.ProblemSid != 101 || sr.InitiatedByApp != "ticketsync" {
		t.Fatalf("reference/problem/app: %+v", sr.Request)
	}
	if sr.SRX != inLng || sr.SRY != inLat || sr.ProbAddress != "165 Church St, New Haven" {
		t.Fatalf("location: X=%v Y=%v address=%q", sr.SRX, sr.SRY, sr.ProbAddress)
	}
	if sr.CallerFirstName != "Jane Q" || sr.CallerLastName != "Public" || sr.CallerEmail != "jane@example.org" {
		t.Fatalf("caller: %q %q %q", sr.CallerFirstName, sr.CallerLastName, sr.CallerEmail)
	}
	got := map[string]string{}
	for _, a := range sr.Answers {
		got[a.Question] = a.Answer + "|" + a.AnswerValue
	}
	if got["How large is the pothole?"] != "Larger than a dinner plate|" || got["What email address can we reach you at?"] != "|jane@example.org" {
		t.Fatalf("answers: %v", got)
	}
	// The unknown question's answer is not lost: it lands in Details.
	if !strings.Contains(sr.Details, "Pothole on Church St") || !strings.Contains(sr.Details, "Anything else?: It fills with water") {
		t.Fatalf("details: %q", sr.Details)
	}
	// Our reference finds it; a second create (a retry) adopts instead of duplicating.
	found, err := w.conn.FindByReference(ctx(t), req.ExternalReference)
	if err != nil || found == nil || found.ID != id || found.Status != sim.SRInitiate || found.Category != "Pothole" {
		t.Fatalf("FindByReference: %+v %v", found, err)
	}
	again, err := w.conn.Create(ctx(t), req)
	if err != nil || again != id || len(w.cw.Requests()) != 1 {
		t.Fatalf("retried create: %q %v (%d requests)", again, err, len(w.cw.Requests()))
	}
	if ext, ok := w.conn.ParseReference(testConn, found.ExternalReference); !ok || ext != "4711" {
		t.Fatalf("ParseReference: %q %v", ext, ok)
	}
	missing, err := w.conn.FindByReference(ctx(t), cityworks.ExternalReference(testConn, "nope"))
	if err != nil || missing != nil {
		t.Fatalf("absent reference: %+v %v", missing, err)
	}
}

func TestCreateUnmappedRequestTypeIsNotRetryable(t *testing.T) {
	w := newCWWorld(t, nil)
	req := request("1")
	req.RequestType = "9999"
	_, err := w.conn.Create(ctx(t), req)
	if err == nil || vendorapi.IsRetryable(err) || !strings.Contains(err.Error(), "options.categories") {
		t.Fatalf("want a non-retryable error naming options.categories, got %v", err)
	}
	if len(w.cw.Requests()) != 0 {
		t.Fatal("nothing may be created")
	}
}

func TestCreateWorkOrder(t *testing.T) {
	w := newCWWorld(t, nil)
	req := request("wo-1")
	req.RequestType = "2001"
	req.Requester.Email = "jane@example.org"
	id, err := w.conn.Create(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "WO-") {
		t.Fatalf("want a work order id, got %q", id)
	}
	wos := w.cw.WorkOrders()
	if len(wos) != 1 || wos[0].WOTemplateId != "1001" || wos[0].EntityType != "STREET" || wos[0].Texts[20] != req.ExternalReference {
		t.Fatalf("work order: %+v", wos)
	}
	if wos[0].WOXCoordinate != inLng || wos[0].WOYCoordinate != inLat {
		t.Fatalf("coordinates: %v %v", wos[0].WOXCoordinate, wos[0].WOYCoordinate)
	}
	// A work order has no Q&A or caller fields: the crew reads everything in its comments.
	var text string
	for _, c := range wos[0].Comments {
		text += c.Comments
	}
	for _, want := range []string{"Deep hole near the bus stop", "How large is the pothole?: Larger than a dinner plate", "Jane Q Public", "jane@example.org"} {
		if !strings.Contains(text+wos[0].Instructions, want) {
			t.Fatalf("work order comments lack %q: %q", want, text)
		}
	}
	got, err := w.conn.FindByReference(ctx(t), req.ExternalReference)
	if err != nil || got == nil || got.ID != id || got.Status != sim.WOOpen || got.ExternalReference != req.ExternalReference {
		t.Fatalf("FindByReference: %+v %v", got, err)
	}
	again, err := w.conn.Create(ctx(t), req)
	if err != nil || again != id || len(w.cw.WorkOrders()) != 1 {
		t.Fatalf("retried create must find the first work order: %q %v", again, err)
	}
}
