package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/apiclient"
)

func newEventsCmd() *cobra.Command {
	api := &apiFlags{}
	c := group("events", "Resend events to the request system",
		`Replays keep the original event id, so receivers dedupe them (Standard Webhooks).`, "api",
		eventsReplayCmd(api))
	api.register(c)
	return c
}

func eventsReplayCmd(api *apiFlags) *cobra.Command {
	var out output
	var req apiclient.ReplayRequest
	var since string
	c := &cobra.Command{
		Use:   "replay (<event-id> | --connection C | --tenant T) [--since RFC3339] [--dry-run]",
		Short: "Resend one event, or every event of a connection or tenant since a time",
		Example: `  ticketsync events replay evt_0123
  ticketsync events replay --connection demo-twh --since 2026-01-02T00:00:00Z --dry-run`,
		Args: maxArgs(1, "one event id"),
	}
	out.register(c, outTable)
	f := c.Flags()
	f.StringVar(&req.Connection, "connection", "", "every event of this connection (with --since)")
	f.StringVar(&req.Tenant, "tenant", "", "every event of this tenant (with --since)")
	f.StringVar(&since, "since", "", "the start, RFC 3339 (e.g. 2026-01-02T00:00:00Z)")
	f.BoolVar(&req.DryRun, "dry-run", false, "only show what would be sent")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		var res *apiclient.ReplayResult
		var err error
		bulk := req.Connection != "" || req.Tenant != ""
		switch {
		case len(args) == 1 && (bulk || since != "" || req.DryRun):
			return usagef(cmd, "events replay: an event id takes no --connection, --tenant, --since or --dry-run")
		case len(args) == 1:
			res, err = client.ReplayEvent(cmd.Context(), args[0])
		case !bulk:
			return usagef(cmd, "events replay: give an event id, or --connection or --tenant with --since")
		case req.Connection != "" && req.Tenant != "":
			return usagef(cmd, "events replay: --connection and --tenant cannot be combined")
		case since == "":
			return usagef(cmd, "events replay: --since is required with --connection or --tenant")
		default:
			t, perr := time.Parse(time.RFC3339, since)
			if perr != nil {
				return usagef(cmd, "--since %q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", since)
			}
			req.Since = t
			what := "replaying events"
			if req.DryRun {
				what = "listing events to replay"
			}
			done := progress(cmd, what)
			res, err = client.ReplayEvents(cmd.Context(), req)
			done(err == nil)
		}
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "EVENT\tTICKET\tTYPE\tOCCURRED")
			for _, e := range res.Events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, e.Ticket, e.Type, when(e.OccurredAt))
			}
			if res.DryRun {
				fmt.Fprintf(tw, "dry run: %d events would be sent again\n", res.Count)
			} else {
				fmt.Fprintf(tw, "%d events queued for redelivery with their original ids\n", res.Count)
			}
		})
	})
}
