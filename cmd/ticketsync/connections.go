package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/apiclient"
	"github.com/ticketsync/ticketsync/config"
)

func newConnectionsCmd() *cobra.Command {
	api := &apiFlags{}
	c := group("connections", "Check a connections file; list, check and run connections through the API",
		`connections validate -f FILE checks a connections file locally. The other verbs call the HTTP
API at --api (TICKETSYNC_API_URL, default `+apiclient.DefaultBaseURL+`) with --key
(TICKETSYNC_API_KEY).`, "api",
		connectionsListCmd(api), connectionsShowCmd(api), connectionsStatusCmd(api), connectionsValidateCmd(api),
		connectionsRefreshCmd(api), connectionsSyncCatalogCmd(api), connectionsEnableEndpointCmd(api))
	api.register(c)
	return c
}

func connectionsListCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{Use: "list", Short: "List the tenant's connections", Args: noArgs}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, _ []string, client *apiclient.Client) error {
		list, err := client.ListConnections(cmd.Context())
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tTENANT\tREQUEST SYSTEM\tWORK SYSTEM\tMAPPING\tPOLL")
			for _, c := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Tenant, c.RequestSystem, c.WorkSystem, orDash(c.Mapping), c.PollInterval)
			}
		})
	})
}

func connectionsShowCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{Use: "show <connection-id>", Short: "Show a connection and its status", Args: exactArgs(1, "one connection id")}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		conn, err := client.GetConnection(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), conn, func(tw *tabwriter.Writer) { connectionTable(tw, conn) })
	})
}

func connectionTable(tw *tabwriter.Writer, c *apiclient.Connection) {
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("ID", c.ID)
	row("Tenant", c.Tenant)
	row("Request system", c.RequestSystem)
	row("Work system", c.WorkSystem)
	row("Mapping", orDash(c.Mapping))
	row("Poll interval", c.PollInterval)
	row("Request types", orDash(strings.Join(c.RequestTypes, ", ")))
	row("Capabilities", orDash(strings.Join(c.Capabilities, ", ")))
	stream := func(name, none string, s *apiclient.StreamStatus) {
		if s == nil {
			row(name, none)
			return
		}
		row(name+" lag", lag(s))
		row(name+" last read", orDash(deref(s.LastRead)))
		row(name+" cursor", orDash(deref(s.Cursor)))
		row(name+" last error", orDash(oneLine(deref(s.LastError), 200)))
	}
	stream("Feed", "none (the work system has no change feed)", c.Feed)
	stream("Intake", "none (requests arrive through the API or hooks)", c.Intake)
}

func lag(s *apiclient.StreamStatus) string {
	if s == nil || s.LagSeconds == nil {
		return "-"
	}
	return fmt.Sprintf("%ds", *s.LagSeconds)
}

func connectionsStatusCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "status [connection-id]",
		Short: "Status of every connection (or one): feed and intake lag, last errors",
		Args:  maxArgs(1, "one connection id"),
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		var list apiclient.ConnectionList
		if len(args) == 1 {
			conn, err := client.GetConnection(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			list.Items = []apiclient.Connection{*conn}
		} else {
			l, err := client.ListConnections(cmd.Context())
			if err != nil {
				return err
			}
			list = *l
		}
		var v any = list
		if len(args) == 1 {
			v = list.Items[0]
		}
		return out.print(cmd.OutOrStdout(), v, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tWORK SYSTEM\tFEED LAG\tREQUEST SYSTEM\tINTAKE LAG\tLAST ERROR")
			for _, c := range list.Items {
				// The most recent failure of either stream; both are shown by 'connections show'.
				lastErr := "-"
				for _, s := range []*apiclient.StreamStatus{c.Intake, c.Feed} {
					if s != nil && deref(s.LastError) != "" {
						lastErr = oneLine(*s.LastError, 60)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.WorkSystem, lag(c.Feed), c.RequestSystem, lag(c.Intake), lastErr)
			}
		})
	})
}

// connectionsValidateCmd is two commands in one, as its users know it: with -f (or a file
// argument, or only TICKETSYNC_CONNECTIONS_FILE set) it checks a connections file locally;
// with a connection id it asks the API to authenticate against both systems.
func connectionsValidateCmd(api *apiFlags) *cobra.Command {
	var out output
	var file string
	c := &cobra.Command{
		Use:   "validate (<connection-id> | -f FILE)",
		Short: "Check a connection against its systems, or a connections file locally",
		Long: `validate <connection-id> asks the API to authenticate against the connection's request and
work systems and prints every check with what to fix (exit 1 if any failed).

validate -f FILE checks a connections file locally (default $TICKETSYNC_CONNECTIONS_FILE) and
lists every problem at once; an argument naming an existing file is checked the same way.`,
		Example: `  ticketsync connections validate demo-twh
  ticketsync connections validate -f connections.yaml`,
		Args: maxArgs(1, "one connection id"),
	}
	out.register(c, outTable)
	c.Flags().StringVarP(&file, "file", "f", "", "connections file to check locally (default $TICKETSYNC_CONNECTIONS_FILE)")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := out.check(cmd); err != nil {
			return err
		}
		if len(args) == 1 && file == "" && isFile(args[0]) {
			file = args[0]
			args = nil
		}
		switch {
		case len(args) == 1 && file != "":
			return usagef(cmd, "give a connection id or -f FILE, not both")
		case len(args) == 1:
			client, err := api.client(cmd)
			if err != nil {
				return err
			}
			return validateRemote(cmd, &out, client, args[0])
		}
		if file == "" {
			file = os.Getenv("TICKETSYNC_CONNECTIONS_FILE")
		}
		if file == "" {
			return usagef(cmd, "connections validate: give a connection id, or -f FILE (or set TICKETSYNC_CONNECTIONS_FILE)")
		}
		return validateFile(cmd, file)
	}
	return c
}

func isFile(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

func validateFile(cmd *cobra.Command, path string) error {
	f, err := config.LoadFile(path, os.LookupEnv)
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		return fmt.Errorf("%s is invalid:\n%w", path, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d tenants, %d connections)\n", path, len(f.Tenants), len(f.Connections))
	return nil
}

func validateRemote(cmd *cobra.Command, out *output, client *apiclient.Client, id string) error {
	done := progress(cmd, "validating connection "+id)
	report, err := client.ValidateConnection(cmd.Context(), id)
	done(err == nil)
	if err != nil {
		return err
	}
	failed := report.Failed()
	err = out.print(cmd.OutOrStdout(), report, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL\tFIX")
		for _, c := range report.Checks {
			result := "ok"
			if !c.OK {
				result = "FAILED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, result, orDash(oneLine(c.Detail, 100)), orDash(oneLine(c.Fix, 100)))
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d checks, %d failed\n", len(report.Checks), len(failed))
	if len(failed) > 0 {
		return checksFailed{len(failed)}
	}
	return nil
}

func connectionsRefreshCmd(api *apiFlags) *cobra.Command {
	var out output
	var full bool
	c := &cobra.Command{
		Use:   "refresh <connection-id> [--full]",
		Short: "Run the request side's intake now (new and changed requests)",
		Args:  exactArgs(1, "one connection id"),
	}
	out.register(c, outTable)
	c.Flags().BoolVar(&full, "full", false, "read everything, not only the changes since the last cursor")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		what := "refreshing connection " + args[0]
		if full {
			what += " (full)"
		}
		done := progress(cmd, what)
		res, err := client.RefreshConnection(cmd.Context(), args[0], full)
		done(err == nil)
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "new\t%d\nupdated\t%d\nunchanged\t%d\nfailed\t%d\n", res.New, res.Updated, res.Unchanged, res.Failed)
		})
	})
}

func connectionsSyncCatalogCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "sync-catalog <connection-id>",
		Short: "Copy the work system's catalog (categories, questions) to the request system now",
		Args:  exactArgs(1, "one connection id"),
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		done := progress(cmd, "syncing the catalog of connection "+args[0])
		res, err := client.SyncConnectionCatalog(cmd.Context(), args[0])
		done(err == nil)
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "categories read\t%d\ncreated\t%d\nupdated\t%d\nunchanged\t%d\nfailed\t%d\n",
				res.Categories, res.Created, res.Updated, res.Unchanged, res.Failed)
		})
	})
}

func connectionsEnableEndpointCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "enable-endpoint <connection-id>",
		Short: "Re-enable the request system's endpoint after it answered 410 Gone",
		Long: `enable-endpoint re-enables event delivery to the connection's request system after its
endpoint answered 410 Gone (which disables it for every ticket of the tenant). Waiting deliveries
resume.`,
		Args: exactArgs(1, "one connection id"),
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		conn, err := client.EnableConnectionEndpoint(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), conn, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "endpoint of connection %s enabled; waiting deliveries resume\n", conn.ID)
		})
	})
}
