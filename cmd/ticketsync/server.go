package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/app"
	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/store"
)

// newDevCmd wraps runDev (dev.go) unchanged: it parses its own flags with the standard flag
// package, so cobra passes every argument through. Only help is handled here, so that
// `dev --help` prints the flags on stdout and exits 0 like every other command.
func newDevCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dev [flags]",
		Short: "The whole stack in one process (embedded Temporal, Temporal Web, simulators, SQLite, worker, API)",
		Long: `dev runs the whole stack in one process: embedded Temporal server and Temporal Web,
the vendor simulators, SQLite, the worker and the API. It prints the demo API key and the
addresses, and keeps running until Ctrl-C.`,
		GroupID:            "server",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if wantsHelp(args) {
				return devHelp(cmd)
			}
			return runDev(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.SetHelpFunc(func(cmd *cobra.Command, _ []string) { _ = devHelp(cmd) })
	return c
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

// devHelp prints dev's description and its flags as runDev defines them.
func devHelp(cmd *cobra.Command) error {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s\n\nUsage:\n  %s\n\n", cmd.Long, cmd.UseLine())
	err := runDev(cmd.Context(), []string{"-h"}, io.Discard, out)
	var ue usageError
	if err != nil && !errors.As(err, &ue) {
		return err
	}
	return nil
}

// logFlags override TICKETSYNC_LOG_LEVEL / TICKETSYNC_LOG_FORMAT for one run.
type logFlags struct{ level, format string }

func (l *logFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&l.level, "log-level", "", "log level: "+strings.Join(config.LogLevels, "|")+" (default $TICKETSYNC_LOG_LEVEL or info)")
	c.Flags().StringVar(&l.format, "log-format", "", "log format: "+strings.Join(config.LogFormats, "|")+" (default $TICKETSYNC_LOG_FORMAT or text)")
	_ = c.RegisterFlagCompletionFunc("log-level", fixedValues(config.LogLevels...))
	_ = c.RegisterFlagCompletionFunc("log-format", fixedValues(config.LogFormats...))
}

func (l *logFlags) apply(cmd *cobra.Command, env *config.Env) error {
	if l.level != "" {
		if !slices.Contains(config.LogLevels, strings.ToLower(l.level)) {
			return usagef(cmd, "--log-level %q is not one of %s", l.level, strings.Join(config.LogLevels, ", "))
		}
		env.LogLevel = strings.ToLower(l.level)
	}
	if l.format != "" {
		if !slices.Contains(config.LogFormats, strings.ToLower(l.format)) {
			return usagef(cmd, "--log-format %q is not one of %s", l.format, strings.Join(config.LogFormats, ", "))
		}
		env.LogFormat = strings.ToLower(l.format)
	}
	return nil
}

func newWorkerCmd() *cobra.Command {
	var logs logFlags
	c := &cobra.Command{
		Use:     "worker",
		Short:   "Run the Temporal worker (workflows and activities)",
		Long:    "worker runs the ticket workflows and their activities. Configuration: TICKETSYNC_* (see the README).",
		GroupID: "server",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, &logs)
			if err != nil {
				return err
			}
			defer a.Close()
			a.Logger.Info("worker started", "temporal", a.Env.TemporalAddress, "taskQueue", a.Env.TaskQueue,
				"connections", a.Registry.IDs())
			return a.RunWorker(cmd.Context())
		},
	}
	logs.register(c)
	return c
}

func newAPICmd() *cobra.Command {
	var logs logFlags
	c := &cobra.Command{
		Use:     "api",
		Short:   "Run the HTTP API",
		Long:    "api serves the HTTP API on TICKETSYNC_HTTP_ADDR. Configuration: TICKETSYNC_* (see the README).",
		GroupID: "server",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, &logs)
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := net.Listen("tcp", a.Env.HTTPAddr)
			if err != nil {
				return fmt.Errorf("listen on %s (TICKETSYNC_HTTP_ADDR): %w", a.Env.HTTPAddr, err)
			}
			a.Logger.Info("API listening", "addr", ln.Addr().String())
			return a.ServeAPI(cmd.Context(), ln)
		},
	}
	logs.register(c)
	return c
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "migrate",
		Short:   "Apply database migrations and exit",
		GroupID: "server",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "migrations applied (%s)\n", st.Dialect())
			return nil
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		GroupID: "local",
		Args:    noArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "ticketsync", config.Version)
		},
	}
}

// loadEnv reads and validates TICKETSYNC_* (every problem at once).
func loadEnv() (config.Env, error) {
	env, err := config.LoadEnv()
	if err != nil {
		return env, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return env, nil
}

// openApp builds a configured App from the environment and the connections file.
func openApp(cmd *cobra.Command, logs *logFlags) (*app.App, error) {
	ctx := cmd.Context()
	env, err := loadEnv()
	if err != nil {
		return nil, err
	}
	if err := logs.apply(cmd, &env); err != nil {
		return nil, err
	}
	logger := app.NewLogger(env.LogLevel, env.LogFormat, cmd.ErrOrStderr())
	file, err := app.LoadConnections(env)
	if err != nil {
		return nil, err
	}
	payloadCodec, err := app.CodecFromEnv(nil) // refuses to start without keys unless disabled
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, env, file, logger)
	if err != nil {
		return nil, err
	}
	a.Codec = payloadCodec
	if payloadCodec.Keys.Len() == 0 {
		logger.Warn("payload encryption is off (" + app.EnvCodecDisabled + "=true): personal data is stored in plaintext in Temporal history")
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

// fixedValues completes a flag from a fixed list.
func fixedValues(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
