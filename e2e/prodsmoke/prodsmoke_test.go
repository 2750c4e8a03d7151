//go:build prodsmoke

package prodsmoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/internal/pgtest"
)

const (
	connection = "sunrise-twh"
	namespace  = "default"
)

// TestProdSmoke: see the package doc. TICKETSYNC_PRODSMOKE_TICKETS sets the ticket count
// (default 20).
func TestProdSmoke(t *testing.T) {
	began := time.Now()
	phase := func(what string) { t.Logf("%7.1fs  %s", time.Since(began).Seconds(), what) }
	tickets := 20
	if v, err := strconv.Atoi(os.Getenv("TICKETSYNC_PRODSMOKE_TICKETS")); err == nil && v > 0 {
		tickets = v
	}
	root := repoRoot(t)
	bins := buildBinaries(t)
	phase("binaries ready")
	db := newPG(t)
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// Temporal's databases and schema, by the compose stack's own script.
	st.run("temporal-schema", "sh", []string{"PATH=" + bins.dir + ":" + os.Getenv("PATH"),
		"SQL_PLUGIN=postgres12", "SQL_HOST=" + db.host, "SQL_PORT=" + db.port, "SQL_USER=" + db.user,
		"SQL_PASSWORD=" + db.password, "SCHEMA_DIR=" + schemaDir(t),
		"TEMPORAL_DB=" + db.temporalDB, "TEMPORAL_VISIBILITY_DB=" + db.visDB},
		5*time.Minute, filepath.Join(root, "deploy", "temporal-schema.sh"))
	phase("temporal-schema.sh: databases created and migrated")

	env, frontend := temporalEnv(t, db, filepath.Join(root, "deploy", "temporal-dynamicconfig.yaml"))
	server := st.start("temporal", bins.server, env, "--allow-no-auth", "start")
	tc := setupNamespace(ctx, t, st, server, frontend, filepath.Join(root, "deploy", "temporal-setup.sh"))
	defer tc.Close()
	phase("Temporal on PostgreSQL: namespace and search attributes ready at " + frontend)

	// The vendors, as a separate process; ticketsync's API address is fixed now for the webhook.
	apiAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	secrets := map[string]string{"SMOKE_API_KEY": "key_smoke_" + pgtest.RandomSuffix(t) + pgtest.RandomSuffix(t),
		"SMOKE_PORTAL_SECRET":     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7HUpsvXnNm4=",
		"SMOKE_TWH_CLIENT_SECRET": "cs_" + pgtest.RandomSuffix(t), "SMOKE_TWH_WEBHOOK_SECRET": "wh_" + pgtest.RandomSuffix(t)}
	sims := st.start("simserver", bins.simserver, []string{"SIM_PORTAL_SECRET=" + secrets["SMOKE_PORTAL_SECRET"],
		"SIM_TWH_CLIENT_SECRET=" + secrets["SMOKE_TWH_CLIENT_SECRET"], "SIM_TWH_WEBHOOK_SECRET=" + secrets["SMOKE_TWH_WEBHOOK_SECRET"]},
		"-twh-client-id", "twh-client", "-twh-tenant", "sunrise",
		"-twh-webhook-url", "http://"+apiAddr+"/v1/hooks/theworxhub/"+connection)
	twhURL := waitLine(t, sims, regexp.MustCompile(`^theworxhub (http://\S+)$`), 30*time.Second)
	portalURL := waitLine(t, sims, regexp.MustCompile(`^portal (http://\S+)$`), 30*time.Second)

	connFile := filepath.Join(t.TempDir(), "connections.yaml")
	writeConnections(t, connFile, twhURL, portalURL)
	tsEnv := []string{"TICKETSYNC_DATABASE_URL=" + db.ticketsyncURL(), "TICKETSYNC_TEMPORAL_ADDRESS=" + frontend,
		"TICKETSYNC_TEMPORAL_NAMESPACE=" + namespace, "TICKETSYNC_CONNECTIONS_FILE=" + connFile,
		"TICKETSYNC_FEED_INTERVAL=1s", "TICKETSYNC_LOG_FORMAT=json", "TICKETSYNC_LOG_LEVEL=info",
		"TICKETSYNC_CODEC_KEYS=" + codecKey(t)} // production refuses to start without one
	for k, v := range secrets {
		tsEnv = append(tsEnv, k+"="+v)
	}
	st.run("ticketsync-migrate", bins.ticketsync, []string{"TICKETSYNC_DATABASE_URL=" + db.ticketsyncURL(),
		"TICKETSYNC_LOG_FORMAT=json"}, 2*time.Minute, "migrate")
	phase("ticketsync migrate")

	metricsAddr := map[*proc]string{}
	startWorker := func(name string) *proc {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		p := st.start(name, bins.ticketsync, append(append([]string{}, tsEnv...), "TICKETSYNC_WORKER_METRICS_ADDR="+addr), "worker")
		metricsAddr[p] = addr
		return p
	}
	w1 := startWorker("ticketsync-worker-1")
	w2 := startWorker("ticketsync-worker-2")
	api := st.start("ticketsync-api", bins.ticketsync, append(append([]string{}, tsEnv...), "TICKETSYNC_HTTP_ADDR="+apiAddr), "api")
	apiURL := "http://" + apiAddr
	waitHTTP(ctx, t, apiURL+"/readyz", 90*time.Second)
	st.checkAlive(w1, w2, api)
	phase("two workers and the API up")

	// Tickets end to end; the first worker is SIGKILLed halfway through the creations.
	d := &driver{api: apiURL, twh: twhURL, portal: portalURL, key: secrets["SMOKE_API_KEY"]}
	results := make([]result, tickets)
	var killed *proc
	var wg sync.WaitGroup
	runStart := time.Now()
	for i := range tickets {
		if i == tickets/2 {
			killed = busier(t, w1, w2)
			killed.kill(syscall.SIGKILL)
			phase(fmt.Sprintf("SIGKILLed %s (the busier worker) after %d tickets", killed.name, i))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.ticket(ctx, fmt.Sprintf("smoke-%03d", i))
		}()
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	phase(fmt.Sprintf("%d tickets driven in %v", tickets, time.Since(runStart).Round(time.Millisecond)))
	survivor := w1
	if killed == w1 {
		survivor = w2
	}
	st.checkAlive(survivor, api, server, sims)

	var took []time.Duration
	for i, r := range results {
		if r.err != nil {
			t.Errorf("ticket %d (%s): %v", i, r.id, r.err)
		}
		took = append(took, r.took)
	}
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(took)
	t.Logf("created → closed at the portal: median %v, slowest %v", took[len(took)/2].Round(time.Millisecond),
		took[len(took)-1].Round(time.Millisecond))

	// Exactly one remote request per ticket, whatever the kill interrupted.
	var reqs []workRequest
	if err := getJSON(ctx, twhURL+"/_sim/workrequests", "", &reqs); err != nil {
		t.Fatal(err)
	}
	perRef := map[string]int{}
	for _, r := range reqs {
		perRef[r.ExternalReference]++
	}
	for i := range tickets {
		ref := fmt.Sprintf("ticketsync:%s:smoke-%03d", connection, i)
		if perRef[ref] != 1 {
			t.Errorf("%s: %d remote requests, want exactly 1", ref, perRef[ref])
		}
	}
	if len(reqs) != tickets {
		t.Errorf("%d remote requests for %d tickets", len(reqs), tickets)
	}

	// Every event once: unique ids; no change announced twice under two ids; in order.
	var snap portalSnapshot
	if err := getJSON(ctx, portalURL+"/_sim/events", "", &snap); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	changes := map[string]bool{}
	for _, e := range snap.Events {
		if ids[e.ID] {
			t.Errorf("event id %s accepted twice", e.ID)
		}
		ids[e.ID] = true
		change := fmt.Sprintf("%s %s %v→%v", e.Body.Ticket.ID, e.Type, deref(e.Body.Ticket.PreviousStatus), deref(e.Body.Ticket.Status))
		if changes[change] {
			t.Errorf("the same change sent under two event ids: %s", change)
		}
		changes[change] = true
	}
	for _, v := range snap.Violations {
		t.Errorf("ordering violation at the portal: %+v", v)
	}
	redelivered := 0
	for _, n := range snap.Duplicates {
		redelivered += n
	}
	t.Logf("portal: %d events accepted, %d redeliveries of an already-accepted id (at-least-once; receivers dedupe)",
		len(snap.Events), redelivered)

	// The read model agrees.
	for _, r := range results {
		var v map[string]any
		if err := getJSON(ctx, apiURL+"/v1/tickets/"+r.id, d.key, &v); err != nil || v["status"] != "Done" {
			t.Errorf("GET /v1/tickets/%s: status %v, %v", r.id, v["status"], err)
		}
	}
	code, body := httpDo(ctx, "GET", apiURL+"/metrics", "", nil)
	if code != 200 || !strings.Contains(string(body), "ticketsync_http_requests_total") {
		t.Errorf("API /metrics: %d", code)
	}
	// The surviving worker serves its metrics, the Temporal SDK's among them.
	code, body = httpDo(ctx, "GET", "http://"+metricsAddr[survivor]+"/metrics", "", nil)
	if code != 200 || !strings.Contains(string(body), "temporal_activity_execution_latency_seconds_bucket") {
		t.Errorf("%s: GET /metrics on TICKETSYNC_WORKER_METRICS_ADDR=%s: %d %.200s", survivor.name, metricsAddr[survivor], code, body)
	}
	phase("checked: converged, one remote request each, no duplicate events")
}

// busier picks the worker that has handled more ticket tasks so far (its SDK log lines name
// the workflow), waiting up to 20 s for either to have some: killing an idle one proves little.
func busier(t *testing.T, a, b *proc) *proc {
	t.Helper()
	count := func(p *proc) int {
		data, _ := os.ReadFile(p.log)
		return strings.Count(string(data), `"WorkflowID":"ticket/`)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ca, cb := count(a), count(b); ca+cb > 0 {
			t.Logf("ticket task log lines so far: %s %d, %s %d", a.name, ca, b.name, cb)
			if cb > ca {
				return b
			}
			return a
		}
	}
	t.Logf("neither worker has logged a ticket task yet; killing %s", a.name)
	return a
}

func schemaDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server").Output()
	if err != nil {
		t.Fatalf("locate the Temporal server module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "schema", "postgresql", "v12")
}

// setupNamespace does what deploy/temporal-setup.sh does with the temporal CLI: wait for the
// cluster, create the namespace, register the search attributes listed in that script.
func setupNamespace(ctx context.Context, t *testing.T, st *stack, server *proc, frontend, setupScript string) client.Client {
	t.Helper()
	var c client.Client
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		c, err = client.DialContext(ctx, client.Options{HostPort: frontend, Namespace: namespace})
		if err == nil {
			if _, err = c.CheckHealth(ctx, nil); err == nil {
				break
			}
			c.Close()
		}
		st.checkAlive(server)
		if time.Now().After(deadline) {
			t.Fatalf("Temporal never became healthy at %s: %v", frontend, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	if _, exists := err.(*serviceerror.NamespaceAlreadyExists); err != nil && !exists {
		t.Fatalf("register namespace: %v", err)
	}
	sas := searchAttributesOf(t, setupScript)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: namespace, SearchAttributes: sas})
		if _, exists := err.(*serviceerror.AlreadyExists); err == nil || exists {
			break
		}
		if time.Now().After(deadline) { // the namespace registry takes a moment to see a new one
			t.Fatalf("register search attributes: %v", err)
		}
	}
	// As the script's last step: wait until a query on them works (the frontend caches them).
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		_, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace,
			Query: `TicketNeedsAttention = true AND TicketStatus = "OnHold"`, PageSize: 1})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the search attributes never became queryable: %v", err)
		}
	}
	return c
}

// searchAttributesOf reads the NAME=Type lines of SEARCH_ATTRIBUTES in temporal-setup.sh.
func searchAttributesOf(t *testing.T, script string) map[string]enumspb.IndexedValueType {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)SEARCH_ATTRIBUTES="\n(.*?)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no SEARCH_ATTRIBUTES block", script)
	}
	out := map[string]enumspb.IndexedValueType{}
	for _, line := range strings.Fields(string(m[1])) {
		name, typ, _ := strings.Cut(line, "=")
		v, ok := enumspb.IndexedValueType_value["INDEXED_VALUE_TYPE_"+strings.ToUpper(typ)]
		if !ok {
			t.Fatalf("%s: unknown type %q", script, typ)
		}
		out[name] = enumspb.IndexedValueType(v)
	}
	return out
}

func writeConnections(t *testing.T, path, twhURL, portalURL string) {
	t.Helper()
	yaml := fmt.Sprintf(`tenants:
  - id: sunrise
    name: Sunrise Living
    apiKeys: ["${SMOKE_API_KEY}"]
connections:
  - id: %s
    tenant: sunrise
    requestSystem:
      kind: portal
      url: %s/hooks/%s
      secret: "${SMOKE_PORTAL_SECRET}"
    workSystem:
      kind: theworxhub
      baseUrl: %s
      clientId: twh-client
      clientSecret: "${SMOKE_TWH_CLIENT_SECRET}"
      webhookSecret: "${SMOKE_TWH_WEBHOOK_SECRET}"
    mapping: theworxhub-v1
    pollInterval: 1m
`, connection, portalURL, connection, twhURL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// driver plays a portal creating tickets and TheWorxHub staff working them.
type driver struct{ api, twh, portal, key string }

type result struct {
	id   string
	took time.Duration
	err  error
}

type workRequest struct {
	ID                string `json:"id"`
	ExternalReference string `json:"externalReference"`
	Status            string `json:"status"`
}

type portalEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Body struct {
		Ticket struct {
			ID             string  `json:"id"`
			Status         *string `json:"status"`
			PreviousStatus *string `json:"previousStatus"`
		} `json:"ticket"`
	} `json:"body"`
}

type portalSnapshot struct {
	Events     []portalEvent    `json:"events"`
	Duplicates map[string]int   `json:"duplicates"`
	Violations []map[string]any `json:"violations"`
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// ticket creates one ticket and drives it to Done: the request appears at TheWorxHub, staff
// categorise it (InProgress reaches the portal), then complete it (ticket.closed, Done).
func (d *driver) ticket(ctx context.Context, ext string) (r result) {
	began := time.Now()
	defer func() { r.took = time.Since(began) }()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	body := map[string]any{"connection": connection, "externalId": ext, "requestType": "Maintenance",
		"title": "Leaking sink " + ext, "description": "The bathroom sink drips.",
		"location":  map[string]any{"address": "Building A, apt 12"},
		"requester": map[string]any{"name": "Ada Resident", "email": "ada@example.org"}}
	// Like a portal: a 5xx or no answer is retried (creation is idempotent per externalId).
	var created map[string]any
	var code int
	var raw []byte
	if err := poll(ctx, "the ticket to be created", func() (bool, error) {
		code, raw = httpDo(ctx, "POST", d.api+"/v1/tickets", d.key, body)
		switch {
		case code == http.StatusCreated || code == http.StatusOK:
			return true, nil
		case code == 0 || code >= 500:
			return false, fmt.Errorf("create: %d %s", code, raw)
		}
		return false, errPermanent{fmt.Errorf("create: %d %s", code, raw)}
	}); err != nil {
		return result{err: err}
	}
	if err := json.Unmarshal(raw, &created); err != nil {
		return result{err: err}
	}
	r.id, _ = created["id"].(string)
	ref := "ticketsync:" + connection + ":" + ext

	var remote workRequest
	if r.err = poll(ctx, "the remote request", func() (bool, error) {
		var reqs []workRequest
		if err := getJSON(ctx, d.twh+"/_sim/workrequests", "", &reqs); err != nil {
			return false, err
		}
		for _, w := range reqs {
			if w.ExternalReference == ref {
				remote = w
				return true, nil
			}
		}
		return false, nil
	}); r.err != nil {
		return r
	}
	if code, raw := httpDo(ctx, "POST", d.twh+"/_sim/workrequests/"+remote.ID+"/category", "", map[string]any{"category": "Plumbing"}); code != 200 {
		r.err = fmt.Errorf("staff categorise %s: %d %s", remote.ID, code, raw)
		return r
	}
	if r.err = d.waitEvent(ctx, r.id, "ticket.status_changed", "InProgress"); r.err != nil {
		return r
	}
	if code, raw := httpDo(ctx, "POST", d.twh+"/_sim/workrequests/"+remote.ID+"/status", "", map[string]any{"status": "Completed",
		"feedback": map[string]any{"text": "Replaced the washer.", "author": "Sam Staff", "visibleToRequestor": true}}); code != 200 {
		r.err = fmt.Errorf("staff complete %s: %d %s", remote.ID, code, raw)
		return r
	}
	r.err = d.waitEvent(ctx, r.id, "ticket.closed", "Done")
	return r
}

func (d *driver) waitEvent(ctx context.Context, ticketID, typ, status string) error {
	return poll(ctx, typ+" "+status+" at the portal", func() (bool, error) {
		var snap portalSnapshot
		if err := getJSON(ctx, d.portal+"/_sim/events?ticket="+ticketID, "", &snap); err != nil {
			return false, err
		}
		for _, e := range snap.Events {
			if e.Type == typ && deref(e.Body.Ticket.Status) == status {
				return true, nil
			}
		}
		return false, nil
	})
}

// errPermanent stops a poll at once.
type errPermanent struct{ error }

// poll calls cond every 200 ms until it holds or ctx ends; transient HTTP errors are retried.
func poll(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if p, isPermanent := err.(errPermanent); isPermanent {
			return p.error
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func httpDo(ctx context.Context, method, url, key string, body any) (int, []byte) {
	var rdr io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rdr)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b
}

func getJSON(ctx context.Context, url, key string, v any) error {
	code, b := httpDo(ctx, "GET", url, key, nil)
	if code != 200 {
		return fmt.Errorf("GET %s: %d %.200s", url, code, b)
	}
	return json.Unmarshal(b, v)
}

// codecKey is a fresh TICKETSYNC_CODEC_KEYS entry for the run's worker and API processes.
func codecKey(t *testing.T) string {
	t.Helper()
	k, err := codec.GenerateKey("smoke1")
	if err != nil {
		t.Fatal(err)
	}
	return k
}
