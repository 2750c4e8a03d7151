// Command ticketsync is the single binary: dev | worker | api | migrate | tickets … | connections validate.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/store"
)

const usage = `ticketsync keeps service tickets in sync between request systems and work systems.

Usage:
  ticketsync dev [flags]                 the whole stack in one process (embedded Temporal, Temporal Web,
                                         simulators, SQLite, worker, API) — see 'ticketsync dev -h'
  ticketsync worker                      run the Temporal worker (workflows + activities)
  ticketsync api                         run the HTTP API
  ticketsync migrate                     apply database migrations and exit
  ticketsync tickets <verb> [flags]      create | list | show | events | cancel | comment | hold | resume | retry
  ticketsync connections validate [-f F] check a connections file; lists every problem at once
  ticketsync tenants keys create --tenant ID   mint an API key (stored hashed, printed once)
  ticketsync version

Configuration comes from TICKETSYNC_* environment variables (see README).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCtx(ctx, args, stdout, stderr)
}

// runCtx runs one command until it finishes or ctx ends (Ctrl-C / SIGTERM in main).
func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "dev":
		err = runDev(ctx, args[1:], stdout, stderr)
	case "worker":
		err = runWorker(ctx, stderr)
	case "api":
		err = runAPI(ctx, stderr)
	case "migrate":
		err = runMigrate(ctx, stdout)
	case "tickets":
		err = runTickets(ctx, args[1:], stdout, stderr)
	case "connections":
		err = runConnections(args[1:], stdout, stderr)
	case "tenants":
		err = runTenants(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ticketsync", config.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "ticketsync: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "ticketsync:", err)
			return 2
		}
		fmt.Fprintln(stderr, "ticketsync:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// loadEnv reads and validates TICKETSYNC_* (every problem at once).
func loadEnv() (config.Env, error) {
	env, err := config.LoadEnv()
	if err != nil {
		return env, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return env, nil
}

// openApp builds a configured App from the environment and the connections file.
func openApp(ctx context.Context, stderr io.Writer) (*app.App, error) {
	env, err := loadEnv()
	if err != nil {
		return nil, err
	}
	logger := app.NewLogger(env.LogLevel, env.LogFormat, stderr)
	file, err := app.LoadConnections(env)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, env, file, logger)
	if err != nil {
		return nil, err
	}
	if err := a.DialTemporal(ctx, 30*time.Second); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.EnsureSearchAttributes(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func runWorker(ctx context.Context, stderr io.Writer) error {
	a, err := openApp(ctx, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	a.Logger.Info("worker started", "temporal", a.Env.TemporalAddress, "taskQueue", a.Env.TaskQueue,
		"connections", a.Registry.IDs())
	return a.RunWorker(ctx)
}

func runAPI(ctx context.Context, stderr io.Writer) error {
	a, err := openApp(ctx, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", a.Env.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (TICKETSYNC_HTTP_ADDR): %w", a.Env.HTTPAddr, err)
	}
	a.Logger.Info("API listening", "addr", ln.Addr().String())
	return a.ServeAPI(ctx, ln)
}

// openStore opens and migrates the store named by TICKETSYNC_DATABASE_URL.
func openStore(ctx context.Context) (*store.Store, error) {
	env, err := loadEnv()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, env.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func runMigrate(ctx context.Context, stdout io.Writer) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", st.Dialect())
	return nil
}
