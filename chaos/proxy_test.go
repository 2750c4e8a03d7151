package chaos

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fault proxy counts each fault kind as the client met it, passes good answers through
// untouched, and goes down and up on the same port.
func TestFaultProxyCountsWhatTheClientMet(t *testing.T) {
	var current atomic.Value // the upstream's behaviour for the next request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices a client that leaves
		mode, _ := current.Load().(string)
		switch mode {
		case "429":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case "503html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "<html>maintenance</html>")
		case "502":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
		case "html200":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>sign in</html>")
		case "401":
			w.WriteHeader(http.StatusUnauthorized)
		case "reset": // committed, then the connection is cut without an answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case "hang":
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer upstream.Close()
	counts := newFaultCounts()
	p, err := newFaultProxy("vendor", upstream.URL, counts, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(m string) (int, string, error) {
		current.Store(m)
		// POST: a transport retries an idempotent GET on a reset connection, which would count twice.
		resp, err := client.Post(p.URL()+"/x", "application/json", strings.NewReader("{}"))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get("ok"); err != nil || code != 200 || body != `{"ok":true}` {
		t.Fatalf("a good answer must pass untouched: %d %q %v", code, body, err)
	}
	for _, m := range []string{"429", "503html", "502", "html200", "401"} {
		if _, _, err := get(m); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if _, _, err := get("reset"); err == nil {
		t.Error("a reset upstream must reach the client as a failed request")
	}
	if _, _, err := get("hang"); err == nil {
		t.Error("a hanging upstream must time the client out")
	}
	time.Sleep(100 * time.Millisecond) // the proxy notices the client left
	for kind, want := range map[string]int{fault429: 1, faultHTMLPage: 1, fault5xx: 1, faultHTMLOn200: 1, faultAuth: 1,
		faultReset: 1, faultTimeout: 1} {
		if got := counts.get("vendor", kind); got != want {
			t.Errorf("%s: counted %d, want %d (all: %v)", kind, got, want, counts.lines())
		}
	}

	p.setSlowRate(1)
	began := time.Now()
	if code, body, err := get("ok"); err != nil || code != 200 || body != `{"ok":true}` {
		t.Fatalf("a slow body must still arrive whole: %d %q %v", code, body, err)
	}
	if time.Since(began) < 100*time.Millisecond || counts.get("vendor", faultSlowBody) != 1 {
		t.Errorf("slow body: took %s, counted %d", time.Since(began), counts.get("vendor", faultSlowBody))
	}
	p.setSlowRate(0)

	if err := p.setDown(true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get("ok"); err == nil {
		t.Error("a proxy that is down must refuse connections")
	}
	if err := p.setDown(false); err != nil {
		t.Fatal(err)
	}
	if code, _, err := get("ok"); err != nil || code != 200 {
		t.Fatalf("back up on the same port: %d %v", code, err)
	}
	if counts.get("vendor", faultDown) != 1 {
		t.Errorf("down periods: %d", counts.get("vendor", faultDown))
	}
}

// The TCP proxy (in front of PostgreSQL) cuts open connections and refuses new ones until
// restored, on the same address.
func TestTCPProxyCutsAndRestores(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c) }() // echo
		}
	}()
	p, err := newTCPProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	echo := func(c net.Conn, s string) (string, error) {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, s); err != nil {
			return "", err
		}
		b := make([]byte, len(s))
		_, err := io.ReadFull(c, b)
		return string(b), err
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := echo(c, "ping"); err != nil || got != "ping" {
		t.Fatalf("through the proxy: %q %v", got, err)
	}
	p.cut()
	if _, err := echo(c, "pong"); err == nil {
		t.Error("an open connection must be cut")
	}
	c.Close()
	if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
		c.Close()
		t.Error("new connections must be refused while cut")
	}
	if err := p.restore(); err != nil {
		t.Fatal(err)
	}
	c, err = net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := echo(c, "again"); err != nil || !strings.EqualFold(got, "again") {
		t.Fatalf("after restore: %q %v", got, err)
	}
}

// Options are bounded before anything starts.
func TestOptionsValidate(t *testing.T) {
	ok := Options{Tickets: 30, Duration: time.Minute, WorkerCommand: nil}
	if err := ok.Validate(); err == nil || !strings.Contains(err.Error(), "no worker command") {
		t.Errorf("missing worker command: %v", err)
	}
	if _, err := Run(context.Background(), Options{Tickets: 1, Duration: 11 * time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "--duration") {
		t.Errorf("11m of faults must be refused: %v", err)
	}
}
