package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/chaos"
)

// newChaosCmd is `ticketsync chaos`: the reliability run of package chaos on an embedded stack
// (loopback only). Its worker is this binary in `worker` mode, so it can be SIGKILLed.
func newChaosCmd() *cobra.Command {
	o := chaos.Options{WorkerCommand: workerCommand}
	c := &cobra.Command{
		Use:   "chaos --tickets N --duration D",
		Short: "Run tickets through an embedded stack while everything around them breaks; check nothing is lost or duplicated",
		Long: `chaos starts an embedded stack on loopback (Temporal, the store, the API, the worker as a child
process, the vendor simulators), creates N tickets and plays staff and residents on them while it
injects faults for D: 5xx, 429 with Retry-After, HTML pages, timeouts, connection resets after a
committed create, slow bodies, lost and duplicated webhooks; the worker is SIGKILLed and restarted,
the Temporal server restarted, the store made unavailable and the portal receiver taken down.
Then it waits for the tickets to settle and prints one "name: value" line per figure and
invariant (converged, duplicates, lost, order violations, stuck without reason …) and exits 1 if
an invariant fails. D is at most 10 minutes; settling adds at most --settle.`,
		GroupID: "local",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usagef(cmd, "%v", err)
			}
			o.Out = cmd.ErrOrStderr()
			rep, err := chaos.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			rep.Print(cmd.OutOrStdout())
			if rep.Dir != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "logs: %s\n", rep.Dir)
			}
			if !rep.OK {
				return checksFailed{n: 1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Tickets, "tickets", 300, "number of tickets")
	f.DurationVar(&o.Duration, "duration", 8*time.Minute, "how long faults are injected (at most 10m)")
	f.DurationVar(&o.Settle, "settle", chaos.DefaultSettle, "how long to wait for the tickets to converge once faults stop")
	f.StringVar(&o.DatabaseURL, "database-url", "", "loopback postgres://… to run the store on PostgreSQL (a fresh schema); default SQLite")
	f.StringVar(&o.Dir, "dir", "", "where the run's data and logs go (default: a temporary directory, kept only if the run fails)")
	f.BoolVar(&o.KeepDir, "keep", false, "keep the run's directory (and PostgreSQL schema) even when it passes")
	f.StringSliceVar(&o.Pairs, "pairs", nil, "connector pairs to drive, comma-separated (default: every one: "+strings.Join(chaos.PairNames(), ", ")+")")
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the fault schedule and the scripts (0 = random)")
	return c
}

// workerCommand re-executes this binary as the production worker; the chaos run gives it its
// environment.
func workerCommand() *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return exec.Command(self, "worker")
}
