package temporalserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ticketsync/ticketsync/devstack/temporalserver"
	"github.com/ticketsync/ticketsync/devstack/temporalserver/testpki"
)

// startMTLS starts a server whose frontend requires client certificates issued by ca.
func startMTLS(t *testing.T, ca *testpki.CA, ui bool) *temporalserver.Server {
	t.Helper()
	srv := ca.Server(t, "frontend", "127.0.0.1", "localhost")
	return start(t, temporalserver.Options{Ephemeral: true, NoUI: !ui, TLS: &temporalserver.TLSOptions{
		CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM, CAPEM: ca.PEM,
		ClientCAPEM: ca.PEM, RequireClientAuth: true,
	}})
}

func tlsDial(t *testing.T, addr string, cfg *tls.Config) (client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default",
		Logger:            sdklog.NewStructuredLogger(testLogger(t, slog.LevelWarn)),
		ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
}

func pool(pemBytes []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pemBytes)
	return p
}

// The server's own clients (namespace setup, system workers, Temporal Web) work under mTLS, a
// client with the right CA and certificate runs a workflow, and wrong settings fail fast.
func TestMTLS(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	s := startMTLS(t, ca, true)
	cl := ca.Client(t, "ticketsync")
	pair, err := tls.X509KeyPair(cl.CertPEM, cl.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}

	c, err := tlsDial(t, s.FrontendAddr(), &tls.Config{RootCAs: pool(ca.PEM), Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatalf("dial with the right CA and certificate: %v", err)
	}
	defer c.Close()
	w := worker.New(c, "tls-tq", worker.Options{})
	w.RegisterWorkflow(helloWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wfID := fmt.Sprintf("tls-%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: "tls-tq"}, helloWorkflow, "mTLS")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "hello mTLS" {
		t.Fatalf("workflow: %q, %v", got, err)
	}
	// Temporal Web reaches the frontend with the internal client certificate.
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, ctype := httpGet(t, ctx, s.UIURL()+"/api/v1/namespaces/default/workflows")
		if strings.Contains(ctype, "json") && strings.Contains(body, wfID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Temporal Web never listed %s: %.300q", wfID, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	other := testpki.NewCA(t, "other")
	for name, cfg := range map[string]*tls.Config{
		"wrong CA":           {RootCAs: pool(other.PEM), Certificates: []tls.Certificate{pair}},
		"no client cert":     {RootCAs: pool(ca.PEM)},
		"plaintext client":   nil,
		"cert of another CA": {RootCAs: pool(ca.PEM), Certificates: []tls.Certificate{mustPair(t, other.Client(t, "stranger"))}},
	} {
		began := time.Now()
		c, err := tlsDial(t, s.FrontendAddr(), cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: dial succeeded", name)
			continue
		}
		if d := time.Since(began); d > 10*time.Second {
			t.Errorf("%s: took %v to fail", name, d)
		}
		t.Logf("%s: %v", name, err)
	}
}

func mustPair(t *testing.T, p testpki.Pair) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLSOptionsValidated(t *testing.T) {
	ca := testpki.NewCA(t, "cluster")
	srv := ca.Server(t, "frontend", "127.0.0.1")
	for name, o := range map[string]temporalserver.TLSOptions{
		"no key":                 {CertPEM: srv.CertPEM, CAPEM: ca.PEM},
		"no CA":                  {CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM},
		"mTLS without client CA": {CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM, CAPEM: ca.PEM, RequireClientAuth: true},
	} {
		_, err := temporalserver.Start(context.Background(), temporalserver.Options{Ephemeral: true, NoUI: true, TLS: &o})
		if err == nil || !strings.Contains(err.Error(), "temporal server: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
