package app

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/devstack/temporalserver"
	"github.com/ticketsync/ticketsync/devstack/temporalserver/testpki"
	"github.com/ticketsync/ticketsync/metrics"
)

func dialApp(env config.Env) *App {
	if env.TemporalNamespace == "" {
		env.TemporalNamespace = "default"
	}
	return &App{Env: env, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// dial runs DialTemporal with a generous wait and reports how long it took.
func dial(t *testing.T, env config.Env, wait time.Duration) (*App, time.Duration, error) {
	t.Helper()
	a := dialApp(env)
	began := time.Now()
	err := a.DialTemporal(context.Background(), wait)
	if err == nil {
		t.Cleanup(a.Temporal.Close)
	}
	return a, time.Since(began), err
}

// Against the embedded server with mTLS: the right CA and client certificate connect; every
// wrong setting fails at once (not after the 30 s wait) naming the variable to fix.
func TestDialTemporalMTLS(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	srvCert := ca.Server(t, "frontend", "127.0.0.1", "localhost")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{Ephemeral: true, NoUI: true,
		TLS: &temporalserver.TLSOptions{CertPEM: srvCert.CertPEM, KeyPEM: srvCert.KeyPEM, CAPEM: ca.PEM,
			ClientCAPEM: ca.PEM, RequireClientAuth: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	good := ca.Client(t, "ticketsync")
	base := config.Env{TemporalAddress: srv.FrontendAddr(), TemporalTLSCA: ca.File,
		TemporalTLSCert: good.CertFile, TemporalTLSKey: good.KeyFile}

	a, took, err := dial(t, base, 30*time.Second)
	if err != nil {
		t.Fatalf("right CA and client certificate: %v", err)
	}
	t.Logf("connected in %v", took)
	if _, err := a.Temporal.CheckHealth(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The client exports the SDK's metrics on the process registry (tally reports each second).
	for deadline := time.Now().Add(5 * time.Second); !hasFamily(t, "temporal_request_total"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("temporal_request_total never reached metrics.Default()")
		}
	}

	other := testpki.NewCA(t, "other")
	stranger := other.Client(t, "stranger")
	for _, tc := range []struct {
		name string
		set  func(*config.Env)
		want []string
	}{
		{"wrong CA", func(e *config.Env) { e.TemporalTLSCA = other.File },
			[]string{"certificate signed by unknown authority", "not issued by the CA in TICKETSYNC_TEMPORAL_TLS_CA"}},
		{"no client certificate", func(e *config.Env) { e.TemporalTLSCert, e.TemporalTLSKey = "", "" },
			[]string{"requires a client certificate (mTLS): set TICKETSYNC_TEMPORAL_TLS_CERT and TICKETSYNC_TEMPORAL_TLS_KEY"}},
		{"client certificate of another CA", func(e *config.Env) { e.TemporalTLSCert, e.TemporalTLSKey = stranger.CertFile, stranger.KeyFile },
			[]string{"refused the client certificate in TICKETSYNC_TEMPORAL_TLS_CERT"}},
		{"server name the certificate lacks", func(e *config.Env) { e.TemporalTLSServerName = "temporal.example" },
			[]string{"does not name", "TICKETSYNC_TEMPORAL_TLS_SERVER_NAME"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := base
			tc.set(&env)
			_, took, err := dial(t, env, 30*time.Second)
			if err == nil {
				t.Fatal("connected")
			}
			if took > 10*time.Second {
				t.Errorf("took %v to fail: a certificate problem must not wait for the retry window", took)
			}
			for _, w := range append(tc.want, "connect to Temporal at "+srv.FrontendAddr()) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}

	// Plaintext against a TLS frontend: retried (it could be a server still starting), and the
	// final error suggests TLS.
	_, _, err = dial(t, config.Env{TemporalAddress: srv.FrontendAddr()}, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "If the server requires TLS, set TICKETSYNC_TEMPORAL_TLS_CA") {
		t.Errorf("plaintext: %v", err)
	}
}

func hasFamily(t *testing.T, name string) bool {
	t.Helper()
	mfs, err := metrics.Default().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}

// keyFrontend is a TLS gRPC frontend that accepts one API key, the way Temporal Cloud checks
// "Authorization: Bearer <key>".
type keyFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	key string
}

func (f *keyFrontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+f.key {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	return &workflowservice.GetSystemInfoResponse{Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{}}, nil
}

func TestDialTemporalAPIKey(t *testing.T) {
	ca := testpki.NewCA(t, "cloud")
	cert := ca.Server(t, "frontend", "127.0.0.1")
	pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}})))
	workflowservice.RegisterWorkflowServiceServer(gs, &keyFrontend{key: "right-key"})
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(ln)
	defer gs.Stop()

	// The key alone turns TLS on; the test CA stands in for the public roots.
	env := config.Env{TemporalAddress: ln.Addr().String(), TemporalTLSCA: ca.File, TemporalAPIKey: "right-key"}
	if _, _, err := dial(t, env, 10*time.Second); err != nil {
		t.Fatalf("right key: %v", err)
	}
	env.TemporalAPIKey = "wrong-key"
	_, took, err := dial(t, env, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials: check TICKETSYNC_TEMPORAL_API_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
	if took > 10*time.Second {
		t.Errorf("wrong key took %v to fail", took)
	}
	if strings.Contains(err.Error(), "wrong-key") {
		t.Error("the API key leaked into the error")
	}
}

// Settings that do not load fail before any dial.
func TestDialTemporalBadSettings(t *testing.T) {
	_, _, err := dial(t, config.Env{TemporalAddress: "127.0.0.1:1", TemporalTLSCert: "/nonexistent/cert.pem"}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "TICKETSYNC_TEMPORAL_TLS_KEY") {
		t.Fatalf("%v", err)
	}
}
