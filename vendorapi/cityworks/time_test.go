package cityworks

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeDecoding(t *testing.T) {
	cdt := time.FixedZone("CDT", -5*3600)
	for in, want := range map[string]time.Time{
		`null`:                        {},
		`""`:                          {},
		`"0001-01-01T00:00:00"`:       {},
		`"0001-01-01T00:00:00Z"`:      {},
		`"2024-07-01T10:04:05"`:       time.Date(2024, 7, 1, 15, 4, 5, 0, time.UTC),
		`"2024-07-01T10:04:05.25"`:    time.Date(2024, 7, 1, 15, 4, 5, 250e6, time.UTC),
		`"2024-07-01T15:04:05Z"`:      time.Date(2024, 7, 1, 15, 4, 5, 0, time.UTC),
		`"2024-07-01T17:04:05+02:00"`: time.Date(2024, 7, 1, 15, 4, 5, 0, time.UTC),
		`"2024-07-01"`:                time.Date(2024, 7, 1, 5, 0, 0, 0, time.UTC),
	} {
		var v struct{ D Time }
		if err := json.Unmarshal([]byte(`{"D":`+in+`}`), &v); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		zoneTimes(&v, cdt)
		if !v.D.Equal(want) || (!want.IsZero() && v.D.Location() != cdt) {
			t.Errorf("%s → %v, want %v in CDT", in, v.D, want)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("an unknown format must fail")
	}
}

// zoneTimes reaches Times inside slices, pointers and map values, and encoding writes the
// tenant wall clock without an offset.
func TestZoneTimesWalksEverything(t *testing.T) {
	cdt := time.FixedZone("CDT", -5*3600)
	var v struct {
		List []CommentRecord
		Map  map[string][]CommentRecord
		Ptr  *ServiceRequest
		Text map[string]string
	}
	body := `{"List":[{"DateCreated":"2024-07-01T10:00:00"}],"Map":{"7":[{"LastModified":"2024-07-01T11:00:00"}]},
		"Ptr":{"DateTimeInit":"2024-07-01T12:00:00","DateTimeClosed":"0001-01-01T00:00:00"},"Text":{"a":"b"}}`
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	zoneTimes(&v, cdt)
	if v.List[0].DateCreated.Hour() != 10 || v.List[0].DateCreated.UTC().Hour() != 15 ||
		v.Map["7"][0].LastModified.UTC().Hour() != 16 || v.Ptr.DateTimeInit.UTC().Hour() != 17 || !v.Ptr.DateTimeClosed.IsZero() {
		t.Fatalf("zoned = %+v", v)
	}
	out, err := json.Marshal(RequestSearch{DateTimeInitBegin: NewTime(time.Date(2024, 7, 1, 15, 0, 0, 0, time.UTC).In(cdt))})
	if err != nil || string(out) != `{"DateTimeInitBegin":"2024-07-01T10:00:00"}` {
		t.Fatalf("encoded = %s, %v", out, err)
	}
	var c Client
	c.loc = cdt
	data, err := c.encodeData("op", RequestSearch{DateTimeClosedBegin: NewTime(time.Date(2024, 7, 1, 15, 0, 0, 0, time.UTC))})
	if err != nil || string(data) != `{"DateTimeClosedBegin":"2024-07-01T10:00:00"}` {
		t.Fatalf("encodeData = %s, %v", data, err)
	}
	if z, _ := json.Marshal(Time{}); string(z) != `"0001-01-01T00:00:00"` {
		t.Fatalf("zero Time = %s", z)
	}
}

func TestTextFields(t *testing.T) {
	var wo WorkOrder
	if err := json.Unmarshal([]byte(`{"WorkOrderId":23001,"Text1":"a","Text20":"ticketsync:x:1","Text7":"","Text21":"no"}`), &wo); err != nil {
		t.Fatal(err)
	}
	if wo.WorkOrderId != "23001" || len(wo.Texts) != 2 || wo.Texts[1] != "a" || wo.Texts[20] != "ticketsync:x:1" {
		t.Fatalf("decoded = %+v", wo)
	}
	b, err := json.Marshal(NewWorkOrder{WOTemplateId: "1", EntityType: "STREET", Texts: map[int]string{20: "r"}})
	if err != nil || string(b) != `{"EntityType":"STREET","Text20":"r","WOTemplateId":"1"}` {
		t.Fatalf("encoded = %s, %v", b, err)
	}
	if _, err := json.Marshal(NewWorkOrder{Texts: map[int]string{21: "x"}}); err == nil {
		t.Fatal("Text21 must be refused")
	}
	b, _ = json.Marshal(NewServiceRequest{ProblemSid: 1, Extra: map[string]any{"Num1": 2.5, "ProblemSid": 9}})
	if string(b) != `{"Num1":2.5,"ProblemSid":1}` {
		t.Fatalf("Extra must not override typed fields: %s", b)
	}
}

func TestUnknownEnvelopeStatusIsRetryable(t *testing.T) {
	e := envelopeError("op", &envelope{Status: 9, Message: "odd"})
	if !e.Retryable || e.Code != "bad_response" || e.Message != "Cityworks Status 9: odd" {
		t.Fatalf("%+v", e)
	}
	e = envelopeError("op", &envelope{Status: 1, ErrorMessages: []Message{{Code: 30, Name: "InvalidField", DisplayText: "ProblemSid is required"}}})
	if e.Retryable || e.Kind() != "Validation" || e.Code != "InvalidField" || e.Message != "Cityworks Status 1, code 30 InvalidField: ProblemSid is required" {
		t.Fatalf("%+v", e)
	}
}
