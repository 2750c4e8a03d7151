// Command ticketsync is the single binary: dev | worker | api | migrate | tickets … |
// connections … | events … | tenants … (a cobra command tree; see newRootCmd).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ticketsync/ticketsync/apiclient"
	"github.com/ticketsync/ticketsync/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCtx(ctx, args, stdout, stderr)
}

// Exit codes: 0 success (and --help), 1 the command failed, 2 it was used wrongly.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// runCtx runs one command until it finishes or ctx ends (Ctrl-C / SIGTERM in main).
func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := checkVerbs(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return exitOK
	}
	var ue usageError
	var ve verbUsageError
	var ce checksFailed
	var ae *apiclient.Error
	switch {
	case errors.As(err, &ve):
		fmt.Fprintln(stderr, "error:", ve.msg)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", ve.cmd)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "error:", ue.msg)
		return exitUsage
	case errors.As(err, &ce):
		return exitError // the report on stdout says which checks failed
	case errors.As(err, &ae) && ae.Problem != nil:
		printProblem(stderr, ae.Problem)
		return exitError
	default:
		fmt.Fprintln(stderr, "error:", err)
		return exitError
	}
}

// usageError is a command used wrongly (exit 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// verbUsageError is a usageError that names the command whose help to read.
type verbUsageError struct{ msg, cmd string }

func (u verbUsageError) Error() string { return u.msg }

// usagef builds a verbUsageError pointing at cmd's help.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return verbUsageError{msg: fmt.Sprintf(format, args...), cmd: cmd.CommandPath()}
}

// checksFailed means the command printed a report with failures (exit 1, nothing more to say).
type checksFailed struct{ n int }

func (c checksFailed) Error() string { return fmt.Sprintf("%d checks failed", c.n) }

// printProblem prints an API problem as "error: <title>: <detail>" plus one line per field.
func printProblem(w io.Writer, p *apiclient.Problem) {
	if p.Detail != "" {
		fmt.Fprintf(w, "error: %s: %s\n", p.Title, p.Detail)
	} else {
		fmt.Fprintf(w, "error: %s\n", p.Title)
	}
	for _, fe := range p.Errors {
		fmt.Fprintf(w, "  %s: %s\n", fe.Field, fe.Message)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "ticketsync",
		Short: "Keep service tickets in sync between request systems and work systems",
		Long: `ticketsync keeps service tickets in sync between request systems and work systems.

Server commands (dev, worker, api, migrate) read TICKETSYNC_* environment variables (see the
README). API commands (tickets, connections, events) call the HTTP API at --api
(TICKETSYNC_API_URL, default ` + apiclient.DefaultBaseURL + `) with the key --key
(TICKETSYNC_API_KEY).`,
		Version:       config.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(stderr)
			_ = cmd.Help()
			return usageError{msg: "missing command"}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("ticketsync {{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef(cmd, "%v", err)
	})
	root.AddGroup(&cobra.Group{ID: "server", Title: "Running ticketsync:"},
		&cobra.Group{ID: "api", Title: "Operating it through the API:"},
		&cobra.Group{ID: "local", Title: "Local administration:"})
	root.SetHelpCommandGroupID("local")
	root.SetCompletionCommandGroupID("local")
	root.AddCommand(newDevCmd(), newWorkerCmd(), newAPICmd(), newMigrateCmd(), newVersionCmd(),
		newTicketsCmd(), newConnectionsCmd(), newEventsCmd(), newTenantsCmd(), newBenchCmd())
	root.AddCommand(newChaosCmd())
	return root
}

// group is a command that only holds verbs: run without one, it shows its help and fails.
func group(use, short, long, groupID string, verbs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, GroupID: groupID, Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usageError{msg: cmd.CommandPath() + ": missing verb"}
		}}
	c.AddCommand(verbs...)
	return c
}

// noArgs, exactArgs and rangeArgs are cobra's validators with usage errors (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef(cmd, "%s: expected %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef(cmd, "%s: expected at most %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// checkVerbs rejects an unknown verb before cobra runs: cobra hands words it does not know
// under a group to the group as arguments, so `ticketsync tickets frob --help` would print the
// tickets help as if frob existed. The flags on the way are skipped (with their values).
func checkVerbs(root *cobra.Command, args []string) error {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	cmd := root
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || strings.HasPrefix(a, "__complete") || cmd.DisableFlagParsing {
			return nil
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			if takesValue(cmd, a) {
				i++
			}
			continue
		}
		if !cmd.HasSubCommands() {
			return nil // a leaf: the rest are its arguments
		}
		next := findVerb(cmd, a)
		if next == nil {
			msg := fmt.Sprintf("unknown command %q for %q", a, cmd.CommandPath())
			cmd.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor alone does not apply
			if s := cmd.SuggestionsFor(a); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return verbUsageError{msg: msg, cmd: cmd.CommandPath()}
		}
		cmd = next
		if cmd.Name() == "help" && cmd.Parent() == root {
			cmd = root // `help tickets frob` names commands like `tickets frob --help`
		}
	}
	return nil
}

func findVerb(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a flag written as a separate word ("--api URL", "-f F") consumes
// the next argument.
func takesValue(cmd *cobra.Command, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	short := !strings.HasPrefix(arg, "--")
	if short && len(name) != 1 {
		return false // -abc: shorthands with an attached value
	}
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags(), cmd.InheritedFlags()} {
		f := fs.Lookup(name)
		if short {
			f = fs.ShorthandLookup(name)
		}
		if f != nil {
			return f.NoOptDefVal == ""
		}
	}
	return false
}
