package cityworks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/vendortest"
)

// The fuzz targets below run their seeds in every `go test`; explore further with e.g.
// `go test ./vendorapi/cityworks -run '^$' -fuzz FuzzEnvelope -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

const (
	fuzzPassword = "password-never-in-errors"
	fuzzToken    = "token-never-in-errors"
)

// fakeCityworks answers Authenticate correctly and every other call with one fuzzed response,
// in memory (a RoundTripper: no sockets, so the fuzzer runs fast).
type fakeCityworks struct {
	status      int
	contentType string
	body        []byte
}

func (f *fakeCityworks) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	resp := &http.Response{Header: http.Header{}, Request: r, ProtoMajor: 1, ProtoMinor: 1}
	if strings.HasSuffix(r.URL.Path, "/Authentication/Authenticate") {
		resp.StatusCode = http.StatusOK
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(strings.NewReader(`{"Status":0,"Value":{"Token":"` + fuzzToken + `"}}`))
		return resp, nil
	}
	resp.StatusCode = f.status
	if f.contentType != "" {
		resp.Header.Set("Content-Type", f.contentType)
	}
	resp.Body = io.NopCloser(bytes.NewReader(f.body))
	return resp, nil
}

// checkZones fails when a cityworks.Time reachable from v is neither null nor in loc: every
// date the client returns must be in the tenant zone, "0001-01-01" being null.
func checkZones(t *testing.T, v reflect.Value, loc *time.Location) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkZones(t, v.Elem(), loc)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			checkZones(t, v.Index(i), loc)
		}
	case reflect.Struct:
		if tm, ok := v.Interface().(cityworks.Time); ok {
			if !tm.IsZero() && tm.Location() != loc {
				t.Fatalf("date %v not in the tenant zone", tm.Time)
			}
			if tm.IsZero() != (tm.Ptr() == nil) {
				t.Fatalf("null date %v has Ptr %v", tm.Time, tm.Ptr())
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkZones(t, v.Field(i), loc)
			}
		}
	}
}

// FuzzEnvelope throws arbitrary answers (HTTP status, Content-Type, body) at the client's read
// calls and checks the envelope rules of the contract: a success is only an HTTP 200 JSON
// envelope with Status 0, whose dates are null or in the tenant zone; every failure is a
// *vendorapi.Error of this vendor; Status 1–3 surface as an EnvelopeError with that Status
// (1 with code 35 is a non-retryable not-found, 2 and 3 are non-retryable auth failures); HTML
// or other non-JSON answers inside a 200 and 5xx/429/408 are retryable; no error text carries
// the password or the session token.
func FuzzEnvelope(f *testing.F) {
	sr := `{"RequestId":9,"ProblemSid":264,"ProblemCode":"POTHOLE","Description":"Pothole","Details":"d",` +
		`"Status":"INITIATE","IsClosed":false,"DateTimeInit":"2024-05-01T10:04:05","DateTimeClosed":"0001-01-01T00:00:00",` +
		`"DateCancelled":null,"OtherSystemId":"ticketsync:c:e","Priority":3,"WorkOrderId":"WO-1","SRX":1.5,"SRY":2}`
	wo := `{"WorkOrderId":"WO-1","WorkOrderSid":7,"WOTemplateId":12,"Status":"OPEN","InitiateDate":"2024-05-01T15:04:05Z",` +
		`"DateWOClosed":"0001-01-01T00:00:00","Text1":"ticketsync:c:e","Text20":"x","Text21":"ignored"}`
	seeds := []struct {
		op     uint8
		status uint16
		ct     string
		body   string
	}{
		{0, 200, "application/json", `{"Status":0,"Message":null,"ErrorMessages":[],"WarningMessages":[],"SuccessMessages":[],"Value":` + sr + `}`},
		{0, 200, "text/plain", `{"Status":0,"Value":` + sr + `}`}, // IIS labelling JSON as text
		{0, 200, "application/json", `{"Status":1,"ErrorMessages":[{"Code":35,"Name":"ErrorItemNotFound","DisplayText":"Request 9 not found","MessageType":2}],"Value":null}`},
		{0, 200, "application/json", `{"Status":2,"Message":"Session expired","Value":null}`},
		{0, 200, "application/json", `{"Status":3,"ErrorMessages":[{"Code":4,"Name":"InvalidCredentials"}]}`},
		{0, 200, "application/json", `{"Status":7}`},
		{0, 200, "application/json", `{"Status":0,"Value":{"RequestId":0}}`},
		{0, 200, "application/json", `{"Status":0,"Value":{"RequestId":9,"DateTimeInit":"yesterday"}}`},
		{0, 200, "application/json", `{"Status":0,"Value":{"RequestId":9,"DateTimeInit":"2024-05-01 10:04:05.5","DateTimeClosed":"2024-05-02"}}`},
		{0, 200, "application/json", `{"Status":"0"}`},
		{0, 200, "text/html; charset=utf-8", `<html><head><title>Please wait - Cityworks</title></head></html>`},
		{0, 200, "text/html", `<html><head><title>Object moved</title></head><body><a href="/Login.aspx">here</a></body></html>`},
		{0, 503, "text/html", `<html><head><title>Service Unavailable</title></head></html>`},
		{0, 500, "", ``},
		{0, 429, "text/plain", `429 Too Many Requests`},
		{1, 200, "application/json", `{"Status":0,"Value":` + wo + `}`},
		{1, 200, "application/json", `{"Status":0,"Value":{"WorkOrderId":null}}`},
		{1, 200, "application/json", `{"Status":0,"Value":{"WorkOrderId":"1","Text3":5}}`},
		{2, 200, "application/json", `{"Status":0,"WarningMessages":[{"Code":60,"Name":"WarningItemNotFound","MessageType":1}],"Value":null}`},
		{2, 200, "application/json", `{"Status":0,"Value":{"RequestId":10,"OtherSystemId":"someone else"}}`},
		{3, 200, "application/json", `{"Status":0,"Value":[` + sr + `,{"RequestId":10,"DateTimeInit":"0001-01-01T00:00:00Z"}]}`},
		{3, 200, "application/json", `{"Status":0,"Value":{}}`},
		{3, 200, "application/json", "\ufeff{\"Status\":0,\"Value\":[]}"},
		{0, 200, "application/json", `{"Status":0,"Value":` + sr + `,"Message":"` + fuzzPassword + `"}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.status, s.ct, []byte(s.body))
	}
	loc := time.FixedZone("CST", -6*3600)
	f.Fuzz(func(t *testing.T, op uint8, status uint16, contentType string, body []byte) {
		if strings.ContainsAny(contentType, "\r\n\x00") {
			return // not representable in an HTTP header
		}
		fake := &fakeCityworks{status: 200 + int(status)%400, contentType: contentType, body: body}
		c, err := cityworks.New(cityworks.Config{
			BaseURL: "https://cw.example/cityworks", LoginName: "svc", Password: fuzzPassword, Location: loc,
			HTTPClient: &http.Client{Transport: fake, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var (
			got    any
			opName string
		)
		switch op % 4 {
		case 0:
			opName = "get service request"
			got, err = c.Request(ctx, 9)
		case 1:
			opName = "get work order"
			got, err = c.WorkOrder(ctx, "WO-1")
		case 2:
			opName = "find by other system id"
			var r *cityworks.ServiceRequest
			r, err = c.RequestByOtherSystemID(ctx, "ticketsync:c:e")
			if err == nil && r != nil && r.OtherSystemId != "" && r.OtherSystemId != "ticketsync:c:e" {
				t.Fatalf("adopted another request's OtherSystemId %q", r.OtherSystemId)
			}
			got = r
		case 3:
			opName = "get service requests"
			got, err = c.Requests(ctx, []int{9, 10})
		}

		// An independent reading of the envelope's Status.
		var probe struct{ Status int }
		probeErr := json.Unmarshal(body, &probe)
		st := fake.status

		if err != nil {
			ve := vendortest.ClassifiedError(t, opName, err, cityworks.Vendor, body, fuzzPassword, fuzzToken)
			if es := cityworks.EnvelopeStatus(err); es != -1 {
				if st != http.StatusOK || probeErr != nil || es != probe.Status || es == cityworks.StatusOK {
					t.Fatalf("%s: envelope Status %d from HTTP %d body %q", opName, es, st, body)
				}
				switch es {
				case cityworks.StatusError:
					if cityworks.HasCode(err, cityworks.CodeItemNotFound) && (!cityworks.IsNotFound(err) || ve.Retryable) {
						t.Fatalf("%s: code 35 must be a non-retryable not-found: %+v", opName, ve)
					}
				case cityworks.StatusUnauthorized, cityworks.StatusInvalidCredentials:
					if ve.Retryable || ve.HTTPStatus != http.StatusUnauthorized {
						t.Fatalf("%s: Status %d must be a non-retryable auth failure: %+v", opName, es, ve)
					}
				default:
					if !ve.Retryable {
						t.Fatalf("%s: unknown Status %d must be retryable: %+v", opName, es, ve)
					}
				}
				return
			}
			switch {
			case st >= 500 || st == 429 || st == 408:
				if !ve.Retryable {
					t.Fatalf("%s: HTTP %d must be retryable: %v", opName, st, err)
				}
			case st == http.StatusOK:
				// Not an envelope failure: HTML, a proxy page or an undecodable answer, which
				// a retry may cure (the writes check for an earlier success first).
				if !ve.Retryable {
					t.Fatalf("%s: an unusable 200 must be retryable: %v", opName, err)
				}
			}
			return
		}
		if st != http.StatusOK || probeErr != nil || probe.Status != cityworks.StatusOK {
			t.Fatalf("%s: HTTP %d body %q accepted as success", opName, st, body)
		}
		checkZones(t, reflect.ValueOf(got), loc)
	})
}

// FuzzTime checks the date decoder: null, "" and every 0001-01-01… are null; anything else it
// accepts re-encodes as offset-less wall clock that decodes to the same wall clock (to the
// second, as Cityworks writes it); what it refuses leaves the zero value.
func FuzzTime(f *testing.F) {
	for _, s := range []string{
		`null`, `""`, `"0001-01-01T00:00:00"`, `"0001-01-01T00:00:00Z"`, `"0001-01-01"`, `"  0001-01-01T05:00:00-08:00 "`,
		`"2024-05-01T10:04:05"`, `"2024-05-01T10:04:05.123"`, `"2024-05-01 10:04:05"`, `"2024-05-01"`,
		`"2024-05-01T15:04:05Z"`, `"2024-05-01T15:04:05.999999999+14:00"`, `"0000-12-31T23:00:00-01:00"`,
		`"9999-12-31T23:59:59-23:59"`, `"2024-02-30T00:00:00"`, `"yesterday"`, `1714557845`, `{}`, `"\u0000"`, `tru`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm cityworks.Time
		if err := json.Unmarshal(b, &tm); err != nil {
			if !tm.IsZero() {
				t.Fatalf("error %v with a non-null date %v", err, tm.Time)
			}
			return
		}
		var s string
		if json.Unmarshal(b, &s) == nil && strings.HasPrefix(strings.TrimSpace(s), "0001-01-01") && !tm.IsZero() {
			t.Fatalf("%s is not null: %v", b, tm.Time)
		}
		out, err := json.Marshal(tm)
		if err != nil {
			t.Fatalf("re-encode %v: %v", tm.Time, err)
		}
		var again cityworks.Time
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if tm.IsZero() {
			if !again.IsZero() {
				t.Fatalf("null re-encoded as %s", out)
			}
			return
		}
		w := tm.Truncate(time.Second)
		y, mo, d := w.Date()
		h, mi, sec := w.Clock()
		y2, mo2, d2 := again.Date()
		h2, mi2, sec2 := again.Clock()
		if y != y2 || mo != mo2 || d != d2 || h != h2 || mi != mi2 || sec != sec2 {
			// A wall clock in year 1 can still be a null instant in another zone, which the
			// encoder writes as null: accept that one way of changing.
			if !(y == 1 && again.IsZero()) {
				t.Fatalf("wall clock %v re-encoded as %s, read back as %v", tm.Time, out, again.Time)
			}
		}
	})
}
