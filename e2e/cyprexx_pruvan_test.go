package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// Cyprexx → Pruvan end to end, through a real Temporal server, the real API and both
// simulators: Cyprexx staff issue a work order and push it; its ticket makes the project
// available and calls Pruvan's push key; Pruvan pulls it through getWorkOrders; the crew's
// photos and survey come back through uploadPictures and are relayed to Cyprexx per the QA
// settings; Pruvan's "complete" asks for the completion date, which is held (the ticket shows
// exactly what is missing) until the last required photo and the survey arrive, then set in
// Cyprexx; the Pruvan project is closed and the ticket ends Done. Refresh and Full Refresh
// change nothing afterwards.

const (
	cxConn     = "sunrise-cyprexx"
	cxPushKey  = "cyprexx-e2e-push-key-0123456789"
	pvUser     = "ts-sunrise"
	pvPassword = "9d8c7b6a5f4e3d2c1b0a99887766554433221100"
	pvToken    = "pruvan-e2e-token"
)

func TestCyprexxPruvanEndToEnd(t *testing.T) {
	ctx := context.Background()
	cx := cxsim.New(cxsim.Options{DisableRateLimit: true, Seed: 21})
	cxSrv := httptest.NewServer(cx)
	t.Cleanup(cxSrv.Close)
	t.Cleanup(cx.Close)
	pv := pvsim.New(pvsim.Options{Seed: 22})
	pvSrv := httptest.NewServer(pv)
	t.Cleanup(pvSrv.Close)
	t.Cleanup(pv.Close)
	pv.SetBaseURL(pvSrv.URL)

	w := newWorldWith(t, false, func(f *config.File) {
		f.Connections = append(f.Connections, config.Connection{ID: cxConn, Tenant: testkit.Tenant,
			RequestSystem: config.RequestSystem{Kind: "cyprexx", BaseURL: cxSrv.URL, APIToken: cxsim.DefaultToken,
				WebhookSecret: cxPushKey, RateLimit: 100000},
			WorkSystem: config.WorkSystem{Kind: "pruvan", BaseURL: pvSrv.URL, Username: pvUser, Password: pvPassword, Token: pvToken},
			Options: map[string]any{"defaultAssignTo": "~all~", "autoAdmin": true, "validatorUrl": "https://validator.pruvan.example/v/",
				"qa": map[string]any{"relayCategories": []any{"Before", "After"}, "requiredPhotosPerTask": 2}}})
	})
	if _, err := pv.SetIntegration(pvsim.Integration{ClientCode: cxConn, URL: w.apiURL + "/v1/hooks/pruvan/" + cxConn,
		Username: pvUser, Password: pvPassword, Token: pvToken, AutoAdmin: true}); err != nil {
		t.Fatal(err)
	}
	key := w.kit.APIKey

	// Without Pruvan's Validate, `connections validate` says why orders will not arrive.
	_, v := w.call("POST", "/v1/connections/"+cxConn+"/validate", key, nil)
	if v["ok"] != false || !strings.Contains(fmt.Sprint(v["checks"]), "orders only arrive on Refresh") {
		t.Fatalf("validate before Pruvan's Validate: %v", v)
	}
	if err := pv.Validate(ctx, cxConn); err != nil {
		t.Fatalf("Pruvan's Validate through the API: %v", err)
	}
	if _, v := w.call("POST", "/v1/connections/"+cxConn+"/validate", key, nil); v["ok"] != true {
		t.Fatalf("validate after Pruvan's Validate: %v", v)
	}

	// Cyprexx pushes to our hook once the push key is registered (its ping reaches the route).
	client, err := cyprexx.New(cyprexx.Config{BaseURL: cxSrv.URL, APIToken: cxsim.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RegisterPushKey(ctx, cxPushKey, w.apiURL+"/v1/hooks/cyprexx/"+cxConn); err != nil {
		t.Fatalf("register the push key: %v", err)
	}
	wo, err := cx.Issue("", cxsim.WorkOrder{Service: "Grass Cut", Address1: "12 Palm Ave", City: "Doral", State: "FL", Zip: "33166",
		ServiceDue: "2026-06-01", JobNumber: "J-77", LockboxCode: "4321", KeyCode: "K9", Note: "Gate code 1234",
		Tasks: []cxsim.Task{{Name: "Cut grass", PhotoCategories: []string{"Before", "After", "During"}, MinPhotos: 1}},
		Forms: []cxsim.Form{cxsim.StandardForm()}})
	if err != nil {
		t.Fatal(err)
	}
	project := cyprexx.ProjectID(cyprexx.WorkOrder{WorkOrderID: wo.WorkOrderID, Service: wo.Service})
	pkey := pvsim.ProjectKey(cxConn, project)
	waitFor(t, 20*time.Second, "Pruvan to import the project", func() bool { _, ok := pv.Project(pkey); return ok })
	if p, _ := pv.Project(pkey); p.WorkOrder.AssignedTo != "~all~" || !strings.Contains(p.WorkOrder.WorkOrderInfo, "Lockbox: 4321") {
		t.Fatalf("imported project: %+v", p.WorkOrder)
	}
	var id string
	waitFor(t, 10*time.Second, "the ticket with its project", func() bool {
		_, list := w.call("GET", "/v1/tickets?connection="+cxConn, key, nil)
		items, _ := list["items"].([]any)
		if len(items) != 1 {
			return false
		}
		tk := items[0].(map[string]any)
		id, _ = tk["id"].(string)
		return tk["remoteId"] == project && tk["externalId"] == wo.WorkOrderID
	})

	// The crew's photos: Before is relayed, During is not (QA settings).
	if _, err := pv.UploadPhotos(ctx, pkey, pvsim.PhotoRequest{Count: 1, Category: "Before", Task: "Cut grass", Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := pv.UploadPhotos(ctx, pkey, pvsim.PhotoRequest{Count: 1, Category: "During", Task: "Cut grass"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the Before photo at Cyprexx", func() bool { return len(cx.Photos(wo.WorkOrderID)) == 1 })

	// Complete in Pruvan with one photo and no survey: the completion is held, and the open
	// ticket needs attention with exactly what is missing.
	done := time.Date(2026, 6, 1, 17, 0, 0, 0, time.UTC)
	if _, err := pv.Complete(ctx, pkey, done); err != nil {
		t.Fatal(err)
	}
	var reason string
	waitFor(t, 20*time.Second, "the held completion on the ticket", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, key, nil)
		na, _ := v["needsAttention"].(map[string]any)
		reason, _ = na["reason"].(string)
		return v["status"] == "InProgress" && v["remoteStatus"] == "complete" && strings.Contains(reason, "completion held")
	})
	for _, want := range []string{"task T1 (Cut grass): 1 of 2 photos relayed", "form PCR (Property condition): no survey relayed"} {
		if !strings.Contains(reason, want) {
			t.Fatalf("the reason must say %q: %s", want, reason)
		}
	}
	if len(cx.Completions()) != 0 {
		t.Fatal("completed with a photo missing")
	}

	// The missing photo and the survey arrive: the ticket retries on its own and completes.
	after, err := pv.UploadPhotos(ctx, pkey, pvsim.PhotoRequest{Count: 1, Category: "After", Task: "Cut grass", Size: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pv.SubmitSurvey(ctx, pkey, pvsim.SurveyRequest{Answers: map[string]any{"lawnCut": "yes", "debris": "none",
		"frontPhoto": []string{after[0].UUID}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the completion in Cyprexx", func() bool { return len(cx.Completions()) == 1 })
	if got := cx.Completions()[0]; !got.CompletedAt.Equal(done) {
		t.Fatalf("completion date %v, want Pruvan's %v", got.CompletedAt, done)
	}
	photos := cx.Photos(wo.WorkOrderID)
	if len(photos) != 2 || photos[1].SHA256 != after[0].SHA256 || photos[1].SourceID != after[0].UUID {
		t.Fatalf("photos at Cyprexx: %+v", photos)
	}
	// Cyprexx's update push (its work order is Completed now) pokes the ticket, which reads the
	// project Closed and finishes as Done.
	waitFor(t, 20*time.Second, "the ticket to finish cleanly", func() bool {
		_, v := w.call("GET", "/v1/tickets/"+id, key, nil)
		return v["status"] == "Done" && v["remoteStatus"] == "Closed" && v["needsAttention"] == nil
	})
	waitFor(t, 10*time.Second, "the Pruvan project closed", func() bool {
		p, _ := pv.Project(pkey)
		return p.WorkOrder.ClientStatus == cxsim.StatusCompleted
	})
	_, evs := w.call("GET", "/v1/tickets/"+id+"/events", key, nil)
	timeline := fmt.Sprint(evs)
	for _, want := range []string{"project offered to ~all~", "ticket.feedback_added", "Pruvan Validator"} {
		if !strings.Contains(timeline, want) {
			t.Fatalf("timeline lacks %q: %s", want, timeline)
		}
	}

	// Refresh and Full Refresh, each twice, change nothing now.
	for _, q := range []string{"", "?full=true", "", "?full=true"} {
		code, res := w.call("POST", "/v1/connections/"+cxConn+"/refresh"+q, key, nil)
		if code != 200 || res["new"] != float64(0) || res["failed"] != float64(0) {
			t.Fatalf("refresh%s: %d %v", q, code, res)
		}
		if q == "?full=true" && res["unchanged"] != float64(0) {
			t.Fatalf("a completed order is not in a full refresh: %v", res)
		}
	}
	if n := len(cx.Completions()); n != 1 || len(cx.Photos(wo.WorkOrderID)) != 2 {
		t.Fatalf("refreshes repeated effects: %d completions", n)
	}
}
