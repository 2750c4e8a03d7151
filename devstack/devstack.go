// Package devstack runs the whole of ticketsync in one process for development and demos
// (DESIGN.md §9): an embedded Temporal server with Temporal Web, every vendor simulator, the
// store on SQLite, the worker and the API — no Docker, no network.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/devstack/temporalserver"
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
	WorkflowPollers int           // workflow-task pollers of the worker, default 8
	WorkflowCache   int           // the worker's sticky workflow cache (0 = the SDK's default)
	// Simulator ports (0 = the flag's default, -1 = any free port).
	TWHSimPort       int // --twh-sim-port, default 8301
	PortalSimPort    int // --portal-sim-port, default 8302
	CityworksSimPort int // --cityworks-sim-port, default 8303
	ArcGISSimPort    int // --arcgis-sim-port, default 8304
	SCFSimPort       int // --scf-sim-port, default 8305
	CyprexxSimPort   int // --cyprexx-sim-port, default 8306
	PruvanSimPort    int // --pruvan-sim-port, default 8307
	CubuSimPort      int // --cubu-sim-port, default 8308
	// NoSimRateLimit lifts the simulators' rate limits (benchmarks).
	NoSimRateLimit bool
	// DatabaseURL, when set, replaces the SQLite store (ticketsync bench --store postgres).
	DatabaseURL string
	// ExternalWorker, when set, runs the worker in place of the stack's in-process one, until
	// ctx ends: env is the production `ticketsync worker`'s environment for this stack
	// (TICKETSYNC_*, payload key included), e.g. for a child process (ticketsync bench
	// --worker-process). The store must be one both processes reach: DatabaseURL, or SQLite
	// in the data dir (not Ephemeral); a ConnectionsFile is required.
	ExternalWorker func(ctx context.Context, env []string) error
	Logger         *slog.Logger
}

// SearchAttributes are the custom search attributes a ticket workflow sets (DESIGN.md §3).
var SearchAttributes = ticket.SearchAttributeTypes()

// Stack is a running dev stack.
type Stack struct {
	Temporal *temporalserver.Server
	App      *app.App
	// Sims are the running simulators in registry order (every one for the demo, those the
	// file references with --connections); see Sim. TWH and Portal are TheWorxHub's and the
	// portal's, nil when not running.
	Sims      []*Sim
	TWH       *twhsim.Server
	Portal    *portalsim.Receiver
	APIURL    string
	TWHURL    string
	PortalURL string
	// APIKey is the demo tenant's key ("" with --connections); Demo lists the demo
	// connections (those whose kinds this build registers).
	APIKey  string
	Demo    []DemoConnectionInfo
	Started time.Duration
	// CodecToken signs Temporal Web in at APIURL/codec/login, so it decrypts the payloads the
	// dev stack encrypts with its own key (both kept in the data dir, codec.go).
	CodecToken string

	opts     Options
	cancel   context.CancelFunc
	apiDone  chan error
	wrkDone  chan error
	lns      []net.Listener // bound ports, closed by Stop (closing twice is harmless)
	servers  []*http.Server
	stopOnce sync.Once
	stopErr  error
	simMu    sync.Mutex
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
	for _, sim := range simulators {
		def(sim.port(o), sim.def)
	}
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
	}

	// Bind our own ports first: a clash fails at once, naming the flag.
	apiLn, err := listen(opts.HTTPAddr, "--http-addr")
	if err != nil {
		return nil, err
	}
	s.lns = append(s.lns, apiLn)
	s.APIURL = "http://" + apiLn.Addr().String()

	secrets, err := s.loadSecrets()
	if err != nil {
		return nil, err
	}
	devCodec, err := s.loadCodec()
	if err != nil {
		return nil, err
	}
	s.CodecToken = devCodec.Token
	// Configuration: the operator's file (then only the simulators it references run), or the
	// demo (every simulator, and the demo connections pointing at them).
	var file *config.File
	if opts.ConnectionsFile != "" {
		file, err = config.LoadFile(opts.ConnectionsFile, os.LookupEnv)
		if err == nil {
			err = file.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("%s (--connections): %w", opts.ConnectionsFile, err)
		}
	}
	lns, err := s.bindSimulators(file)
	if err != nil {
		return nil, err
	}
	if file == nil {
		urls := map[string]string{}
		for def, ln := range lns {
			urls[def.name] = "http://" + ln.Addr().String()
		}
		file = s.demoConfig(secrets, urls)
		s.APIKey = secrets.APIKey
		if err := file.Validate(); err != nil {
			return nil, fmt.Errorf("demo configuration: %w", err)
		}
	}
	if err := s.startSimulators(lns, file); err != nil {
		return nil, err
	}
	if sim := s.Sim(theWorxHubSim.name); sim != nil {
		s.TWH, s.TWHURL = sim.Handler.(*twhsim.Server), sim.URL
	}
	if sim := s.Sim(portalSim.name); sim != nil {
		s.Portal, s.PortalURL = sim.Handler.(*portalsim.Receiver), sim.URL
	}

	// Temporal server + Temporal Web.
	ts, err := temporalserver.Start(ctx, temporalserver.Options{
		DataDir: opts.DataDir, Ephemeral: opts.Ephemeral, FrontendPort: opts.TemporalPort,
		UIPort: opts.UIPort, NoUI: opts.NoUI, SearchAttributes: SearchAttributes, Logger: opts.Logger,
		Retention: opts.Retention, CodecEndpoint: s.APIURL + "/codec",
	})
	var pe *temporalserver.PortInUseError
	if errors.As(err, &pe) {
		flag := "--temporal-port"
		if strings.Contains(pe.What, "UI") {
			flag = "--ui-port (or --no-ui)"
		}
		return nil, &PortError{Addr: fmt.Sprintf("127.0.0.1:%d", pe.Port), Flag: flag, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("start embedded Temporal: %w", err)
	}
	s.Temporal = ts

	dbURL := "sqlite://" + filepath.Join(opts.DataDir, "ticketsync.db")
	if opts.Ephemeral {
		dbURL = "sqlite://:memory:"
	}
	if opts.DatabaseURL != "" {
		dbURL = opts.DatabaseURL
	}
	if opts.ExternalWorker != nil && (dbURL == "sqlite://:memory:" || opts.ConnectionsFile == "") {
		return nil, errors.New("an external worker needs a store it can reach (a database URL, or a data dir instead of --ephemeral) and a connections file")
	}
	env := config.Env{DatabaseURL: dbURL, TemporalAddress: ts.FrontendAddr(), TemporalNamespace: "default",
		TaskQueue: "ticketsync", HTTPAddr: apiLn.Addr().String(), PollInterval: opts.PollInterval,
		FeedInterval: opts.FeedInterval, WorkflowPollers: opts.WorkflowPollers, ActivityPollers: 8,
		WorkflowCacheSize: opts.WorkflowCache}
	a, err := app.Open(ctx, env, file, opts.Logger)
	if err != nil {
		return nil, err
	}
	s.App = a
	if a.Codec, err = devCodec.codecConfig(ts.UIURL()); err != nil {
		return nil, err
	}
	if err := a.DialTemporal(ctx, 10*time.Second); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	if !opts.Ephemeral {
		go s.saveSimulatorsPeriodically(runCtx, time.Second)
	}
	s.wrkDone = make(chan error, 1)
	if opts.ExternalWorker != nil {
		wenv := env
		wenv.ConnectionsFile = opts.ConnectionsFile
		vars := append(wenv.Environ(), "TICKETSYNC_WORKER_METRICS_ADDR=", codec.EnvKeys+"="+devCodec.Keys)
		go func() { s.wrkDone <- opts.ExternalWorker(runCtx, vars) }()
	} else {
		go func() { s.wrkDone <- a.RunWorker(runCtx) }()
	}
	s.apiDone = make(chan error, 1)
	go func() { s.apiDone <- a.ServeAPI(runCtx, apiLn) }()
	if err := WaitHTTP(ctx, s.APIURL+"/healthz", 10*time.Second); err != nil {
		return nil, fmt.Errorf("API did not come up: %w", err)
	}
	s.Started = time.Since(began)
	ok = true
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
		if err := s.SaveSimulators(); err != nil {
			errs = append(errs, err)
		}
		for _, srv := range s.servers {
			_ = srv.Close()
		}
		for _, ln := range s.lns {
			_ = ln.Close()
		}
		s.closeSimulators()
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// WaitHTTP waits until url answers 200, for at most within; the error says what it last got.
func WaitHTTP(ctx context.Context, url string, within time.Duration) error {
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

// Banner is what `ticketsync dev` prints once ready: every address, each simulator with its
// staff page, and the demo tenant's connections and API key.
func (s *Stack) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ticketsync dev is ready in %s\n\n", s.Started.Round(time.Millisecond))
	row := func(label, format string, a ...any) {
		fmt.Fprintf(&b, "  %-18s %s\n", label, fmt.Sprintf(format, a...))
	}
	row("API", "%s   (OpenAPI: %s/openapi.json)", s.APIURL, s.APIURL)
	if u := s.Temporal.UIURL(); u != "" {
		row("Temporal Web", "%s/namespaces/default/workflows", u)
	}
	row("Temporal gRPC", "%s   (namespace default, task queue ticketsync)", s.Temporal.FrontendAddr())
	row("Codec sign-in", "%s/codec/login   (token %s: lets Temporal Web decrypt ticket data)", s.APIURL, s.CodecToken)
	for _, sim := range s.Sims {
		label := "staff page"
		if sim.def.pageLabel != "" {
			label = sim.def.pageLabel
		}
		row(sim.Title+" sim", "%s   (%s: %s)", sim.URL, label, sim.StaffURL())
	}
	if s.opts.Ephemeral {
		row("Data", "in memory (--ephemeral)")
	} else {
		abs, _ := filepath.Abs(s.opts.DataDir)
		row("Data", "%s", abs)
	}
	if s.APIKey != "" {
		fmt.Fprintf(&b, "\n  Demo tenant %q, API key:\n    %s\n", DemoTenant, s.APIKey)
		fmt.Fprintf(&b, "  Demo connections:\n")
		for _, d := range s.Demo {
			fmt.Fprintf(&b, "    %-20s %s\n", d.ID, d.Description)
		}
		fmt.Fprintf(&b, "\n  Create a ticket:\n")
		fmt.Fprintf(&b, "    curl -sS -X POST %s/v1/tickets \\\n", s.APIURL)
		fmt.Fprintf(&b, "      -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n", s.APIKey)
		fmt.Fprintf(&b, "      -d '{\"connection\":\"%s\",\"externalId\":\"cubigo-1001\",\"requestType\":\"Maintenance\",\"title\":\"Leaking sink\",\"description\":\"The bathroom sink drips.\",\"location\":{\"address\":\"Building A, apt 12\"},\"requester\":{\"name\":\"Ada Resident\"}}'\n", DemoConnection)
	}
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop.\n")
	return b.String()
}
