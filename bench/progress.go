package bench

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints one status line per second while the run goes on: rewritten in place on a
// terminal (TTY), one line every ten seconds otherwise.
type progress struct {
	w    io.Writer
	rn   *runner
	tty  bool
	stop func()

	mu      sync.Mutex
	phase   string
	since   time.Time
	lastLen int
}

// TTY marks a progress writer that is a terminal (the line is rewritten in place).
type TTY interface{ IsTerminal() bool }

func newProgress(w io.Writer, rn *runner) *progress {
	p := &progress{w: w, rn: rn, since: time.Now(), phase: "starting"}
	if t, ok := w.(TTY); ok {
		p.tty = t.IsTerminal()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := 10 * time.Second
		if p.tty {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			if p.tty && p.lastLen > 0 {
				fmt.Fprintln(p.w)
			}
		})
	}
	return p
}

// enter starts a phase (and prints its first line at once).
func (p *progress) enter(phase string) {
	p.mu.Lock()
	p.phase, p.since = phase, time.Now()
	p.mu.Unlock()
	p.print()
}

func (p *progress) line() string {
	p.mu.Lock()
	phase, since := p.phase, p.since
	p.mu.Unlock()
	rn := p.rn
	created := 0
	if rn.e != nil && rn.e.twh != nil {
		created = rn.e.twh.Stats().Creates
	}
	requested, _ := rn.tr.requestedCount()
	calls := int64(0)
	if rn.e != nil && rn.e.twhDoor != nil {
		c, _ := rn.e.twhDoor.counts()
		calls = c.Total()
	}
	res := sampleResources()
	rn.tr.mu.Lock()
	pending, arrivals := len(rn.tr.pending), rn.tr.arrivals
	rn.tr.mu.Unlock()
	line := fmt.Sprintf("[%s %s] tickets %d/%d remote, %d requested | events %d, changes in flight %d | vendor calls %d | RSS %s, CPU %.0fs",
		phase, time.Since(since).Round(time.Second), created, rn.o.Tickets, requested, arrivals, pending, calls, mib(res.RSSBytes), res.CPUSeconds)
	if rn.e != nil && rn.e.worker != nil {
		w := rn.e.worker.sample()
		line += fmt.Sprintf(" | worker RSS %s, CPU %.0fs", mib(w.RSSBytes), w.CPUSeconds)
	}
	return line
}

func (p *progress) print() {
	if p.w == io.Discard {
		return
	}
	l := p.line()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, l)
		return
	}
	pad := ""
	if n := p.lastLen - len(l); n > 0 {
		pad = fmt.Sprintf("%*s", n, "")
	}
	fmt.Fprint(p.w, "\r"+l+pad)
	p.lastLen = len(l)
}
