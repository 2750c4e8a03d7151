package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/ticket"
	arcgissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// SeeClickFix ↔ Cityworks end to end, through a real Temporal server and all three
// simulators: a citizen's issue becomes a service request (address from ArcGIS, the photo as
// an attachment); the citizen's comment reaches Cityworks once; staff notes and photos marked
// "To SCF:" reach the citizen; closing in Cityworks closes the issue and ends the ticket. An SR
// entered directly in Cityworks inside the agency's area is imported into SeeClickFix and
// mirrored by a ticket that adopts it. The catalog reaches SeeClickFix on demand, and the
// CatalogSync schedule is created and updated idempotently.

const scfConn = "city-scf"

// serviceArea is agency 7's area: a box around the simulated city (SCF sim's centre).
const serviceArea = `{"type":"Polygon","coordinates":[[[-73.0,41.25],[-72.85,41.25],[-72.85,41.35],[-73.0,41.35],[-73.0,41.25]]]}`

type cityWorld struct {
	*world
	cw  *cwsim.Server
	scf *scfsim.Server
	geo *arcgissim.Server
}

func photo(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newCityWorld(t *testing.T) *cityWorld {
	t.Helper()
	cw := cwsim.New(cwsim.Options{Seed: 1})
	cwSrv := httptest.NewServer(cw)
	t.Cleanup(cwSrv.Close)
	scf := scfsim.New(scfsim.Options{DisableRateLimit: true, Seed: 1,
		Agencies: []scfsim.Agency{{ID: 7, Name: "Public Works", Geometry: json.RawMessage(serviceArea)}}})
	scfSrv := httptest.NewServer(scf)
	t.Cleanup(scfSrv.Close)
	geo := arcgissim.New(arcgissim.Options{Seed: 1, Empty: true})
	geo.AddPlace(arcgissim.Place{X: scfsim.DefaultLng, Y: scfsim.DefaultLat, AddNum: "165", StreetName: "Church St",
		City: "New Haven", Region: "Connecticut", RegionAbbr: "CT", Postal: "06510"})
	geoSrv := httptest.NewServer(geo)
	t.Cleanup(geoSrv.Close)

	var area map[string]any
	_ = json.Unmarshal([]byte(serviceArea), &area)
	w := newWorldWith(t, false, func(f *config.File) {
		f.Connections = append(f.Connections, config.Connection{ID: scfConn, Tenant: f.Tenants[0].ID,
			RequestSystem: config.RequestSystem{Kind: "seeclickfix", BaseURL: scfSrv.URL, OrganizationID: scfsim.DefaultOrganizationID,
				Username: scfsim.DefaultUsername, Password: scfsim.DefaultPassword, PollInterval: config.Duration{Duration: time.Second}},
			WorkSystem: config.WorkSystem{Kind: "cityworks", BaseURL: cwSrv.URL + "/cityworks", Version: "23",
				LoginName: cwsim.DefaultLoginName, Password: cwsim.DefaultPassword},
			PollInterval: config.Duration{Duration: 2 * time.Second},
			Options: map[string]any{
				"geocoder":                map[string]any{"url": geoSrv.URL + "/arcgis/rest/services/Locator/GeocodeServer"},
				"categories":              []any{map[string]any{"requestType": 1003, "kind": "SR", "templateId": 102}},
				"agencies":                []any{map[string]any{"id": 7, "name": "Public Works", "geometry": area}},
				"importCityworksRequests": true,
				"catalogSchedule":         "@every 2h",
				"acknowledgeComment":      "A crew has been assigned.",
			}})
	})
	if err := w.kit.Activities.Engine.EnsureConnectionSync(context.Background(), scfConn); err != nil {
		t.Fatal(err)
	}
	return &cityWorld{world: w, cw: cw, scf: scf, geo: geo}
}

// ticketOf returns the API view of the connection's ticket for an SCF issue.
func (w *cityWorld) ticketOf(issueID int64) map[string]any {
	code, list := w.call("GET", "/v1/tickets?connection="+scfConn, w.kit.APIKey, nil)
	if code != 200 {
		w.t.Fatalf("list tickets: %d %v", code, list)
	}
	items, _ := list["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		if m["externalId"] == strconv.FormatInt(issueID, 10) {
			return m
		}
	}
	return nil
}

// apiPosts are what ticketsync posted to an issue, as "kind:comment".
func (w *cityWorld) apiPosts(id int64) []string {
	var out []string
	for _, p := range w.scf.Posted(id) {
		if p.Via == "api" {
			out = append(out, p.Kind+":"+p.Comment)
		}
	}
	return out
}

// feedCloseWait is how long a close made in Cityworks may take to reach SeeClickFix: the change
// feed's next read (at most 30 s away) and a loaded machine's margin.
const feedCloseWait = 60 * time.Second

func TestSeeClickFixCityworksEndToEnd(t *testing.T) {
	w := newCityWorld(t)
	ref := func(issue int64) string { return cityworks.ExternalReference(scfConn, strconv.FormatInt(issue, 10)) }
	time.Sleep(1100 * time.Millisecond) // the intake's first pass has set its start

	// 1. A citizen reports a streetlight out, with a photo.
	pic := photo(t, color.RGBA{R: 200, A: 255})
	issue, err := w.scf.Report(scfsim.ReportInput{Summary: "Streetlight out", Description: "Dark all night",
		Address: "near 165 Church St", RequestTypeID: 1003, Reporter: "Jane Q Public",
		Answers: map[string]any{"5005": "P-1234"}, Image: pic})
	if err != nil {
		t.Fatal(err)
	}

	// 2. Intake starts the ticket; it creates the SR (address from ArcGIS) and uploads the photo.
	var sr cwsim.RequestView
	waitFor(t, 30*time.Second, "the service request with its photo", func() bool {
		for _, r := range w.cw.Requests() {
			if r.OtherSystemId == ref(issue.ID) && len(r.Attachments) == 1 {
				sr = r
				return true
			}
		}
		return false
	})
	if sr.ProblemSid != 102 || sr.ProbAddress != "165 Church St" || sr.ProbZip != "06510" || sr.CallerLastName != "Public" ||
		!strings.Contains(sr.Details, "Pole number: P-1234") || !bytes.Equal(sr.Attachments[0].Content, pic) {
		t.Fatalf("service request: %+v", sr)
	}
	if n := len(w.cw.Requests()); n != 1 {
		t.Fatalf("%d service requests: intake must never duplicate", n)
	}
	var tk map[string]any
	waitFor(t, 20*time.Second, "the ticket Requested", func() bool {
		tk = w.ticketOf(issue.ID)
		return tk != nil && tk["status"] == ticket.Requested && tk["remoteId"] == "SR-"+strconv.Itoa(sr.RequestId)
	})
	_, events := w.call("GET", "/v1/tickets/"+tk["id"].(string)+"/events", w.kit.APIKey, nil)
	if !strings.Contains(fmt.Sprint(events), "address from reverse geocoding") {
		t.Fatalf("the geocode outcome is not on the timeline: %v", events)
	}

	// 3. Dispatch in Cityworks: the issue is acknowledged. The feed does not see a move between
	// open states, so once the ticket has read the feed's state it must keep polling at its
	// interval (2 s) instead of relaxing to a day: nothing else brings the dispatch.
	wfID := ticket.WorkflowID(scfConn, strconv.FormatInt(issue.ID, 10))
	waitFor(t, 30*time.Second, "the ticket's first poll", func() bool {
		st, err := w.kit.Activities.Engine.State(context.Background(), wfID)
		return err == nil && st.Polls > 0
	})
	if st, err := w.kit.Activities.Engine.State(context.Background(), wfID); err != nil || st.FeedHealthy {
		t.Fatalf("a Cityworks ticket relaxes its timer on a feed that misses changes: %+v %v", st, err)
	}
	if _, err := w.cw.SetRequestStatus(sr.RequestId, cwsim.SRDispatch, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the issue acknowledged", func() bool {
		is, _ := w.scf.Issue(issue.ID)
		return is.Status == scfsim.StatusAcknowledged
	})

	// 4. The citizen comments: the comment reaches Cityworks once.
	if _, err := w.scf.AddComment(issue.ID, scfsim.CommentInput{Comment: "It is still dark tonight", Name: "Jane Q Public"}); err != nil {
		t.Fatal(err)
	}
	cwComments := func() []string {
		r, _ := w.cw.Request(sr.RequestId)
		var out []string
		for _, c := range r.Comments {
			out = append(out, c.Comments)
		}
		return out
	}
	waitFor(t, 30*time.Second, "the citizen's comment in Cityworks", func() bool {
		return slices.ContainsFunc(cwComments(), func(s string) bool { return strings.Contains(s, "It is still dark tonight") })
	})

	// 5. Staff answer "To SCF: …" and attach an after photo: both reach the citizen.
	if _, err := w.cw.AddRequestComment(sr.RequestId, "To SCF: A crew is on the way.", "Pat Crew"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cw.AddRequestComment(sr.RequestId, "internal: bring the bucket truck", "Pat Crew"); err != nil {
		t.Fatal(err)
	}
	after := photo(t, color.RGBA{G: 200, A: 255})
	if _, err := w.cw.AddRequestAttachment(sr.RequestId, "after.png", "image/png", after, "To SCF: Fixed, see the photo"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "staff feedback on the issue", func() bool {
		return len(w.apiPosts(issue.ID)) >= 3
	})

	// 6. Cityworks closes the request: the issue is closed and the ticket is Done (through the
	// change feed, read at most every 30 s, or the ticket's own poll).
	if _, err := w.cw.SetRequestStatus(sr.RequestId, cwsim.SRClosed, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, feedCloseWait, "the issue closed and the ticket Done", func() bool {
		is, _ := w.scf.Issue(issue.ID)
		tk = w.ticketOf(issue.ID)
		return is.Status == scfsim.StatusClosed && tk != nil && tk["status"] == ticket.Done
	})
	posts := w.apiPosts(issue.ID)
	want := []string{"acknowledge:A crew has been assigned.", "comment:A crew is on the way.", "comment:Fixed, see the photo", "close:"}
	if len(posts) != len(want) {
		t.Fatalf("posted to the issue: %q", posts)
	}
	for i := range want {
		if !strings.HasPrefix(posts[i], want[i]) {
			t.Fatalf("post %d: %q, want %q… (all: %q)", i, posts[i], want[i], posts)
		}
	}
	for _, p := range w.scf.Posted(issue.ID) {
		if p.Comment == "Fixed, see the photo" && !bytes.Equal(p.Image, after) {
			t.Fatal("the after photo did not come with its note")
		}
	}
	if n := strings.Count(strings.Join(cwComments(), "\n"), "It is still dark tonight"); n != 1 {
		t.Fatalf("the citizen's comment reached Cityworks %d times (staff notes must not echo back either)", n)
	}
	// The read model says Done as soon as the close is read; the workflow ends once its last
	// events are delivered.
	waitFor(t, 30*time.Second, "the ticket workflow completed", func() bool {
		desc, err := w.ts.GetDefaultClient().DescribeWorkflowExecution(context.Background(), wfID, "")
		return err == nil && desc.WorkflowExecutionInfo.Status.String() == "Completed"
	})

	// 7. Staff enter an SR directly in Cityworks inside the agency's area (and one outside): the
	// inside one appears in SeeClickFix and a ticket mirrors it without a second SR.
	lat, lng := 41.31, -72.92
	inside, err := w.cw.CreateRequest(cwsim.NewRequest{ProblemSid: 102, Details: "pole 77 dark", Address: "1 Elm St", X: &lng, Y: &lat})
	if err != nil {
		t.Fatal(err)
	}
	farLat, farLng := 41.88, -87.63
	if _, err := w.cw.CreateRequest(cwsim.NewRequest{ProblemSid: 102, Details: "elsewhere", X: &farLng, Y: &farLat}); err != nil {
		t.Fatal(err)
	}
	var imported scfsim.Issue
	waitFor(t, 90*time.Second, "the Cityworks SR imported into SeeClickFix", func() bool {
		for _, is := range w.scf.Issues() {
			if strings.Contains(is.Description, "[cityworks SR-"+strconv.Itoa(inside.RequestId)+"]") {
				imported = is
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "the imported issue's ticket adopting the SR", func() bool {
		tk := w.ticketOf(imported.ID)
		return tk != nil && tk["remoteId"] == "SR-"+strconv.Itoa(inside.RequestId) && tk["status"] == ticket.Requested
	})
	for _, is := range w.scf.Issues() {
		if strings.Contains(is.Description, "elsewhere") {
			t.Fatal("an SR outside every agency's area must not be imported")
		}
	}
	if n := len(w.cw.Requests()); n != 3 {
		t.Fatalf("%d service requests: the imported ticket must adopt, not create", n)
	}
	if _, err := w.cw.SetRequestStatus(inside.RequestId, cwsim.SRClosed, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, feedCloseWait, "the imported issue closed", func() bool {
		is, _ := w.scf.Issue(imported.ID)
		return is.Status == scfsim.StatusClosed
	})

	// 8. The catalog on demand: Cityworks' public templates become request types of agency 7.
	code, cat := w.call("POST", "/v1/connections/"+scfConn+"/sync-catalog", w.kit.APIKey, nil)
	if code != 200 || cat["created"] == 0.0 {
		t.Fatalf("sync-catalog: %d %v", code, cat)
	}
	var pothole *scfsim.RequestType
	for _, rt := range w.scf.RequestTypes() {
		if rt.RemoteKind == "SR" && rt.RemoteID == 101 {
			pothole = &rt
		}
	}
	if pothole == nil || pothole.AgencyID != 7 || !pothole.Active {
		t.Fatalf("pothole request type: %+v", pothole)
	}

	// 9. The CatalogSync schedule: created, then updated in place when the setting changes.
	c := w.ts.GetDefaultClient()
	ctx := context.Background()
	for _, spec := range []string{"@every 2h", "@every 30m"} {
		if err := app.EnsureCatalogSchedule(ctx, c, "ticketsync", scfConn, spec); err != nil {
			t.Fatal(err)
		}
	}
	d, err := c.ScheduleClient().GetHandle(ctx, ticket.CatalogSyncWorkflowID(scfConn)).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 30*time.Minute {
		t.Fatalf("schedule spec: %+v", d.Schedule.Spec)
	}
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || act.ID != ticket.CatalogSyncWorkflowID(scfConn) || fmt.Sprint(act.Workflow) != ticket.CatalogSyncWorkflowType {
		t.Fatalf("schedule action: %+v", d.Schedule.Action)
	}
	// Trigger it now: the CatalogSync workflow runs the same sync (nothing changed meanwhile).
	if err := c.ScheduleClient().GetHandle(ctx, ticket.CatalogSyncWorkflowID(scfConn)).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the scheduled CatalogSync run", func() bool {
		d, err := c.ScheduleClient().GetHandle(ctx, ticket.CatalogSyncWorkflowID(scfConn)).Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		run := d.Info.RecentActions[0].StartWorkflowResult
		desc, err := c.DescribeWorkflowExecution(ctx, run.WorkflowID, run.FirstExecutionRunID)
		return err == nil && desc.WorkflowExecutionInfo.Status.String() == "Completed"
	})
}
