package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/apiclient"
)

var portalStatuses = []string{"Submitted", "Requested", "InProgress", "OnHold", "Done", "Canceled"}

func newTicketsCmd() *cobra.Command {
	api := &apiFlags{}
	c := group("tickets", "Create, read and operate tickets through the API",
		`tickets calls the HTTP API at --api (TICKETSYNC_API_URL, default `+apiclient.DefaultBaseURL+`)
with the key --key (TICKETSYNC_API_KEY).`, "api",
		ticketsCreateCmd(api), ticketsListCmd(api), ticketsShowCmd(api), ticketsEventsCmd(api),
		ticketsStuckCmd(api),
		signalCmd(api, "cancel", "Cancel a ticket", true), commentCmd(api),
		signalCmd(api, "hold", "Pause a ticket's synchronisation", true),
		signalCmd(api, "resume", "Resume a paused ticket", false),
		signalCmd(api, "retry", "Retry the step a parked ticket waits on", false),
		signalCmd(api, "skip", "Drop an event whose delivery was abandoned (operator)", false),
		ticketsRemapCmd(api), ticketsPatchCmd(api), ticketsEraseCmd(api))
	api.register(c)
	return c
}

func ticketsCreateCmd(api *apiFlags) *cobra.Command {
	var out output
	var file string
	var body apiclient.CreateTicket
	var requester apiclient.Requester
	var address string
	c := &cobra.Command{
		Use:   "create (-f FILE | --connection C --external-id X --type T --title … --description … --requester-name …)",
		Short: "Create a ticket",
		Long: `create creates a ticket from a JSON file (-f FILE, '-' for stdin; the body of POST
/v1/tickets) or from flags. Required: connection, external id, request type, title, description
and requester name; the work system may require more (TheWorxHub: --address). The API answers
422 naming every missing or invalid field.

The created ticket is printed as JSON (-o json, the default) so scripts can read its id.`,
		Example: `  ticketsync tickets create --connection demo-twh --external-id cubigo-1001 --type Maintenance \
    --title "Leaking sink" --description "Kitchen sink drips." --address "apt 4" --requester-name Ada
  ticketsync tickets create -f ticket.json`,
		Args: noArgs,
	}
	out.register(c, outJSON)
	f := c.Flags()
	f.StringVarP(&file, "file", "f", "", "JSON file with the ticket body ('-' = stdin)")
	f.StringVar(&body.Connection, "connection", "", "connection id")
	f.StringVar(&body.ExternalID, "external-id", "", "the request system's id")
	f.StringVar(&body.RequestType, "type", "", "request type (per work system; TheWorxHub: Maintenance, Housekeeping, IT Support)")
	f.StringVar(&body.RequestType, "request-type", "", "same as --type")
	f.StringVar(&body.Title, "title", "", "title")
	f.StringVar(&body.Description, "description", "", "description")
	f.StringVar(&address, "address", "", "location address")
	f.StringVar(&requester.Name, "requester-name", "", "requester name")
	f.StringVar(&requester.Email, "requester-email", "", "requester email")
	f.StringVar(&requester.Phone, "requester-phone", "", "requester phone")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, _ []string, client *apiclient.Client) error {
		var (
			t       *apiclient.Ticket
			created bool
			err     error
		)
		if file != "" {
			for _, name := range []string{"connection", "external-id", "type", "request-type", "title", "description", "address", "requester-name", "requester-email", "requester-phone"} {
				if cmd.Flags().Changed(name) {
					return usagef(cmd, "-f and --%s cannot be combined: put every field in the file", name)
				}
			}
			data, rerr := readFileOrStdin(cmd, file)
			if rerr != nil {
				return rerr
			}
			if !json.Valid(data) {
				return fmt.Errorf("%s is not valid JSON", file)
			}
			t, created, err = client.CreateTicketJSON(cmd.Context(), data)
		} else {
			body.Requester = &requester
			if address != "" {
				body.Location = &apiclient.Location{Address: address}
			}
			t, created, err = client.CreateTicket(cmd.Context(), body)
		}
		if err != nil {
			return err
		}
		if !created {
			fmt.Fprintf(cmd.ErrOrStderr(), "ticket %s already existed with this body (nothing changed)\n", t.ID)
		}
		return out.print(cmd.OutOrStdout(), t, func(tw *tabwriter.Writer) { ticketTable(tw, t) })
	})
}

func readFileOrStdin(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 2<<20))
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

func ticketsListCmd(api *apiFlags) *cobra.Command {
	var out output
	var p apiclient.ListTicketsParams
	var needsAttention string
	c := &cobra.Command{
		Use:   "list [--connection C] [--status S] [--needs-attention true|false] [--limit N] [--cursor C]",
		Short: "List tickets, newest first",
		Args:  noArgs,
	}
	out.register(c, outTable)
	f := c.Flags()
	f.StringVar(&p.Connection, "connection", "", "only this connection's tickets")
	f.StringVar(&p.Status, "status", "", "only this portal status: "+strings.Join(portalStatuses, "|"))
	f.StringVar(&needsAttention, "needs-attention", "", "true: only tickets that need attention; false: only the others")
	f.IntVar(&p.Limit, "limit", 0, "page size (1-500; default: the API's)")
	f.StringVar(&p.Cursor, "cursor", "", "the next-page cursor a previous list printed")
	_ = c.RegisterFlagCompletionFunc("status", fixedValues(portalStatuses...))
	_ = c.RegisterFlagCompletionFunc("needs-attention", fixedValues("true", "false"))
	return apiVerb(api, &out, c, func(cmd *cobra.Command, _ []string, client *apiclient.Client) error {
		if needsAttention != "" {
			b, err := strconv.ParseBool(needsAttention)
			if err != nil {
				return usagef(cmd, "--needs-attention must be true or false, not %q", needsAttention)
			}
			p.NeedsAttention = &b
		}
		page, err := client.ListTickets(cmd.Context(), p)
		if err != nil {
			return err
		}
		err = out.print(cmd.OutOrStdout(), page, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tCONNECTION\tEXTERNAL ID\tSTATUS\tREMOTE\tATTENTION\tUPDATED")
			for _, t := range page.Items {
				attention := "-"
				if t.NeedsAttention != nil {
					attention = oneLine(t.NeedsAttention.Reason, 40)
				} else if t.Paused != nil {
					attention = "paused"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Connection, t.ExternalID, t.Status,
					orDash(deref(t.RemoteID)), attention, when(t.UpdatedAt))
			}
		})
		if err == nil && out.format == outTable && page.NextCursor != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "more: --cursor %s\n", *page.NextCursor)
		}
		return err
	})
}

func ticketsShowCmd(api *apiFlags) *cobra.Command {
	var out output
	var externalID, connection string
	c := &cobra.Command{
		Use:   "show (<ticket-id> | --external-id X --connection C)",
		Short: "Show a ticket, by its id or by the request system's id",
		Example: `  ticketsync tickets show tkt_0123
  ticketsync tickets show --external-id cubigo-1001 --connection demo-twh`,
		Args: maxArgs(1, "one ticket id"),
	}
	out.register(c, outTable)
	c.Flags().StringVar(&externalID, "external-id", "", "find the ticket by the request system's id (with --connection)")
	c.Flags().StringVar(&connection, "connection", "", "the connection of --external-id")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		var t *apiclient.Ticket
		var err error
		switch {
		case len(args) == 1 && (externalID != "" || connection != ""):
			return usagef(cmd, "give a ticket id or --external-id with --connection, not both")
		case len(args) == 1:
			t, err = client.GetTicket(cmd.Context(), args[0])
		case externalID == "" || connection == "":
			return usagef(cmd, "tickets show: expected a ticket id, or --external-id X --connection C")
		default:
			t, err = client.TicketByExternalID(cmd.Context(), connection, externalID)
		}
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), t, func(tw *tabwriter.Writer) { ticketTable(tw, t) })
	})
}

// ticketTable prints a ticket as "Field: value" lines, the Temporal Web link last.
func ticketTable(tw *tabwriter.Writer, t *apiclient.Ticket) {
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("ID", t.ID)
	row("Connection", t.Connection)
	row("External ID", t.ExternalID)
	row("Status", t.Status)
	remote := orDash(deref(t.RemoteID))
	if t.RemoteStatus != nil {
		remote += " (" + *t.RemoteStatus + ")"
	}
	row("Remote", remote)
	row("Category", orDash(deref(t.Category)))
	row("Mapping", orDash(t.MappingVersion))
	if t.NeedsAttention != nil {
		row("Needs attention", fmt.Sprintf("since %s: %s", when(t.NeedsAttention.Since), oneLine(t.NeedsAttention.Reason, 200)))
	} else {
		row("Needs attention", "no")
	}
	if t.Paused != nil {
		row("Paused", fmt.Sprintf("since %s: %s", when(t.Paused.Since), orDash(oneLine(t.Paused.Reason, 200))))
	} else {
		row("Paused", "no")
	}
	row("Workflow", t.WorkflowID)
	row("Created", when(t.CreatedAt))
	row("Updated", when(t.UpdatedAt))
	if t.Links != nil && t.Links.TemporalWeb != "" {
		row("Temporal Web", t.Links.TemporalWeb)
	}
}

func ticketsEventsCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "events <ticket-id>",
		Short: "Show a ticket's timeline (status changes, feedback, deliveries)",
		Args:  exactArgs(1, "one ticket id"),
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		tl, err := client.ListTicketEvents(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), tl, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "SEQ\tOCCURRED\tTYPE\tDELIVERY\tEVENT ID\tDATA")
			for _, e := range tl.Items {
				delivery := "-"
				if d := e.Delivery; d != nil {
					delivery = d.State
					if d.Attempts > 1 || d.LastError != "" {
						delivery += fmt.Sprintf(" (%d attempts)", d.Attempts)
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, when(e.OccurredAt), e.Type, delivery, e.ID, oneLine(string(e.Data), 80))
			}
		})
	})
}

func ticketsStuckCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "stuck",
		Short: "Tickets that need an operator (parked, or safety net overdue), oldest first",
		Long: `stuck lists the tickets that need an operator, oldest first, with the reason: parked ones
(needs attention) and those whose safety-net poll is overdue. Fix the cause, then
'tickets retry <id>' (or skip, cancel, remap, patch).`,
		Args: noArgs,
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, _ []string, client *apiclient.Client) error {
		list, err := client.ListStuckTickets(cmd.Context())
		if err != nil {
			return err
		}
		now := time.Now()
		return out.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "AGE\tTICKET\tCONNECTION\tEXTERNAL ID\tSTATUS\tKIND\tREASON")
			for _, s := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ago(s.Since, now), s.Ticket.ID, s.Ticket.Connection,
					s.Ticket.ExternalID, s.Ticket.Status, s.Kind, oneLine(s.Reason, 80))
			}
		})
	})
}

// signalCmd builds cancel, hold, resume, retry and skip: POST /v1/tickets/{id}/<verb>.
func signalCmd(api *apiFlags, verb, short string, withReason bool) *cobra.Command {
	var out output
	var reason string
	use := verb + " <ticket-id>"
	if withReason {
		use += " [--reason R]"
	}
	c := &cobra.Command{Use: use, Short: short, Args: exactArgs(1, "one ticket id")}
	out.register(c, outTable)
	if withReason {
		c.Flags().StringVar(&reason, "reason", "", "why (kept on the ticket's timeline)")
	}
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		ctx, id := cmd.Context(), args[0]
		var res *apiclient.SignalAccepted
		var err error
		switch verb {
		case "cancel":
			res, err = client.CancelTicket(ctx, id, reason)
		case "hold":
			res, err = client.HoldTicket(ctx, id, reason)
		case "resume":
			res, err = client.ResumeTicket(ctx, id)
		case "retry":
			res, err = client.RetryTicket(ctx, id)
		case "skip":
			res, err = client.SkipTicketEvent(ctx, id)
		}
		if err != nil {
			return err
		}
		return printAccepted(cmd, &out, res)
	})
}

func printAccepted(cmd *cobra.Command, out *output, res *apiclient.SignalAccepted) error {
	return out.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "%s sent to ticket %s (status %s)\n", res.Signal, res.Ticket.ID, res.Ticket.Status)
	})
}

func commentCmd(api *apiFlags) *cobra.Command {
	var out output
	var comment apiclient.Comment
	c := &cobra.Command{Use: "comment <ticket-id> --text T [--author A]", Short: "Add a comment (forwarded to the work system)",
		Args: exactArgs(1, "one ticket id")}
	out.register(c, outTable)
	c.Flags().StringVar(&comment.Text, "text", "", "the comment (required)")
	c.Flags().StringVar(&comment.Author, "author", "", "who wrote it")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		if strings.TrimSpace(comment.Text) == "" {
			return usagef(cmd, "tickets comment: --text is required")
		}
		res, err := client.AddComment(cmd.Context(), args[0], comment)
		if err != nil {
			return err
		}
		return printAccepted(cmd, &out, res)
	})
}

func ticketsRemapCmd(api *apiFlags) *cobra.Command {
	var out output
	var mapping string
	c := &cobra.Command{Use: "remap <ticket-id> --mapping VERSION", Short: "Move a ticket to another status-mapping version",
		Long: `remap moves a ticket to another version of its work system's status mapping (e.g. after a
status the pinned version does not know parked it). The workflow switches at a safe point.`,
		Example: "  ticketsync tickets remap tkt_0123 --mapping theworxhub-v2",
		Args:    exactArgs(1, "one ticket id")}
	out.register(c, outTable)
	c.Flags().StringVar(&mapping, "mapping", "", "the mapping version to move to (required)")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		if strings.TrimSpace(mapping) == "" {
			return usagef(cmd, "tickets remap: --mapping is required")
		}
		res, err := client.RemapTicket(cmd.Context(), args[0], mapping)
		if err != nil {
			return err
		}
		return printAccepted(cmd, &out, res)
	})
}

func ticketsPatchCmd(api *apiFlags) *cobra.Command {
	var out output
	var title, description, requestType, address, name, email, phone string
	var lat, lng float64
	c := &cobra.Command{
		Use:   "patch <ticket-id> [--title …] [--description …] [--request-type …] [--address …] …",
		Short: "Correct the request of a ticket parked on invalid input (then retry)",
		Long: `patch corrects the request fields of a ticket that parked on invalid input; only the
flags given are sent (PATCH /v1/tickets/{id}). Then 'tickets retry <id>' resubmits it.`,
		Example: "  ticketsync tickets patch tkt_0123 --address \"12 Main St, apt 4\" && ticketsync tickets retry tkt_0123",
		Args:    exactArgs(1, "one ticket id"),
	}
	out.register(c, outTable)
	f := c.Flags()
	f.StringVar(&title, "title", "", "new title")
	f.StringVar(&description, "description", "", "new description")
	f.StringVar(&requestType, "request-type", "", "new request type")
	f.StringVar(&address, "address", "", "new location address")
	f.Float64Var(&lat, "lat", 0, "new latitude (with --lng)")
	f.Float64Var(&lng, "lng", 0, "new longitude (with --lat)")
	f.StringVar(&name, "requester-name", "", "new requester name")
	f.StringVar(&email, "requester-email", "", "new requester email")
	f.StringVar(&phone, "requester-phone", "", "new requester phone")
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		changed := cmd.Flags().Changed
		var p apiclient.TicketPatch
		if changed("title") {
			p.Title = &title
		}
		if changed("description") {
			p.Description = &description
		}
		if changed("request-type") {
			p.RequestType = &requestType
		}
		if changed("lat") != changed("lng") {
			return usagef(cmd, "--lat and --lng go together")
		}
		if changed("address") || changed("lat") {
			p.Location = &apiclient.Location{Address: address}
			if changed("lat") {
				p.Location.Lat, p.Location.Lng = &lat, &lng
			}
		}
		if changed("requester-name") || changed("requester-email") || changed("requester-phone") {
			p.Requester = &apiclient.RequesterPatch{Name: name, Email: email, Phone: phone}
		}
		if p.Title == nil && p.Description == nil && p.RequestType == nil && p.Location == nil && p.Requester == nil {
			return usagef(cmd, "tickets patch: nothing to change; give at least one field flag")
		}
		t, err := client.PatchTicket(cmd.Context(), args[0], p)
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), t, func(tw *tabwriter.Writer) { ticketTable(tw, t) })
	})
}

func ticketsEraseCmd(api *apiFlags) *cobra.Command {
	var out output
	c := &cobra.Command{
		Use:   "erase <ticket-id>",
		Short: "Erase the requester's personal data of a finished ticket",
		Long: `erase removes the requester's personal fields of a finished ticket from the store and
deletes its workflow history from Temporal, leaving an anonymous row and an audit entry
(DELETE /v1/tickets/{id}/personal-data). It cannot be undone; an open ticket is refused.`,
		Args: exactArgs(1, "one ticket id"),
	}
	out.register(c, outTable)
	return apiVerb(api, &out, c, func(cmd *cobra.Command, args []string, client *apiclient.Client) error {
		res, err := client.ErasePersonalData(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return out.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "personal data of ticket %s erased at %s\n", res.Ticket.ID, when(res.ErasedAt))
		})
	})
}
