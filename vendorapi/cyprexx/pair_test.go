package cyprexx_test

// A Cyprexx → Pruvan connection as the binary builds it (connectors/vendors, a SQLite store
// for its records), both simulators over real HTTP, and the real API route for the hooks:
// Pruvan's simulator calls our order-source methods there, Cyprexx's pushes there. Temporal
// is a mocked client, so the tests drive the ticket's steps themselves (intake through the
// engine, then create, get and notify as the activities would) and count what reached it.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	_ "github.com/ticketsync/ticketsync/connectors/vendors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	csim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
	psim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

const (
	pairConn     = "acme-cyprexx"
	pairTenant   = "acme"
	pairPushKey  = "cyprexx-push-key-0123456789"
	pruvanUser   = "ts-acme"
	pruvanPass   = "4f1c0d8e3b2a59687f6e5d4c3b2a190817263544" // the 40-hex hash Pruvan sends
	pruvanToken  = "pruvan-token-acme"
	validatorURL = "https://validator.pruvan.example/v/"
)

type pair struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	cx     *csim.Server
	cxURL  string
	pv     *psim.Server
	pvURL  string
	apiURL string
	api    http.Handler // set once the connection is built, before any call reaches it
	mc     *mocks.Client
	eng    *engine.Engine
	conn   *connectors.Conn
	req    *cyprexx.RequestSystem
	work   *pruvan.WorkSystem
}

type pairOpts struct {
	options         map[string]any // the connection's options (defaults: validatorUrl only)
	pruvanAutoAdmin bool           // the integration's Auto-Admin in Pruvan
	noValidate      bool           // Pruvan never validated the integration (no push key)
	callback        bool           // options.callbackUrl = our API's Cyprexx hook
	// transport wraps the connectors' HTTP transport (fault injection on our side).
	transport func(next http.RoundTripper) http.RoundTripper
}

func newPair(t *testing.T, o pairOpts) *pair {
	t.Helper()
	p := &pair{t: t, ctx: context.Background()}
	var err error
	p.st, err = store.Open(p.ctx, "sqlite://"+filepath.Join(t.TempDir(), "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.st.Close() })
	if err := p.st.Migrate(p.ctx); err != nil {
		t.Fatal(err)
	}

	p.cx = csim.New(csim.Options{DisableRateLimit: true, Seed: 7})
	cxSrv := httptest.NewServer(p.cx)
	t.Cleanup(cxSrv.Close)
	t.Cleanup(p.cx.Close)
	p.cxURL = cxSrv.URL

	f := &config.File{
		Tenants: []config.Tenant{{ID: pairTenant, Name: "Acme Preservation"}},
		Connections: []config.Connection{{ID: pairConn, Tenant: pairTenant,
			RequestSystem: config.RequestSystem{Kind: cyprexx.Vendor, BaseURL: p.cxURL, APIToken: csim.DefaultToken,
				WebhookSecret: pairPushKey, RateLimit: 100000},
			WorkSystem: config.WorkSystem{Kind: pruvan.Vendor, BaseURL: "http://127.0.0.1:1", // replaced below
				Username: pruvanUser, Password: pruvanPass, Token: pruvanToken},
		}},
	}

	// Pruvan's simulator needs our API's URL and we need its: start the API first.
	p.mc = mocks.NewClient(t)
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("").Maybe()
	run.On("GetRunID").Return("run").Maybe()
	p.mc.On("ExecuteWorkflow", mock.Anything, mock.Anything, ticket.WorkflowType, mock.Anything).Return(run, nil).Maybe()
	p.mc.On("SignalWorkflow", mock.Anything, mock.Anything, "", mock.Anything, mock.Anything).Return(nil).Maybe()
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.api.ServeHTTP(w, r) }))
	t.Cleanup(apiSrv.Close)
	p.apiURL = apiSrv.URL
	options := map[string]any{"validatorUrl": validatorURL}
	if o.callback {
		options["callbackUrl"] = p.apiURL + "/v1/hooks/cyprexx/" + pairConn
	}
	for k, v := range o.options {
		options[k] = v
	}
	f.Connections[0].Options = options

	p.pv = psim.New(psim.Options{Seed: 11, Integrations: []psim.Integration{{ClientCode: pairConn,
		URL: p.apiURL + "/v1/hooks/pruvan/" + pairConn, Username: pruvanUser, Password: pruvanPass, Token: pruvanToken,
		AutoAdmin: o.pruvanAutoAdmin}}})
	pvSrv := httptest.NewServer(p.pv)
	t.Cleanup(pvSrv.Close)
	t.Cleanup(p.pv.Close)
	p.pv.SetBaseURL(pvSrv.URL)
	p.pvURL = pvSrv.URL
	f.Connections[0].WorkSystem.BaseURL = p.pvURL

	if err := f.Validate(); err != nil {
		t.Fatalf("connection invalid: %v", err)
	}
	hc := vendorapi.NewHTTPClient(10 * time.Second)
	if o.transport != nil {
		hc.Transport = o.transport(hc.Transport)
	}
	reg, err := connectors.Build(f, connectors.Env{HTTPClient: hc, UserAgent: "ticketsync/test", Records: p.st.Records})
	if err != nil {
		t.Fatal(err)
	}
	p.conn, _ = reg.Get(pairConn)
	p.req = p.conn.Request.(*cyprexx.RequestSystem)
	p.work = p.conn.Work.(*pruvan.WorkSystem)
	p.eng = &engine.Engine{Client: p.mc, TaskQueue: "ticketsync", Store: p.st, Connections: reg, PollInterval: 15 * time.Minute}
	p.api = (&starter.API{Store: p.st, Engine: p.eng, Connections: reg, PollInterval: 15 * time.Minute}).Handler()

	if !o.noValidate {
		if err := p.pv.Validate(p.ctx, pairConn); err != nil {
			t.Fatalf("Pruvan's Validate: %v", err)
		}
	}
	return p
}

// issue is Cyprexx staff issuing a work order with one task (two photos, Before/After/During)
// and the standard form.
func (p *pair) issue(mut func(*csim.WorkOrder)) csim.WorkOrder {
	p.t.Helper()
	wo := csim.WorkOrder{Service: "Grass Cut", Address1: "12 Palm Ave", City: "Doral", State: "FL", Zip: "33166",
		ServiceDue: "2026-06-01", JobNumber: "J-77", LockboxCode: "4321", KeyCode: "K9", Note: "Gate code 1234",
		Tasks: []csim.Task{{Name: "Cut grass", PhotoCategories: []string{"Before", "After", "During"}, MinPhotos: 2}},
		Forms: []csim.Form{csim.StandardForm()}}
	if mut != nil {
		mut(&wo)
	}
	got, err := p.cx.Issue("", wo)
	if err != nil {
		p.t.Fatal(err)
	}
	return got
}

// refresh runs the connection's intake through the engine (what `connections refresh` does).
func (p *pair) refresh(full bool) engine.Counts {
	p.t.Helper()
	c, err := p.eng.RunIntake(p.ctx, p.conn, full, nil)
	if err != nil {
		p.t.Fatalf("refresh(full=%v): %v", full, err)
	}
	return c
}

// create runs the ticket's create step as activities.CreateRemote does and returns the
// project id and the create's notes.
func (p *pair) create(ext string) (string, []string) {
	p.t.Helper()
	ref := p.work.Reference(pairConn, ext)
	if found, err := p.work.FindByReference(p.ctx, ref); err != nil || found != nil {
		p.t.Fatalf("before create: %+v %v", found, err)
	}
	row, err := p.st.GetTicketByExternalID(p.ctx, pairConn, ext)
	if err != nil {
		p.t.Fatalf("the intake did not record ticket %s: %v", ext, err)
	}
	var req vendorapi.NewRequest
	if r, ok := requestOf(row.Request); ok {
		req = r
	}
	req.ExternalReference = ref
	id, notes, err := p.work.CreateWithNotes(p.ctx, req)
	if err != nil {
		p.t.Fatalf("create %s: %v", ext, err)
	}
	p.pv.WaitIdle() // the push key call starts Pruvan's pull
	return id, notes
}

func (p *pair) get(project string) *vendorapi.RemoteRequest {
	p.t.Helper()
	r, err := p.work.Get(p.ctx, project)
	if err != nil {
		p.t.Fatalf("get %s: %v", project, err)
	}
	return r
}

// client is a Cyprexx client with the connection's token.
func (p *pair) client() *cyprexx.Client {
	p.t.Helper()
	c, err := cyprexx.New(cyprexx.Config{BaseURL: p.cxURL, APIToken: csim.DefaultToken, Timeout: 5 * time.Second})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p *pair) key(project string) string { return psim.ProjectKey(pairConn, project) }

// notify delivers one notification as activities.DeliverEvent would.
func (p *pair) notify(kind, ext, status string, fb *vendorapi.Feedback) error {
	return p.req.Notify(p.ctx, vendorapi.Notification{ID: "evt-" + kind + "-" + status, Kind: kind, ExternalID: ext,
		Connection: pairConn, Tenant: pairTenant, Status: status, OccurredAt: time.Now().UTC(), Feedback: fb})
}

// feedback delivers every feedback item of the project the ticket has not seen yet, in order,
// as the workflow's poll and delivery loop would; it returns the first delivery error.
func (p *pair) feedback(ext, project string, seen map[string]bool) error {
	for _, fb := range p.get(project).Feedback {
		if seen[fb.ID] {
			continue
		}
		seen[fb.ID] = true
		if err := p.notify(vendorapi.NotifyFeedbackAdded, ext, ticket.Requested, &fb); err != nil {
			return err
		}
	}
	return nil
}

// signals lists the signals sent to a ticket's workflow, by name.
func (p *pair) signals(ext string) []string {
	var out []string
	for _, c := range p.mc.Calls {
		if c.Method == "SignalWorkflow" && c.Arguments.String(1) == ticket.WorkflowID(pairConn, ext) {
			out = append(out, c.Arguments.String(3))
		}
	}
	return out
}

func (p *pair) starts() int {
	n := 0
	for _, c := range p.mc.Calls {
		if c.Method == "ExecuteWorkflow" {
			n++
		}
	}
	return n
}

func (p *pair) items(ext string) []pruvan.Item {
	p.t.Helper()
	it, err := p.work.Items(p.ctx, ext)
	if err != nil {
		p.t.Fatal(err)
	}
	return it
}

func count[T any](s []T, f func(T) bool) int {
	return len(slices.DeleteFunc(slices.Clone(s), func(v T) bool { return !f(v) }))
}

// requestOf reads the request of a ticket row (the canonical create body).
func requestOf(raw []byte) (vendorapi.NewRequest, bool) {
	var body struct {
		Request *vendorapi.NewRequest `json:"request"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Request == nil {
		return vendorapi.NewRequest{}, false
	}
	return *body.Request, true
}
