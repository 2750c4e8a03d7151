package vendorapi_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// recorder is "another host": it records whatever reaches it.
type recorder struct {
	mu   sync.Mutex
	hits []string // Authorization header and body of each request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.hits = append(r.hits, req.Header.Get("Authorization")+"|"+string(body))
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hits...)
}

// redirectingPair starts the other host and a vendor that answers every request with a
// redirect to it. The other host is addressed as "localhost", the vendor as 127.0.0.1.
func redirectingPair(t *testing.T, code int) (vendorURL string, other *recorder) {
	t.Helper()
	other = &recorder{}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	u, _ := url.Parse(otherSrv.URL)
	target := "http://localhost:" + u.Port() + "/oauth/token"
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, code)
	}))
	t.Cleanup(vendor.Close)
	return vendor.URL, other
}

func postToken(t *testing.T, c *http.Client, vendorURL string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, vendorURL+"/oauth/token",
		strings.NewReader("grant_type=client_credentials&client_secret=s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer live-token")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestNewHTTPClientNeverFollowsRedirects(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound, http.StatusMovedPermanently} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			vendorURL, other := redirectingPair(t, code)
			resp := postToken(t, vendorapi.NewHTTPClient(5*time.Second), vendorURL)
			if resp.StatusCode != code || !strings.HasSuffix(resp.Header.Get("Location"), "/oauth/token") {
				t.Errorf("got %d (Location %q), want the %d itself", resp.StatusCode, resp.Header.Get("Location"), code)
			}
			if hits := other.seen(); len(hits) != 0 {
				t.Errorf("the other host received %q", hits)
			}
		})
	}
}

// What the production client must not do, and Go's default client does: a 307 replays the
// request, client secret included, to the other host.
func TestDefaultClientWouldLeakOnRedirect(t *testing.T) {
	vendorURL, other := redirectingPair(t, http.StatusTemporaryRedirect)
	if resp := postToken(t, &http.Client{Timeout: 5 * time.Second}, vendorURL); resp.StatusCode != http.StatusOK {
		t.Fatalf("default client: %d", resp.StatusCode)
	}
	hits := other.seen()
	if len(hits) != 1 || !strings.Contains(hits[0], "client_secret=s3cr3t") {
		t.Fatalf("expected the default client to replay the secret to the other host; it received %q", hits)
	}
}

func TestNewHTTPClientBoundsEveryAttempt(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	start := time.Now()
	_, err := vendorapi.NewHTTPClient(150 * time.Millisecond).Get(srv.URL)
	if err == nil {
		t.Fatal("a hanging vendor did not time out")
	}
	if e := time.Since(start); e > 3*time.Second {
		t.Errorf("timed out after %s, want ~150ms", e)
	}
	if c := vendorapi.NewHTTPClient(0); c.Timeout != vendorapi.DefaultHTTPTimeout {
		t.Errorf("NewHTTPClient(0).Timeout = %s, want %s", c.Timeout, vendorapi.DefaultHTTPTimeout)
	}
	if c := vendorapi.NewHTTPClient(-time.Second); c.Timeout != vendorapi.DefaultHTTPTimeout {
		t.Errorf("NewHTTPClient(-1s).Timeout = %s, want %s", c.Timeout, vendorapi.DefaultHTTPTimeout)
	}
}

func TestNewHTTPClientTransport(t *testing.T) {
	c := vendorapi.NewHTTPClient(time.Second)
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.DisableKeepAlives || tr.MaxIdleConnsPerHost < 2 || tr.TLSHandshakeTimeout <= 0 || tr.TLSHandshakeTimeout > 30*time.Second ||
		tr.IdleConnTimeout <= 0 || tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion == 0 {
		t.Errorf("transport: keep-alive disabled %v, idle per host %d, TLS handshake %s, idle %s, TLS config %+v",
			tr.DisableKeepAlives, tr.MaxIdleConnsPerHost, tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.TLSClientConfig)
	}
	// Keep-alive in practice: sequential calls reuse one connection.
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	for range 5 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential calls opened %d connections, want 1", n)
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, ok := range []string{
		"https://api.theworxhub.example", "https://api.example.com:8443/v2/", "HTTPS://api.example.com",
		"http://localhost:8081", "http://LOCALHOST", "http://localhost./x", "http://127.0.0.1:9000/api",
		"http://127.5.6.7", "http://[::1]:8080/", " https://api.example.com ",
	} {
		if err := vendorapi.CheckBaseURL(ok); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v, want nil", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"http://api.example.com":               "must use https",
		"http://10.0.0.1:8080":                 "must use https",
		"http://localhost.example.com":         "must use https",
		"http://127.0.0.1.nip.io":              "must use https",
		"http://sub.localhost":                 "must use https",
		"http://[::2]/":                        "must use https",
		"ftp://api.example.com":                "must use https",
		"api.example.com":                      "no host",
		"https://":                             "no host",
		"https://user:hunter2@api.example.com": "credentials",
		"https://api example.com/%zz":          "not a valid URL",
	} {
		err := vendorapi.CheckBaseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckBaseURL(%q) = %v, want an error saying %q", raw, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckBaseURL(%q) echoes the password: %v", raw, err)
		}
	}
}
