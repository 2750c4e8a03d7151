package chaos

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// faultProxy stands between ticketsync and one simulator on the port the connection names. It
// sees every answer, so it counts the faults that actually reached ticketsync by kind (a
// simulator's counters only say what was armed), adds slow bodies, and takes the simulator
// "down" (nothing listening) and back up on the same port.
type faultProxy struct {
	name   string
	addr   string // 127.0.0.1:port, fixed for the run
	target *url.URL
	rp     *httputil.ReverseProxy
	faults *faultCounts

	mu       sync.Mutex
	srv      *http.Server
	slowRate float64
	rng      *rand.Rand
	down     bool
}

// Fault kinds, as the report names them.
const (
	fault5xx           = "5xx"
	fault429           = "429 with Retry-After"
	fault429NoRA       = "429 without Retry-After"
	faultHTMLPage      = "HTML error page"
	faultHTMLOn200     = "HTML page on 200"
	faultAuth          = "401 (credential revoked or expired)"
	faultReset         = "connection reset"
	faultTimeout       = "timeout (client gave up)"
	faultSlowBody      = "slow body"
	faultDown          = "receiver down"
	faultKill          = "worker SIGKILL"
	faultTemporal      = "Temporal server restart"
	faultStore         = "store outage"
	faultWebhookLos    = "webhook lost"
	faultWebhookDup    = "webhook duplicated"
	faultWebhookResent = "webhook refused, sent again"
	faultWebhookForged = "webhook with a wrong or missing key"
	faultEnvelope      = "error envelope on 200"
)

func newFaultProxy(name string, target string, faults *faultCounts, seed uint64) (*faultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &faultProxy{name: name, addr: ln.Addr().String(), target: u, faults: faults, rng: rand.New(rand.NewPCG(seed, 7))}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host },
		ModifyResponse: p.observe,
		ErrorHandler:   p.failed,
		FlushInterval:  -1, // pass slow bodies on as they trickle
		Transport:      &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 64},
	}
	p.serve(ln)
	return p, nil
}

// URL is the base URL ticketsync is configured with.
func (p *faultProxy) URL() string { return "http://" + p.addr }

func (p *faultProxy) serve(ln net.Listener) {
	srv := &http.Server{Handler: p.rp, ReadHeaderTimeout: 10 * time.Second}
	p.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

// setSlowRate sets the share of answers whose body is trickled.
func (p *faultProxy) setSlowRate(r float64) {
	p.mu.Lock()
	p.slowRate = r
	p.mu.Unlock()
}

// setDown closes the port (connections refused, open ones cut) or listens on it again.
func (p *faultProxy) setDown(down bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if down == p.down {
		return nil
	}
	if down {
		p.down = true
		_ = p.srv.Close()
		p.faults.add(p.name, faultDown)
		return nil
	}
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; wait out a lingering close
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.down = false
	p.serve(ln)
	return nil
}

func (p *faultProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	_ = p.srv.Close()
}

// observe classifies an answer as a fault kind (or none) and maybe trickles its body.
func (p *faultProxy) observe(resp *http.Response) error {
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	html := strings.Contains(ct, "text/html")
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
		p.faults.add(p.name, fault429)
	case resp.StatusCode == http.StatusTooManyRequests:
		p.faults.add(p.name, fault429NoRA)
	case resp.StatusCode >= 500 && html:
		p.faults.add(p.name, faultHTMLPage)
	case resp.StatusCode >= 500:
		p.faults.add(p.name, fault5xx)
	case resp.StatusCode == http.StatusOK && html:
		p.faults.add(p.name, faultHTMLOn200)
	case resp.StatusCode == http.StatusUnauthorized:
		p.faults.add(p.name, faultAuth)
	}
	p.mu.Lock()
	slow := p.slowRate > 0 && p.rng.Float64() < p.slowRate
	p.mu.Unlock()
	if slow && resp.Body != nil {
		p.faults.add(p.name, faultSlowBody)
		resp.Body = &slowBody{r: resp.Body, chunk: 64, delay: 150 * time.Millisecond}
	}
	return nil
}

// failed: the simulator cut the connection (a create committed, then reset) or ticketsync
// gave up waiting (a timeout). Either way the client's connection is cut too.
func (p *faultProxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil || errors.Is(err, context.Canceled) {
		p.faults.add(p.name, faultTimeout)
	} else {
		p.faults.add(p.name, faultReset)
	}
	panic(http.ErrAbortHandler) // the server closes the connection without an answer
}

// slowBody hands out a body in small pieces with pauses: a vendor behind a slow link.
type slowBody struct {
	r     io.ReadCloser
	chunk int
	delay time.Duration
}

func (s *slowBody) Read(b []byte) (int, error) {
	time.Sleep(s.delay)
	if len(b) > s.chunk {
		b = b[:s.chunk]
	}
	return s.r.Read(b)
}

func (s *slowBody) Close() error { return s.r.Close() }

// tcpProxy forwards a TCP port (PostgreSQL) and can cut every connection and refuse new ones
// for a while: the store connection drops.
type tcpProxy struct {
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	down  bool
}

func newTCPProxy(target string) (*tcpProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.accept(ln)
	return p, nil
}

func (p *tcpProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut drops every open connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return
	}
	p.down = true
	_ = p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
}

func (p *tcpProxy) restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down {
		return nil
	}
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.ln, p.down = ln, false
	go p.accept(ln)
	return nil
}

func (p *tcpProxy) close() {
	p.cut()
}
