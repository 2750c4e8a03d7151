package devstack

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// playDemo runs one demo connection's story through its simulators, as a person following
// the README tour would; conn is the connection (the demo's, or one of a --connections file).
var playDemo = map[string]func(t *testing.T, s *Stack, conn string){
	DemoConnection: func(t *testing.T, s *Stack, conn string) {
		code, created := post(t, s, "/v1/tickets", demoTicket("pair-1"))
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, created)
		}
		waitUntil(t, 10*time.Second, "the request in TheWorxHub", func() bool { _, ok := remoteFor(s, "pair-1"); return ok })
	},
	// A citizen's pothole in SeeClickFix becomes a geocoded Cityworks service request; closing
	// it in Cityworks closes the issue.
	DemoSCFConnection: func(t *testing.T, s *Stack, conn string) {
		scf := s.Sim(seeClickFixSim.name).Handler.(*scfsim.Server)
		cw := s.Sim(cityworksSim.name).Handler.(*cwsim.Server)
		gis := s.Sim(arcgisSim.name).Handler.(*gissim.Server)
		is, err := scf.Report(scfsim.ReportInput{Summary: "Pothole on Elm St", Description: "Deep one.", RequestTypeID: 1001,
			Lat: scfsim.DefaultLat, Lng: scfsim.DefaultLng, Address: "Elm St", Reporter: "Ada Citizen",
			Answers: map[string]any{"5001": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		var sr cwsim.RequestView
		waitUntil(t, 20*time.Second, "the issue's service request in Cityworks", func() bool {
			for _, r := range cw.Requests() {
				if strings.HasPrefix(r.OtherSystemId, "ticketsync:"+conn+":") {
					sr = r
					return true
				}
			}
			return false
		})
		if sr.ProblemSid != 101 {
			t.Fatalf("service request %+v: want problem 101 (POTHOLE)", sr.Request)
		}
		if gis.Stats().Calls["reverseGeocode"] == 0 {
			t.Error("the ArcGIS simulator was never asked for the issue's address")
		}
		if _, err := cw.SetRequestStatus(sr.RequestId, "close", ""); err != nil {
			t.Fatal(err)
		}
		// Cityworks' change feed reads at most every 30 s (an on-prem server saturates easily);
		// a loaded CI machine adds a feed cycle or two.
		waitUntil(t, 150*time.Second, "the issue closed in SeeClickFix", func() bool {
			got, ok := scf.Issue(is.ID)
			return ok && got.Status == scfsim.StatusClosed
		})
	},
	// A Cyprexx work order becomes a Pruvan project at once (push key registered by validate);
	// the crew's photos go back to Cyprexx, and completing the project sets the completion date.
	DemoCyprexxConnection: func(t *testing.T, s *Stack, conn string) {
		ctx := context.Background()
		pv, cx, wo, project := cyprexxDemoOrder(t, s, conn, cxsim.Task{TaskID: "t1", Name: "Mow lawn", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1})
		for _, cat := range []string{"Before", "After"} {
			if _, err := pv.UploadPhotos(ctx, project.Key, pvsim.PhotoRequest{Count: 1, Category: cat, Task: "Mow lawn"}); err != nil {
				t.Fatalf("%s photo: %v", cat, err)
			}
		}
		if _, err := pv.Complete(ctx, project.Key, time.Now()); err != nil {
			t.Fatalf("complete in Pruvan: %v", err)
		}
		waitUntil(t, 20*time.Second, "the completion date in Cyprexx", func() bool {
			return slices.ContainsFunc(cx.Completions(), func(c cxsim.Completion) bool { return c.WorkOrderID == wo.WorkOrderID })
		})
		if n := len(cx.Photos(wo.WorkOrderID)); n != 2 {
			t.Fatalf("%d photos relayed to Cyprexx, want 2", n)
		}
	},
	// A case resolved at the Cubu desk becomes a TheWorxHub request; Done resolves it in Cubu.
	DemoCubuConnection: func(t *testing.T, s *Stack, conn string) {
		cubu := s.Sim(cubuSim.name).Handler.(*cubusim.Server)
		c, err := cubu.QueueUp(cubusim.NewCase{Agent: cubusim.DefaultAgentID, ContactEmail: "resident@example.org",
			Fields: map[string]string{cubusim.FieldDescription: "Water leak under kitchen sink", cubusim.FieldAddress: "Building A, apt 12",
				cubusim.FieldName: "Ada Resident"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cubu.StartWork(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatal(err)
		}
		if _, err := cubu.Resolve(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatalf("resolve at the desk: %v", err)
		}
		var wr twhsim.WorkRequest
		waitUntil(t, 10*time.Second, "the case's request in TheWorxHub", func() bool {
			for _, r := range s.TWH.Requests() {
				if strings.HasPrefix(r.ExternalReference, "ticketsync:"+conn+":") {
					wr = r
					return true
				}
			}
			return false
		})
		if wr.RequestType != "Maintenance" || wr.Location != "Building A, apt 12" {
			t.Fatalf("request %+v", wr)
		}
		if _, err := s.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed", Author: "J", VisibleToRequestor: true}, true); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 20*time.Second, "the resolve call back to Cubu", func() bool { return cubu.Stats().Ops["resolve"] >= 1 })
	},
}

// Every demo connection of this build works end to end through its simulators.
func TestDemoConnectionsPlay(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	for _, d := range s.Demo {
		play, ok := playDemo[d.ID]
		if !ok {
			t.Errorf("demo connection %s has no story in playDemo", d.ID)
			continue
		}
		t.Run(d.ID, func(t *testing.T) { play(t, s, d.ID) })
	}
}

// cyprexxDemoOrder registers the demo connection's push key in Pruvan, checks the connection,
// issues a one-task work order at Cyprexx and waits for its project in Pruvan.
func cyprexxDemoOrder(t *testing.T, s *Stack, conn string, task cxsim.Task) (*pvsim.Server, *cxsim.Server, cxsim.WorkOrder, pvsim.Project) {
	t.Helper()
	pv := s.Sim(pruvanSim.name).Handler.(*pvsim.Server)
	cx := s.Sim(cyprexxSim.name).Handler.(*cxsim.Server)
	if err := pv.Validate(context.Background(), conn); err != nil {
		t.Fatalf("Validate in Pruvan: %v", err)
	}
	if code, out := post(t, s, "/v1/connections/"+conn+"/validate", map[string]any{}); code != http.StatusOK || out["ok"] != true {
		t.Fatalf("connections validate: %d %v", code, out)
	}
	wo, err := cx.Issue(cxsim.DefaultVendor, cxsim.WorkOrder{Service: "Lawn Maintenance", Address1: "12 Oak St", City: "Springfield",
		State: "IL", Zip: "62701", ServiceDue: "2030-01-15", JobNumber: "J-1001", Tasks: []cxsim.Task{task}})
	if err != nil {
		t.Fatal(err)
	}
	var project pvsim.Project
	waitUntil(t, 20*time.Second, "the work order's project in Pruvan", func() bool {
		for _, p := range pv.Projects() {
			if p.ClientCode == conn && strings.HasPrefix(p.WorkOrder.WorkOrderNumber, wo.WorkOrderID) {
				project = p
				return true
			}
		}
		return false
	})
	return pv, cx, wo, project
}
