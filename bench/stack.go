package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	"github.com/ticketsync/ticketsync/vendorapi/simkit"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// The bench's tenant and connection (portal → TheWorxHub).
const (
	Tenant     = "bench"
	Connection = "bench-twh"
	clientID   = "bench-client"
	// connRateLimit lifts ticketsync's own pacing of TheWorxHub (documented at 120/min): the
	// bench measures what ticketsync asks for, not what the vendor would allow.
	connRateLimit = 6_000_000
)

// env is a running bench environment: the simulators behind their doors and the dev stack.
type env struct {
	opts      *Options
	dir       string
	twh       *twhsim.Server
	twhDoor   *twhDoor
	twhURL    string
	portal    *portalsim.Receiver
	portalURL string
	servers   []*http.Server
	stack     *devstack.Stack
	worker    *workerProc // nil: the worker runs in this process
	apiKey    string
	// clientSecret is TheWorxHub's OAuth secret (the naive poller uses the same client).
	clientSecret string
	http         *http.Client
	dropDB       func()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freeAddr reserves a loopback port for the API: TheWorxHub's webhook URL must be known
// before the stack starts.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func (e *env) serve(h http.Handler) (string, error) {
	srv, u, err := simkit.Serve(h)
	if err != nil {
		return "", err
	}
	e.servers = append(e.servers, srv)
	return u, nil
}

// start brings up the simulators and the dev stack (in memory, every port free-chosen).
func start(ctx context.Context, o *Options, onArrival func(arrival)) (_ *env, err error) {
	e := &env{opts: o, http: &http.Client{Timeout: 30 * time.Second}}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "ticketsync-bench-"); err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	portalSecret, err := stdwebhooks.GenerateSecret()
	if err != nil {
		return nil, err
	}
	sec, err := stdwebhooks.ParseSecret(portalSecret)
	if err != nil {
		return nil, err
	}
	e.clientSecret = randHex(16)
	clientSecret, webhookSecret := e.clientSecret, randHex(16)
	e.apiKey = "tsk_bench_" + randHex(16)

	e.twh = twhsim.New(twhsim.Options{
		Clients: map[string]string{clientID: clientSecret}, DisableRateLimit: true,
		WebhookURL: "http://" + apiAddr + "/v1/hooks/theworxhub/" + Connection, WebhookSecret: webhookSecret,
		WebhookClient: &http.Client{Timeout: 10 * time.Second}, Seed: 8,
	})
	e.twhDoor = newTWHDoor(e.twh)
	e.twhDoor.setPush(o.Push)
	e.twhDoor.feedDown.Store(!o.Feed)
	if e.twhURL, err = e.serve(e.twhDoor); err != nil {
		return nil, err
	}
	e.portal = portalsim.New(portalsim.Options{Secrets: []stdwebhooks.Secret{sec}})
	if e.portalURL, err = e.serve(&portalDoor{recv: e.portal, on: onArrival}); err != nil {
		return nil, err
	}

	dbURL := ""
	if o.Store == "postgres" {
		if dbURL, e.dropDB, err = freshSchema(ctx, o.DatabaseURL); err != nil {
			return nil, err
		}
	}
	file := filepath.Join(e.dir, "connections.yaml")
	yaml := fmt.Sprintf(`tenants:
  - id: %s
    name: Bench
    apiKeys: [%q]
connections:
  - id: %s
    tenant: %s
    requestSystem:
      kind: portal
      url: %q
      secret: %q
    workSystem:
      kind: theworxhub
      baseUrl: %q
      clientId: %q
      clientSecret: %q
      webhookSecret: %q
      rateLimit: %d
    mapping: theworxhub-v1
`, Tenant, e.apiKey, Connection, Tenant, e.portalURL+"/hooks/"+Connection, portalSecret,
		e.twhURL, clientID, clientSecret, webhookSecret, connRateLimit)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	so := devstack.Options{Ephemeral: true, ConnectionsFile: file, HTTPAddr: apiAddr, TemporalPort: -1, UIPort: -1,
		NoUI: true, PollInterval: o.PollInterval, FeedInterval: o.FeedInterval, WorkflowPollers: o.WorkflowPollers,
		WorkflowCache: o.WorkflowCache, NoSimRateLimit: true, DatabaseURL: dbURL, Logger: o.Logger}
	if o.WorkerCommand != nil {
		// Temporal's data and the store (unless on PostgreSQL) in files: the worker process
		// must reach the store, and the server then holds no history in memory (≈ 230 KiB a
		// ticket in memory at 10k). Creation measured the same either way.
		e.worker = &workerProc{command: o.WorkerCommand, log: filepath.Join(e.dir, "worker.log")}
		so.Ephemeral, so.DataDir, so.ExternalWorker = false, filepath.Join(e.dir, "stack"), e.worker.run
	}
	// Every dev-stack simulator on a free port: none is referenced, so none runs.
	for _, p := range []*int{&so.TWHSimPort, &so.PortalSimPort, &so.CityworksSimPort, &so.ArcGISSimPort,
		&so.SCFSimPort, &so.CyprexxSimPort, &so.PruvanSimPort, &so.CubuSimPort} {
		*p = -1
	}
	if e.stack, err = devstack.Start(ctx, so); err != nil {
		return nil, fmt.Errorf("start the dev stack: %w", err)
	}
	if e.worker != nil {
		if err := e.worker.waitPolling(ctx, e.stack.App.Temporal, e.stack.App.Env.TaskQueue); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *env) stop() {
	if e.stack != nil {
		_ = e.stack.Stop()
	}
	for _, s := range e.servers {
		_ = s.Close()
	}
	if e.twh != nil {
		e.twh.Close()
	}
	if e.dropDB != nil {
		e.dropDB()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// createTicket POSTs one ticket; a 201 (or the 200 of an idempotent replay) is success.
func (e *env) createTicket(ctx context.Context, ext string) error {
	body, _ := json.Marshal(map[string]any{"connection": Connection, "externalId": ext, "requestType": "Maintenance",
		"title": "Leaking sink " + ext, "description": "The bathroom sink drips.",
		"location": map[string]any{"address": "Building A, apt 12"}, "requester": map[string]any{"name": "Ada Resident"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.stack.APIURL+"/v1/tickets", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/tickets %s: %d %s", ext, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

var errStopped = errors.New("bench stopped")
