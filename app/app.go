// Package app wires configuration, store, connectors and Temporal into the runnable parts of
// ticketsync (worker, API), shared by the `worker`, `api` and `dev` commands and by tests.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ticketsync/ticketsync/activities"
	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/connectors"
	_ "github.com/ticketsync/ticketsync/connectors/vendors" // every vendor kind
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/workers"
)

// NewLogger builds the process logger from TICKETSYNC_LOG_LEVEL / TICKETSYNC_LOG_FORMAT.
func NewLogger(level, format string, w io.Writer) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.ToLower(format) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// App is a configured ticketsync process.
type App struct {
	Env      config.Env
	File     *config.File
	Store    *store.Store
	Registry *connectors.Registry
	Temporal client.Client
	Logger   *slog.Logger
	// Codec encrypts every payload this process sends to Temporal (set before DialTemporal;
	// CodecFromEnv in production) and, with tokens, serves /codec/ on the API.
	Codec codec.Config
}

// LoadConnections reads and validates the connections file named by the environment.
func LoadConnections(env config.Env) (*config.File, error) {
	if env.ConnectionsFile == "" {
		return nil, errors.New("no connections file: set TICKETSYNC_CONNECTIONS_FILE (see README: Configuration)")
	}
	f, err := config.LoadFile(env.ConnectionsFile, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", env.ConnectionsFile, err)
	}
	return f, nil
}

// Open opens and migrates the store, records tenants, API keys and connections from the file,
// and builds the connectors.
func Open(ctx context.Context, env config.Env, file *config.File, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.Default()
	}
	st, err := store.Open(ctx, env.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate store: %w", err)
	}
	a := &App{Env: env, File: file, Store: st, Logger: logger}
	if err := a.seed(ctx); err != nil {
		st.Close()
		return nil, err
	}
	reg, err := connectors.Build(file, ConnectorEnv(st))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("build connectors: %w", err)
	}
	a.Registry = reg
	return a, nil
}

// seed records the file's tenants, key hashes and connections (idempotent). The file is the
// truth for its keys: a key removed from it stops working now (CLI-minted keys are not the
// file's and stay), and a key an operator revoked stays revoked even if the file lists it.
func (a *App) seed(ctx context.Context) error {
	keys := make(map[string][]string, len(a.File.Tenants))
	for _, t := range a.File.Tenants {
		if err := a.Store.UpsertTenant(ctx, store.Tenant{ID: t.ID, Name: t.Name}); err != nil {
			return fmt.Errorf("record tenant %s: %w", t.ID, err)
		}
		keys[t.ID] = t.APIKeys
	}
	synced, err := a.Store.SyncFileAPIKeys(ctx, keys)
	if err != nil {
		return fmt.Errorf("record API keys: %w", err)
	}
	for _, k := range synced.Revoked {
		a.Logger.Info("API key removed from the connections file: revoked", "tenant", k.Tenant, "key", k.ID)
	}
	for _, k := range synced.StillRevoked {
		a.Logger.Warn("the connections file lists an API key an operator revoked: it does not work; remove it from the file",
			"tenant", k.Tenant, "key", k.ID)
	}
	for _, c := range a.File.Connections {
		row := store.Connection{ID: c.ID, Tenant: c.Tenant, RequestKind: c.RequestSystem.Kind,
			WorkKind: c.WorkSystem.Kind, Mapping: c.Mapping, PollInterval: c.PollInterval.Duration}
		if err := a.Store.UpsertConnection(ctx, row); err != nil {
			return fmt.Errorf("record connection %s: %w", c.ID, err)
		}
	}
	return nil
}

// DialTemporal connects to the Temporal frontend, over TLS, mTLS and with an API key as the
// TICKETSYNC_TEMPORAL_TLS* and TICKETSYNC_TEMPORAL_API_KEY settings say, and checks its health.
// While the frontend is unreachable it retries for up to wait (the server may be starting
// beside us); a TLS or credential problem fails at once, naming the setting to fix, since
// retrying cannot help. The client exports the SDK's metrics on metrics.Default().
func (a *App) DialTemporal(ctx context.Context, wait time.Duration) error {
	opts, err := a.temporalClientOptions()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := dialHealthy(ctx, opts)
		if err == nil {
			a.Temporal = c
			return nil
		}
		hint, permanent := temporalDialHint(a.Env, err)
		if permanent || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("connect to Temporal at %s (namespace %s): %w%s", a.Env.TemporalAddress, a.Env.TemporalNamespace, err, hint)
		}
		a.Logger.Info("waiting for Temporal", "address", a.Env.TemporalAddress, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// temporalClientOptions builds the SDK client options from the environment.
func (a *App) temporalClientOptions() (client.Options, error) {
	tlsConfig, err := a.Env.TemporalTLSConfig()
	if err != nil {
		return client.Options{}, fmt.Errorf("read the Temporal TLS settings: %w", err)
	}
	opts := client.Options{
		HostPort:          a.Env.TemporalAddress,
		Namespace:         a.Env.TemporalNamespace,
		Logger:            tlog.NewStructuredLogger(a.Logger.With("component", "temporal-sdk")),
		MetricsHandler:    metrics.SDKHandler(metrics.Default()),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig},
	}
	if a.Env.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(a.Env.TemporalAPIKey)
	}
	if a.Codec.Keys.Len() > 0 { // workers use their client's converters
		opts.DataConverter = codec.NewDataConverter(a.Codec.Keys)
		opts.FailureConverter = codec.NewFailureConverter(a.Codec.Keys)
	}
	return opts, nil
}

// dialHealthy dials and runs a health check, each bounded so a frontend that accepts the
// connection but never answers fails instead of hanging the start.
func dialHealthy(ctx context.Context, opts client.Options) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("health check: %w", err)
	}
	return c, nil
}

// temporalDialHint explains a failed dial in terms of ticketsync's settings. permanent means
// retrying cannot succeed: the certificates or credentials are wrong, not the server late.
func temporalDialHint(env config.Env, err error) (hint string, permanent bool) {
	const p = config.EnvPrefix + "_TEMPORAL_"
	msg := err.Error()
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("certificate signed by unknown authority"):
		if env.TemporalTLSCA != "" {
			return fmt.Sprintf("\n  The server's certificate is not issued by the CA in %sTLS_CA (%s): point it at the CA that issued the Temporal frontend's certificate.", p, env.TemporalTLSCA), true
		}
		return fmt.Sprintf("\n  The server's certificate is not issued by a CA this machine trusts: set %sTLS_CA to the PEM file of the CA that issued it.", p), true
	case has("certificate is valid for", "certificate is not valid for any names", "cannot validate certificate for"):
		return fmt.Sprintf("\n  The server's certificate does not name %s: set %sTLS_SERVER_NAME to a name it holds.", env.TemporalAddress, p), true
	case has("x509: certificate has expired", "certificate has expired or is not yet valid"):
		return "\n  The server's certificate has expired (or this machine's clock is wrong).", true
	case has("tls: certificate required"):
		if env.TemporalTLSCert == "" {
			return fmt.Sprintf("\n  The server requires a client certificate (mTLS): set %sTLS_CERT and %sTLS_KEY to the PEM files of one it accepts.", p, p), true
		}
		return fmt.Sprintf("\n  The server refused the client certificate in %sTLS_CERT (%s): it wants one issued by a CA it trusts.", p, env.TemporalTLSCert), true
	case has("tls: bad certificate", "tls: unknown certificate authority", "tls: expired certificate", "tls: certificate revoked", "tls: unsupported certificate"):
		return fmt.Sprintf("\n  The server refused the client certificate in %sTLS_CERT (%s): not issued by a CA it trusts, expired or revoked.", p, env.TemporalTLSCert), true
	case has("first record does not look like a TLS handshake", "server gave HTTP response"):
		return fmt.Sprintf("\n  The server at %s does not speak TLS: unset the %sTLS* settings and %sAPI_KEY, or use its TLS address.", env.TemporalAddress, p, p), true
	}
	// Unauthenticated stays a plain gRPC status error; PermissionDenied becomes a serviceerror.
	var denied *serviceerror.PermissionDenied
	switch {
	case status.Code(err) == codes.Unauthenticated:
		return fmt.Sprintf("\n  The server refused the credentials: check %sAPI_KEY (or the client certificate).", p), true
	case errors.As(err, &denied) || status.Code(err) == codes.PermissionDenied:
		return fmt.Sprintf("\n  The credentials are not allowed on namespace %s: check %sNAMESPACE and what the key or certificate may access.", env.TemporalNamespace, p), true
	}
	if !env.TemporalTLSEnabled() && has("error reading server preface") {
		return fmt.Sprintf("\n  If the server requires TLS, set %sTLS_CA (and %sTLS_CERT/_KEY for mTLS) or %sAPI_KEY.", p, p, p), false
	}
	return "", false
}

// EnsureSearchAttributes registers the ticket search attributes in the namespace when they are
// missing (a fresh `temporal server start-dev`, say). Where the client may not register them
// (e.g. a managed namespace), the error names the exact commands an operator runs instead.
func (a *App) EnsureSearchAttributes(ctx context.Context) error {
	want := ticket.SearchAttributeTypes()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	have, err := a.Temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: a.Env.TemporalNamespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", a.Env.TemporalNamespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("search attribute %s is registered as %s in namespace %s; ticketsync needs %s", name, got, a.Env.TemporalNamespace, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = a.Temporal.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: a.Env.TemporalNamespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		var cmds []string
		for _, name := range sortedNames(missing) {
			cmds = append(cmds, fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s",
				a.Env.TemporalNamespace, name, strings.TrimPrefix(missing[name].String(), "INDEXED_VALUE_TYPE_")))
		}
		return fmt.Errorf("register search attributes: %w; register them once with:\n  %s", err, strings.Join(cmds, "\n  "))
	}
	a.Logger.Info("registered search attributes", "namespace", a.Env.TemporalNamespace, "names", sortedNames(missing))
	return nil
}

func sortedNames(m map[string]enumspb.IndexedValueType) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ConnectorEnv is what every connector of a process shares: a client that never follows
// redirects, this build's User-Agent, and vendor rate limits held in the store so they hold
// across every worker and API process.
func ConnectorEnv(st *store.Store) connectors.Env {
	return connectors.Env{
		HTTPClient: vendorapi.NewHTTPClient(30 * time.Second),
		UserAgent:  portal.UserAgent(config.Version),
		Limiter: func(connection, vendor string, perMinute int) vendorapi.Limiter {
			return st.NewLimiter(connection+"/"+vendor, perMinute)
		},
		Records: st.Records,
	}
}

// Activities builds the activities with this process's clients.
func (a *App) Activities() *activities.Activities {
	return &activities.Activities{
		Store:        a.Store,
		Connections:  a.Registry,
		Engine:       a.Engine(),
		Logger:       a.Logger,
		FeedInterval: a.Env.FeedInterval,
	}
}

// Engine starts, signals and queries tickets through this process's Temporal client.
func (a *App) Engine() *engine.Engine {
	return &engine.Engine{Client: a.Temporal, TaskQueue: a.Env.TaskQueue, Store: a.Store, Connections: a.Registry,
		Logger: a.Logger, PollInterval: a.Env.PollInterval, EventMaxAge: a.Env.EventMaxAge}
}

// RunWorker runs the worker until ctx ends. It also makes sure every connection with a change
// feed has its ConnectionSync workflow running.
func (a *App) RunWorker(ctx context.Context) error {
	w := workers.New(a.Temporal, a.Activities(), workers.Options{TaskQueue: a.Env.TaskQueue,
		WorkflowPollers: a.Env.WorkflowPollers, ActivityPollers: a.Env.ActivityPollers, CacheSize: a.Env.WorkflowCacheSize})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	if _, err := metrics.Serve(ctx, a.Env.WorkerMetricsAddr, metrics.Default()); err != nil {
		return fmt.Errorf("worker metrics (TICKETSYNC_WORKER_METRICS_ADDR): %w", err)
	}
	if err := a.EnsureConnectionSyncs(ctx); err != nil {
		a.Logger.Warn("change feeds not started; tickets still poll on their timers", "error", err)
	}
	if err := a.EnsureCatalogSchedules(ctx); err != nil {
		a.Logger.Warn("catalog schedules not brought up to date; sync-catalog still works on demand", "error", err)
	}
	<-ctx.Done()
	return nil
}

// EnsureCatalogSchedules creates or updates the CatalogSync schedule of every connection whose
// work system has a scheduled catalog (vendorapi.CatalogScheduler, e.g. Cityworks'
// catalogSchedule) and whose request system takes it. Every worker runs it at start: it is
// idempotent, and a changed schedule in the connections file reaches Temporal on the next
// start. Schedules of connections removed from the file are left alone (an operator deletes
// them with the temporal CLI).
func (a *App) EnsureCatalogSchedules(ctx context.Context) error {
	var errs []error
	for _, id := range a.Registry.IDs() {
		c, _ := a.Registry.Get(id)
		sched, ok := c.Work.(vendorapi.CatalogScheduler)
		_, source := c.Work.(vendorapi.CatalogSource)
		_, sink := c.Request.(vendorapi.CatalogSink)
		if !ok || !source || !sink {
			continue
		}
		if err := EnsureCatalogSchedule(ctx, a.Temporal, a.Env.TaskQueue, id, sched.CatalogSchedule()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EnsureCatalogSchedule creates the CatalogSync schedule of a connection (id and workflow id
// ticket.CatalogSyncWorkflowID), or brings an existing one's spec and action up to date. spec
// is "@every <Go duration>" or a cron expression (with Temporal's @hourly … shorthands). A run
// still going when the next is due is skipped, not queued.
func EnsureCatalogSchedule(ctx context.Context, c client.Client, taskQueue, connection, spec string) error {
	id := ticket.CatalogSyncWorkflowID(connection)
	sspec, err := catalogScheduleSpec(spec)
	if err != nil {
		return fmt.Errorf("catalog schedule of %s: %w", connection, err)
	}
	action := &client.ScheduleWorkflowAction{ID: id, Workflow: ticket.CatalogSyncWorkflowType, TaskQueue: taskQueue,
		Args: []any{ticket.CatalogSyncInput{Connection: connection}}}
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: id, Spec: sspec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: "CatalogSync of " + connection + " (catalogSchedule " + spec + ")"})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &sspec, action
				if s.Policy != nil {
					s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				}
				return &client.ScheduleUpdate{Schedule: &s}, nil
			}})
	}
	if err != nil {
		return fmt.Errorf("catalog schedule of %s: %w", connection, err)
	}
	return nil
}

// catalogScheduleSpec turns "@every 1h30m" into an interval (Temporal's own @every takes only
// one unit) and anything else into a cron expression.
func catalogScheduleSpec(spec string) (client.ScheduleSpec, error) {
	if v, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < time.Minute {
			return client.ScheduleSpec{}, fmt.Errorf("%q: want \"@every <duration>\" of at least 1m", spec)
		}
		return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: d}}}, nil
	}
	if strings.TrimSpace(spec) == "" {
		return client.ScheduleSpec{}, errors.New("empty schedule")
	}
	return client.ScheduleSpec{CronExpressions: []string{spec}}, nil
}

// EnsureConnectionSyncs starts ConnectionSync for every connection whose work system has a
// change feed or whose request system has an intake.
func (a *App) EnsureConnectionSyncs(ctx context.Context) error {
	var errs []error
	for _, id := range a.Registry.IDs() {
		c, _ := a.Registry.Get(id)
		_, feed := c.Work.(vendorapi.ChangeFeed)
		_, intake := c.Request.(vendorapi.Intake)
		if !feed && !intake {
			continue
		}
		if err := a.Engine().EnsureConnectionSync(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// API builds the HTTP API.
func (a *App) API() *starter.API {
	return &starter.API{Store: a.Store, Engine: a.Engine(), Connections: a.Registry, Logger: a.Logger,
		PollInterval: a.Env.PollInterval, EventMaxAge: a.Env.EventMaxAge, OperatorKeys: a.Env.OperatorAPIKeys,
		TemporalWebURL: a.Env.TemporalWebURL, Namespace: a.Env.TemporalNamespace,
		Codec: a.codecHandler(),
		Ready: func(ctx context.Context) error {
			if a.Temporal == nil {
				return errors.New("no Temporal client")
			}
			_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}}
}

// ServeAPI listens on addr (or uses ln when given) and serves until ctx ends, then shuts down
// gracefully.
func (a *App) ServeAPI(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.API().Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	go a.pruneDeliveries(ctx, time.Hour, deliveryKeep(a.Env.Retention.Duration()))
	go a.retain(ctx, 15*time.Second, time.Hour)
	go a.recordGauges(ctx, 30*time.Second)
	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down API: %w", err)
	}
	return nil
}

// deliveryKeep is how long inbound webhook delivery ids are kept: 72 h (beyond any vendor's
// redelivery window), or less when the retention is shorter.
func deliveryKeep(retention time.Duration) time.Duration {
	if retention > 0 && retention < 72*time.Hour {
		return retention
	}
	return 72 * time.Hour
}

// retain runs retention and erasure until ctx ends: every historyEvery it deletes the Temporal
// history of erased tickets whose workflow has closed, and every pruneEvery, when
// TICKETSYNC_RETENTION is set, it prunes finished tickets older than the retention.
func (a *App) retain(ctx context.Context, historyEvery, pruneEvery time.Duration) {
	eng := a.Engine()
	retention := a.Env.Retention.Duration()
	t := time.NewTicker(historyEvery)
	defer t.Stop()
	var pruned time.Time
	for {
		if a.Temporal != nil {
			c, err := eng.DeleteErasedHistories(ctx, a.Env.TemporalNamespace, 100)
			if err != nil && ctx.Err() == nil {
				a.Logger.Warn("delete erased tickets' histories", "deleted", c.Deleted, "failed", c.Failed, "error", err)
			} else if c.Deleted > 0 {
				a.Logger.Info("deleted erased tickets' histories", "deleted", c.Deleted, "waiting", c.Waiting)
			}
		}
		if retention > 0 && time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			c, err := eng.PruneRetention(ctx, retention)
			if err != nil && ctx.Err() == nil {
				a.Logger.Warn("retention: prune finished tickets", "error", err)
			}
			if c.Tickets > 0 {
				a.Logger.Info("retention: pruned finished tickets", "tickets", c.Tickets, "timelineRows", c.Events,
					"requestBodies", c.Requests, "retention", retention.String())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneDeliveries forgets inbound webhook delivery ids older than keep (they only dedupe
// retries, which vendors stop after minutes), every interval until ctx ends.
func (a *App) pruneDeliveries(ctx context.Context, interval, keep time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := a.Store.PruneDeliveries(ctx, time.Now().UTC().Add(-keep)); err != nil {
			a.Logger.Warn("prune webhook deliveries", "error", err)
		} else if n > 0 {
			a.Logger.Debug("pruned webhook deliveries", "count", n)
		}
	}
}

// Close releases the Temporal client and the store.
func (a *App) Close() {
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
}
