package devstack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
)

// Demo names: one tenant, one connection per vendor pair.
const (
	DemoTenant            = "demo"
	DemoConnection        = "demo-twh"            // portal → TheWorxHub
	DemoSCFConnection     = "demo-scf-cw"         // SeeClickFix → Cityworks, ArcGIS geocoder
	DemoCyprexxConnection = "demo-cyprexx-pruvan" // Cyprexx → Pruvan
	DemoCubuConnection    = "demo-cubu-twh"       // Cubu → TheWorxHub
	demoClientID          = "demo-client"
	demoCubuClientID      = "demo-cubu-client"
)

// DemoConnectionInfo is one demo connection, as the banner lists it.
type DemoConnectionInfo struct {
	ID          string
	RequestKind string
	WorkKind    string
	Description string
}

// demoPair is a demo connection. It is configured only when this build registers both its
// kinds (connectors.RequestKinds/WorkKinds) and it builds, so a vendor still being added is
// simply absent from the demo.
type demoPair struct {
	DemoConnectionInfo
	conn func(sec demoSecrets, url func(name string) string) config.Connection
}

var demoPairs = []demoPair{
	{DemoConnectionInfo{DemoConnection, "portal", "theworxhub", "Cubigo-style portal → TheWorxHub"}, demoTWH},
	{DemoConnectionInfo{DemoSCFConnection, "seeclickfix", "cityworks", "SeeClickFix → Cityworks (ArcGIS geocoder)"}, demoSCFCityworks},
	{DemoConnectionInfo{DemoCyprexxConnection, "cyprexx", "pruvan", "Cyprexx → Pruvan"}, demoCyprexxPruvan},
	{DemoConnectionInfo{DemoCubuConnection, "cubu", "theworxhub", "Cubu → TheWorxHub"}, demoCubuTWH},
}

// demoConfig is the demo tenant and its connections, pointing at the simulators (urls by
// simulator name; "api" is the API's).
func (s *Stack) demoConfig(sec demoSecrets, urls map[string]string) *config.File {
	f := &config.File{Tenants: []config.Tenant{{ID: DemoTenant, Name: "Demo Senior Living", APIKeys: []string{sec.APIKey}}}}
	url := func(name string) string {
		if name == "api" {
			return s.APIURL
		}
		return urls[name]
	}
	for _, p := range demoPairs {
		if !slices.Contains(connectors.RequestKinds(), p.RequestKind) || !slices.Contains(connectors.WorkKinds(), p.WorkKind) {
			continue
		}
		c := p.conn(sec, url)
		if err := buildable(f.Tenants[0], c); err != nil {
			// A kind that is registered but not finished (or whose settings changed) must not
			// stop the dev stack: the other connections still run.
			s.opts.Logger.Warn("demo connection left out", "connection", c.ID, "error", err)
			continue
		}
		f.Connections = append(f.Connections, c)
		s.Demo = append(s.Demo, p.DemoConnectionInfo)
	}
	return f
}

// buildable validates one connection and builds its connectors as the app will.
func buildable(t config.Tenant, c config.Connection) error {
	f := &config.File{Tenants: []config.Tenant{t}, Connections: []config.Connection{c}}
	if err := f.Validate(); err != nil {
		return err
	}
	_, err := connectors.Build(f, connectors.Env{UserAgent: "ticketsync-dev"})
	return err
}

func demoTWH(sec demoSecrets, url func(string) string) config.Connection {
	return config.Connection{
		ID: DemoConnection, Tenant: DemoTenant,
		RequestSystem: config.RequestSystem{Kind: "portal", URL: url(portalSim.name) + "/hooks/" + DemoConnection, Secret: sec.PortalSecret},
		WorkSystem: config.WorkSystem{Kind: "theworxhub", BaseURL: url(theWorxHubSim.name), ClientID: demoClientID,
			ClientSecret: sec.ClientSecret, WebhookSecret: sec.WebhookSecret, RateLimit: devTWHRateLimit},
		Mapping: "theworxhub-v1",
	}
}

// demoSecrets persist across restarts on the same data dir, so the API key and every
// simulator credential keep working.
type demoSecrets struct {
	APIKey        string `json:"apiKey"`
	PortalSecret  string `json:"portalSecret"`
	ClientSecret  string `json:"clientSecret"`
	WebhookSecret string `json:"webhookSecret"`
	// The other vendors' credentials; a data dir from before they existed gets them minted.
	SCFPassword          string `json:"scfPassword,omitempty"`
	CityworksPassword    string `json:"cityworksPassword,omitempty"`
	CyprexxToken         string `json:"cyprexxToken,omitempty"`
	CyprexxWebhookSecret string `json:"cyprexxWebhookSecret,omitempty"`
	PruvanPassword       string `json:"pruvanPassword,omitempty"` // a 40-hex hash, as Pruvan sends it
	PruvanToken          string `json:"pruvanToken,omitempty"`
	CubuHMACSecret       string `json:"cubuHmacSecret,omitempty"`
	CubuClientSecret     string `json:"cubuClientSecret,omitempty"`
}

// fill mints every missing secret and reports whether it did.
func (d *demoSecrets) fill() bool {
	minted := false
	set := func(p *string, mint func() string) {
		if *p == "" {
			*p, minted = mint(), true
		}
	}
	hex16 := func() string { return randomHex(16) }
	set(&d.APIKey, func() string { return "tsk_demo_" + randomHex(16) })
	set(&d.PortalSecret, func() string {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return "whsec_" + base64.StdEncoding.EncodeToString(key)
	})
	for _, p := range []*string{&d.ClientSecret, &d.WebhookSecret, &d.SCFPassword, &d.CityworksPassword,
		&d.CyprexxToken, &d.CyprexxWebhookSecret, &d.PruvanToken, &d.CubuHMACSecret, &d.CubuClientSecret} {
		set(p, hex16)
	}
	set(&d.PruvanPassword, func() string { return randomHex(20) })
	return minted
}

// loadSecrets reads the demo secrets from the data dir, minting (and saving) missing ones.
func (s *Stack) loadSecrets() (demoSecrets, error) {
	var sec demoSecrets
	if s.opts.Ephemeral {
		sec.fill()
		return sec, nil
	}
	path := filepath.Join(s.opts.DataDir, "demo-secrets.json")
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &sec); err != nil || sec.APIKey == "" {
			return sec, fmt.Errorf("%s is corrupt; delete it to mint new demo secrets", path)
		}
	}
	if !sec.fill() {
		return sec, nil
	}
	data, _ := json.MarshalIndent(sec, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return sec, fmt.Errorf("save demo secrets: %w", err)
	}
	return sec, nil
}
