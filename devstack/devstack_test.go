package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/ticket"
	portalsim "github.com/ticketsync/ticketsync/vendorapi/portal/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

func freeOptions(t *testing.T) Options {
	o := Options{Ephemeral: true, HTTPAddr: "127.0.0.1:0", TemporalPort: -1, UIPort: -1, FeedInterval: 200 * time.Millisecond}
	for _, sim := range simulators {
		*sim.port(&o) = -1
	}
	if os.Getenv("TICKETSYNC_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return o
}

func start(t *testing.T, o Options) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	t.Logf("dev stack ready in %s", s.Started.Round(time.Millisecond))
	return s
}

func post(t *testing.T, s *Stack, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	return call(t, s, http.MethodPost, path, bytes.NewReader(b))
}

// getTicket is the API's view of a ticket.
func getTicket(t *testing.T, s *Stack, id string) map[string]any {
	t.Helper()
	_, out := call(t, s, http.MethodGet, "/v1/tickets/"+id, nil)
	return out
}

// call sends one request with the demo tenant's key and decodes the JSON answer.
func call(t *testing.T, s *Stack, method, path string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.APIURL+path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, within, what, cond)
}

func remoteFor(s *Stack, ext string) (twhsim.WorkRequest, bool) {
	for _, wr := range s.TWH.Requests() {
		if wr.ExternalReference == "ticketsync:"+DemoConnection+":"+ext {
			return wr, true
		}
	}
	return twhsim.WorkRequest{}, false
}

func hasEvent(evs []portalsim.Received, typ, status string) bool {
	for _, e := range evs {
		if e.Event.Type == typ && e.Event.Ticket.Status == status {
			return true
		}
	}
	return false
}

func demoTicket(ext string) map[string]any {
	return map[string]any{"connection": DemoConnection, "externalId": ext, "requestType": "Maintenance",
		"title": "Leaking sink", "description": "Drips.", "location": map[string]any{"address": "apt 1"},
		"requester": map[string]any{"name": "Ada"}}
}

func TestDevStackEndToEnd(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	if s.Started > 10*time.Second {
		t.Errorf("startup took %s; target is under 5 s", s.Started)
	}
	if !strings.Contains(s.Banner(), s.APIKey) || !strings.Contains(s.Banner(), "curl") {
		t.Fatalf("banner lacks the API key or the curl line:\n%s", s.Banner())
	}
	code, created := post(t, s, "/v1/tickets", demoTicket("dev-1"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	var wr twhsim.WorkRequest
	waitUntil(t, 10*time.Second, "the request in the simulator", func() bool { var ok bool; wr, ok = remoteFor(s, "dev-1"); return ok })
	if _, err := s.TWH.SetCategory(wr.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "InProgress at the portal", func() bool { return hasEvent(s.Portal.EventsFor(id), "ticket.status_changed", "InProgress") })

	// Temporal Web answers with its HTML and lists the ticket workflow through its API.
	ui := s.Temporal.UIURL()
	resp, err := http.Get(ui + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(page)), "<html") {
		t.Fatalf("Temporal Web /: %d %.200s", resp.StatusCode, page)
	}
	wfID := ticket.WorkflowID(DemoConnection, "dev-1")
	waitUntil(t, 10*time.Second, "the workflow in Temporal Web's API", func() bool {
		resp, err := http.Get(ui + "/api/v1/namespaces/default/workflows?query=" + url.QueryEscape("WorkflowType='Ticket'"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), wfID)
	})
	// Search by the custom search attribute.
	waitUntil(t, 10*time.Second, "search by TicketStatus", func() bool {
		r, err := s.App.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: "TicketStatus = 'InProgress' AND TicketConnection = '" + DemoConnection + "'"})
		return err == nil && len(r.GetExecutions()) == 1 && r.GetExecutions()[0].GetExecution().GetWorkflowId() == wfID
	})
}

func TestDevStackRestartResumesTickets(t *testing.T) {
	dir := t.TempDir()
	o := freeOptions(t)
	o.Ephemeral = false
	o.DataDir = dir
	s1 := start(t, o)
	key := s1.APIKey
	code, created := post(t, s1, "/v1/tickets", demoTicket("restart-1"))
	if code != http.StatusCreated {
		s1.Stop()
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	waitUntil(t, 10*time.Second, "Requested at the portal", func() bool { return hasEvent(s1.Portal.EventsFor(id), "ticket.status_changed", "Requested") })
	firstRun := s1.Portal.EventsFor(id)
	if err := s1.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s2 := start(t, o)
	defer s2.Stop()
	if s2.APIKey != key {
		t.Fatal("the demo API key must survive a restart on the same data dir")
	}
	wr, ok := remoteFor(s2, "restart-1")
	if !ok {
		t.Fatal("the simulator lost the request across the restart")
	}
	if _, err := s2.TWH.SetCategory(wr.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "InProgress after restart", func() bool { return hasEvent(s2.Portal.EventsFor(id), "ticket.status_changed", "InProgress") })
	if _, err := s2.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Done!", Author: "J", VisibleToRequestor: true}, false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "closed after restart", func() bool { return hasEvent(s2.Portal.EventsFor(id), "ticket.closed", "Done") })

	// Exactly one remote request; every distinct event id is one distinct event.
	n := 0
	for _, r := range s2.TWH.Requests() {
		if r.ExternalReference == wr.ExternalReference {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d remote requests for one ticket", n)
	}
	byID := map[string]string{}
	kinds := map[string]string{}
	for _, e := range append(firstRun, s2.Portal.EventsFor(id)...) {
		k := e.Event.Type + ":" + e.Event.Ticket.Status
		if e.Event.Feedback != nil {
			k += ":" + e.Event.Feedback.ID
		}
		if prev, ok := byID[e.ID]; ok && prev != k {
			t.Fatalf("event id %s names two different events: %s and %s", e.ID, prev, k)
		}
		byID[e.ID] = k
		if other, ok := kinds[k]; ok && other != e.ID {
			t.Fatalf("event %s was minted twice: ids %s and %s", k, other, e.ID)
		}
		kinds[k] = e.ID
	}
	if len(kinds) != 5 { // Requested, InProgress, feedback, Done, closed
		t.Fatalf("distinct events %v", kinds)
	}
}

func TestDevStackPortClashNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := freeOptions(t)
	o.HTTPAddr = ln.Addr().String()
	began := time.Now()
	_, err = Start(context.Background(), o)
	var pe *PortError
	if !errors.As(err, &pe) || pe.Flag != "--http-addr" || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("want a PortError naming --http-addr, got %v", err)
	}
	if time.Since(began) > 2*time.Second {
		t.Fatalf("a port clash must fail at once, took %s", time.Since(began))
	}
	port := ln.Addr().(*net.TCPAddr).Port
	o = freeOptions(t)
	o.TemporalPort = port
	if _, err := Start(context.Background(), o); !errors.As(err, &pe) || !strings.Contains(pe.Flag, "--temporal-port") {
		t.Fatalf("want a PortError naming --temporal-port, got %v", err)
	}
	o = freeOptions(t)
	o.UIPort = port
	if _, err := Start(context.Background(), o); !errors.As(err, &pe) || !strings.Contains(pe.Flag, "--ui-port") {
		t.Fatalf("want a PortError naming --ui-port, got %v", err)
	}
}

func TestDemoPlaysScripts(t *testing.T) {
	s := start(t, freeOptions(t))
	defer s.Stop()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.RunDemo(ctx, DemoOptions{Count: len(demoScripts), Step: 100 * time.Millisecond, Out: &out}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	// Every scripted ticket reaches its end at the portal.
	waitUntil(t, 20*time.Second, "every demo ticket closed", func() bool {
		closed := 0
		for _, e := range s.Portal.Events() {
			if e.Event.Type == "ticket.closed" {
				closed++
			}
		}
		return closed == len(demoScripts)
	})
	if !strings.Contains(out.String(), "created") {
		t.Fatalf("demo printed no progress: %s", out.String())
	}
}

// --connections replaces the demo; connections pointing at the simulators can use them.
func TestDevStackWithOwnConnectionsFile(t *testing.T) {
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	twhPort, portalPort := port(), port()
	secret := "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="
	file := filepath.Join(t.TempDir(), "connections.yaml")
	yaml := fmt.Sprintf(`tenants:
  - id: acme
    name: Acme Living
    apiKeys: ["${ACME_KEY}"]
connections:
  - id: acme-twh
    tenant: acme
    requestSystem: {kind: portal, url: "http://localhost:%d/acme", secret: "%s"}
    workSystem: {kind: theworxhub, baseUrl: "http://127.0.0.1:%d", clientId: acme-client, clientSecret: "${ACME_TWH_SECRET}", webhookSecret: acme-hook}
`, portalPort, secret, twhPort)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACME_KEY", "acme-key-0123456789")
	t.Setenv("ACME_TWH_SECRET", "acme-twh-secret")
	o := freeOptions(t)
	o.ConnectionsFile, o.TWHSimPort, o.PortalSimPort = file, twhPort, portalPort
	s := start(t, o)
	defer s.Stop()
	if s.APIKey != "" || strings.Contains(s.Banner(), "Demo tenant") {
		t.Fatal("the demo must not be configured with --connections")
	}
	s.APIKey = "acme-key-0123456789"
	body := demoTicket("acme-1")
	body["connection"] = "acme-twh"
	code, created := post(t, s, "/v1/tickets", body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	var wr twhsim.WorkRequest
	waitUntil(t, 10*time.Second, "the request in the simulator", func() bool {
		for _, r := range s.TWH.Requests() {
			if r.ExternalReference == "ticketsync:acme-twh:acme-1" {
				wr = r
				return true
			}
		}
		return false
	})
	if _, err := s.TWH.SetCategory(wr.ID, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "InProgress at the portal", func() bool { return hasEvent(s.Portal.EventsFor(id), "ticket.status_changed", "InProgress") })
	// A demo-style create is refused: that connection does not exist here.
	if code, _ := post(t, s, "/v1/tickets", demoTicket("demo-1")); code != http.StatusNotFound {
		t.Fatalf("demo connection with --connections: %d", code)
	}
}
