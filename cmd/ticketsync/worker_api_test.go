package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// `ticketsync worker` and `ticketsync api` as separate commands against an existing Temporal
// (whose namespace lacks our search attributes), configured only through TICKETSYNC_* and a
// connections file — the production shape.
func TestWorkerAndAPICommandsAgainstExistingTemporal(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	twh := twhsim.New(twhsim.Options{Clients: map[string]string{"cli": "cli-secret"}, DisableRateLimit: true})
	defer twh.Close()
	twhSrv := httptest.NewServer(twh)
	defer twhSrv.Close()
	secretText := testkit.NewPortalSecret()
	secret, _ := stdwebhooks.ParseSecret(secretText)
	recv := portalsim.New(portalsim.Options{Secrets: []stdwebhooks.Secret{secret}})
	recvSrv := httptest.NewServer(recv)
	defer recvSrv.Close()

	dir := t.TempDir()
	conns := filepath.Join(dir, "connections.yaml")
	if err := os.WriteFile(conns, []byte(fmt.Sprintf(`tenants:
  - {id: sunrise, name: Sunrise, apiKeys: ["${SUNRISE_API_KEY}"]}
connections:
  - id: sunrise-twh
    tenant: sunrise
    requestSystem: {kind: portal, url: "%s/hooks", secret: "${PORTAL_SECRET}"}
    workSystem: {kind: theworxhub, baseUrl: "%s", clientId: cli, clientSecret: "${TWH_SECRET}", webhookSecret: "${TWH_HOOK_SECRET}"}
`, recvSrv.URL, twhSrv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	api := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for k, v := range map[string]string{
		"TICKETSYNC_DATABASE_URL":       "sqlite://" + filepath.Join(dir, "ts.db"),
		"TICKETSYNC_TEMPORAL_ADDRESS":   ts.GetFrontendHostPort(),
		"TICKETSYNC_TEMPORAL_NAMESPACE": ts.GetDefaultNamespace(),
		"TICKETSYNC_HTTP_ADDR":          api,
		"TICKETSYNC_CONNECTIONS_FILE":   conns,
		"TICKETSYNC_LOG_LEVEL":          "warn",
		"TICKETSYNC_CODEC_KEYS":         "t1:dGlja2V0c3luYy13b3JrZXItYXBpLXRlc3Qta2V5ISE=", // 32 bytes: required in production
		"SUNRISE_API_KEY":               "sunrise-key-0123456789",
		"PORTAL_SECRET":                 secretText,
		"TWH_SECRET":                    "cli-secret",
		"TWH_HOOK_SECRET":               "twh-hook-secret-0123456789abcdef",
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	codes := map[string]int{}
	var mu sync.Mutex
	for _, cmd := range []string{"worker", "api"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			code := runCtx(ctx, []string{cmd}, &out, &errb)
			mu.Lock()
			codes[cmd] = code
			mu.Unlock()
			if code != 0 {
				t.Errorf("%s exited %d: %s", cmd, code, errb.String())
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	testkit.WaitFor(t, 30*time.Second, "the API", func() bool {
		resp, err := http.Get("http://" + api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	req, _ := http.NewRequest("POST", "http://"+api+"/v1/tickets", strings.NewReader(`{"connection":"sunrise-twh","externalId":"prod-1","requestType":"Housekeeping","title":"Towels","description":"Two more.","location":{"address":"apt 9"},"requester":{"name":"Ada"}}`))
	req.Header.Set("Authorization", "Bearer sunrise-key-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := recv.WaitFor(ctx2, func(evs []portalsim.Received) bool {
		return len(evs) > 0 && evs[0].Event.Ticket.Status == "Requested"
	}); err != nil {
		t.Fatalf("no Requested event: %v", err)
	}
	if n := len(twh.Requests()); n != 1 {
		t.Fatalf("%d remote requests", n)
	}
}
