package cubu_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

const serviceTypeMaintenance = "0a526645-8401-4df6-a060-5e4d3c2b1a0f"

func testMapping() cubu.FieldMapping {
	return cubu.FieldMapping{
		Description: fieldDescription, Address: fieldAddress, Lat: fieldLat, Lng: fieldLng, RequesterName: fieldName,
		RequestTypes: map[string]string{serviceTypeMaintenance: "Maintenance"},
		Labels:       map[string]string{fieldPreferred: "Preferred time", fieldAddress: "Where (building, apartment)"},
	}
}

func TestToNewRequestFull(t *testing.T) {
	p := parseFixture(t, cubu.AfterResolve, "afterResolve_full.json")
	r, err := cubu.ToNewRequest(p, testMapping())
	if err != nil {
		t.Fatal(err)
	}
	if r.ExternalID != "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a45" || r.RequestType != "Maintenance" {
		t.Errorf("externalId %q requestType %q", r.ExternalID, r.RequestType)
	}
	// No title field mapped: the description's first line.
	if r.Title != "Bathroom fan is loud" || r.Description != "Bathroom fan is loud\nIt rattles at night." {
		t.Errorf("title %q description %q", r.Title, r.Description)
	}
	if r.Location.Address != "Building C, apt 14" || r.Location.Lat == nil || *r.Location.Lat != 40.7128 ||
		r.Location.Lng == nil || *r.Location.Lng != -74.006 {
		t.Errorf("location = %+v", r.Location)
	}
	if r.Requester != (cubu.Person{Name: "Jane Resident", Email: "jane@example.com", Phone: "+15555550123"}) {
		t.Errorf("requester = %+v", r.Requester)
	}
	if len(r.Answers) != 1 || r.Answers["Preferred time"] != "after 10am" {
		t.Errorf("answers = %v (mapped fields must not repeat there)", r.Answers)
	}
	if r.Ticket != "B7R" || r.ServiceTypeID != serviceTypeMaintenance || r.CustomerRecordID != "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a" ||
		!r.ContactFromCustomerRecord || r.UnitID == "" || r.ServiceID == "" {
		t.Errorf("context = %+v", r)
	}
	if !slices.Equal(r.Defaulted, []string{cubu.FieldTitle}) || len(r.Warnings) != 0 {
		t.Errorf("defaulted %v warnings %v", r.Defaulted, r.Warnings)
	}
}

// TestToNewRequestContractExample: a sparse case still becomes a creatable request.
func TestToNewRequestContractExample(t *testing.T) {
	p := parseFixture(t, cubu.AfterResolve, "afterResolve.json")
	r, err := cubu.ToNewRequest(p, testMapping())
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "Water leak under kitchen sink" || r.Description != "Water leak under kitchen sink" ||
		r.Requester.Name != "Cubu customer A119" || r.Requester.Email != "resident@example.com" || r.Requester.Phone != "+15555550100" ||
		r.Location.Address != "" || r.Location.Lat != nil || r.Answers != nil || r.ContactFromCustomerRecord {
		t.Errorf("request = %+v", r)
	}
	if !slices.Equal(r.Defaulted, []string{cubu.FieldTitle, cubu.FieldRequesterName}) {
		t.Errorf("defaulted = %v", r.Defaulted)
	}
}

func TestToNewRequestFallbacksAndTitleField(t *testing.T) {
	body := `{"caseId":"8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d","serviceId":"svc","serviceTypeId":"other",
		"fields":{"t":"  Broken window  ","lat":"52,37","lng":"east","x":"1","y":"2"}}`
	p, err := cubu.Parse(cubu.AfterQueueUp, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := cubu.FieldMapping{Title: "t", Lat: "lat", Lng: "lng", RequestTypes: map[string]string{"svc": "Housekeeping"},
		Labels: map[string]string{"x": "Same", "y": "Same"}}
	r, err := cubu.ToNewRequest(p, m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "Broken window" || r.RequestType != "Housekeeping" {
		t.Errorf("title %q requestType %q (service id fallback)", r.Title, r.RequestType)
	}
	if r.Description != "Cubu case 8c0b7f3e: no description given" || r.Requester.Name != "Cubu customer case 8c0b7f3e" {
		t.Errorf("fallbacks: %q / %q", r.Description, r.Requester.Name)
	}
	if r.Location.Lat == nil || *r.Location.Lat != 52.37 || r.Location.Lng != nil || len(r.Warnings) != 1 ||
		!strings.Contains(r.Warnings[0], "location.lng") {
		t.Errorf("coordinates %+v warnings %v", r.Location, r.Warnings)
	}
	if r.Answers["Same"] != "1" || r.Answers["Same (y)"] != "2" {
		t.Errorf("colliding labels: %v", r.Answers)
	}
}

func TestToNewRequestLongDescriptionTitle(t *testing.T) {
	body := `{"caseId":"8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d","fields":{"d":"` + strings.Repeat("word ", 40) + `"}}`
	p, _ := cubu.Parse(cubu.AfterResolve, []byte(body))
	r, err := cubu.ToNewRequest(p, cubu.FieldMapping{Description: "d", DefaultRequestType: "Maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(r.Title)); n > cubu.MaxTitle || !strings.HasSuffix(r.Title, "…") {
		t.Errorf("title %q (%d runes)", r.Title, n)
	}
}

func TestToNewRequestWithoutRequestType(t *testing.T) {
	p := parseFixture(t, cubu.AfterQueueUp, "afterQueueUp.json")
	_, err := cubu.ToNewRequest(p, cubu.FieldMapping{Description: fieldDescription})
	var me *cubu.MappingError
	if !errors.As(err, &me) || me.CaseID != "8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d" || !strings.Contains(err.Error(), "requestTypes") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateRequired(t *testing.T) {
	if err := cubu.ValidateRequired([]string{"description", "location.address", "requester.email", "answers.Preferred time"}); err != nil {
		t.Fatal(err)
	}
	err := cubu.ValidateRequired([]string{"description", "adress", "answers."})
	if err == nil || !strings.Contains(err.Error(), `"adress"`) || !strings.Contains(err.Error(), `"answers."`) {
		t.Fatalf("err = %v", err)
	}
}
