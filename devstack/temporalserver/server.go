// Package temporalserver runs a complete Temporal server (frontend, history,
// matching and worker services) plus Temporal Web inside the current process,
// on SQLite (a file or memory). It backs `ticketsync dev` and end-to-end tests:
// the temporal CLI's dev server is internal to the CLI and cannot be imported.
//
// Setup follows the CLI dev server and go.temporal.io/server/temporaltest:
// static membership (no ringpop), one history shard, schema and namespaces
// written straight into SQLite before the server starts.
package temporalserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults used by `ticketsync dev`. In Options a zero port means "pick a
// free port", so callers that want the well-known ports pass these.
const (
	DefaultIP           = "127.0.0.1"
	DefaultFrontendPort = 7233
	DefaultUIPort       = 8233
	DefaultNamespace    = "default"
	DefaultRetention    = 30 * 24 * time.Hour

	// DBFileName is the SQLite file created inside Options.DataDir.
	DBFileName = "temporal.db"

	clusterName = "active"
	// startupTimeout bounds the post-start setup (namespace, search
	// attributes, UI) when the caller's context has no deadline.
	startupTimeout = 30 * time.Second
)

// Options configures Start. The zero value (plus DataDir or Ephemeral) is usable.
type Options struct {
	DataDir          string                            // SQLite file <DataDir>/temporal.db; ignored when Ephemeral
	Ephemeral        bool                              // in-memory SQLite, gone after Stop
	IP               string                            // listen IP for frontend and UI; default 127.0.0.1
	FrontendPort     int                               // 0 = pick a free port (ticketsync dev passes DefaultFrontendPort)
	UIPort           int                               // 0 = pick a free port; ignored when NoUI
	NoUI             bool                              // do not run Temporal Web
	Namespace        string                            // pre-registered namespace; default "default"
	Retention        time.Duration                     // namespace retention; default 30 days
	SearchAttributes map[string]enums.IndexedValueType // custom search attributes, registered idempotently
	Logger           *slog.Logger                      // server logs at warn+; nil discards
	TLS              *TLSOptions                       // frontend over TLS or mTLS; nil = plaintext
	// CodecEndpoint is the remote payload codec Temporal Web decrypts payloads with (ticketsync's
	// <api>/codec), called with the browser's cookies (its /codec/login); "" = none.
	CodecEndpoint string
}

// Server is a running embedded Temporal server. Stop it with Stop.
type Server struct {
	frontendAddr string
	uiURL        string
	logger       *slog.Logger

	server   temporal.Server
	ui       *uiserver.Server
	logLevel *slog.LevelVar // server log threshold; raised on Stop

	stopOnce sync.Once
	stopErr  error
}

// FrontendAddr is the host:port SDK clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIURL is the Temporal Web base URL, e.g. "http://127.0.0.1:8233", or "" with NoUI.
func (s *Server) UIURL() string { return s.uiURL }

// Stop shuts down Temporal Web, then the server. It is safe to call more than once.
//
// Note: the server's SQLite plugin keeps one connection per database open for
// the life of the process (by design of its connection pool), so a later Start
// on the same DataDir in the same process reuses it.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// Shutting down makes the server and its internal workers log
		// canceled polls and refused connections for a while (some after
		// Stop returns); none of it is actionable.
		if s.logLevel != nil {
			s.logLevel.Set(levelSilent)
		}
		if s.ui != nil {
			s.ui.Stop()
		}
		if s.server != nil {
			if err := s.server.Stop(); err != nil {
				s.stopErr = fmt.Errorf("stop temporal server: %w", err)
			}
		}
	})
	return s.stopErr
}

// Start launches the server and returns once the frontend answers, the
// namespace has the configured retention, the search attributes exist and
// (unless NoUI) Temporal Web accepts connections. A port that is already taken
// fails immediately with *PortInUseError.
func Start(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	logger := opts.Logger

	// Ports: explicit ones must be free now (the UI server would otherwise
	// exit the whole process on a clash); zero ones are picked.
	if opts.FrontendPort != 0 {
		if err := checkPortFree(opts.IP, opts.FrontendPort, whatFrontend); err != nil {
			return nil, err
		}
	}
	if !opts.NoUI && opts.UIPort != 0 {
		if opts.UIPort == opts.FrontendPort {
			return nil, &PortInUseError{Port: opts.UIPort, What: whatUI}
		}
		if err := checkPortFree(opts.IP, opts.UIPort, whatUI); err != nil {
			return nil, err
		}
	}
	var err error
	if opts.FrontendPort == 0 {
		if opts.FrontendPort, err = freePort(opts.IP); err != nil {
			return nil, err
		}
	}
	if !opts.NoUI && opts.UIPort == 0 {
		for opts.UIPort == 0 || opts.UIPort == opts.FrontendPort {
			if opts.UIPort, err = freePort(opts.IP); err != nil {
				return nil, err
			}
		}
	}

	conf, err := buildConfig(&opts)
	if err != nil {
		return nil, err
	}
	sqlConf := conf.Persistence.DataStores[sqliteplugin.PluginName].SQL
	if err := prepareDatabase(&opts, sqlConf); err != nil {
		return nil, err
	}

	logLevel := new(slog.LevelVar)
	logLevel.Set(slog.LevelWarn)
	srvLogger := newServerLogger(logger, logLevel)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := make(map[primitives.ServiceName]static.Hosts, len(conf.Services))
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(
			net.JoinHostPort(dialHost(svc.RPC.BindOnIP), strconv.Itoa(svc.RPC.GRPCPort)))
	}
	server, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(devDynamicConfig()),
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	s := &Server{
		frontendAddr: conf.PublicClient.HostPort,
		logger:       logger,
		server:       server,
		logLevel:     logLevel,
	}
	if err := server.Start(); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	logger.Debug("temporal server services started", "frontend", s.frontendAddr, "elapsed", time.Since(began))

	setupCtx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		setupCtx, cancel = context.WithTimeout(ctx, startupTimeout)
		defer cancel()
	}
	if err := s.setupNamespace(setupCtx, &opts); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if !opts.NoUI {
		if err := s.startUI(setupCtx, &opts); err != nil {
			_ = s.Stop()
			return nil, err
		}
	}
	logger.Debug("temporal dev server ready",
		"frontend", s.frontendAddr, "ui", s.uiURL, "ephemeral", opts.Ephemeral,
		"namespace", opts.Namespace, "startup", time.Since(began))
	return s, nil
}

func (o *Options) normalize() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IP == "" || o.IP == "localhost" {
		o.IP = DefaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return fmt.Errorf("temporal server: IP %q is not an IP address", o.IP)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < 0 {
		return fmt.Errorf("temporal server: negative retention %v", o.Retention)
	}
	for _, p := range []struct {
		port int
		what string
	}{{o.FrontendPort, whatFrontend}, {o.UIPort, whatUI}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("temporal server: invalid %s port %d", p.what, p.port)
		}
	}
	if o.TLS != nil {
		if err := o.TLS.validate(); err != nil {
			return err
		}
	}
	if !o.Ephemeral {
		if o.DataDir == "" {
			return errors.New("temporal server: DataDir is required unless Ephemeral is set")
		}
		abs, err := filepath.Abs(o.DataDir)
		if err != nil {
			return fmt.Errorf("temporal server: data dir: %w", err)
		}
		o.DataDir = abs
	}
	return nil
}

// buildConfig mirrors the CLI dev server: static per-service ports, one
// history shard, archival off, SQLite for both stores, no metrics.
func buildConfig(o *Options) (*config.Config, error) {
	sqlConf, err := sqlConfig(o)
	if err != nil {
		return nil, err
	}
	frontendAddr := net.JoinHostPort(dialHost(o.IP), strconv.Itoa(o.FrontendPort))
	// The frontend's HTTP API (and Nexus over HTTP) on a free port, as the
	// CLI dev server does; without it the frontend warns at every start.
	httpPort, err := freePort(o.IP)
	if err != nil {
		return nil, err
	}

	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"
	conf.Persistence.DefaultStore = sqliteplugin.PluginName
	conf.Persistence.VisibilityStore = sqliteplugin.PluginName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            net.JoinHostPort(dialHost(o.IP), strconv.Itoa(httpPort)),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: o.FrontendPort, HTTPPort: httpPort, BindOnIP: o.IP}},
	}
	// History, matching and worker only talk to each other: loopback, free ports.
	for _, name := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		port, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		conf.Services[string(name)] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: "127.0.0.1"}}
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	if o.TLS != nil {
		conf.Global.TLS = o.TLS.rootTLS(dialHost(o.IP))
	}
	return &conf, nil
}

// sqlConfig builds the sqlite plugin configuration. ConnectAttributes keys the
// plugin does not know as SQLite URI parameters become `_pragma=key=value`.
func sqlConfig(o *Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.Ephemeral {
		// A shared-cache in-memory database; the plugin creates the schema
		// itself when it opens a "mode=memory" database. The name must be
		// unique per Start: the plugin pools connections by DSN.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("temporal server: %w", err)
		}
		conf.DatabaseName = "ticketsync-temporal-" + hex.EncodeToString(b[:])
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		return conf, nil
	}
	conf.DatabaseName = filepath.Join(o.DataDir, DBFileName)
	conf.ConnectAttributes = map[string]string{
		"mode":         "rwc",
		"journal_mode": "wal",    // readers don't block the writer; far fewer fsyncs
		"synchronous":  "normal", // safe with WAL; a crash loses at most the last commits
		"busy_timeout": "10000",  // wait for locks instead of failing with SQLITE_BUSY
	}
	return conf, nil
}

// prepareDatabase creates the schema on a new database file and pre-registers
// the namespace with the configured retention. Both steps are idempotent: an
// existing file keeps its data and an existing namespace is left alone (its
// retention is reconciled through the API once the server runs).
func prepareDatabase(o *Options, sqlConf *config.SQL) error {
	if !o.Ephemeral {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return fmt.Errorf("temporal server: create data dir: %w", err)
		}
		fi, err := os.Stat(sqlConf.DatabaseName)
		switch {
		case errors.Is(err, os.ErrNotExist) || (err == nil && fi.Size() == 0):
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				// Don't leave a half-initialized file behind: the next start
				// would take it for a complete database.
				for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
					_ = os.Remove(sqlConf.DatabaseName + suffix)
				}
				return fmt.Errorf("temporal server: set up SQLite schema in %s: %w", sqlConf.DatabaseName, err)
			}
		case err != nil:
			return fmt.Errorf("temporal server: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, nil)
	if err != nil {
		return fmt.Errorf("temporal server: namespace config: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return fmt.Errorf("temporal server: register namespace %q: %w", o.Namespace, err)
	}
	return nil
}

// devDynamicConfig is the dynamic config of the CLI dev server plus a few
// settings that keep a single-process server light on a small machine.
func devDynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Search attributes and Nexus endpoints are visible right after they
		// are created instead of after the cache refresh interval.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.ForceNexusEndpointRefreshOnRead.Key():         true,
		// Bypassing the search attribute cache costs persistence reads; raise
		// the persistence rate limits as the CLI does.
		dynamicconfig.FrontendPersistenceMaxQPS.Key(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():  45000,
		// Temporal Web lists workflows a lot; the default 10 RPS throttles it.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Smaller mutable state cache than the production default (128k).
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
		// Workflow update (the SDK's UpdateWorkflow) on, also async-accepted.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// One matching partition per task queue: a single host gains nothing
		// from partitions, and forwarding between them adds latency and
		// pollers on a 2-core machine.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
}

// setupNamespace waits for the frontend, then reconciles the namespace
// retention and registers missing custom search attributes.
func (s *Server) setupNamespace(ctx context.Context, o *Options) error {
	creds := insecure.NewCredentials()
	if o.TLS != nil {
		cfg, err := o.TLS.clientConfig(dialHost(o.IP))
		if err != nil {
			return fmt.Errorf("temporal server: TLS client: %w", err)
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient(s.frontendAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("temporal server: dial frontend: %w", err)
	}
	defer conn.Close()
	wf := workflowservice.NewWorkflowServiceClient(conn)
	op := operatorservice.NewOperatorServiceClient(conn)

	var desc *workflowservice.DescribeNamespaceResponse
	if err := retry(ctx, func(ctx context.Context) (err error) {
		desc, err = wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
		return err
	}); err != nil {
		return fmt.Errorf("temporal server: frontend not ready (describe namespace %q): %w", o.Namespace, err)
	}
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != o.Retention {
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := wf.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
				Namespace: o.Namespace,
				Config:    &namespace.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(o.Retention)},
			})
			return err
		}); err != nil {
			return fmt.Errorf("temporal server: set retention of namespace %q to %v: %w", o.Namespace, o.Retention, err)
		}
		s.logger.Debug("temporal namespace retention updated", "namespace", o.Namespace, "from", got, "to", o.Retention)
	}

	if len(o.SearchAttributes) == 0 {
		return nil
	}
	return retry(ctx, func(ctx context.Context) error {
		list, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
		if err != nil {
			return err
		}
		missing := map[string]enums.IndexedValueType{}
		var conflicts []string
		for name, typ := range o.SearchAttributes {
			existing, ok := list.GetCustomAttributes()[name]
			if !ok {
				existing, ok = list.GetSystemAttributes()[name]
			}
			switch {
			case !ok:
				missing[name] = typ
			case existing != typ:
				conflicts = append(conflicts, fmt.Sprintf("%s is %s, want %s", name, existing, typ))
			}
		}
		if len(conflicts) > 0 {
			sort.Strings(conflicts)
			return permanent(fmt.Errorf("temporal server: search attribute type conflict in namespace %q: %s",
				o.Namespace, strings.Join(conflicts, "; ")))
		}
		if len(missing) == 0 {
			return nil
		}
		_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace:        o.Namespace,
			SearchAttributes: missing,
		})
		if status.Code(err) == codes.AlreadyExists {
			return nil
		}
		if err == nil {
			s.logger.Debug("temporal search attributes registered", "namespace", o.Namespace, "count", len(missing))
		}
		return err
	})
}

// startUI runs Temporal Web (ui-server with its embedded assets) against the
// frontend and waits until it accepts connections.
func (s *Server) startUI(ctx context.Context, o *Options) error {
	// The port was free a moment ago; check again right before binding,
	// because ui-server's Start exits the process when it cannot listen.
	if err := checkPortFree(o.IP, o.UIPort, whatUI); err != nil {
		return err
	}
	host := o.IP
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	var uiTLS uiconfig.TLS
	if o.TLS != nil {
		uiTLS = o.TLS.uiTLS(dialHost(o.IP))
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		TLS:                 uiTLS,
		Host:                host,
		Port:                o.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		// As the CLI dev server: plain HTTP on localhost, so the CSRF cookie
		// must not require HTTPS; no request logging.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		Codec:    uiconfig.Codec{Endpoint: o.CodecEndpoint, IncludeCredentials: o.CodecEndpoint != ""},
		HideLogs: true,
		// ticketsync dev works offline: don't fetch the news feed.
		DisableNewsFetch: true,
	}))
	ui := s.ui
	done := make(chan error, 1)
	go func() { done <- ui.Start() }()

	addr := net.JoinHostPort(dialHost(o.IP), strconv.Itoa(o.UIPort))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			s.uiURL = "http://" + addr
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("temporal web stopped while starting on %s: %v", addr, err)
		case <-ctx.Done():
			return fmt.Errorf("temporal web not listening on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return permanentError{err} }

// retry calls fn until it succeeds, returns a non-retryable error, or ctx ends.
// While the server warms up the frontend may answer Unavailable, or NotFound
// for a namespace its registry has not loaded yet.
func retry(ctx context.Context, fn func(context.Context) error) error {
	wait := 20 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		switch status.Code(err) {
		case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented:
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}
