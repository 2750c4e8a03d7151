package cityworks_test

// Contract tests: the real client against the simulator over real HTTP. No canned responses.
// This file holds the helpers and the service-request lifecycle; the other *_contract_test.go
// files cover one topic each.

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// clock is a manual clock for the simulator (token expiry, dates).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 7, 1, 15, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// chicago is a fixed-offset tenant zone (CDT) that differs from UTC, so a date read in the
// wrong zone is off by five hours.
var chicago = time.FixedZone("CDT", -5*3600)

type env struct {
	sim    *sim.Server
	srv    *httptest.Server
	client *cityworks.Client
	clock  *clock
}

func newEnv(t *testing.T, opts sim.Options, tweak ...func(*cityworks.Config)) *env {
	t.Helper()
	clk := newClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.Location == nil {
		opts.Location = chicago
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := cityworks.Config{BaseURL: srv.URL + "/cityworks", Version: s.Version(), LoginName: sim.DefaultLoginName,
		Password: sim.DefaultPassword, Location: chicago, Timeout: 2 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := cityworks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c, clock: clk}
}

// problem returns the seeded problem with code.
func (e *env) problem(t *testing.T, code string) sim.Problem {
	t.Helper()
	for _, p := range e.sim.Problems() {
		if p.ProblemCode == code {
			return p
		}
	}
	t.Fatalf("no seeded problem %s", code)
	return sim.Problem{}
}

func (e *env) createSR(t *testing.T, ref string) *cityworks.ServiceRequest {
	t.Helper()
	x, y := -87.6298, 41.8781
	sr, err := e.client.CreateRequest(context.Background(), cityworks.NewServiceRequest{
		ProblemSid: e.problem(t, "POTHOLE").ProblemSid, OtherSystemId: ref, X: &x, Y: &y,
		Address: "121 N LaSalle St", City: "Chicago", Zip: "60602", Details: "Deep pothole in the right lane",
		CallerFirstName: "Ada", CallerLastName: "Resident", CallerEmail: "ada@example.org",
	})
	if err != nil {
		t.Fatalf("create %s: %v", ref, err)
	}
	return sr
}

// vendorErr asserts err is a *vendorapi.Error of this vendor and returns it.
func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != cityworks.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func TestServiceRequestLifecycle(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	ref := cityworks.ExternalReference("city-scf", "issue-9001")
	if ref != "ticketsync:city-scf:issue-9001" {
		t.Fatalf("reference = %q", ref)
	}
	if got, err := e.client.RequestByOtherSystemID(ctx, ref); err != nil || got != nil {
		t.Fatalf("ByOtherSystemId before create = %+v, %v; want nil, nil (warning 60)", got, err)
	}
	sr := e.createSR(t, ref)
	pothole := e.problem(t, "POTHOLE")
	if sr.RequestId == 0 || sr.ProblemSid != pothole.ProblemSid || sr.ProblemCode != "POTHOLE" ||
		sr.Description != "Pothole" || sr.Details != "Deep pothole in the right lane" || sr.Status != sim.SRInitiate ||
		sr.OtherSystemId != ref || sr.InitiatedByApp != "ticketsync" || sr.ProbAddress != "121 N LaSalle St" ||
		sr.SRX != -87.6298 || sr.SRY != 41.8781 || sr.Closed() || sr.Cancelled() {
		t.Fatalf("created = %+v", sr)
	}
	if !sr.DateTimeInit.Equal(e.clock.Now()) || sr.DateTimeInit.Location() != chicago {
		t.Fatalf("DateTimeInit = %v, want %v in the tenant zone", sr.DateTimeInit, e.clock.Now())
	}
	stored, _ := e.sim.Request(sr.RequestId)
	if stored.CallerEmail != "ada@example.org" || stored.CallerFirstName != "Ada" || stored.ProbZip != "60602" {
		t.Fatalf("stored = %+v", stored.Request)
	}

	got, err := e.client.Request(ctx, sr.RequestId)
	if err != nil || got.RequestId != sr.RequestId || got.OtherSystemId != ref {
		t.Fatalf("Request = %+v, %v", got, err)
	}
	found, err := e.client.RequestByOtherSystemID(ctx, ref)
	if err != nil || found == nil || found.RequestId != sr.RequestId {
		t.Fatalf("ByOtherSystemId = %+v, %v", found, err)
	}

	// A retried create (e.g. after a timeout) adopts the first one instead of duplicating it.
	again := e.createSR(t, ref)
	if again.RequestId != sr.RequestId || e.sim.Stats().Creates != 1 {
		t.Fatalf("second create = %d, creates = %d; want the first and one create", again.RequestId, e.sim.Stats().Creates)
	}

	// Staff dispatch it, then we cancel on behalf of the reporter.
	if _, err := e.sim.SetRequestStatus(sr.RequestId, "dispatch", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.client.Request(ctx, sr.RequestId); got.Status != sim.SRDispatch || got.Closed() {
		t.Fatalf("after dispatch = %+v", got)
	}
	e.clock.Advance(time.Hour)
	cancelled, err := e.client.CancelRequest(ctx, sr.RequestId, "Reporter withdrew the issue")
	if err != nil || !cancelled.Cancelled() || cancelled.CancelReason != "Reporter withdrew the issue" ||
		cancelled.Status != sim.SRCancel || !cancelled.DateCancelled.Equal(e.clock.Now()) {
		t.Fatalf("Cancel = %+v, %v", cancelled, err)
	}
	e.clock.Advance(time.Minute)
	twice, err := e.client.CancelRequest(ctx, sr.RequestId, "again")
	if err != nil || !twice.DateCancelled.Equal(cancelled.DateCancelled.Time) || twice.CancelReason != cancelled.CancelReason {
		t.Fatalf("second cancel must be a no-op: %+v, %v", twice, err)
	}
	// A cancelled request cannot be closed: Status 1 (code 4), not retryable, nothing changes.
	_, err = e.client.CloseRequests(ctx, sr.RequestId)
	ve := vendorErr(t, err)
	if ve.Retryable || ve.Kind() != "Validation" || !cityworks.HasCode(err, cityworks.CodeCloseFailed) ||
		cityworks.EnvelopeStatus(err) != cityworks.StatusError {
		t.Fatalf("close cancelled: %+v", ve)
	}
}

func TestCloseAndNotFound(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	a, b := e.createSR(t, "ticketsync:c:a"), e.createSR(t, "ticketsync:c:b")
	e.clock.Advance(90 * time.Minute)
	closed, err := e.client.CloseRequests(ctx, a.RequestId, b.RequestId)
	if err != nil || len(closed) != 2 || !closed[0].Closed() || !closed[1].IsClosed ||
		!closed[0].DateTimeClosed.Equal(e.clock.Now()) || closed[0].Status != sim.SRClosed {
		t.Fatalf("Close = %+v, %v", closed, err)
	}
	// Cancel of a closed request: Status 1 code 6.
	_, err = e.client.CancelRequest(ctx, a.RequestId, "")
	if ve := vendorErr(t, err); ve.Retryable || !cityworks.HasCode(err, cityworks.CodeCancelFailed) {
		t.Fatalf("cancel closed: %+v", ve)
	}

	// Unknown ids: ById is code 35 (NotFound); Close with one unknown id changes nothing.
	_, err = e.client.Request(ctx, 99)
	ve := vendorErr(t, err)
	if !cityworks.IsNotFound(err) || !vendorapi.IsNotFound(err) || ve.Retryable || ve.Kind() != "NotFound" ||
		ve.Code != "ErrorItemNotFound" || !cityworks.HasCode(err, cityworks.CodeItemNotFound) {
		t.Fatalf("ById unknown: %+v", ve)
	}
	c := e.createSR(t, "ticketsync:c:c")
	if _, err := e.client.CloseRequests(ctx, c.RequestId, 99); !cityworks.IsNotFound(err) {
		t.Fatalf("Close with an unknown id: %v", err)
	}
	if got, _ := e.client.Request(ctx, c.RequestId); got.Closed() {
		t.Fatal("a failed Close must not close the known request")
	}
	if _, err := e.client.AddRequestComment(ctx, 99, "hello"); !cityworks.IsNotFound(err) {
		t.Fatalf("comment on unknown: %v", err)
	}
	// ByIds returns the found subset.
	got, err := e.client.Requests(ctx, []int{a.RequestId, 99, c.RequestId})
	if err != nil || len(got) != 2 || got[0].RequestId != a.RequestId || got[1].RequestId != c.RequestId {
		t.Fatalf("ByIds = %+v, %v", got, err)
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	x := 1.0
	retired := e.problem(t, "OLDSIGN").ProblemSid
	for name, tc := range map[string]struct {
		in   cityworks.NewServiceRequest
		code int
	}{
		"unknown problem":   {cityworks.NewServiceRequest{ProblemSid: 4242}, cityworks.CodeItemNotFound},
		"retired problem":   {cityworks.NewServiceRequest{ProblemSid: retired}, cityworks.CodeItemNotFound},
		"X without Y":       {cityworks.NewServiceRequest{ProblemSid: e.problem(t, "GRAFFITI").ProblemSid, X: &x}, cityworks.CodeInvalidActivityMapLogicXY},
		"answer of another": {cityworks.NewServiceRequest{ProblemSid: e.problem(t, "GRAFFITI").ProblemSid, Answers: []cityworks.AnswerInput{{AnswerId: 1}}}, cityworks.CodeInvalidField},
		"unknown status":    {cityworks.NewServiceRequest{ProblemSid: e.problem(t, "GRAFFITI").ProblemSid, Status: "NOPE"}, cityworks.CodeInvalidField},
	} {
		_, err := e.client.CreateRequest(ctx, tc.in)
		ve := vendorErr(t, err)
		if ve.Retryable || !cityworks.HasCode(err, tc.code) || cityworks.EnvelopeStatus(err) != 1 {
			t.Errorf("%s: %+v", name, ve)
		}
	}
	if _, err := e.client.CreateRequest(ctx, cityworks.NewServiceRequest{}); vendorErr(t, err).Code != "invalid_argument" {
		t.Errorf("missing ProblemSid must fail before any call: %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("invalid creates stored %d requests", n)
	}
}

func TestCreateWithAnswersAndCustomFields(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	p := e.problem(t, "STLIGHT")
	qa, err := e.client.ProblemQA(ctx, p.ProblemSid)
	if err != nil || len(qa.Questions) != 2 {
		t.Fatalf("QA = %+v, %v", qa, err)
	}
	var answers []cityworks.AnswerInput
	for _, q := range qa.Questions {
		a := qa.AnswersTo(q.QuestionId)
		if len(a) != 1 || a[0].IsFixedChoice() {
			t.Fatalf("question %q: want one free-text answer, got %+v", q.Question, a)
		}
		answers = append(answers, cityworks.AnswerInput{AnswerId: a[0].AnswerId, AnswerValue: "value for " + q.Question})
	}
	sr, err := e.client.CreateRequest(ctx, cityworks.NewServiceRequest{ProblemSid: p.ProblemSid, Answers: answers,
		CustomFieldValues: map[string]string{"77": "north side"}, Comments: "Reported via SeeClickFix"})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := e.sim.Request(sr.RequestId)
	if len(v.Answers) != 2 || v.Answers[1].AnswerValue != "value for Best phone number to reach you?" ||
		v.CustomFieldValues["77"] != "north side" || len(v.Comments) != 1 || v.Comments[0].Comments != "Reported via SeeClickFix" {
		t.Fatalf("stored = %+v", v)
	}
}
