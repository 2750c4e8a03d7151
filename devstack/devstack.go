// Package devstack runs the whole of ticketsync in one process for development and demos
// (DESIGN.md §9): an embedded Temporal server with Temporal Web, every vendor simulator, the
// store on SQLite, the worker and the API — no Docker, no network.
package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/devstack/temporalserver"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// Options configure the dev stack; zero values take the documented defaults.
type Options struct {
	DataDir         string        // --data-dir, default ./.ticketsync
	Ephemeral       bool          // --ephemeral: nothing on disk
	ConnectionsFile string        // --connections: replaces the demo configuration
	PollInterval    time.Duration // --poll-interval, default 15m
	FeedInterval    time.Duration // how often change feeds are read, default 2s
	HTTPAddr        string        // --http-addr, default 127.0.0.1:8080
	TemporalPort    int           // --temporal-port, default 7233 (-1 = any free port)
	UIPort          int           // --ui-port, default 8233 (-1 = any free port)
	NoUI            bool          // --no-ui
	Retention       time.Duration // --retention: how long finished tickets stay inspectable (default 30 days)
	TWHSimPort      int           // --twh-sim-port, default 8301 (-1 = any free port)
	PortalSimPort   int           // --portal-sim-port, default 8302 (-1 = any free port)
	WorkflowPollers int           // workflow-task pollers of the worker, default 8
	// NoSimRateLimit lifts the TheWorxHub simulator's 120 calls/min limit (benchmarks).
	NoSimRateLimit bool
	Logger         *slog.Logger
}

// SearchAttributes are the custom search attributes a ticket workflow sets (DESIGN.md §3).
var SearchAttributes = ticket.SearchAttributeTypes()

// Demo names.
const (
	DemoTenant     = "demo"
	DemoConnection = "demo-twh"
	demoClientID   = "demo-client"
)

// Stack is a running dev stack.
type Stack struct {
	Temporal  *temporalserver.Server
	App       *app.App
	TWH       *twhsim.Server
	Portal    *portalsim.Receiver
	APIURL    string
	TWHURL    string
	PortalURL string
	// APIKey is the demo tenant's key ("" with --connections).
	APIKey  string
	Started time.Duration

	opts      Options
	cancel    context.CancelFunc
	apiDone   chan error
	wrkDone   chan error
	listeners []*http.Server
	stopOnce  sync.Once
	stopErr   error
	simState  string
	simMu     sync.Mutex
}

// demoSecrets persist across restarts on the same data dir, so the API key keeps working.
type demoSecrets struct {
	APIKey        string `json:"apiKey"`
	PortalSecret  string `json:"portalSecret"`
	ClientSecret  string `json:"clientSecret"`
	WebhookSecret string `json:"webhookSecret"`
}

func (o *Options) normalize() {
	if o.DataDir == "" {
		o.DataDir = ".ticketsync"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 15 * time.Minute
	}
	if o.FeedInterval <= 0 {
		o.FeedInterval = 2 * time.Second
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:8080"
	}
	def := func(p *int, d int) {
		switch *p {
		case 0:
			*p = d
		case -1:
			*p = 0
		}
	}
	def(&o.TemporalPort, temporalserver.DefaultFrontendPort)
	def(&o.UIPort, temporalserver.DefaultUIPort)
	def(&o.TWHSimPort, 8301)
	def(&o.PortalSimPort, 8302)
	if o.WorkflowPollers <= 0 {
		o.WorkflowPollers = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// PortError names the flag to change when a port is taken.
type PortError struct {
	Addr string
	Flag string
	Err  error
}

func (e *PortError) Error() string {
	return fmt.Sprintf("%s is already in use (or cannot be bound): change it with %s (%v)", e.Addr, e.Flag, e.Err)
}

func (e *PortError) Unwrap() error { return e.Err }

func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &PortError{Addr: addr, Flag: flag, Err: err}
	}
	return ln, nil
}

// Start boots everything and returns when the API answers. On error, whatever started is stopped.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	began := time.Now()
	opts.normalize()
	s := &Stack{opts: opts}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()
	if !opts.Ephemeral {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir %s (--data-dir): %w", opts.DataDir, err)
		}
		s.simState = filepath.Join(opts.DataDir, "theworxhub-sim.json")
	}

	// Bind our own ports first: a clash fails at once, naming the flag.
	apiLn, err := listen(opts.HTTPAddr, "--http-addr")
	if err != nil {
		return nil, err
	}
	twhLn, err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.TWHSimPort)), "--twh-sim-port")
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	portalLn, err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.PortalSimPort)), "--portal-sim-port")
	if err != nil {
		apiLn.Close()
		twhLn.Close()
		return nil, err
	}
	s.APIURL = "http://" + apiLn.Addr().String()
	s.TWHURL = "http://" + twhLn.Addr().String()
	s.PortalURL = "http://" + portalLn.Addr().String()

	secrets, err := s.loadSecrets()
	if err != nil {
		return nil, err
	}
	// Configuration: the demo, or the operator's file.
	var file *config.File
	if opts.ConnectionsFile != "" {
		file, err = config.LoadFile(opts.ConnectionsFile, os.LookupEnv)
		if err == nil {
			err = file.Validate()
		}
		if err != nil {
			apiLn.Close()
			twhLn.Close()
			portalLn.Close()
			return nil, fmt.Errorf("%s (--connections): %w", opts.ConnectionsFile, err)
		}
	} else {
		file = s.demoConfig(secrets)
		s.APIKey = secrets.APIKey
		if err := file.Validate(); err != nil {
			apiLn.Close()
			twhLn.Close()
			portalLn.Close()
			return nil, fmt.Errorf("demo configuration: %w", err)
		}
	}
	// Simulators: they accept the demo credentials and those of every configured connection
	// that points at them.
	simOpts, portalSecrets, err := s.simulatorSettings(file, secrets)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	simOpts.DisableRateLimit = opts.NoSimRateLimit
	s.TWH = twhsim.New(simOpts)
	if err := s.restoreSim(); err != nil {
		opts.Logger.Warn("simulator state not restored", "error", err)
	}
	s.Portal = portalsim.New(portalsim.Options{Secrets: portalSecrets})
	s.serve(twhLn, s.TWH)
	s.serve(portalLn, s.Portal)

	// Temporal server + Temporal Web.
	ts, err := temporalserver.Start(ctx, temporalserver.Options{
		DataDir: opts.DataDir, Ephemeral: opts.Ephemeral, FrontendPort: opts.TemporalPort,
		UIPort: opts.UIPort, NoUI: opts.NoUI, SearchAttributes: SearchAttributes, Logger: opts.Logger,
		Retention: opts.Retention,
	})
	var pe *temporalserver.PortInUseError
	if errors.As(err, &pe) {
		flag := "--temporal-port"
		if strings.Contains(pe.What, "UI") {
			flag = "--ui-port (or --no-ui)"
		}
		apiLn.Close()
		return nil, &PortError{Addr: fmt.Sprintf("127.0.0.1:%d", pe.Port), Flag: flag, Err: err}
	}
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("start embedded Temporal: %w", err)
	}
	s.Temporal = ts

	dbURL := "sqlite://" + filepath.Join(opts.DataDir, "ticketsync.db")
	if opts.Ephemeral {
		dbURL = "sqlite://:memory:"
	}
	env := config.Env{DatabaseURL: dbURL, TemporalAddress: ts.FrontendAddr(), TemporalNamespace: "default",
		TaskQueue: "ticketsync", HTTPAddr: apiLn.Addr().String(), PollInterval: opts.PollInterval,
		FeedInterval: opts.FeedInterval, WorkflowPollers: opts.WorkflowPollers, ActivityPollers: 8}
	a, err := app.Open(ctx, env, file, opts.Logger)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	s.App = a
	if err := a.DialTemporal(ctx, 10*time.Second); err != nil {
		apiLn.Close()
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	if s.simState != "" {
		go s.saveSimulatorPeriodically(runCtx, time.Second)
	}
	s.wrkDone = make(chan error, 1)
	go func() { s.wrkDone <- a.RunWorker(runCtx) }()
	s.apiDone = make(chan error, 1)
	go func() { s.apiDone <- a.ServeAPI(runCtx, apiLn) }()
	if err := waitHTTP(ctx, s.APIURL+"/healthz", 10*time.Second); err != nil {
		return nil, fmt.Errorf("API did not come up: %w", err)
	}
	s.Started = time.Since(began)
	ok = true
	return s, nil
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.listeners = append(s.listeners, srv)
	go func() { _ = srv.Serve(ln) }()
}

// simulatorSettings derives the simulators' accepted credentials: the demo ones, plus those of
// each connection whose work system or portal URL points at a simulator of this stack.
func (s *Stack) simulatorSettings(file *config.File, sec demoSecrets) (twhsim.Options, []stdwebhooks.Secret, error) {
	opts := twhsim.Options{
		// A far higher limit than TWH's documented 120/min keeps the demo (and its fast feed) lively; the demo
		// connection's rateLimit matches it, and ticketsync paces itself to it.
		RateLimit:     devTWHRateLimit,
		Clients:       map[string]string{demoClientID: sec.ClientSecret},
		WebhookURL:    s.APIURL + "/v1/hooks/theworxhub/" + DemoConnection,
		WebhookSecret: sec.WebhookSecret,
	}
	demoSecret, err := stdwebhooks.ParseSecret(sec.PortalSecret)
	if err != nil {
		return opts, nil, err
	}
	secrets := []stdwebhooks.Secret{demoSecret}
	webhookSet := false
	for _, c := range file.Connections {
		if c.WorkSystem.Kind == "theworxhub" && pointsAt(c.WorkSystem.BaseURL, s.TWHURL) {
			opts.Clients[c.WorkSystem.ClientID] = c.WorkSystem.ClientSecret
			if !webhookSet && c.ID != DemoConnection {
				// The simulator pushes to one target: the first configured connection on it.
				opts.WebhookURL = s.APIURL + "/v1/hooks/theworxhub/" + c.ID
				opts.WebhookSecret = c.WorkSystem.WebhookSecret
				webhookSet = true
			}
		}
		if c.RequestSystem.Kind == "portal" && pointsAt(c.RequestSystem.URL, s.PortalURL) {
			for _, raw := range c.RequestSystem.PortalSecrets() {
				ps, err := stdwebhooks.ParseSecret(raw)
				if err != nil {
					return opts, nil, fmt.Errorf("connection %s: %w", c.ID, err)
				}
				secrets = append(secrets, ps)
			}
		}
	}
	return opts, secrets, nil
}

// pointsAt reports whether a configured URL targets a simulator's base URL (localhost and
// 127.0.0.1 are the same host).
func pointsAt(configured, base string) bool {
	norm := func(u string) string {
		u = strings.TrimRight(strings.ToLower(u), "/")
		return strings.Replace(u, "://localhost:", "://127.0.0.1:", 1)
	}
	c, b := norm(configured), norm(base)
	return c == b || strings.HasPrefix(c, b+"/")
}

// demoConfig is the demo tenant and its Cubigo-style portal → TheWorxHub connection, pointing
// at the in-process simulators.
func (s *Stack) demoConfig(sec demoSecrets) *config.File {
	return &config.File{
		Tenants: []config.Tenant{{ID: DemoTenant, Name: "Demo Senior Living", APIKeys: []string{sec.APIKey}}},
		Connections: []config.Connection{{
			ID: DemoConnection, Tenant: DemoTenant,
			RequestSystem: config.RequestSystem{Kind: "portal", URL: s.PortalURL + "/hooks/" + DemoConnection, Secret: sec.PortalSecret},
			WorkSystem: config.WorkSystem{Kind: "theworxhub", BaseURL: s.TWHURL, ClientID: demoClientID,
				ClientSecret: sec.ClientSecret, WebhookSecret: sec.WebhookSecret, RateLimit: devTWHRateLimit},
			Mapping: "theworxhub-v1",
		}},
	}
}

// devTWHRateLimit is the dev TheWorxHub simulator's calls per minute.
const devTWHRateLimit = 6000

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loadSecrets reads the demo secrets from the data dir, creating them on first start.
func (s *Stack) loadSecrets() (demoSecrets, error) {
	fresh := func() demoSecrets {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return demoSecrets{APIKey: "tsk_demo_" + randomHex(16), PortalSecret: "whsec_" + base64.StdEncoding.EncodeToString(key),
			ClientSecret: randomHex(16), WebhookSecret: randomHex(16)}
	}
	if s.opts.Ephemeral {
		return fresh(), nil
	}
	path := filepath.Join(s.opts.DataDir, "demo-secrets.json")
	if data, err := os.ReadFile(path); err == nil {
		var sec demoSecrets
		if err := json.Unmarshal(data, &sec); err != nil || sec.APIKey == "" {
			return sec, fmt.Errorf("%s is corrupt; delete it to mint new demo secrets", path)
		}
		return sec, nil
	}
	sec := fresh()
	data, _ := json.MarshalIndent(sec, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return sec, fmt.Errorf("save demo secrets: %w", err)
	}
	return sec, nil
}

func (s *Stack) restoreSim() error {
	if s.simState == "" {
		return nil
	}
	data, err := os.ReadFile(s.simState)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.TWH.Restore(data)
}

// SaveSimulator writes the TheWorxHub simulator's state to the data dir (so a restart finds
// the requests it created).
func (s *Stack) SaveSimulator() error {
	if s.simState == "" || s.TWH == nil {
		return nil
	}
	data, err := s.TWH.Snapshot()
	if err != nil {
		return err
	}
	return s.writeSimState(data)
}

// saveSimulatorPeriodically keeps the simulator's state on disk while running, so even a
// killed process (no clean Stop) restarts with the requests its tickets point at.
func (s *Stack) saveSimulatorPeriodically(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := s.TWH.Snapshot()
		if err != nil || bytes.Equal(data, last) {
			continue
		}
		if err := s.writeSimState(data); err != nil {
			s.opts.Logger.Warn("save simulator state", "error", err)
			continue
		}
		last = data
	}
}

func (s *Stack) writeSimState(data []byte) error {
	s.simMu.Lock()
	defer s.simMu.Unlock()
	tmp := s.simState + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.simState)
}

// Stop stops everything in order: API, worker, Temporal Web and server, simulators.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.cancel != nil {
			s.cancel()
			if err := <-s.apiDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
			<-s.wrkDone
		}
		if s.App != nil {
			s.App.Close()
		}
		if s.Temporal != nil {
			if err := s.Temporal.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.SaveSimulator(); err != nil {
			errs = append(errs, fmt.Errorf("save simulator state: %w", err))
		}
		for _, l := range s.listeners {
			_ = l.Close()
		}
		if s.TWH != nil {
			s.TWH.Close()
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Banner is what `ticketsync dev` prints once ready.
func (s *Stack) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ticketsync dev is ready in %s\n\n", s.Started.Round(time.Millisecond))
	fmt.Fprintf(&b, "  API              %s   (OpenAPI: %s/openapi.json)\n", s.APIURL, s.APIURL)
	if u := s.Temporal.UIURL(); u != "" {
		fmt.Fprintf(&b, "  Temporal Web     %s/namespaces/default/workflows\n", u)
	}
	fmt.Fprintf(&b, "  Temporal gRPC    %s   (namespace default, task queue ticketsync)\n", s.Temporal.FrontendAddr())
	fmt.Fprintf(&b, "  TheWorxHub sim   %s   (staff page: %s/_sim/)\n", s.TWHURL, s.TWHURL)
	fmt.Fprintf(&b, "  Portal sim       %s   (events received: %s/_sim/)\n", s.PortalURL, s.PortalURL)
	if s.opts.Ephemeral {
		fmt.Fprintf(&b, "  Data             in memory (--ephemeral)\n")
	} else {
		abs, _ := filepath.Abs(s.opts.DataDir)
		fmt.Fprintf(&b, "  Data             %s\n", abs)
	}
	if s.APIKey != "" {
		fmt.Fprintf(&b, "\n  Demo tenant %q, connection %q, API key:\n    %s\n", DemoTenant, DemoConnection, s.APIKey)
		fmt.Fprintf(&b, "\n  Create a ticket:\n")
		fmt.Fprintf(&b, "    curl -sS -X POST %s/v1/tickets \\\n", s.APIURL)
		fmt.Fprintf(&b, "      -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n", s.APIKey)
		fmt.Fprintf(&b, "      -d '{\"connection\":\"%s\",\"externalId\":\"cubigo-1001\",\"requestType\":\"Maintenance\",\"title\":\"Leaking sink\",\"description\":\"The bathroom sink drips.\",\"location\":{\"address\":\"Building A, apt 12\"},\"requester\":{\"name\":\"Ada Resident\"}}'\n", DemoConnection)
	}
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop.\n")
	return b.String()
}
