// Command simserver serves the TheWorxHub simulator and the fake portal as a standalone process,
// for the production-shape smoke test (e2e/prodsmoke), where ticketsync runs as separate worker
// and api processes and the vendors must be reachable over the network like real ones.
// `ticketsync dev` runs the simulators only inside its all-in-one process.
//
// Secrets come from the environment, not flags (flags show in ps):
//
//	SIM_TWH_CLIENT_SECRET, SIM_TWH_WEBHOOK_SECRET, SIM_PORTAL_SECRET (whsec_…)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ticketsync/ticketsync/stdwebhooks"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "simserver:", err)
		os.Exit(1)
	}
}

func run() error {
	twhAddr := flag.String("twh-addr", "127.0.0.1:0", "TheWorxHub simulator listen address")
	portalAddr := flag.String("portal-addr", "127.0.0.1:0", "fake portal listen address")
	clientID := flag.String("twh-client-id", "twh-client", "the OAuth client id the simulator accepts")
	tenant := flag.String("twh-tenant", "sunrise", "TheWorxHub tenant of that client")
	webhookURL := flag.String("twh-webhook-url", "", "where the simulator pushes its webhooks (ticketsync's /v1/hooks/theworxhub/<connection>)")
	flag.Parse()

	secret, err := stdwebhooks.ParseSecret(os.Getenv("SIM_PORTAL_SECRET"))
	if err != nil {
		return fmt.Errorf("SIM_PORTAL_SECRET: %w", err)
	}
	twh := twhsim.New(twhsim.Options{
		Clients:          map[string]string{*clientID: os.Getenv("SIM_TWH_CLIENT_SECRET")},
		Tenants:          map[string]string{*clientID: *tenant},
		DisableRateLimit: true,
		WebhookURL:       *webhookURL,
		WebhookSecret:    os.Getenv("SIM_TWH_WEBHOOK_SECRET"),
		Seed:             uint64(time.Now().UnixNano()),
	})
	defer twh.Close()
	portal := portalsim.New(portalsim.Options{Secrets: []stdwebhooks.Secret{secret}})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	for _, s := range []struct {
		name, addr string
		h          http.Handler
	}{{"theworxhub", *twhAddr, twh}, {"portal", *portalAddr, portal}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		// The test reads these lines to learn the ports.
		fmt.Printf("%s http://%s\n", s.name, ln.Addr())
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
		go func() { <-ctx.Done(); _ = srv.Close() }()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
