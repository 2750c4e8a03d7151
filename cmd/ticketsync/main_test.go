package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/store"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConnectionsValidateListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(`tenants:
  - id: sunrise
    name: Sunrise
    apiKeys: ["${TS_TEST_KEY}"]
connections:
  - id: sunrise-twh
    tenant: sunrise
    requestSystem: {kind: portal, url: https://portal.example/hooks, secret: "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="}
    workSystem: {kind: theworxhub, baseUrl: https://sunrise.theworxhub.example, clientId: a, clientSecret: b, webhookSecret: c}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_KEY", "key-0123456789abcdef")
	code, out, errOut := runCLI("connections", "validate", "-f", good)
	if code != 0 || !strings.Contains(out, "OK (1 tenants, 1 connections)") {
		t.Fatalf("good file: %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`tenants:
  - id: Sunrise!
connections:
  - id: c1
    tenant: nobody
    requestSystem: {kind: portal, url: http://portal.example/hooks, secret: "not-a-secret"}
    workSystem: {kind: theworxhub, baseUrl: https://x.example, clientId: "${TS_TEST_UNSET}"}
    colour: blue
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI("connections", "validate", "-f", bad)
	if code != 1 {
		t.Fatalf("bad file exit %d: %s", code, errOut)
	}
	for _, want := range []string{"colour", "tenants[0].id", "connections[0].tenant", "requestSystem.url", "requestSystem.secret", "TS_TEST_UNSET", "clientSecret"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validation output lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, _ := runCLI("connections", "validate", "-f", filepath.Join(dir, "missing.yaml")); code != 1 {
		t.Fatalf("missing file exit %d", code)
	}
	if code, _, _ := runCLI("connections"); code != 2 {
		t.Fatalf("usage exit %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"tickets"}, {"tickets", "list"}, {"dev", "--demo", "-1"}, {"dev", "--poll-interval", "10ms"}} {
		t.Setenv("TICKETSYNC_API_KEY", "")
		if code, _, errOut := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
	if code, out, _ := runCLI("version"); code != 0 || !strings.Contains(out, "ticketsync") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestWorkerRefusesInvalidEnvironmentListingEveryProblem(t *testing.T) {
	t.Setenv("TICKETSYNC_POLL_INTERVAL", "soon")
	t.Setenv("TICKETSYNC_DATABASE_URL", "mysql://x")
	t.Setenv("TICKETSYNC_WORKFLOW_POLLERS", "0")
	code, _, errOut := runCLI("worker")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"TICKETSYNC_POLL_INTERVAL", "TICKETSYNC_DATABASE_URL", "TICKETSYNC_WORKFLOW_POLLERS"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %s:\n%s", want, errOut)
		}
	}
}

// The tickets verbs against a running dev stack.
func TestTicketsVerbsAgainstTheAPI(t *testing.T) {
	ctx := context.Background()
	s, err := devstack.Start(ctx, devstack.Options{Ephemeral: true, HTTPAddr: "127.0.0.1:0", TemporalPort: -1,
		UIPort: -1, NoUI: true, TWHSimPort: -1, PortalSimPort: -1, CityworksSimPort: -1, ArcGISSimPort: -1,
		SCFSimPort: -1, CyprexxSimPort: -1, PruvanSimPort: -1, CubuSimPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	t.Setenv("TICKETSYNC_API_URL", s.APIURL)
	t.Setenv("TICKETSYNC_API_KEY", s.APIKey)
	code, out, errOut := runCLI("tickets", "create", "--connection", devstack.DemoConnection, "--external-id", "cli-1",
		"--type", "Maintenance", "--title", "Door squeaks", "--description", "Front door.", "--address", "apt 3", "--requester-name", "Bo")
	if code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create output is not JSON: %v\n%s", err, out)
	}
	id := created["id"].(string)
	for _, args := range [][]string{{"list"}, {"list", "--status", "Submitted"}, {"show", id}, {"events", id},
		{"comment", id, "--text", "hello"}, {"hold", id, "--reason", "r"}, {"resume", id}, {"retry", id}} {
		code, out, errOut := runCLI(append([]string{"tickets"}, args...)...)
		// hold is a signal: resume answers 409 until the workflow has actually paused.
		for deadline := time.Now().Add(10 * time.Second); code != 0 && args[0] == "resume" && strings.Contains(errOut, "not paused") && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			code, out, errOut = runCLI(append([]string{"tickets"}, args...)...)
		}
		if code != 0 {
			t.Fatalf("tickets %v: %d %s %s", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI("tickets", "show", "tkt_nope"); code != 1 || !strings.HasPrefix(errOut, "error: Not Found: ") {
		t.Fatalf("unknown ticket: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("tickets", "create", "--connection", devstack.DemoConnection); code != 1 ||
		!strings.HasPrefix(errOut, "error: Unprocessable Entity: ") || !strings.Contains(errOut, "  title: is required") {
		t.Fatalf("invalid create: %d %s", code, errOut)
	}
	if code, out, errOut := runCLI("tickets", "cancel", id, "--reason", "done"); code != 0 {
		t.Fatalf("cancel: %d %s %s", code, out, errOut)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDevBinaryRestartResumes runs the real binary: `dev` on a data dir, a ticket, then a
// clean stop (SIGTERM) or a crash (SIGKILL), `dev` again on the same dir in a new process, and
// the ticket finishes with one remote request and no duplicate event.
func TestDevBinaryRestartResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ticketsync")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { devRestart(t, bin, sig) })
	}
}

func devRestart(t *testing.T, bin string, first syscall.Signal) {
	dataDir := t.TempDir()
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	twhPort := fmt.Sprint(freePort(t))
	args := []string{"dev", "--data-dir", dataDir, "--http-addr", api, "--temporal-port", fmt.Sprint(freePort(t)),
		"--ui-port", fmt.Sprint(freePort(t)), "--twh-sim-port", twhPort, "--portal-sim-port", fmt.Sprint(freePort(t))}
	for _, flag := range []string{"--cityworks-sim-port", "--arcgis-sim-port", "--scf-sim-port", "--cyprexx-sim-port", "--pruvan-sim-port", "--cubu-sim-port"} {
		args = append(args, flag, fmt.Sprint(freePort(t)))
	}
	keyRE := regexp.MustCompile(`tsk_demo_[0-9a-f]+`)
	readyRE := regexp.MustCompile(`ready in ([0-9.]+m?s)`)

	startDev := func() (*exec.Cmd, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = t.TempDir()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		key := ""
		deadline := time.Now().Add(60 * time.Second)
		for sc.Scan() && time.Now().Before(deadline) {
			line := sc.Text()
			if m := readyRE.FindStringSubmatch(line); m != nil {
				t.Logf("dev binary: ready in %s", m[1])
			}
			if k := keyRE.FindString(line); k != "" && key == "" {
				key = k
			}
			if strings.Contains(line, "Press Ctrl-C") {
				break
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		if key == "" {
			_ = cmd.Process.Kill()
			t.Fatal("dev never printed its API key")
		}
		return cmd, key
	}
	call := func(method, path, key string, body any) (int, map[string]any) {
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, "http://"+api+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	stopWith := func(cmd *exec.Cmd, sig syscall.Signal) {
		t.Helper()
		_ = cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && sig == syscall.SIGTERM {
				t.Fatalf("dev did not exit cleanly on SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("dev did not stop within 30 s of SIGTERM")
		}
	}
	stop := func(cmd *exec.Cmd) { stopWith(cmd, syscall.SIGTERM) }
	waitStatus := func(key, id, status string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, v := call("GET", "/v1/tickets/"+id, key, nil)
			if v["status"] == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("ticket never reached %s: %v", status, v)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	cmd, key := startDev()
	code, created := call("POST", "/v1/tickets", key, map[string]any{"connection": devstack.DemoConnection, "externalId": "sigterm-1",
		"requestType": "Maintenance", "title": "Leak", "description": "Drip.", "location": map[string]any{"address": "apt 4"},
		"requester": map[string]any{"name": "Ada"}})
	if code != 201 {
		stop(cmd)
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	waitStatus(key, id, "Requested")
	_, v := call("GET", "/v1/tickets/"+id, key, nil)
	remoteID := v["remoteId"]
	if first == syscall.SIGKILL {
		time.Sleep(1500 * time.Millisecond) // the simulator (not ticketsync) persists once a second
	}
	stopWith(cmd, first)

	cmd, key2 := startDev()
	defer stop(cmd)
	if key2 != key {
		t.Fatal("API key changed across restart")
	}
	// Staff accept and complete the request on the restarted simulator.
	simURL := "http://127.0.0.1:" + twhPort
	for _, step := range []struct{ path, body string }{
		{"/category", `{"category":"Plumbing"}`},
		{"/status", `{"status":"Completed","feedback":{"text":"Fixed","author":"J","visibleToRequestor":true}}`},
	} {
		resp, err := http.Post(simURL+"/_sim/workrequests/"+remoteID.(string)+step.path, "application/json", strings.NewReader(step.body))
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("staff %s: %v %v", step.path, err, resp)
		}
		resp.Body.Close()
	}
	waitStatus(key, id, "Done")
	resp, err := http.Get(simURL + "/_sim/workrequests")
	if err != nil {
		t.Fatal(err)
	}
	var reqs []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reqs)
	resp.Body.Close()
	if len(reqs) != 1 {
		t.Fatalf("%d remote requests after restart, want 1", len(reqs))
	}
	_, timeline := call("GET", "/v1/tickets/"+id+"/events", key, nil)
	seen := map[string]bool{}
	for _, it := range timeline["items"].([]any) {
		e := it.(map[string]any)
		if seen[e["id"].(string)] {
			t.Fatalf("duplicate event id %s", e["id"])
		}
		seen[e["id"].(string)] = true
	}
}

func TestTenantsKeysCreate(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ts.db")
	t.Setenv("TICKETSYNC_DATABASE_URL", db)
	if code, _, errOut := runCLI("tenants", "keys", "create", "--tenant", "ghost"); code != 1 || !strings.Contains(errOut, "not known") {
		t.Fatalf("unknown tenant: %d %s", code, errOut)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTenant(ctx, store.Tenant{ID: "sunrise", Name: "Sunrise"}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("tenants", "keys", "create", "--tenant", "sunrise")
	key := strings.TrimSpace(out)
	// At least 32 random bytes: "tsk_" + 43 characters of unpadded base64url.
	if code != 0 || !strings.HasPrefix(key, store.APIKeyPrefix) || len(key) < len(store.APIKeyPrefix)+43 {
		t.Fatalf("create: %d %q %s", code, out, errOut)
	}
	if tenant, err := st.TenantByAPIKey(ctx, key); err != nil || tenant != "sunrise" {
		t.Fatalf("the new key does not authenticate: %q %v", tenant, err)
	}
	id := store.APIKeyID(key)
	if !strings.Contains(errOut, id) || strings.Contains(errOut, key) {
		t.Fatalf("stderr names the key's id, never the key: %s", errOut)
	}
	if code, _, _ := runCLI("tenants", "keys"); code != 2 {
		t.Fatalf("usage: %d", code)
	}
	if code, _, errOut := runCLI("tenants", "keys", "create"); code != 2 || !strings.Contains(errOut, "--tenant is required") {
		t.Fatalf("no tenant: %d %s", code, errOut)
	}
}

func TestTenantsKeysListAndRevoke(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "ts.db")
	t.Setenv("TICKETSYNC_DATABASE_URL", db)
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTenant(ctx, store.Tenant{ID: "sunrise", Name: "Sunrise"}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for range 2 {
		_, out, _ := runCLI("tenants", "keys", "create", "--tenant", "sunrise")
		keys = append(keys, strings.TrimSpace(out))
	}
	code, out, errOut := runCLI("tenants", "keys", "list", "--tenant", "sunrise")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	columnsAligned(t, out, "ID", "SOURCE", "ENDS IN", "CREATED", "REVOKED")
	for _, k := range keys {
		if !strings.Contains(out, store.APIKeyID(k)) || strings.Contains(out, k) {
			t.Fatalf("list shows ids, never keys:\n%s", out)
		}
	}
	first := store.APIKeyID(keys[0])
	code, out, errOut = runCLI("tenants", "keys", "revoke", "--tenant", "sunrise", first)
	if code != 0 || !strings.Contains(out, "revoked "+first) {
		t.Fatalf("revoke: %d %s %s", code, out, errOut)
	}
	if _, err := st.TenantByAPIKey(ctx, keys[0]); err == nil {
		t.Fatal("a revoked key still authenticates")
	}
	if tenant, err := st.TenantByAPIKey(ctx, keys[1]); err != nil || tenant != "sunrise" {
		t.Fatalf("the other key stopped working: %v", err)
	}
	_, out, _ = runCLI("tenants", "keys", "list", "--tenant", "sunrise", "-o", "json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 || listed[0]["revokedAt"] == nil || listed[1]["revokedAt"] != nil {
		t.Fatalf("list -o json after revoke: %v\n%s", err, out)
	}
	// An unknown key is an error that does not echo what was typed (it may be a key).
	code, _, errOut = runCLI("tenants", "keys", "revoke", "--tenant", "sunrise", "tsk_not-a-key-of-ours")
	if code != 1 || !strings.Contains(errOut, "no key of tenant") || strings.Contains(errOut, "tsk_not-a-key") {
		t.Fatalf("unknown key: %d %s", code, errOut)
	}
	if code, _, _ := runCLI("tenants", "keys", "revoke", "--tenant", "sunrise"); code != 2 {
		t.Fatal("revoke without a key id")
	}
}
