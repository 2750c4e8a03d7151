// Package testkit assembles the pieces tests need around a ticket: a TheWorxHub simulator and a
// fake portal over real HTTP, a migrated store, a connections config and the activities.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	_ "github.com/ticketsync/ticketsync/connectors/vendors" // every vendor kind
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/vendorapi"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"go.temporal.io/sdk/client"
)

// Fixed names used by the kit's configuration.
const (
	Tenant        = "sunrise"
	OtherTenant   = "moonrise"
	Connection    = "sunrise-twh"
	OtherConn     = "moonrise-twh"
	ClientID      = "twh-client"
	ClientSecret  = "twh-client-secret"
	WebhookSecret = "twh-hook-secret"
)

// Kit is a ready test world.
type Kit struct {
	TWH          *twhsim.Server
	TWHServer    *httptest.Server
	Portal       *portalsim.Receiver
	PortalServer *httptest.Server
	PortalSecret string
	Store        *store.Store
	File         *config.File
	Registry     *connectors.Registry
	Activities   *activities.Activities
	APIKey       string
	OtherAPIKey  string
}

// Options tune the kit.
type Options struct {
	DatabaseURL string // default: a SQLite file in t.TempDir()
	// WebhookURL, when set, is where the TheWorxHub simulator pushes its webhooks.
	WebhookURL string
	// Configure edits the kit's connections file before it is validated and built (extra
	// connections, other kinds).
	Configure func(*config.File)
}

// RandomKey returns a random API key.
func RandomKey(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewPortalSecret returns a fresh whsec_ secret.
func NewPortalSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// New builds a kit; everything is closed with the test.
func New(t testing.TB, opts Options) *Kit {
	t.Helper()
	ctx := context.Background()
	k := &Kit{APIKey: RandomKey("key_sunrise_"), OtherAPIKey: RandomKey("key_moonrise_"), PortalSecret: NewPortalSecret()}

	simOpts := twhsim.Options{
		Clients:          map[string]string{ClientID: ClientSecret, ClientID + "-2": ClientSecret},
		Tenants:          map[string]string{ClientID: "sunrise", ClientID + "-2": "moonrise"},
		DisableRateLimit: true,
		WebhookSecret:    WebhookSecret,
		WebhookURL:       opts.WebhookURL,
		Seed:             1,
	}
	k.TWH = twhsim.New(simOpts)
	k.TWHServer = httptest.NewServer(k.TWH)
	t.Cleanup(k.TWHServer.Close)
	t.Cleanup(k.TWH.Close)

	secret, err := stdwebhooks.ParseSecret(k.PortalSecret)
	if err != nil {
		t.Fatalf("portal secret: %v", err)
	}
	k.Portal = portalsim.New(portalsim.Options{Secrets: []stdwebhooks.Secret{secret}})
	k.PortalServer = httptest.NewServer(k.Portal)
	t.Cleanup(k.PortalServer.Close)

	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(t.TempDir(), "ticketsync.db")
	}
	k.Store, err = store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { k.Store.Close() })
	if err := k.Store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	k.File = &config.File{
		Tenants: []config.Tenant{
			{ID: Tenant, Name: "Sunrise Living", APIKeys: []string{k.APIKey}},
			{ID: OtherTenant, Name: "Moonrise Living", APIKeys: []string{k.OtherAPIKey}},
		},
		Connections: []config.Connection{
			k.connection(Connection, Tenant, ClientID),
			k.connection(OtherConn, OtherTenant, ClientID+"-2"),
		},
	}
	if opts.Configure != nil {
		opts.Configure(k.File)
	}
	if err := k.File.Validate(); err != nil {
		t.Fatalf("kit config invalid: %v", err)
	}
	for _, tn := range k.File.Tenants {
		if err := k.Store.UpsertTenant(ctx, store.Tenant{ID: tn.ID, Name: tn.Name}); err != nil {
			t.Fatal(err)
		}
		for _, key := range tn.APIKeys {
			if err := k.Store.AddAPIKey(ctx, tn.ID, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	k.Registry, err = connectors.Build(k.File, connectors.Env{HTTPClient: vendorapi.NewHTTPClient(5 * time.Second), UserAgent: "ticketsync/test", Records: k.Store.Records})
	if err != nil {
		t.Fatalf("connectors: %v", err)
	}
	k.Activities = &activities.Activities{
		Store:        k.Store,
		Connections:  k.Registry,
		FeedInterval: 200 * time.Millisecond,
	}
	return k
}

func (k *Kit) connection(id, tenant, clientID string) config.Connection {
	return config.Connection{
		ID:     id,
		Tenant: tenant,
		RequestSystem: config.RequestSystem{
			Kind:   "portal",
			URL:    k.PortalServer.URL + "/hooks/" + id,
			Secret: k.PortalSecret,
		},
		WorkSystem: config.WorkSystem{
			Kind:          "theworxhub",
			BaseURL:       k.TWHServer.URL,
			ClientID:      clientID,
			ClientSecret:  ClientSecret,
			WebhookSecret: WebhookSecret,
		},
		Mapping: "theworxhub-v1",
	}
}

// WaitFor polls cond every 50 ms until it holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// UseTemporal wires the kit to a Temporal client: the engine (start, signal, poke) used by the
// activities and returned for the API.
func (k *Kit) UseTemporal(c client.Client) *engine.Engine {
	e := &engine.Engine{Client: c, TaskQueue: "ticketsync", Store: k.Store, Connections: k.Registry, PollInterval: 15 * time.Minute}
	k.Activities.Engine = e
	return e
}
