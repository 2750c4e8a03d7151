package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
)

// naivePoller is the baseline integration: a cron job that, every poll interval, GETs every
// open ticket from TheWorxHub (8 at a time, as fast as the vendor answers) and POSTs a signed
// event to the portal when the status or the feedback changed. It keeps what it last saw in
// memory, as such a job keeps it in a table.
type naivePoller struct {
	client   *theworxhub.Client
	mapping  mapping.Mapping
	interval time.Duration
	notify   string // its receiver's URL
	secret   []stdwebhooks.Secret
	hc       *http.Client

	mu     sync.Mutex
	last   map[string]naiveSeen // remote id → what it saw
	byExt  map[string]string    // remote id → external id
	cycles int
	seq    int64
}

type naiveSeen struct {
	status   string
	feedback []string
}

// naiveReceiver verifies the naive poller's deliveries and hands them to its tracker.
type naiveReceiver struct {
	secret []stdwebhooks.Secret
	tr     *tracker
}

func (n *naiveReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := stdwebhooks.Verify(n.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
		r.Header.Get("webhook-signature"), body, time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var a arrival
	if err := json.Unmarshal(body, &a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.At = time.Now()
	n.tr.arrive(a)
	w.WriteHeader(http.StatusNoContent)
}

func (e *env) newNaive(tr *tracker, tickets map[string]string) (*naivePoller, error) {
	secret, err := stdwebhooks.GenerateSecret()
	if err != nil {
		return nil, err
	}
	sec, err := stdwebhooks.ParseSecrets([]string{secret})
	if err != nil {
		return nil, err
	}
	url, err := e.serve(&naiveReceiver{secret: sec, tr: tr})
	if err != nil {
		return nil, err
	}
	c, err := theworxhub.New(theworxhub.Config{BaseURL: e.twhURL, ClientID: clientID, ClientSecret: e.clientSecret,
		UserAgent: NaiveUserAgent})
	if err != nil {
		return nil, err
	}
	m, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return nil, err
	}
	n := &naivePoller{client: c, mapping: m, interval: e.opts.PollInterval, notify: url, secret: sec,
		hc: &http.Client{Timeout: 10 * time.Second}, last: map[string]naiveSeen{}, byExt: map[string]string{}}
	for remote, ext := range tickets {
		n.byExt[remote] = ext
	}
	return n, nil
}

// prime reads every ticket once (the job's first run), so later cycles only report changes.
func (n *naivePoller) prime(ctx context.Context) error {
	_, err := n.cycle(ctx, false)
	return err
}

// run polls every interval until ctx ends, each cycle starting on the interval's beat.
func (n *naivePoller) run(ctx context.Context) error {
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := n.cycle(ctx, true); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func (n *naivePoller) cycle(ctx context.Context, notify bool) (int, error) {
	ids := make([]string, 0, len(n.byExt))
	for id := range n.byExt {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sent := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				k, err := n.pollOne(ctx, id, notify)
				mu.Lock()
				sent += k
				if err != nil && firstErr == nil && ctx.Err() == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	n.mu.Lock()
	n.cycles++
	n.mu.Unlock()
	return sent, firstErr
}

func (n *naivePoller) pollOne(ctx context.Context, id string, notify bool) (int, error) {
	r, err := n.client.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	status, _ := n.mapping.Translate(r.Status)
	seen := naiveSeen{status: status}
	for _, fb := range r.Feedback {
		seen.feedback = append(seen.feedback, fb.ID)
	}
	n.mu.Lock()
	old, had := n.last[id]
	n.last[id] = seen
	ext := n.byExt[id]
	n.mu.Unlock()
	if !notify || !had {
		return 0, nil
	}
	sent := 0
	if old.status != seen.status {
		if err := n.send(ctx, arrival{Type: portal.TypeStatusChanged, ExternalID: ext, RemoteID: id, Status: status}); err != nil {
			return sent, err
		}
		sent++
	}
	for _, fb := range seen.feedback {
		if !slices.Contains(old.feedback, fb) {
			if err := n.send(ctx, arrival{Type: portal.TypeFeedbackAdded, ExternalID: ext, RemoteID: id, Status: status, FeedbackID: fb}); err != nil {
				return sent, err
			}
			sent++
		}
	}
	return sent, nil
}

// send POSTs a signed event (the fields the tracker matches on) to the naive receiver.
func (n *naivePoller) send(ctx context.Context, a arrival) error {
	n.mu.Lock()
	n.seq++
	a.EventID = "naive-" + strconv.FormatInt(n.seq, 10)
	n.mu.Unlock()
	body, _ := json.Marshal(a)
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.notify, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", a.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", stdwebhooks.Sign(n.secret, a.EventID, ts, body))
	resp, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("naive notify: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (n *naivePoller) cyclesDone() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cycles
}
