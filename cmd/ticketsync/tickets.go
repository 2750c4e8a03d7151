package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/config"
)

const ticketsUsage = `Usage: ticketsync tickets <verb> [flags]

Verbs:
  create  -f ticket.json | --connection C --external-id X --type T --title … --description … --requester-name …
  list    [--connection C] [--status S] [--needs-attention true|false] [--limit N] [--cursor C]
  show    <ticket-id>
  events  <ticket-id>
  cancel  <ticket-id> [--reason R]
  comment <ticket-id> --text T [--author A]
  hold    <ticket-id> [--reason R]
  resume  <ticket-id>
  retry   <ticket-id>
  skip    <ticket-id>                    drop an event whose delivery was abandoned

Common flags (or environment):
  --api URL   API base URL (TICKETSYNC_API_URL, default http://127.0.0.1:8080)
  --key KEY   tenant API key (TICKETSYNC_API_KEY)
`

// apiClient is the CLI's thin client of the HTTP API.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path string, body any, out io.Writer) error {
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rdr)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("User-Agent", "ticketsync-cli/"+config.Version)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call %s %s: %w (is the API running? set --api or TICKETSYNC_API_URL)", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var pretty bytes.Buffer
	if json.Indent(&pretty, data, "", "  ") == nil {
		data = append(pretty.Bytes(), '\n')
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d\n%s", method, path, resp.StatusCode, data)
	}
	_, err = out.Write(data)
	return err
}

func runTickets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, ticketsUsage)
		if len(args) == 0 {
			return usageError{"tickets: missing verb"}
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("tickets "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("api", envOr("TICKETSYNC_API_URL", "http://127.0.0.1:8080"), "API base URL")
	key := fs.String("key", os.Getenv("TICKETSYNC_API_KEY"), "tenant API key")
	// create
	file := fs.String("f", "", "create: JSON file with the ticket body ('-' = stdin)")
	connection := fs.String("connection", "", "connection id")
	externalID := fs.String("external-id", "", "create: the request system's id")
	reqType := fs.String("type", "", "create: requestType")
	title := fs.String("title", "", "create: title")
	description := fs.String("description", "", "create: description")
	address := fs.String("address", "", "create: location address")
	requesterName := fs.String("requester-name", "", "create: requester name")
	requesterEmail := fs.String("requester-email", "", "create: requester email")
	// list
	status := fs.String("status", "", "list: portal status")
	needsAttention := fs.String("needs-attention", "", "list: true|false")
	limit := fs.String("limit", "", "list: page size")
	cursor := fs.String("cursor", "", "list: cursor from a previous page")
	// signals
	reason := fs.String("reason", "", "cancel/hold: reason")
	text := fs.String("text", "", "comment: text")
	author := fs.String("author", "", "comment: author")

	// Accept the ticket id before or after flags.
	var positional []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return usageError{err.Error()}
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	if *key == "" {
		return usageError{"tickets: no API key: pass --key or set TICKETSYNC_API_KEY"}
	}
	c := &apiClient{base: *apiURL, key: *key, http: &http.Client{Timeout: 30 * time.Second}}
	needID := func() (string, error) {
		if len(positional) != 1 {
			return "", usageError{fmt.Sprintf("tickets %s: expected exactly one ticket id", verb)}
		}
		return url.PathEscape(positional[0]), nil
	}
	switch verb {
	case "create":
		var body any
		if *file != "" {
			var data []byte
			var err error
			if *file == "-" {
				data, err = io.ReadAll(os.Stdin)
			} else {
				data, err = os.ReadFile(*file)
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", *file, err)
			}
			var raw json.RawMessage
			if err := json.Unmarshal(data, &raw); err != nil {
				return fmt.Errorf("%s is not valid JSON: %w", *file, err)
			}
			body = raw
		} else {
			m := map[string]any{"connection": *connection, "externalId": *externalID, "requestType": *reqType,
				"title": *title, "description": *description, "requester": map[string]any{"name": *requesterName}}
			if *requesterEmail != "" {
				m["requester"].(map[string]any)["email"] = *requesterEmail
			}
			if *address != "" {
				m["location"] = map[string]any{"address": *address}
			}
			body = m
		}
		return c.do(ctx, http.MethodPost, "/v1/tickets", body, stdout)
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"connection": *connection, "status": *status, "needsAttention": *needsAttention, "limit": *limit, "cursor": *cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		path := "/v1/tickets"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return c.do(ctx, http.MethodGet, path, nil, stdout)
	case "show", "events":
		id, err := needID()
		if err != nil {
			return err
		}
		path := "/v1/tickets/" + id
		if verb == "events" {
			path += "/events"
		}
		return c.do(ctx, http.MethodGet, path, nil, stdout)
	case "cancel", "hold":
		id, err := needID()
		if err != nil {
			return err
		}
		return c.do(ctx, http.MethodPost, "/v1/tickets/"+id+"/"+verb, map[string]string{"reason": *reason}, stdout)
	case "comment":
		id, err := needID()
		if err != nil {
			return err
		}
		if strings.TrimSpace(*text) == "" {
			return usageError{"tickets comment: --text is required"}
		}
		return c.do(ctx, http.MethodPost, "/v1/tickets/"+id+"/comments", map[string]string{"text": *text, "author": *author}, stdout)
	case "resume", "retry", "skip":
		id, err := needID()
		if err != nil {
			return err
		}
		return c.do(ctx, http.MethodPost, "/v1/tickets/"+id+"/"+verb, nil, stdout)
	default:
		fmt.Fprint(stderr, ticketsUsage)
		return usageError{fmt.Sprintf("tickets: unknown verb %q", verb)}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runConnections(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		return usageError{"usage: ticketsync connections validate [-f FILE] (default: $TICKETSYNC_CONNECTIONS_FILE)"}
	}
	fs := flag.NewFlagSet("connections validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("f", os.Getenv("TICKETSYNC_CONNECTIONS_FILE"), "connections file")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() == 1 && *path == os.Getenv("TICKETSYNC_CONNECTIONS_FILE") {
		*path = fs.Arg(0)
	}
	if *path == "" {
		return usageError{"connections validate: no file: pass -f FILE or set TICKETSYNC_CONNECTIONS_FILE"}
	}
	f, err := config.LoadFile(*path, os.LookupEnv)
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		return fmt.Errorf("%s is invalid:\n%w", *path, err)
	}
	fmt.Fprintf(stdout, "%s: OK (%d tenants, %d connections)\n", *path, len(f.Tenants), len(f.Connections))
	return nil
}
