package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/apiclient"
	"github.com/ticketsync/ticketsync/config"
)

// apiFlags are the persistent flags of the API command groups.
type apiFlags struct{ url, key string }

func (f *apiFlags) register(c *cobra.Command) {
	c.PersistentFlags().StringVar(&f.url, "api", "", "API base URL (default $TICKETSYNC_API_URL or "+apiclient.DefaultBaseURL+")")
	c.PersistentFlags().StringVar(&f.key, "key", "", "API key (default $TICKETSYNC_API_KEY)")
}

// client builds the API client; the flags win over the environment.
func (f *apiFlags) client(cmd *cobra.Command) (*apiclient.Client, error) {
	key := f.key
	if key == "" {
		key = os.Getenv("TICKETSYNC_API_KEY")
	}
	if key == "" {
		return nil, usagef(cmd, "%s: no API key: pass --key or set TICKETSYNC_API_KEY", cmd.CommandPath())
	}
	base := f.url
	if base == "" {
		base = os.Getenv("TICKETSYNC_API_URL")
	}
	c, err := apiclient.New(apiclient.Options{BaseURL: base, APIKey: key, UserAgent: "ticketsync-cli/" + config.Version})
	if err != nil {
		return nil, usagef(cmd, "%v (set --api or TICKETSYNC_API_URL)", err)
	}
	return c, nil
}

// output is the -o/--output flag of a verb.
type output struct{ format string }

const (
	outTable = "table"
	outJSON  = "json"
)

func (o *output) register(c *cobra.Command, def string) {
	o.format = def
	c.Flags().StringVarP(&o.format, "output", "o", def, "output format: table|json")
	_ = c.RegisterFlagCompletionFunc("output", fixedValues(outTable, outJSON))
}

func (o *output) check(cmd *cobra.Command) error {
	if o.format != outTable && o.format != outJSON {
		return usagef(cmd, "--output must be table or json, not %q", o.format)
	}
	return nil
}

// print writes v as indented JSON, or calls table with a tabwriter flushed afterwards.
func (o *output) print(w io.Writer, v any, table func(tw *tabwriter.Writer)) error {
	if o.format == outJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// apiVerb builds a verb that calls the API: the client and the output format are checked
// before run is called.
func apiVerb(api *apiFlags, out *output, c *cobra.Command, run func(cmd *cobra.Command, args []string, client *apiclient.Client) error) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if out != nil {
			if err := out.check(cmd); err != nil {
				return err
			}
		}
		client, err := api.client(cmd)
		if err != nil {
			return err
		}
		return run(cmd, args, client)
	}
	return c
}

// progress shows that a synchronous call is still running: on a terminal a spinner with the
// elapsed time, redrawn in place; elsewhere (a log, a CI job) one line when it starts and one
// when it ends.
func progress(cmd *cobra.Command, what string) (done func(ok bool)) {
	w := cmd.ErrOrStderr()
	start := time.Now()
	if !isTerminal(w) {
		fmt.Fprintf(w, "%s …\n", what)
		return func(ok bool) {
			fmt.Fprintf(w, "%s: %s in %s\n", what, okWord(ok), time.Since(start).Round(time.Millisecond))
		}
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s … %s ", frames[i%len(frames)], what, time.Since(start).Round(100*time.Millisecond))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(ok bool) {
		cancel()
		<-stopped
		fmt.Fprintf(w, "\r\033[K%s: %s in %s\n", what, okWord(ok), time.Since(start).Round(time.Millisecond))
	}
}

func okWord(ok bool) string {
	if ok {
		return "done"
	}
	return "failed"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Table cell helpers.

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// ago renders how long ago t was, coarsely (for "stuck since" columns).
func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// oneLine shortens text for a table cell: no line breaks, at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
