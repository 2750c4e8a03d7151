package seeclickfix_test

// Request types, questions, agency areas and the Cityworks category sync.

import (
	"context"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

func TestRequestTypesAndQuestions(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	opts, err := e.client.RequestTypes(ctx, sim.DefaultLat, sim.DefaultLng)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]int64{}
	for _, o := range opts {
		if o.ID == 0 || o.Organization != sim.DefaultOrganizationName {
			t.Errorf("option = %+v", o)
		}
		titles[o.Title] = o.ID
	}
	if len(opts) != 4 || titles["Pothole"] != 1001 || titles["Other"] != 1004 {
		t.Fatalf("request types = %+v", opts)
	}
	rt, err := e.client.RequestType(ctx, 1001)
	if err != nil {
		t.Fatal(err)
	}
	if rt.ID != 1001 || rt.Title != "Pothole" || len(rt.Questions) != 5 {
		t.Fatalf("request type = %+v", rt)
	}
	byKey := map[string]seeclickfix.Question{}
	for _, q := range rt.Questions {
		byKey[string(q.PrimaryKey)] = q
	}
	depth, phone := byKey["5001"], byKey["5002"]
	if byKey[seeclickfix.AnswerKeySummary].QuestionType != seeclickfix.QuestionText || !byKey["summary"].ResponseRequired ||
		byKey[seeclickfix.AnswerKeyIssueImage].QuestionType != seeclickfix.QuestionFile {
		t.Errorf("built-in questions = %+v", byKey)
	}
	if depth.QuestionType != seeclickfix.QuestionSelect || !depth.ResponseRequired || len(depth.SelectValues) != 2 ||
		depth.SelectValues[1].Key != "2" || depth.SelectValues[1].Name != "Deep" {
		t.Errorf("select question = %+v", depth)
	}
	if !phone.AnswerKeptPrivate || phone.ResponseRequired {
		t.Errorf("private question = %+v", phone)
	}
	_, err = e.client.RequestType(ctx, 4242)
	if !vendorapi.IsNotFound(err) {
		t.Errorf("unknown request type: %v", err)
	}
}

func TestRequestTypesFollowAgencyAreas(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	square := []byte(`{"type":"Polygon","coordinates":[[[-73,41],[-72,41],[-72,42],[-73,42],[-73,41]],[[-72.6,41.4],[-72.4,41.4],[-72.4,41.6],[-72.6,41.6],[-72.6,41.4]]]}`)
	if err := e.sim.SetAgencies([]sim.Agency{{ID: 7, Name: "Public Works", Geometry: square}}); err != nil {
		t.Fatal(err)
	}
	q := seeclickfix.NewCityworksQuestion(301, "Contact phone", nil)
	id, created, err := e.client.UpsertCityworksRequestType(ctx, seeclickfix.CityworksRequestType{Title: "Sidewalk repair",
		AgencyID: 7, RemoteKind: seeclickfix.RemoteKindSR, RemoteID: 55, Active: true, Questions: []seeclickfix.CityworksQuestion{q}})
	if err != nil || !created || id == 0 {
		t.Fatalf("upsert = %d %v %v", id, created, err)
	}
	has := func(lat, lng float64) bool {
		t.Helper()
		opts, err := e.client.RequestTypes(ctx, lat, lng)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opts {
			if o.ID == id {
				return true
			}
		}
		return false
	}
	// Inside; inside the cutout (holes are ignored); outside.
	if !has(41.3, -72.9) || !has(41.5, -72.5) || has(40.5, -72.5) {
		t.Error("request type offered outside its agency area or missing inside it")
	}
	_, err = e.client.CreateIssue(ctx, seeclickfix.NewIssue{Lat: 40.5, Lng: -72.5, RequestTypeID: id,
		Answers: map[string]any{"summary": "Cracked"}})
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 422 || ve.Retryable || !strings.Contains(ve.Fields["point"], "not within boundary") {
		t.Errorf("report outside the area: %+v", ve)
	}
}

func TestUpsertCityworksRequestTypeIsIdempotent(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	rt := seeclickfix.CityworksRequestType{Title: "Pothole (CW)", RemoteKind: seeclickfix.RemoteKindSR, RemoteID: 12, Active: true,
		Questions: []seeclickfix.CityworksQuestion{
			seeclickfix.NewCityworksQuestion(1, "E-mail for updates", nil),
			seeclickfix.NewCityworksQuestion(2, "Size", []seeclickfix.SelectValue{{Key: "10", Name: "Small"}, {Key: "11", Name: "Large"}}),
		}}
	if !rt.Questions[0].AnswerKeptPrivate || rt.Questions[0].QuestionType != seeclickfix.QuestionText ||
		rt.Questions[1].AnswerKeptPrivate || rt.Questions[1].QuestionType != seeclickfix.QuestionSelect || !rt.Questions[1].ResponseRequired {
		t.Fatalf("import rules: %+v", rt.Questions)
	}
	id, created, err := e.client.UpsertCityworksRequestType(ctx, rt)
	if err != nil || !created {
		t.Fatalf("first upsert: %d %v %v", id, created, err)
	}
	first, _ := e.client.RequestType(ctx, id)
	rt.Title, rt.Active = "Pothole (Cityworks)", false
	id2, created2, err := e.client.UpsertCityworksRequestType(ctx, rt)
	if err != nil || created2 || id2 != id {
		t.Fatalf("second upsert: %d %v %v", id2, created2, err)
	}
	// A WO template may share the SR's number: a different request type.
	wo := rt
	wo.RemoteKind, wo.Active = seeclickfix.RemoteKindWO, true
	id3, created3, err := e.client.UpsertCityworksRequestType(ctx, wo)
	if err != nil || !created3 || id3 == id {
		t.Fatalf("WO upsert: %d %v %v", id3, created3, err)
	}
	second, _ := e.client.RequestType(ctx, id)
	if second.Title != "Pothole (Cityworks)" || len(second.Questions) != len(first.Questions) {
		t.Fatalf("updated type = %+v", second)
	}
	for i := range first.Questions {
		if first.Questions[i].PrimaryKey != second.Questions[i].PrimaryKey {
			t.Errorf("question keys changed across updates: %v → %v", first.Questions[i].PrimaryKey, second.Questions[i].PrimaryKey)
		}
	}
	opts, _ := e.client.RequestTypes(ctx, sim.DefaultLat, sim.DefaultLng)
	for _, o := range opts {
		if o.ID == id {
			t.Error("inactive request type still offered")
		}
	}
	// A question breaking SCF Connect's rules is refused.
	bad := rt
	bad.Questions = []seeclickfix.CityworksQuestion{{RemoteID: 3, Question: "Phone", QuestionType: "text", ResponseRequired: true}}
	_, _, err = e.client.UpsertCityworksRequestType(ctx, bad)
	if ve := vendorErr(t, err); ve.HTTPStatus != 422 || ve.Fields["questions[0].answer_kept_private"] == "" {
		t.Errorf("rule-breaking question: %+v", ve)
	}
}
