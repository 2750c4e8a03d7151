package vendors_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	_ "github.com/ticketsync/ticketsync/connectors/vendors"
	"github.com/ticketsync/ticketsync/vendorapi"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// countingLimiter records what each connection's limiter was built with and every wait.
type countingLimiter struct {
	mu    sync.Mutex
	built map[string]int // "connection/vendor" → perMinute
	waits map[string]int
}

type slot struct {
	l   *countingLimiter
	key string
}

func (s slot) Wait(context.Context) error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.l.waits[s.key]++
	return nil
}
func (s slot) Backoff(time.Duration) {}

// The SeeClickFix side of a SeeClickFix ↔ Cityworks connection paces every call through the
// connection's shared limiter (held in the store in production, so the 20 a minute hold across
// every worker), at SCF's documented limit unless requestSystem.rateLimit says otherwise; the
// two sides are introduced to each other (the import and feedback files need it).
func TestSeeClickFixCityworksRegistration(t *testing.T) {
	scf := scfsim.New(scfsim.Options{DisableRateLimit: true})
	scfSrv := httptest.NewServer(scf)
	defer scfSrv.Close()
	cw := cwsim.New(cwsim.Options{})
	cwSrv := httptest.NewServer(cw)
	defer cwSrv.Close()
	conn := func(id string, rate int) config.Connection {
		return config.Connection{ID: id, Tenant: "city",
			RequestSystem: config.RequestSystem{Kind: "seeclickfix", BaseURL: scfSrv.URL, OrganizationID: scfsim.DefaultOrganizationID,
				Username: scfsim.DefaultUsername, Password: scfsim.DefaultPassword, RateLimit: rate},
			WorkSystem: config.WorkSystem{Kind: "cityworks", BaseURL: cwSrv.URL, Version: "23",
				LoginName: cwsim.DefaultLoginName, Password: cwsim.DefaultPassword},
			Options: map[string]any{"categories": []any{map[string]any{"requestType": 1003, "kind": "SR", "templateId": 102}},
				"acknowledgeComment": "On it.", "publicCommentPrefix": "To SCF:"}}
	}
	f := &config.File{Tenants: []config.Tenant{{ID: "city", Name: "City"}},
		Connections: []config.Connection{conn("city-scf", 0), conn("city-scf-slow", 5)}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	lim := &countingLimiter{built: map[string]int{}, waits: map[string]int{}}
	reg, err := connectors.Build(f, connectors.Env{HTTPClient: vendorapi.NewHTTPClient(5 * time.Second), UserAgent: "ticketsync/test",
		Limiter: func(connection, vendor string, perMinute int) vendorapi.Limiter {
			lim.mu.Lock()
			defer lim.mu.Unlock()
			lim.built[connection+"/"+vendor] = perMinute
			return slot{l: lim, key: connection + "/" + vendor}
		}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := reg.Get("city-scf")
	if err != nil {
		t.Fatal(err)
	}
	if lim.built["city-scf/seeclickfix"] != 20 || lim.built["city-scf-slow/seeclickfix"] != 5 {
		t.Fatalf("limiters: %v", lim.built)
	}
	before := scf.Stats().APICalls
	for _, ch := range c.Request.(vendorapi.Validator).Validate(context.Background()) {
		if !ch.OK {
			t.Fatalf("validate: %+v", ch)
		}
	}
	calls := scf.Stats().APICalls - before
	if calls == 0 || lim.waits["city-scf/seeclickfix"] != calls {
		t.Fatalf("%d SCF calls, %d limiter waits: every call must wait for a slot", calls, lim.waits["city-scf/seeclickfix"])
	}
	// The capabilities the engine discovers on each side.
	_, feed := c.Work.(vendorapi.ChangeFeed)
	_, catalog := c.Work.(vendorapi.CatalogSource)
	_, files := c.Work.(vendorapi.AttachmentCopier)
	_, foreign := c.Work.(vendorapi.ForeignRequests)
	_, intake := c.Request.(vendorapi.Intake)
	_, sink := c.Request.(vendorapi.CatalogSink)
	_, peer := c.Request.(vendorapi.WorkPeer)
	if !feed || !catalog || !files || !foreign || !intake || !sink || !peer {
		t.Fatalf("capabilities: feed=%t catalog=%t files=%t foreign=%t intake=%t sink=%t peer=%t", feed, catalog, files, foreign, intake, sink, peer)
	}
}
