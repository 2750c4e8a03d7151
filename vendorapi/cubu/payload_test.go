package cubu_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

const (
	fieldDescription = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
	fieldAddress     = "f2a3b4c5-d6e7-4f8a-9b0c-1d2e3f4a5b6c"
	fieldName        = "a3b4c5d6-e7f8-4a9b-8c1d-2e3f4a5b6c7d"
	fieldLat         = "c5d6e7f8-a9b0-4c1d-8e2f-3a4b5c6d7e8f"
	fieldLng         = "d6e7f8a9-b0c1-4d2e-9f3a-4b5c6d7e8f9a"
	fieldPreferred   = "b4c5d6e7-f8a9-4b0c-9d2e-3f4a5b6c7d8e"
	agentID          = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t *testing.T, hook cubu.Hook, name string) cubu.Payload {
	t.Helper()
	p, err := cubu.Parse(hook, fixture(t, name))
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", hook, name, err)
	}
	if p.Hook() != hook {
		t.Fatalf("Hook() = %s, want %s", p.Hook(), hook)
	}
	return p
}

// TestEveryHookHasAFixture keeps testdata/ complete as hooks are added.
func TestEveryHookHasAFixture(t *testing.T) {
	for _, h := range cubu.Hooks {
		parseFixture(t, h, string(h)+".json")
	}
}

// TestParseAfterResolveContractExample is the contract's example, byte for byte.
func TestParseAfterResolveContractExample(t *testing.T) {
	p := parseFixture(t, cubu.AfterResolve, "afterResolve.json")
	ar, ok := p.(*cubu.AfterResolvePayload)
	if !ok {
		t.Fatalf("type %T", p)
	}
	if ar.CaseID != "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44" || ar.ParentCaseID != "" ||
		ar.ReferenceDate != (cubu.Date{Year: 2024, Month: time.December, Day: 16}) ||
		ar.UnitID != "9b1e4c2d-0a37-4f6e-8d15-2c7b9e0f1a63" || ar.ServiceID != "c4d8e2f1-7a90-4b3c-a5e6-1f2d3c4b5a69" ||
		ar.ServiceCategoryID != "72406b29-b8c7-4358-8ac1-0d9e8f7a6b5c" || ar.ServiceTypeID != "0a526645-8401-4df6-a060-5e4d3c2b1a0f" ||
		ar.Status != "Pending" || ar.Channel != cubu.ChannelFaceToFace || ar.Language != "en" {
		t.Errorf("case = %+v", ar.Case)
	}
	if ar.Ticket.String() != "A119" || ar.Ticket.Suffix != "" {
		t.Errorf("ticket = %+v (%s)", ar.Ticket, ar.Ticket)
	}
	if len(ar.Fields) != 1 || ar.Fields[fieldDescription] != "Water leak under kitchen sink" {
		t.Errorf("fields = %v", ar.Fields)
	}
	if ar.TagIDs == nil || len(ar.TagIDs) != 0 || ar.CustomerRecordID != "" {
		t.Errorf("tags %v customer %q", ar.TagIDs, ar.CustomerRecordID)
	}
	if ar.UseCustomerContactInfo || ar.ContactPhoneNumber != "+15555550100" || ar.ContactEmail != "resident@example.com" {
		t.Errorf("contact = %+v", ar.Contact)
	}
	if ar.TriggeredByUserID != agentID || ar.TriggeredByUserEmail != "agent@example.org" {
		t.Errorf("triggered by = %+v", ar.TriggeredBy)
	}
	if ar.LockedByUserID != "" || ar.Appointment != nil || cubu.AppointmentOf(p) != nil {
		t.Errorf("locked by %q appointment %+v", ar.LockedByUserID, ar.Appointment)
	}
}

// TestParseAfterResolveFull covers every part: parent case, suffix, tags, customer record,
// locked-by, appointment times, upper-case case id, unknown fields of a later release.
func TestParseAfterResolveFull(t *testing.T) {
	p := parseFixture(t, cubu.AfterResolve, "afterResolve_full.json")
	ar := p.(*cubu.AfterResolvePayload)
	if ar.CaseID != "3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a45" {
		t.Errorf("case id not lower-cased: %q", ar.CaseID)
	}
	if ar.ParentCaseID != "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" || ar.Status != "Waiting" || ar.Channel != cubu.ChannelVideo || ar.Language != "en-US" {
		t.Errorf("case = %+v", ar.Case)
	}
	if ar.Ticket.String() != "B7R" {
		t.Errorf("ticket = %s", ar.Ticket)
	}
	if len(ar.Fields) != 6 || ar.Fields[fieldDescription] != "Bathroom fan is loud\nIt rattles at night." || ar.Fields[fieldLat] != "40.7128" {
		t.Errorf("fields = %v", ar.Fields)
	}
	if !slices.Equal(ar.TagIDs, []string{"4b5c6d7e-8f9a-4b0c-8d1e-2f3a4b5c6d7e", "5c6d7e8f-9a0b-4c1d-9e2f-3a4b5c6d7e8f"}) {
		t.Errorf("tags = %v", ar.TagIDs)
	}
	if ar.CustomerRecordID != "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a" || !ar.UseCustomerContactInfo {
		t.Errorf("customer = %q use %v", ar.CustomerRecordID, ar.UseCustomerContactInfo)
	}
	if ar.LockedByUserID != agentID || cubu.LockedByOf(p) != agentID {
		t.Errorf("locked by = %q", ar.LockedByUserID)
	}
	a := ar.Appointment
	if a == nil {
		t.Fatal("no appointment")
	}
	if a.Date.String() != "2025-03-05" || a.CUIndex != 2 || a.Start != 570 || a.Duration != 30 || a.PreventSelfCheckIn ||
		a.TimeZoneID != "America/New_York" {
		t.Errorf("appointment = %+v", a)
	}
	wantUTC := time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)
	if !a.TimeUTC.Equal(wantUTC) || a.TimeLocal.Clock.Hour() != 9 || a.TimeLocal.Clock.Minute() != 30 {
		t.Errorf("times: utc %v local %v", a.TimeUTC, a.TimeLocal.Clock)
	}
	start, err := a.StartsAt()
	end, err2 := a.End()
	if err != nil || err2 != nil || !start.Equal(wantUTC) || !end.Equal(wantUTC.Add(30*time.Minute)) {
		t.Errorf("StartsAt = %v, %v; End = %v, %v", start, err, end, err2)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err == nil && !a.TimeLocal.In(ny).Equal(wantUTC) {
		t.Errorf("local 09:30 New York = %v, want %v", a.TimeLocal.In(ny), wantUTC)
	}
}

func TestParsePerHookParts(t *testing.T) {
	t.Run("afterStartWork names the agent and has no triggeredBy", func(t *testing.T) {
		p := parseFixture(t, cubu.AfterStartWork, "afterStartWork.json").(*cubu.AfterStartWorkPayload)
		if p.LockedByUserID != "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e" || p.LockedByUserEmail != "second.agent@example.org" {
			t.Errorf("locked by = %q %q", p.LockedByUserID, p.LockedByUserEmail)
		}
		if cubu.TriggeredByOf(p) != nil || p.Status != "Active" || p.TagIDs != nil {
			t.Errorf("triggeredBy %v status %q tags %v", cubu.TriggeredByOf(p), p.Status, p.TagIDs)
		}
	})
	t.Run("afterQueueUp is a walk-in from a kiosk", func(t *testing.T) {
		p := parseFixture(t, cubu.AfterQueueUp, "afterQueueUp.json").(*cubu.AfterQueueUpPayload)
		if p.TriggeredByUserID != "" || p.ContactEmail != "" || p.ContactPhoneNumber != "+15555550177" ||
			cubu.AppointmentOf(p) != nil || p.Ticket.String() != "A121" || p.Fields[fieldAddress] != "Building A, apt 3" {
			t.Errorf("payload = %+v", p)
		}
	})
	t.Run("beforeQueueUp", func(t *testing.T) {
		p := parseFixture(t, cubu.BeforeQueueUp, "beforeQueueUp.json").(*cubu.BeforeQueueUpPayload)
		if p.Channel != cubu.ChannelPhone || p.Language != "es" || p.Fields[fieldDescription] != "Puerta no cierra" || !p.Hook().Synchronous() {
			t.Errorf("payload = %+v", p)
		}
	})
	t.Run("booking hooks carry no contact", func(t *testing.T) {
		ab := parseFixture(t, cubu.AfterBookAppointment, "afterBookAppointment.json").(*cubu.AfterBookAppointmentPayload)
		if cubu.ContactOf(ab) != nil || cubu.LockedByOf(ab) != "" || ab.Appointment == nil || ab.Appointment.Start != 570 ||
			ab.CustomerRecordID != "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a" || ab.Ticket.String() != "P15" {
			t.Errorf("afterBookAppointment = %+v", ab)
		}
		bb := parseFixture(t, cubu.BeforeBookAppointment, "beforeBookAppointment.json").(*cubu.BeforeBookAppointmentPayload)
		if cubu.ContactOf(bb) != nil || bb.Appointment == nil || !bb.Appointment.PreventSelfCheckIn || bb.Appointment.Duration != 45 ||
			bb.TriggeredByUserEmail != "agent@example.org" || len(bb.Fields) != 0 || bb.Channel != cubu.ChannelVideo {
			t.Errorf("beforeBookAppointment = %+v", bb)
		}
	})
	t.Run("check-in hooks", func(t *testing.T) {
		ac := parseFixture(t, cubu.AfterCheckIn, "afterCheckIn.json").(*cubu.AfterCheckInPayload)
		if !ac.UseCustomerContactInfo || ac.Status != "Waiting" || ac.Appointment == nil || ac.Appointment.TimeZoneID != "America/New_York" {
			t.Errorf("afterCheckIn = %+v", ac)
		}
		bc := parseFixture(t, cubu.BeforeCheckIn, "beforeCheckIn.json").(*cubu.BeforeCheckInPayload)
		// A zone-less timeUtc (.NET DateTime of unspecified kind) is UTC; fractional local seconds parse.
		if want := time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC); !bc.Appointment.TimeUTC.Equal(want) || bc.Appointment.TimeLocal.Clock.Hour() != 9 {
			t.Errorf("beforeCheckIn appointment = %+v", bc.Appointment)
		}
	})
	t.Run("beforeResolve and afterClose", func(t *testing.T) {
		br := parseFixture(t, cubu.BeforeResolve, "beforeResolve.json").(*cubu.BeforeResolvePayload)
		if br.Status != "Active" || br.LockedByUserID != agentID || br.ContactPhoneNumber != "" || br.ContactEmail != "sam@example.com" {
			t.Errorf("beforeResolve = %+v", br)
		}
		ac := parseFixture(t, cubu.AfterClose, "afterClose.json").(*cubu.AfterClosePayload)
		if ac.Status != "Closed" || ac.Ticket.String() != "A119" || cubu.TriggeredByOf(ac).TriggeredByUserID != agentID {
			t.Errorf("afterClose = %+v", ac)
		}
	})
}

func TestParseLeniency(t *testing.T) {
	body := `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","fields":{"a":"text","b":12.5,"c":true,"d":null,"e":["x","y"],"f":{"k":1}},
		"referenceDate":"2024-12-16T00:00:00","ticket":null,"tagIds":null,"appointment":{"date":null,"timeLocal":"2024-12-16T09:30:00+01:00","timeUtc":null},
		"brandNewField":{"deep":[1,2,3]}}`
	p, err := cubu.Parse(cubu.AfterResolve, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c := p.CaseInfo()
	want := cubu.Fields{"a": "text", "b": "12.5", "c": "true", "e": `["x","y"]`, "f": `{"k":1}`}
	if len(c.Fields) != len(want) {
		t.Fatalf("fields = %v", c.Fields)
	}
	for k, v := range want {
		if c.Fields[k] != v {
			t.Errorf("fields[%s] = %q, want %q", k, c.Fields[k], v)
		}
	}
	if c.ReferenceDate.String() != "2024-12-16" || c.Ticket.String() != "" {
		t.Errorf("date %s ticket %q", c.ReferenceDate, c.Ticket)
	}
	a := cubu.AppointmentOf(p)
	if a == nil || !a.Date.IsZero() || !a.TimeUTC.IsZero() || a.TimeLocal.Clock.Hour() != 9 {
		t.Fatalf("appointment = %+v", a)
	}
	if _, err := a.StartsAt(); err == nil {
		t.Error("StartsAt without timeUtc or a zone must fail")
	}
}

func TestParseErrors(t *testing.T) {
	big := `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","fields":{"x":"` + strings.Repeat("a", cubu.MaxBodyBytes) + `"}}`
	cases := []struct {
		name, hook, body string
		is               error
		field, contains  string
	}{
		{"empty", "afterResolve", "  \n", cubu.ErrEmptyBody, "", ""},
		{"too large", "afterResolve", big, cubu.ErrBodyTooLarge, "", ""},
		{"array", "afterResolve", `[1,2]`, nil, "", "not a JSON object"},
		{"string", "afterResolve", `"x"`, nil, "", "not a JSON object"},
		{"syntax", "afterResolve", `{"caseId":`, nil, "", "malformed JSON"},
		{"trailing garbage", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44"} x`, nil, "", "malformed JSON"},
		{"no case id", "afterQueueUp", `{"status":"Waiting"}`, nil, "caseId", "is required"},
		{"bad case id", "afterQueueUp", `{"caseId":"42"}`, nil, "caseId", "not a GUID"},
		{"number type", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","ticket":{"number":"A"}}`, nil, "ticket.number", "want int"},
		{"bool type", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","useCustomerContactInfo":"yes"}`, nil, "useCustomerContactInfo", "want bool"},
		{"fields not an object", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","fields":"x"}`, nil, "", "fields: want an object"},
		{"bad date", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","referenceDate":"16/12/2024"}`, nil, "", "not YYYY-MM-DD"},
		{"date not a string", "afterResolve", `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","referenceDate":20241216}`, nil, "", "got a number"},
		{"unknown hook", "afterDance", `{}`, nil, "", "unknown service webhook"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cubu.Parse(cubu.Hook(tc.hook), []byte(tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			var pe *cubu.PayloadError
			if tc.field != "" && (!errors.As(err, &pe) || pe.Field != tc.field) {
				t.Errorf("err = %#v, want field %q", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("err = %q, want it to contain %q", err, tc.contains)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	b, err := cubu.ReadBody(strings.NewReader(`{"caseId":"x"}`))
	if err != nil || string(b) != `{"caseId":"x"}` {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	exact := strings.Repeat("a", cubu.MaxBodyBytes)
	if b, err := cubu.ReadBody(strings.NewReader(exact)); err != nil || len(b) != cubu.MaxBodyBytes {
		t.Fatalf("ReadBody at the limit = %d, %v", len(b), err)
	}
	if _, err := cubu.ReadBody(strings.NewReader(exact + "a")); !errors.Is(err, cubu.ErrBodyTooLarge) {
		t.Fatalf("ReadBody over the limit = %v", err)
	}
}

// TestPayloadErrorsDoNotEchoValues: error texts go to logs; contact values must not.
func TestPayloadErrorsDoNotEchoValues(t *testing.T) {
	body := `{"caseId":"3f2a9c1e-6b7d-4e21-9a0f-5c8d2e1b7a44","contactEmail":["secret@example.com"]}`
	_, err := cubu.Parse(cubu.AfterResolve, []byte(body))
	if err == nil || strings.Contains(err.Error(), "secret@example.com") {
		t.Fatalf("err = %v", err)
	}
}
