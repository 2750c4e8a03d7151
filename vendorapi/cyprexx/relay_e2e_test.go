package cyprexx_test

// The whole Cyprexx → Pruvan → Cyprexx loop over real HTTP, with both simulators: a
// minimal order source (what ticketsync will implement) serves Cyprexx work orders to the
// Pruvan simulator and relays its photos, survey and completion back to Cyprexx.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

type relaySource struct {
	cx *cyprexx.Client

	mu      sync.Mutex
	byWON   map[string]string // Pruvan workOrderNumber → Cyprexx workOrderId
	photoID map[string]string // Pruvan uuid → Cyprexx photoId
}

func (r *relaySource) Validate(context.Context, string) error { return nil }

func (r *relaySource) WorkOrders(ctx context.Context, since *time.Time) ([]pruvan.WorkOrder, error) {
	var out []pruvan.WorkOrder
	for cur := ""; ; {
		page, err := r.cx.FullRefresh(ctx, cur, 0)
		if err != nil {
			return nil, err
		}
		for _, wo := range page.Items {
			p := cyprexx.ToPruvan(wo)
			r.mu.Lock()
			r.byWON[p.WorkOrderNumber] = wo.WorkOrderID
			r.mu.Unlock()
			out = append(out, p)
		}
		if cur = page.NextCursor; cur == "" {
			return out, nil
		}
	}
}

func (r *relaySource) workOrder(ctx context.Context, won string) (*cyprexx.WorkOrder, error) {
	r.mu.Lock()
	id, ok := r.byWON[won]
	r.mu.Unlock()
	if !ok {
		return nil, pruvan.ErrUnknownWorkOrder
	}
	return r.cx.WorkOrder(ctx, id)
}

func (r *relaySource) Status(ctx context.Context, u pruvan.StatusUpdate) error {
	wo, err := r.workOrder(ctx, u.WorkOrderNumber)
	if err != nil || !u.IsComplete() {
		return err
	}
	_, err = r.cx.Complete(ctx, wo.WorkOrderID, u.Completed)
	return err
}

func (r *relaySource) UploadPictures(ctx context.Context, up pruvan.Upload) error {
	wo, err := r.workOrder(ctx, up.Picture.WorkOrderNumber())
	if err != nil {
		return err
	}
	if up.Picture.IsSurvey() {
		formID, s, err := cyprexx.SurveyFromPruvan(*wo, up, func(u string) (string, bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			id, ok := r.photoID[u]
			return id, ok
		})
		if err != nil {
			return err
		}
		_, err = r.cx.SubmitSurvey(ctx, wo.WorkOrderID, formID, s)
		return err
	}
	p, err := cyprexx.PhotoFromPruvan(*wo, up, []string{"Before", "After"})
	if errors.Is(err, cyprexx.ErrNotRelayed) {
		return nil
	}
	if err != nil {
		return pruvan.Reject("%v", err)
	}
	rec, err := r.cx.UploadPhoto(ctx, wo.WorkOrderID, p)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.photoID[up.Picture.UUID] = rec.PhotoID
	r.mu.Unlock()
	return nil
}

func TestRelayLoopThroughBothSimulators(t *testing.T) {
	ctx := context.Background()
	cx := csim.New(csim.Options{DisableRateLimit: true})
	cxSrv := httptest.NewServer(cx)
	t.Cleanup(cxSrv.Close)
	t.Cleanup(cx.Close)
	client, _ := cyprexx.New(cyprexx.Config{BaseURL: cxSrv.URL, APIToken: csim.DefaultToken, Timeout: 5 * time.Second})
	wo, err := cx.Issue("", csim.WorkOrder{Service: "Grass Cut", Address1: "12 Palm Ave", City: "Doral", State: "FL", Zip: "33166",
		Tasks: []csim.Task{{Name: "Cut grass", PhotoCategories: []string{"Before", "After"}, MinPhotos: 2}},
		Forms: []csim.Form{csim.StandardForm()}})
	if err != nil {
		t.Fatal(err)
	}

	src := &relaySource{cx: client, byWON: map[string]string{}, photoID: map[string]string{}}
	creds := pruvan.Credentials{Username: "ts", Password: "ab12", Token: "tok"}
	mux := http.NewServeMux()
	mux.Handle("/v1/hooks/pruvan/conn-1/", pruvan.NewOrderSourceHandler(src, creds))
	ours := httptest.NewServer(mux)
	t.Cleanup(ours.Close)

	pv := psim.New(psim.Options{Seed: 3, Integrations: []psim.Integration{{ClientCode: "cyprexx", URL: ours.URL + "/v1/hooks/pruvan/conn-1",
		Username: "ts", Password: "ab12", Token: "tok"}}})
	pvSrv := httptest.NewServer(pv)
	pv.SetBaseURL(pvSrv.URL)
	t.Cleanup(pvSrv.Close)
	t.Cleanup(pv.Close)

	if res, err := pv.Refresh(ctx, "cyprexx", true); err != nil || res.Created != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	key := psim.ProjectKey("cyprexx", wo.WorkOrderID+"-Grass Cut")
	sent, err := pv.UploadPhotos(ctx, key, psim.PhotoRequest{Count: 2, Category: "After", Task: "Cut grass", Size: 5 << 20})
	if err != nil || len(sent) != 2 || !sent[0].Accepted || !sent[1].Accepted {
		t.Fatalf("photos: %+v %v", sent, err)
	}
	during, _ := pv.UploadPhotos(ctx, key, psim.PhotoRequest{Count: 1, Category: "During", Task: "Cut grass"})
	if !during[0].Accepted {
		t.Fatalf("a photo the QA settings do not relay is still accepted: %+v", during)
	}
	survey, err := pv.SubmitSurvey(ctx, key, psim.SurveyRequest{Answers: map[string]any{"lawnCut": "yes", "debris": "none", "frontPhoto": []string{sent[0].UUID}}})
	if err != nil || !survey.Accepted {
		t.Fatalf("survey: %+v %v", survey, err)
	}
	done := time.Date(2024, 6, 1, 16, 0, 0, 0, time.UTC)
	if res, err := pv.Complete(ctx, key, done); err != nil || !res.OK {
		t.Fatalf("complete: %+v %v", res, err)
	}

	photos := cx.Photos(wo.WorkOrderID)
	if len(photos) != 2 {
		t.Fatalf("Cyprexx photos %+v", photos)
	}
	for i, p := range photos {
		if p.SHA256 != sent[i].SHA256 || p.Size != sent[i].Size || p.SourceID != sent[i].UUID || p.Category != "After" || p.TaskID != "T1" {
			t.Fatalf("photo %d: Cyprexx %+v, Pruvan sent %+v", i, p, sent[i])
		}
	}
	sub := cx.Surveys(wo.WorkOrderID)["PCR"]
	if sub.SubmissionID != survey.UUID || len(sub.Answers) != 3 || !strings.Contains(strings.Join(sub.Answers[1].PhotoIDs, ","), photos[0].PhotoID) {
		t.Fatalf("survey at Cyprexx %+v", sub)
	}
	if got, _ := cx.WorkOrder(wo.WorkOrderID); got.Status != csim.StatusCompleted || !cx.Completions()[0].CompletedAt.Equal(done) {
		t.Fatalf("completion: %+v %+v", got, cx.Completions())
	}
}
