package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// DemoOptions drive `ticketsync dev --demo N`.
type DemoOptions struct {
	Count int
	// Step is the pause between two staff actions on one ticket (default 10 s, so a demo of a
	// handful of tickets plays out over a few minutes).
	Step time.Duration
	// Out receives one line per action (progress).
	Out  io.Writer
	Seed uint64
}

// demoScript is one realistic life of a ticket, played by simulated staff.
type demoScript struct {
	name    string
	actions []func(d *demoRun, id string) error
}

type demoRun struct {
	s   *Stack
	ext string
}

func category(cat string) func(d *demoRun, id string) error {
	return func(d *demoRun, id string) error { _, err := d.s.TWH.SetCategory(id, cat); return err }
}

func transition(status, text string, visible bool) func(d *demoRun, id string) error {
	return func(d *demoRun, id string) error {
		var fb *twhsim.FeedbackInput
		if text != "" {
			fb = &twhsim.FeedbackInput{Text: text, Author: "J. Rivera (Maintenance)", VisibleToRequestor: visible}
		}
		_, err := d.s.TWH.Transition(id, status, fb, false)
		return err
	}
}

func feedback(text string, visible bool) func(d *demoRun, id string) error {
	return func(d *demoRun, id string) error {
		_, err := d.s.TWH.AddFeedback(id, twhsim.FeedbackInput{Text: text, Author: "Front desk", VisibleToRequestor: visible})
		return err
	}
}

func residentComment(text string) func(d *demoRun, id string) error {
	return func(d *demoRun, id string) error {
		return d.s.apiPost(fmt.Sprintf("/v1/tickets/%s/comments", ticketIDFor(d.ext)), map[string]string{"text": text, "author": "Resident"})
	}
}

func residentCancel(reason string) func(d *demoRun, id string) error {
	return func(d *demoRun, id string) error {
		return d.s.apiPost(fmt.Sprintf("/v1/tickets/%s/cancel", ticketIDFor(d.ext)), map[string]string{"reason": reason})
	}
}

var demoScripts = []demoScript{
	{"completed with visible feedback", []func(*demoRun, string) error{
		category("Plumbing"), feedback("internal: replace P-trap, part in van 3", false),
		transition(twhsim.StatusCompleted, "The leak is fixed. Thanks for your patience!", true)}},
	{"on hold, resident answers, completed", []func(*demoRun, string) error{
		category("Plumbing"), transition(twhsim.StatusOnHold, "Which bathroom sink is leaking?", true),
		residentComment("The one in the guest bathroom."), transition(twhsim.StatusInProgress, "", false),
		transition(twhsim.StatusCompleted, "Fixed.", true)}},
	{"rejected", []func(*demoRun, string) error{
		transition(twhsim.StatusRejected, "This is handled by your landlord's contractor.", true)}},
	{"cancelled by the resident", []func(*demoRun, string) error{
		category("Housekeeping"), residentCancel("Not needed any more")}},
	{"in progress, hidden feedback only", []func(*demoRun, string) error{
		category("IT"), feedback("internal: router reset scheduled", false),
		transition(twhsim.StatusCompleted, "internal note", false)}},
}

var demoTitles = []struct{ typ, title, desc string }{
	{"Maintenance", "Leaking sink", "The bathroom sink drips all night."},
	{"Maintenance", "Broken window latch", "The living room window does not lock."},
	{"Housekeeping", "Extra towels", "Please bring two extra towels."},
	{"IT Support", "TV has no signal", "The TV says 'no signal' on every channel."},
	{"Maintenance", "Light bulb out", "Hallway light bulb is out."},
}

// RunDemo creates opts.Count tickets through the API and plays staff on the simulator.
func (s *Stack) RunDemo(ctx context.Context, opts DemoOptions) error {
	if s.APIKey == "" {
		return fmt.Errorf("--demo needs the demo configuration (it cannot be combined with --connections)")
	}
	if opts.Step <= 0 {
		opts.Step = 10 * time.Second
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	rng := rand.New(rand.NewPCG(opts.Seed, uint64(time.Now().UnixNano())))
	batch := time.Now().UTC().Format("150405")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < opts.Count; i++ {
		ext := fmt.Sprintf("demo-%s-%03d", batch, i+1)
		t := demoTitles[i%len(demoTitles)]
		body := map[string]any{"connection": DemoConnection, "externalId": ext, "requestType": t.typ, "title": t.title,
			"description": t.desc, "location": map[string]any{"address": fmt.Sprintf("Building A, apt %d", 10+i)},
			"requester": map[string]any{"name": "Demo Resident", "email": "resident@example.org"}}
		if err := s.apiPost("/v1/tickets", body); err != nil {
			return fmt.Errorf("create demo ticket %s: %w", ext, err)
		}
		fmt.Fprintf(opts.Out, "demo: created %s (%s)\n", ext, ticketIDFor(ext))
		script := demoScripts[i%len(demoScripts)]
		offset := time.Duration(rng.Int64N(int64(opts.Step)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.playScript(ctx, ext, script, opts, offset); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				fmt.Fprintf(opts.Out, "demo: %s: %v\n", ext, err)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (s *Stack) playScript(ctx context.Context, ext string, script demoScript, opts DemoOptions, offset time.Duration) error {
	d := &demoRun{s: s, ext: ext}
	id, err := s.waitRemote(ctx, ext, 30*time.Second)
	if err != nil {
		return err
	}
	for i, act := range script.actions {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.Step + offset/time.Duration(i+1)):
		}
		if err := act(d, id); err != nil {
			return fmt.Errorf("step %d of %q: %w", i+1, script.name, err)
		}
		fmt.Fprintf(opts.Out, "demo: %s: %s (step %d/%d)\n", ext, script.name, i+1, len(script.actions))
	}
	return nil
}

// waitRemote waits until the simulator has the request for an external id.
func (s *Stack) waitRemote(ctx context.Context, ext string, within time.Duration) (string, error) {
	ref := "ticketsync:" + DemoConnection + ":" + ext
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, wr := range s.TWH.Requests() {
			if wr.ExternalReference == ref {
				return wr.ID, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("request %s never reached the TheWorxHub simulator", ext)
}

func (s *Stack) apiPost(path string, body any) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, s.APIURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST %s: HTTP %d: %s", path, resp.StatusCode, msg)
	}
	return nil
}

func ticketIDFor(externalID string) string { return ticket.ID(DemoConnection, externalID) }
