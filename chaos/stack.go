package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/devstack/temporalserver"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/ticket"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	"github.com/ticketsync/ticketsync/vendorapi/simkit"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// Names of the run's one tenant and its connections: portal → TheWorxHub and Cubu →
// TheWorxHub (one TheWorxHub simulator serves both).
const (
	tenant       = "chaos"
	connectionID = "chaos-twh"
	cubuConnID   = "chaos-cubu"
	twhClientID  = "chaos-client"
	taskQueue    = "ticketsync"
)

// stack is the embedded ticketsync of one run: simulators behind fault proxies, an embedded
// Temporal server that can be restarted on its port, the store (SQLite or a PostgreSQL schema
// behind a cuttable proxy), the API in this process and the worker as a child process.
type stack struct {
	opts   Options
	dir    string
	log    *slog.Logger
	faults *faultCounts

	twh         *twhsim.Server
	portal      *portalsim.Receiver
	cubu        *cubusim.Server
	twhProxy    *faultProxy
	portalProxy *faultProxy
	cubuProxy   *faultProxy
	proxies     []*faultProxy // every fault proxy, the extra pairs' included
	simServers  []*http.Server
	pairs       []pair // the extra pairs of the run (pair.go)

	temporalMu   sync.Mutex
	temporal     *temporalserver.Server
	temporalPort int

	dbURL      string // what ticketsync uses (through pgProxy for PostgreSQL)
	sqlitePath string
	pgProxy    *tcpProxy
	dropSchema func()

	api       *app.App
	apiURL    string
	apiKey    string
	apiCancel context.CancelFunc
	apiDone   chan error

	workerEnv  []string
	workerMu   sync.Mutex
	worker     *exec.Cmd
	workerLog  *os.File
	workerGone chan struct{} // closed when the supervisor has stopped
	killed     bool          // the running worker was SIGKILLed by the run
	stopping   bool
	exits      atomic.Int64 // workers that exited on their own (and were restarted)
	kills      atomic.Int64
	restarts   atomic.Int64 // Temporal
	outages    atomic.Int64 // store
}

// start brings the whole stack up; stop releases it.
func start(ctx context.Context, o Options, faults *faultCounts) (*stack, error) {
	s := &stack{opts: o, dir: o.Dir, log: o.Logger, faults: faults}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	secrets := struct{ portal, twh, hook, apiKey, cubuHMAC, cubuClient string }{
		portal: mustPortalSecret(), twh: randomToken(), hook: randomToken(), apiKey: "tsk_chaos_" + randomToken(),
		cubuHMAC: randomToken(), cubuClient: randomToken()}
	s.apiKey = secrets.apiKey

	// The API's port first: the TheWorxHub simulator pushes webhooks to it.
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.apiURL = "http://" + apiLn.Addr().String()

	s.twh = twhsim.New(twhsim.Options{Clients: map[string]string{twhClientID: secrets.twh}, DisableRateLimit: true,
		WebhookURL: s.apiURL + "/v1/hooks/theworxhub/" + connectionID, WebhookSecret: secrets.hook,
		WebhookRetryDelay: 500 * time.Millisecond, Seed: o.Seed})
	sec, err := stdwebhooks.ParseSecret(secrets.portal)
	if err != nil {
		return nil, err
	}
	s.portal = portalsim.New(portalsim.Options{Secrets: []stdwebhooks.Secret{sec}})
	twhURL, err := s.serveSim(s.twh)
	if err != nil {
		return nil, err
	}
	portalURL, err := s.serveSim(s.portal)
	if err != nil {
		return nil, err
	}
	if s.twhProxy, err = s.addProxy("theworxhub", twhURL, o.Seed+1); err != nil {
		return nil, err
	}
	if s.portalProxy, err = s.addProxy("portal", portalURL, o.Seed+2); err != nil {
		return nil, err
	}
	// Cubu posts its service webhooks straight to the API (they are counted from its delivery
	// log); its S2S API, which ticketsync calls, sits behind a proxy.
	s.cubu = cubusim.New(cubusim.Options{HookBaseURL: s.apiURL + "/v1/hooks/cubu/" + cubuConnID, HMACSecret: secrets.cubuHMAC,
		ClientSecret: secrets.cubuClient, Seed: o.Seed + 5})
	cubuURL, err := s.serveSim(s.cubu)
	if err != nil {
		return nil, err
	}
	if s.cubuProxy, err = s.addProxy("cubu", cubuURL, o.Seed+3); err != nil {
		return nil, err
	}
	var pairsYAML strings.Builder
	for i, p := range selectPairs(o.Pairs) {
		s.pairs = append(s.pairs, p)
		y, err := p.start(s, o.Seed+uint64(100*(i+1)))
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", p.name(), err)
		}
		pairsYAML.WriteString(y)
	}

	// Temporal on a fixed port (free now), so restarts keep the address clients dial.
	if s.temporalPort, err = freePort(); err != nil {
		return nil, err
	}
	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}

	keyEntry, err := codec.GenerateKey("chaos1")
	if err != nil {
		return nil, err
	}
	keys, err := codec.ParseKeys(keyEntry)
	if err != nil {
		return nil, err
	}
	// Kept beside the logs (0600) so the histories of a failed run can be decrypted afterwards.
	if err := os.WriteFile(filepath.Join(s.dir, "codec-keys"), []byte(keyEntry+"\n"), 0o600); err != nil {
		return nil, err
	}
	// The portal's retries are capped at 30 s instead of the webhook schedule's hour: a
	// delivery that met faults through minutes of them would otherwise wait longer than a run
	// settles.
	connFile := filepath.Join(s.dir, "connections.yaml")
	yaml := fmt.Sprintf(`tenants:
  - {id: %s, name: Chaos Living, apiKeys: [%q]}
connections:
  - id: %s
    tenant: %s
    requestSystem: {kind: portal, url: %q, secret: %q, retryMaxInterval: 30s}
    workSystem: {kind: theworxhub, baseUrl: %q, clientId: %s, clientSecret: %q, webhookSecret: %q, rateLimit: 100000}
    mapping: theworxhub-v1
  - id: %s
    tenant: %s
    requestSystem:
      kind: cubu
      hmacSecrets: [%q]
      s2s: {baseUrl: %q, applicationId: %q, tenantId: %q, clientId: %q, clientSecret: %q, agentUserId: %q, tokenUrl: %q}
    workSystem: {kind: theworxhub, baseUrl: %q, clientId: %s, clientSecret: %q, webhookSecret: %q, rateLimit: 100000}
    mapping: theworxhub-v1
    options:
      createOn: afterQueueUp
      beforeHookTimeout: 3s
      fields:
        description: %q
        address: %q
        requesterName: %q
        requestTypes: {%q: Maintenance, %q: Housekeeping, %q: IT Support}
%s`, tenant, secrets.apiKey, connectionID, tenant, s.portalProxy.URL()+"/hooks/"+connectionID, secrets.portal,
		s.twhProxy.URL(), twhClientID, secrets.twh, secrets.hook,
		cubuConnID, tenant, secrets.cubuHMAC, s.cubuProxy.URL(), cubusim.DefaultApplicationID, cubusim.DefaultTenantID,
		cubusim.DefaultClientID, secrets.cubuClient, cubusim.DefaultAgentID,
		s.cubuProxy.URL()+"/"+cubusim.DefaultTenantID+"/oauth2/v2.0/token",
		s.twhProxy.URL(), twhClientID, secrets.twh, secrets.hook,
		cubusim.FieldDescription, cubusim.FieldAddress, cubusim.FieldName,
		cubusim.DefaultServiceTypeMaintenance, cubusim.DefaultServiceTypeHousekeeping, cubusim.DefaultServiceTypeITSupport,
		pairsYAML.String())
	if err := os.WriteFile(connFile, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	env := config.Env{DatabaseURL: s.dbURL, TemporalAddress: s.temporalAddr(), TemporalNamespace: "default",
		TaskQueue: taskQueue, HTTPAddr: apiLn.Addr().String(), PollInterval: o.PollInterval, FeedInterval: time.Second,
		WorkflowPollers: 8, ActivityPollers: 8, EventMaxAge: 24 * time.Hour, ConnectionsFile: connFile, LogLevel: "warn"}
	file, err := app.LoadConnections(env)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, env, file, s.log.With("process", "api"))
	if err != nil {
		return nil, err
	}
	s.api = a
	a.Codec = codec.Config{Keys: keys}
	if err := a.DialTemporal(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	apiCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.apiCancel = cancel
	s.apiDone = make(chan error, 1)
	go func() { s.apiDone <- a.ServeAPI(apiCtx, apiLn) }()

	// The worker's environment: the production `worker` command's, payload codec included.
	s.workerEnv = append(append(filterEnv(os.Environ()), env.Environ()...),
		"TICKETSYNC_LOG_FORMAT=json", "TICKETSYNC_WORKER_METRICS_ADDR=", codec.EnvKeys+"="+keyEntry)
	if s.workerLog, err = os.OpenFile(filepath.Join(s.dir, "worker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	s.workerGone = make(chan struct{})
	if err := s.superviseWorker(apiCtx); err != nil {
		return nil, err
	}
	if err := devstack.WaitHTTP(ctx, s.apiURL+"/readyz", 60*time.Second); err != nil {
		return nil, fmt.Errorf("API not ready: %w", err)
	}
	for _, p := range s.pairs {
		if err := p.ready(ctx, s); err != nil {
			return nil, fmt.Errorf("wire %s to ticketsync: %w", p.name(), err)
		}
	}
	ok = true
	return s, nil
}

func (s *stack) serveSim(h http.Handler) (string, error) {
	srv, u, err := simkit.Serve(h)
	if err != nil {
		return "", err
	}
	s.simServers = append(s.simServers, srv)
	return u, nil
}

// addProxy puts a fault proxy in front of a simulator; the run slows it and closes it.
func (s *stack) addProxy(name, target string, seed uint64) (*faultProxy, error) {
	p, err := newFaultProxy(name, target, s.faults, seed)
	if err != nil {
		return nil, err
	}
	s.proxies = append(s.proxies, p)
	return p, nil
}

func (s *stack) temporalAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.temporalPort) }

func (s *stack) startTemporal(ctx context.Context) error {
	ts, err := temporalserver.Start(ctx, temporalserver.Options{DataDir: filepath.Join(s.dir, "temporal"),
		FrontendPort: s.temporalPort, NoUI: true, SearchAttributes: ticket.SearchAttributeTypes(),
		Logger: s.log.With("process", "temporal")})
	if err != nil {
		return fmt.Errorf("start Temporal: %w", err)
	}
	s.temporalMu.Lock()
	s.temporal = ts
	s.temporalMu.Unlock()
	return nil
}

// restartTemporal stops the server and starts it again on the same port and data: every
// client (the API's, the worker's) must reconnect on its own.
func (s *stack) restartTemporal(ctx context.Context) {
	s.temporalMu.Lock()
	ts := s.temporal
	s.temporal = nil
	s.temporalMu.Unlock()
	if ts != nil {
		if err := ts.Stop(); err != nil {
			s.log.Warn("stop Temporal", "error", err)
		}
	}
	s.faults.add("temporal", faultTemporal)
	time.Sleep(2 * time.Second)
	for attempt := 1; ; attempt++ {
		err := s.startTemporal(ctx)
		if err == nil {
			s.restarts.Add(1)
			return
		}
		if attempt == 10 || ctx.Err() != nil {
			s.log.Error("Temporal did not come back", "error", err)
			return
		}
		time.Sleep(time.Second)
	}
}

func (s *stack) stop() {
	s.workerMu.Lock()
	s.stopping = true
	w := s.worker
	s.workerMu.Unlock()
	if w != nil && w.Process != nil {
		_ = w.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.workerGone:
		case <-time.After(10 * time.Second):
			_ = w.Process.Kill()
			<-s.workerGone
		}
	}
	if s.apiCancel != nil {
		s.apiCancel()
		<-s.apiDone
	}
	if s.api != nil {
		s.api.Close()
	}
	s.temporalMu.Lock()
	if s.temporal != nil {
		_ = s.temporal.Stop()
	}
	s.temporalMu.Unlock()
	for _, p := range s.proxies {
		p.close()
	}
	for _, p := range s.pairs {
		p.stop()
	}
	for _, srv := range s.simServers {
		_ = srv.Close()
	}
	if s.twh != nil {
		s.twh.Close()
	}
	if s.cubu != nil {
		s.cubu.Close()
	}
	if s.pgProxy != nil {
		s.pgProxy.close()
	}
	if s.dropSchema != nil && !s.opts.KeepDir {
		s.dropSchema()
	}
	if s.workerLog != nil {
		s.workerLog.Close()
	}
}

// filterEnv drops every TICKETSYNC_* variable of this process: the worker gets exactly the run's.
func filterEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, config.EnvPrefix+"_") {
			out = append(out, kv)
		}
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
