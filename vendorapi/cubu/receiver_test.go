package cubu_test

// End to end: the simulator's Cubu driver posts signed service webhooks to a receiver built
// only from this package's pieces (ParseHook, ReadBody, Verify, Parse, ReplayKey, Decide,
// DecideWithin, ToNewRequest), the way the API's /v1/hooks/cubu/... route uses them.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
	"github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
)

const hookSecret = "cubu_test"

type receiver struct {
	secrets  [][]byte
	store    *cubu.MemoryReplayStore
	mapping  cubu.FieldMapping
	required []string
	timeout  time.Duration
	slow     time.Duration // added to every decision

	mu         sync.Mutex
	paths      []string
	payloads   []cubu.Payload // accepted after-hooks, replays excluded
	decisions  []cubu.Decision
	duplicates int
	rejected   []string // "<status> <message>"
}

func newReceiver() *receiver {
	return &receiver{secrets: cubu.Secrets([]string{hookSecret}), store: cubu.NewMemoryReplayStore(),
		mapping: testMapping(), timeout: time.Second}
}

func (rc *receiver) reject(w http.ResponseWriter, status int, err error) {
	rc.mu.Lock()
	rc.rejected = append(rc.rejected, http.StatusText(status)+": "+err.Error())
	rc.mu.Unlock()
	http.Error(w, err.Error(), status)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.paths = append(rc.paths, r.URL.Path)
	rc.mu.Unlock()
	hook, err := cubu.ParseHook(r.URL.Path)
	if err != nil {
		rc.reject(w, http.StatusNotFound, err)
		return
	}
	body, err := cubu.ReadBody(r.Body)
	if err != nil {
		rc.reject(w, http.StatusRequestEntityTooLarge, err)
		return
	}
	if rc.secrets != nil {
		if err := cubu.Verify(rc.secrets, r.Header.Get(cubu.AuthorizationHeader), body); err != nil {
			rc.reject(w, http.StatusUnauthorized, err)
			return
		}
	}
	p, err := cubu.Parse(hook, body)
	if err != nil {
		rc.reject(w, http.StatusBadRequest, err)
		return
	}
	if hook.Synchronous() {
		d := cubu.DecideWithin(r.Context(), rc.timeout, func(ctx context.Context) (cubu.Decision, error) {
			select {
			case <-time.After(rc.slow):
			case <-ctx.Done():
				return cubu.Decision{}, ctx.Err()
			}
			return cubu.Decide(p, rc.mapping, rc.required), nil
		})
		rc.mu.Lock()
		rc.decisions = append(rc.decisions, d)
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(d.Body())
		return
	}
	seen, err := rc.store.Seen(r.Context(), cubu.ReplayKey("conn", hook, p.CaseInfo().CaseID, body), time.Hour)
	if err != nil {
		rc.reject(w, http.StatusServiceUnavailable, err)
		return
	}
	rc.mu.Lock()
	if seen {
		rc.duplicates++
	} else {
		rc.payloads = append(rc.payloads, p)
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// hooks lists the accepted after-hooks, sorted: deliveries run concurrently, so their
// arrival order is not the order of the actions (as with Cubu).
func (rc *receiver) hooks() []cubu.Hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]cubu.Hook, len(rc.payloads))
	for i, p := range rc.payloads {
		out[i] = p.Hook()
	}
	slices.Sort(out)
	return out
}

func (rc *receiver) last(h cubu.Hook) cubu.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i := len(rc.payloads) - 1; i >= 0; i-- {
		if rc.payloads[i].Hook() == h {
			return rc.payloads[i]
		}
	}
	return nil
}

func newDriver(t *testing.T, rc http.Handler, opts sim.Options) *sim.Server {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	opts.HookBaseURL = srv.URL + "/v1/hooks/cubu/conn"
	if opts.HMACSecret == "" {
		opts.HMACSecret = hookSecret
	}
	s := sim.New(opts)
	t.Cleanup(s.Close)
	return s
}

// mustOK returns a checker for the simulator's (Case, error) results.
func mustOK(t *testing.T) func(sim.Case, error) sim.Case {
	return func(c sim.Case, err error) sim.Case {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func TestDriverWalkInLifecycle(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	rc.required = []string{"description"}
	s := newDriver(t, rc, sim.Options{})
	c := ok(s.QueueUp(sim.NewCase{Agent: sim.DefaultAgentID, ContactEmail: "ada@example.org",
		Fields: map[string]string{sim.FieldDescription: "Leaking tap", sim.FieldAddress: "Building B, apt 2", sim.FieldName: "Ada Resident"}}))
	ok(s.StartWork(c.ID, sim.DefaultAgentID))
	ok(s.Resolve(c.ID, sim.DefaultAgentID))
	ok(s.CloseCase(c.ID, sim.DefaultAgentID))
	s.WaitHooks()

	want := []cubu.Hook{cubu.AfterClose, cubu.AfterQueueUp, cubu.AfterResolve, cubu.AfterStartWork}
	if got := rc.hooks(); !slices.Equal(got, want) {
		t.Fatalf("after-hooks = %v, want %v (rejected %v)", got, want, rc.rejected)
	}
	if len(rc.decisions) != 2 || !rc.decisions[0].Allow || !rc.decisions[1].Allow {
		t.Fatalf("before-hook decisions = %+v", rc.decisions)
	}
	// Cubu's documented spellings reached the receiver and were routed.
	for _, seg := range []string{"/service/actions/startWork", "/service/actions/beforeResolved", "/service/actions/beforeQueueUp"} {
		if !slices.ContainsFunc(rc.paths, func(p string) bool { return strings.HasSuffix(p, seg) }) {
			t.Errorf("no delivery to %s in %v", seg, rc.paths)
		}
	}
	sw := rc.last(cubu.AfterStartWork).(*cubu.AfterStartWorkPayload)
	if sw.LockedByUserID != sim.DefaultAgentID || sw.LockedByUserEmail != sim.DefaultAgentEmail || sw.Status != "Active" {
		t.Errorf("afterStartWork = %+v", sw)
	}
	ar := rc.last(cubu.AfterResolve).(*cubu.AfterResolvePayload)
	if ar.CaseID != c.ID || ar.LockedByUserID != sim.DefaultAgentID || ar.TriggeredByUserID != sim.DefaultAgentID || ar.Ticket.String() != c.Ticket.String() {
		t.Errorf("afterResolve = %+v", ar)
	}
	m := rc.mapping
	m.RequestTypes = map[string]string{sim.DefaultServiceTypeMaintenance: "Maintenance"}
	m.Description, m.Address, m.RequesterName = sim.FieldDescription, sim.FieldAddress, sim.FieldName
	r, err := cubu.ToNewRequest(ar, m)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExternalID != c.ID || r.RequestType != "Maintenance" || r.Title != "Leaking tap" || r.Location.Address != "Building B, apt 2" ||
		r.Requester.Name != "Ada Resident" || r.Requester.Email != "ada@example.org" {
		t.Errorf("new request = %+v", r)
	}
	if st := s.Stats(); st.HookDeliveries != 6 || st.HookFailures != 0 || st.BeforeHooksAllowed != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDriverAppointmentLifecycle(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	s := newDriver(t, rc, sim.Options{CanonicalPaths: true})
	c := ok(s.BookAppointment(sim.NewCase{Appointment: &sim.Appointment{Date: "2025-03-05", Start: 570, Duration: 45,
		TimeZoneID: "America/New_York", CUIndex: 1}}))
	ok(s.CheckIn(c.ID, ""))
	ok(s.StartWork(c.ID, sim.SecondAgentID))
	ok(s.Resolve(c.ID, sim.SecondAgentID))
	s.WaitHooks()
	want := []cubu.Hook{cubu.AfterBookAppointment, cubu.AfterCheckIn, cubu.AfterResolve, cubu.AfterStartWork}
	if got := rc.hooks(); !slices.Equal(got, want) {
		t.Fatalf("after-hooks = %v (rejected %v)", got, rc.rejected)
	}
	if !slices.ContainsFunc(rc.paths, func(p string) bool { return strings.HasSuffix(p, "/afterStartWork") }) {
		t.Errorf("canonical path not used: %v", rc.paths)
	}
	ab := rc.last(cubu.AfterBookAppointment).(*cubu.AfterBookAppointmentPayload)
	a := ab.Appointment
	start, err := a.StartsAt()
	if err != nil || !start.Equal(time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)) || a.Duration != 45 || a.CUIndex != 1 ||
		ab.Status != "Pending" || ab.TriggeredByUserID != "" {
		t.Errorf("afterBookAppointment = %+v appointment %+v start %v %v", ab, a, start, err)
	}
	ci := rc.last(cubu.AfterCheckIn).(*cubu.AfterCheckInPayload)
	if ci.Status != "Waiting" || ci.Appointment == nil || ci.Appointment.TimeLocal.Clock.Hour() != 9 {
		t.Errorf("afterCheckIn = %+v", ci)
	}
}

// TestDriverBeforeHookBlocks: a missing required field blocks the agent with our message,
// and filling it in lets the same action through.
func TestDriverBeforeHookBlocks(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	rc.mapping.Address = sim.FieldAddress
	rc.required = []string{"location.address"}
	s := newDriver(t, rc, sim.Options{})
	c := ok(s.QueueUp(sim.NewCase{Agent: sim.DefaultAgentID, Fields: map[string]string{sim.FieldAddress: "Lobby"}}))
	ok(s.StartWork(c.ID, sim.DefaultAgentID))
	ok(s.SetFields(c.ID, map[string]string{sim.FieldAddress: ""}))

	_, err := s.Resolve(c.ID, sim.DefaultAgentID)
	var ae *sim.ActionError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Before == nil || ae.Before.Allowed {
		t.Fatalf("resolve err = %v", err)
	}
	wantMsg := "Please fill in Where (building, apartment) before you resolve ticket " + c.Ticket.String() + ": the work order needs it."
	if ae.Before.Message != wantMsg || ae.Before.Status != http.StatusOK {
		t.Fatalf("before outcome = %+v", ae.Before)
	}
	got, _ := s.Case(c.ID)
	if got.Status != sim.StatusActive || len(got.Notes) != 1 || got.Notes[0].Text != wantMsg || got.LastBefore == nil || got.LastBefore.Allowed {
		t.Fatalf("case after block = %+v", got)
	}

	ok(s.SetFields(c.ID, map[string]string{sim.FieldAddress: "Building D"}))
	ok(s.Resolve(c.ID, sim.DefaultAgentID))
	s.WaitHooks()
	if ar, isAR := rc.last(cubu.AfterResolve).(*cubu.AfterResolvePayload); !isAR || ar.Fields[sim.FieldAddress] != "Building D" {
		t.Fatalf("afterResolve = %+v", rc.last(cubu.AfterResolve))
	}
	if st := s.Stats(); st.BeforeHooksBlocked != 1 || st.BeforeHooksAllowed != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestDriverSlowDecisionAnswersInTime: our deadline is shorter than Cubu's, so a slow decision
// still lets the agent act (allowed by default) instead of Cubu blocking on a timeout.
func TestDriverSlowDecisionAnswersInTime(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	rc.required = []string{"location.address"} // would deny, if it decided in time
	rc.slow, rc.timeout = 5*time.Second, 100*time.Millisecond
	s := newDriver(t, rc, sim.Options{BeforeHookTimeout: 2 * time.Second})
	start := time.Now()
	c := ok(s.QueueUp(sim.NewCase{Agent: sim.DefaultAgentID}))
	if el := time.Since(start); el > time.Second || c.LastBefore == nil || !c.LastBefore.Allowed {
		t.Fatalf("queue up took %v, outcome %+v", el, c.LastBefore)
	}
	if !strings.Contains(rc.decisions[0].Reason, "allowed by default") {
		t.Errorf("decision = %+v", rc.decisions[0])
	}
}

// TestDriverReceiverTooSlow: a receiver that does not answer within Cubu's timeout blocks the
// action — which is what DecideWithin exists to prevent.
func TestDriverReceiverTooSlow(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	s := newDriver(t, hang, sim.Options{BeforeHookTimeout: 150 * time.Millisecond})
	_, err := s.QueueUp(sim.NewCase{})
	var ae *sim.ActionError
	if !errors.As(err, &ae) || ae.Before == nil || ae.Before.Allowed || !strings.Contains(ae.Before.Reason, "no answer within 150ms") {
		t.Fatalf("err = %v (%+v)", err, ae)
	}
	if len(s.Cases()) != 0 {
		t.Fatal("a blocked queue-up created a case")
	}
}

func TestDriverReplaysAreDeduplicated(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	s := newDriver(t, rc, sim.Options{Faults: sim.Faults{HookDuplicates: 3}})
	c := ok(s.QueueUp(sim.NewCase{}))
	ok(s.Resolve(c.ID, sim.DefaultAgentID))
	s.WaitHooks()
	if got := rc.hooks(); !slices.Equal(got, []cubu.Hook{cubu.AfterQueueUp, cubu.AfterResolve}) || rc.duplicates != 6 {
		t.Fatalf("hooks %v duplicates %d (rejected %v)", got, rc.duplicates, rc.rejected)
	}
	// A byte-identical replay of a captured request verifies (no timestamp) but is a no-op.
	var seq int
	for _, d := range s.Deliveries() {
		if d.Hook == sim.HookAfterResolve && d.Copy == 0 {
			seq = d.Seq
		}
	}
	d, found := s.Replay(seq)
	if !found || d.Status != http.StatusOK || d.ReplayOf != seq || rc.duplicates != 7 || len(rc.hooks()) != 2 {
		t.Fatalf("replay = %+v, duplicates %d", d, rc.duplicates)
	}
}

func TestDriverSignatureFaults(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	s := newDriver(t, rc, sim.Options{Faults: sim.Faults{HookBadSignature: 1, HookUnsigned: 1}})
	// beforeQueueUp goes out unsigned and is refused: Cubu blocks the action.
	if _, err := s.QueueUp(sim.NewCase{}); err == nil {
		t.Fatal("unsigned before-hook did not block")
	}
	// The next beforeQueueUp has a wrong signature: blocked too.
	_, err := s.QueueUp(sim.NewCase{})
	var ae *sim.ActionError
	if !errors.As(err, &ae) || ae.Before.Status != http.StatusUnauthorized || ae.Before.Signing != "bad" {
		t.Fatalf("err = %v", err)
	}
	ok(s.QueueUp(sim.NewCase{}))
	s.WaitHooks()
	want := []string{"Unauthorized: Missing Authorization Header", "Unauthorized: Invalid Signature"}
	if !slices.Equal(rc.rejected, want) || len(rc.hooks()) != 1 {
		t.Fatalf("rejected %v hooks %v", rc.rejected, rc.hooks())
	}
}

// TestDriverRotatedSecret: Cubu signs with the new secret while the receiver still lists the
// old one too.
func TestDriverRotatedSecret(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	rc.secrets = cubu.Secrets([]string{"new-secret", hookSecret})
	s := newDriver(t, rc, sim.Options{HMACSecret: "new-secret"})
	ok(s.QueueUp(sim.NewCase{}))
	s.WaitHooks()
	if len(rc.rejected) != 0 || len(rc.hooks()) != 1 {
		t.Fatalf("rejected %v", rc.rejected)
	}
}

func TestDriverUnknownFieldsIgnored(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	s := newDriver(t, rc, sim.Options{Faults: sim.Faults{HookExtraFields: true}})
	c := ok(s.QueueUp(sim.NewCase{}))
	ok(s.StartWork(c.ID, sim.DefaultAgentID))
	s.WaitHooks()
	if len(rc.rejected) != 0 || len(rc.hooks()) != 2 {
		t.Fatalf("rejected %v", rc.rejected)
	}
	for _, d := range s.Deliveries() {
		if !strings.Contains(d.Body, `"decRelease2024B"`) {
			t.Fatalf("delivery without extra fields: %s", d.Body)
		}
	}
}

func TestDriverS2SResolveSendsAfterHook(t *testing.T) {
	ok := mustOK(t)
	rc := newReceiver()
	s := newDriver(t, rc, sim.Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	client, err := cubu.New(simConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	c := ok(s.QueueUp(sim.NewCase{}))
	if _, err := client.ResolveCase(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	s.WaitHooks()
	ar, isAR := rc.last(cubu.AfterResolve).(*cubu.AfterResolvePayload)
	if !isAR || ar.TriggeredByUserID != "" || ar.LockedByUserID != "" || len(rc.decisions) != 1 {
		t.Fatalf("afterResolve %+v, decisions %d (S2S sends no before-hook)", ar, len(rc.decisions))
	}
}
