package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/metrics"
)

func TestServe(t *testing.T) {
	if addr, err := metrics.Serve(context.Background(), "", metrics.Default()); addr != nil || err != nil {
		t.Fatalf("empty address serves: %v %v", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := metrics.Serve(ctx, "127.0.0.1:0", metrics.Default())
	if err != nil {
		t.Fatal(err)
	}
	metrics.CountInboundHook("servetest", metrics.HookAccepted)
	body := get(t, "http://"+addr.String()+"/metrics", http.StatusOK)
	for _, want := range []string{`ticketsync_inbound_hooks_total{kind="servetest",result="accepted"} `, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if body := get(t, "http://"+addr.String()+"/healthz", http.StatusOK); !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %q", body)
	}

	// A taken port fails at once, naming the variable.
	if _, err := metrics.Serve(ctx, addr.String(), metrics.Default()); err == nil ||
		!strings.Contains(err.Error(), "TICKETSYNC_WORKER_METRICS_ADDR") {
		t.Errorf("port in use: %v", err)
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening after ctx ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}
