package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pvsim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
)

// Cyprexx → Pruvan: Cyprexx staff issue work orders whose pushes (or the 10 s Refresh of its
// feed) create the tickets; each ticket offers its project to Pruvan, which pulls it; the
// crew's photos and surveys come back through uploadPictures and are relayed to Cyprexx per
// the QA settings; Pruvan's complete is held until the required photos and the survey are
// there, then set in Cyprexx, and the project is closed. Cyprexx staff also change notes and
// cancel orders. Pruvan plays its part as it would: a call ticketsync refused (down, store
// cut, 5xx) is sent again with the same uuid, and a project not imported yet comes with its
// next Refresh.

const (
	cxConnID   = "chaos-cyprexx"
	cxPushKey  = "chaos-cyprexx-push-key-0123456789"
	pvUsername = "ts-chaos"
	pvPassword = "9d8c7b6a5f4e3d2c1b0a99887766554433221100" // the 40-hex hash Pruvan sends
	pvToken    = "chaos-pruvan-token"
	cxForm     = "PCR" // cxsim.StandardForm's id: its required question holds the completion
	// pvImportEvery is Pruvan's scheduled import: what a lost or refused pull missed (a new
	// project, a changed note, a close, which ticketsync's push key call only hastens)
	// arrives with it.
	pvImportEvery = 10 * time.Second
)

func init() { pairMakers = append(pairMakers, func() pair { return &cyprexxPair{} }) }

type cyprexxPair struct {
	cx        *cxsim.Server
	pv        *pvsim.Server
	cxURL     string // unproxied: Cyprexx's own staff and the push key registration
	mu        sync.Mutex
	orders    map[string]*cxOrder // by ticket label
	resent    atomic.Int64        // Pruvan calls sent again after ticketsync refused them
	forged    atomic.Int64        // Pruvan uploads answered 401 (the sim sent wrong credentials)
	dupUpload atomic.Int64        // Pruvan uploads sent twice with the same uuid
	envArmed  int                 // Pruvan error envelopes armed; envLeft were never met
	envLeft   int
	slowArmed int // Cyprexx's own slow bodies (the proxy counts only its own), slowLeft not met
	slowLeft  int
	cxNext    int // the next burst rotate arms
	pvNext    int
	imports   sync.WaitGroup
	stopAll   context.CancelFunc
}

// cxOrder is what the people of one ticket did: the truth its check compares with.
type cxOrder struct {
	wo, project, key string
	photos           map[string]string // uuid → category, of the photos ticketsync accepted
	shas             map[string]string // uuid → sha256 of the bytes Pruvan sent
	survey           bool
	completedAt      time.Time // Pruvan's completion date (zero: never completed)
	cancelled        bool
	note             string
}

func (p *cyprexxPair) conn() string    { return cxConnID }
func (p *cyprexxPair) name() string    { return "cyprexx-pruvan" }
func (p *cyprexxPair) kinds() []string { return []string{"cyprexx", "pruvan"} }

func (p *cyprexxPair) start(st *stack, seed uint64) (string, error) {
	p.orders = map[string]*cxOrder{}
	// Cyprexx's push retries (100 s and 200 s later) shortened to fit the run, pushes reordered.
	p.cx = cxsim.New(cxsim.Options{DisableRateLimit: true, Seed: seed, PushRetryDelay: 3 * time.Second,
		PushJitter: 500 * time.Millisecond})
	p.pv = pvsim.New(pvsim.Options{Seed: seed + 1})
	var err error
	if p.cxURL, err = st.serveSim(p.cx); err != nil {
		return "", err
	}
	pvURL, err := st.serveSim(p.pv)
	if err != nil {
		return "", err
	}
	cxProxy, err := st.addProxy("cyprexx", p.cxURL, seed+2)
	if err != nil {
		return "", err
	}
	pvProxy, err := st.addProxy("pruvan", pvURL, seed+3)
	if err != nil {
		return "", err
	}
	p.pv.SetBaseURL(pvProxy.URL()) // its push key must name the Pruvan ticketsync is configured with
	return fmt.Sprintf(`  - id: %s
    tenant: %s
    requestSystem: {kind: cyprexx, baseUrl: %q, apiToken: %q, webhookSecret: %q, rateLimit: 100000, pollInterval: 10s}
    workSystem: {kind: pruvan, baseUrl: %q, username: %s, password: %q, token: %q}
    options:
      defaultAssignTo: "~all~"
      autoAdmin: true
      validatorUrl: "https://validator.pruvan.example/v/"
      qa: {relayCategories: [Before, After], requiredPhotosPerTask: 2}
`, cxConnID, tenant, cxProxy.URL(), cxsim.DefaultToken, cxPushKey, pvProxy.URL(), pvUsername, pvPassword, pvToken), nil
}

// ready is both vendors' wiring: Pruvan's admin adds the order source and presses Validate
// (ticketsync keeps its push key); Cyprexx registers the push key, pinging our hook.
func (p *cyprexxPair) ready(ctx context.Context, st *stack) error {
	if _, err := p.pv.SetIntegration(pvsim.Integration{ClientCode: cxConnID, URL: st.apiURL + "/v1/hooks/pruvan/" + cxConnID,
		Username: pvUsername, Password: pvPassword, Token: pvToken, AutoAdmin: true}); err != nil {
		return err
	}
	client, err := cyprexx.New(cyprexx.Config{BaseURL: p.cxURL, APIToken: cxsim.DefaultToken})
	if err != nil {
		return err
	}
	if err := cxRetry(ctx, 30*time.Second, func() error {
		if err := p.pv.Validate(ctx, cxConnID); err != nil {
			return err
		}
		_, err := client.RegisterPushKey(ctx, cxPushKey, st.apiURL+"/v1/hooks/cyprexx/"+cxConnID)
		return err
	}); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	p.stopAll = cancel
	p.imports.Add(1)
	go func() {
		defer p.imports.Done()
		for {
			select {
			case <-bg.Done():
				return
			case <-time.After(pvImportEvery):
				_, _ = p.pv.Refresh(bg, cxConnID, false) // a failed import is recorded; the next one catches up
			}
		}
	}()
	return nil
}

// cxRetry retries f a second apart until it succeeds or within has passed.
func cxRetry(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// The scripts: each names the work order Cyprexx issues (cxOrders) and what happens to it.
var cxOrders = map[string][]cxsim.Task{}

func cxScript(name string, tasks []cxsim.Task, steps ...step) script {
	cxOrders[name] = tasks
	return script{name, steps}
}

var (
	grass  = cxsim.Task{Name: "Cut grass", PhotoCategories: []string{"Before", "After", "During"}, MinPhotos: 1}
	hedges = cxsim.Task{Name: "Trim hedges", PhotoCategories: []string{"Before", "After"}, MinPhotos: 1}
)

// The crew does not wait for relays; only a photo taken before Cyprexx cancels the order is
// waited for at Cyprexx (after the cancel it could no longer be relayed).
var cyprexxScripts = []script{
	cxScript("cyprexx: photos and survey, then complete", []cxsim.Task{grass},
		pvPhoto("Before", grass.Name, false), pvPhoto("After", grass.Name, false), pvSurvey(), pvComplete()),
	cxScript("cyprexx: complete held until the last photo", []cxsim.Task{grass},
		pvPhoto("Before", grass.Name, false), pvSurvey(), pvComplete(), pvPhoto("During", grass.Name, false),
		pvPhoto("After", grass.Name, false)),
	cxScript("cyprexx: note changed, then cancelled by Cyprexx", []cxsim.Task{grass},
		pvPhoto("Before", grass.Name, true), cxNote("Gate code changed to 9876"), pvPhoto("During", grass.Name, false), cxCancel()),
	cxScript("cyprexx: two tasks, note changed, completed", []cxsim.Task{grass, hedges},
		pvPhoto("Before", grass.Name, false), pvPhoto("Before", hedges.Name, false), cxNote("Back gate only"),
		pvPhoto("After", hedges.Name, false), pvPhoto("After", grass.Name, false), pvSurvey(), pvComplete()),
}

func (p *cyprexxPair) scripts() []script { return cyprexxScripts }

func cxPair(d *driver) *cyprexxPair { return d.st.pairFor(cxConnID).(*cyprexxPair) }

func (p *cyprexxPair) order(t *tracked) *cxOrder {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.orders[t.label]
}

// cxStep is a step on the ticket's order (raise made it).
func cxStep(f func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error) step {
	return func(ctx context.Context, d *driver, t *tracked) error {
		p := cxPair(d)
		return f(ctx, p, p.order(t), t)
	}
}

// raise is Cyprexx staff issuing the work order; ticketsync has it once a push of it was
// acknowledged, or once Refresh made its ticket (every push may be lost).
func (p *cyprexxPair) raise(ctx context.Context, d *driver, t *tracked) error {
	n, _ := strconv.Atoi(t.label[len(t.label)-4:])
	wo, err := p.cx.Issue("", cxsim.WorkOrder{Service: "Lawn Maintenance", Address1: fmt.Sprintf("%d Palm Ave", n), City: "Doral",
		State: "FL", Zip: "33166", ServiceDue: "2026-06-01", JobNumber: "J-" + t.label, LockboxCode: "4321",
		Note: "Chaos order " + t.label, Tasks: cxOrders[t.script], Forms: []cxsim.Form{cxsim.StandardForm()}})
	if err != nil {
		return err
	}
	project := cyprexx.ProjectID(cyprexx.WorkOrder{WorkOrderID: wo.WorkOrderID, Service: wo.Service})
	p.mu.Lock()
	p.orders[t.label] = &cxOrder{wo: wo.WorkOrderID, project: project, key: pvsim.ProjectKey(cxConnID, project),
		photos: map[string]string{}, shas: map[string]string{}, note: wo.Note}
	p.mu.Unlock()
	t.mu.Lock()
	t.ext, t.id = wo.WorkOrderID, ticket.ID(cxConnID, wo.WorkOrderID)
	t.mu.Unlock()
	for {
		for _, dl := range p.cx.Deliveries() {
			if dl.WorkOrderID == wo.WorkOrderID && dl.Delivered {
				t.created.Store(true)
			}
		}
		if !t.created.Load() {
			if _, err := d.st.api.Store.GetTicketAnyTenant(ctx, t.id); err == nil {
				t.created.Store(true)
			}
		}
		if t.created.Load() {
			d.created.Add(1)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("work order %s never reached ticketsync: %w", wo.WorkOrderID, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitRemote waits for Pruvan to have imported the project.
func (p *cyprexxPair) waitRemote(ctx context.Context, d *driver, t *tracked) error {
	o := p.order(t)
	if err := cxAwait(ctx, "the project in Pruvan", func() bool { _, ok := p.pv.Project(o.key); return ok }); err != nil {
		return err
	}
	t.remoteID.Store(o.project)
	return nil
}

// cxAwait waits until cond holds.
func cxAwait(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
	return nil
}

// accepted sends Pruvan's item again (same uuid and bytes) until ticketsync accepts it, and
// returns the accepted attempt.
func (p *cyprexxPair) accepted(ctx context.Context, sent []pvsim.SentItem) (pvsim.SentItem, error) {
	p.dupUpload.Add(int64(len(sent) - 1))
	for attempt := 0; ; attempt++ {
		for _, it := range sent {
			if it.HTTPStatus == 401 {
				p.forged.Add(1)
			}
			if it.Accepted {
				return it, nil
			}
		}
		select {
		case <-ctx.Done():
			return pvsim.SentItem{}, fmt.Errorf("upload %s never accepted (last: %s): %w", sent[0].UUID, sent[len(sent)-1].Error, ctx.Err())
		case <-time.After(min(time.Duration(attempt+1), 3) * time.Second):
		}
		it, err := p.pv.Resend(ctx, sent[0].UUID)
		if err != nil {
			return pvsim.SentItem{}, err
		}
		p.resent.Add(1)
		sent = []pvsim.SentItem{it}
	}
}

// pvPhoto is the crew taking a photo; with wait, the step lasts until Cyprexx has it.
func pvPhoto(category, task string, wait bool) step {
	return cxStep(func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error {
		sent, err := p.pv.UploadPhotos(ctx, o.key, pvsim.PhotoRequest{Count: 1, Category: category, Task: task, Size: 256 << 10})
		if err != nil {
			return err
		}
		// The crew took it: whether ticketsync says so or not, it may reach Cyprexx.
		uuid := sent[0].UUID
		p.mu.Lock()
		o.photos[uuid] = category
		p.mu.Unlock()
		it, err := p.accepted(ctx, sent)
		if err != nil {
			return err
		}
		p.mu.Lock()
		o.shas[uuid] = it.SHA256
		p.mu.Unlock()
		if !wait {
			return nil
		}
		return cxAwait(ctx, category+" photo "+uuid+" at Cyprexx", func() bool {
			for _, ph := range p.cx.Photos(o.wo) {
				if ph.SourceID == uuid {
					return true
				}
			}
			return false
		})
	})
}

func cxRelays(category string) bool { return category == "Before" || category == "After" }

// pvSurvey is the crew filling in the property-condition survey.
func pvSurvey() step {
	return cxStep(func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error {
		it, err := p.pv.SubmitSurvey(ctx, o.key, pvsim.SurveyRequest{Answers: map[string]any{"lawnCut": "yes", "debris": "some",
			"comments": "Chaos " + t.label}})
		if err != nil {
			return err
		}
		p.mu.Lock()
		o.survey = true
		p.mu.Unlock()
		_, err = p.accepted(ctx, []pvsim.SentItem{it})
		return err
	})
}

// pvComplete is the crew marking the project complete, with a date of its own; the call is
// made again until ticketsync takes it (the sim drops a refused one, as Pruvan would retry).
func pvComplete() step {
	return cxStep(func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error {
		n, _ := strconv.Atoi(t.label[len(t.label)-4:])
		at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * 17 * time.Minute)
		for attempt := 1; ; attempt++ {
			res, err := p.pv.Complete(ctx, o.key, at)
			if err == nil && (res.OK || res.Error["workOrderNumber"] != o.project) {
				break
			}
			if attempt > 1 || err != nil {
				p.resent.Add(1)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("complete never accepted (last: %v %v): %w", err, res.Error, ctx.Err())
			case <-time.After(min(time.Duration(attempt), 3) * time.Second):
			}
		}
		p.mu.Lock()
		o.completedAt = at
		p.mu.Unlock()
		return nil
	})
}

// cxNote is Cyprexx staff changing the order's note: it must reach Pruvan's instructions
// (the check looks).
func cxNote(text string) step {
	return cxStep(func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error {
		patch, _ := json.Marshal(map[string]string{"note": text})
		if _, err := p.cx.Update(o.wo, patch); err != nil {
			return err
		}
		p.mu.Lock()
		o.note = text
		p.mu.Unlock()
		return nil
	})
}

// cxCancel is Cyprexx cancelling the order.
func cxCancel() step {
	return cxStep(func(ctx context.Context, p *cyprexxPair, o *cxOrder, t *tracked) error {
		if _, err := p.cx.Cancel(o.wo); err != nil {
			return err
		}
		p.mu.Lock()
		o.cancelled = true
		p.mu.Unlock()
		return nil
	})
}

// faults arms the base rates: both APIs ticketsync calls fail 20 % of the time; Cyprexx's
// pushes are lost, duplicated or sent with a wrong or no key.
func (p *cyprexxPair) faults() {
	p.cx.SetFaults(cxsim.Faults{ErrorRate: 0.2, RetryAfterSeconds: 1, PushDropRate: 0.2, PushDuplicateRate: 0.15,
		PushBadKeyRate: 0.05, PushMissingKeyRate: 0.05, SlowUploadDelay: 12 * time.Second})
	p.pv.SetFaults(pvsim.Faults{ErrorRate: 0.2, RetryAfterSeconds: 1, UnknownFields: true})
}

// tick arms the bursts: at Cyprexx 429s, maintenance pages, HTML on 200 and slow bodies in
// turn, uploads stored then cut off or answered late, expired cursors; at Pruvan's push API
// 429s, maintenance pages, HTML on 200 and error envelopes in turn, lost pulls; and on
// Pruvan's own calls wrong credentials, duplicated and file-first uploads, mixed status
// batches.
func (p *cyprexxPair) tick(n int) {
	f := p.cx.Faults()
	i := rotate(n, 3, &p.cxNext, &f.RateLimitBurst, &f.Maintenance, &f.HTMLOn200, &f.SlowBody)
	changed := i >= 0
	if i == 3 {
		p.slowArmed++
	}
	arm := func(every int, counter *int, to int) { changed = topUp(n, every, counter, to) || changed }
	arm(6, &f.ResetAfterUpload, 1)
	arm(40, &f.SlowUpload, 1)
	if n%20 == 0 {
		f.ExpireCursors, changed = true, true
	}
	if changed {
		p.cx.SetFaults(f)
	}
	g := p.pv.Faults()
	i = rotate(n, 3, &p.pvNext, &g.RateLimitBurst, &g.Maintenance, &g.HTMLOn200, &g.AppError)
	changed = i >= 0
	if i == 3 {
		p.envArmed++
	}
	arm(9, &g.DropPull, 1)
	arm(12, &g.BadCredentials, 1)
	arm(5, &g.DuplicateUploads, 1)
	arm(4, &g.FileBeforePayload, 1)
	arm(6, &g.MixedStatusBatch, 1)
	if changed {
		p.pv.SetFaults(g)
	}
}

// rotate arms the next of a simulator's API bursts every every-th second once the last one
// was met, and returns its index (-1: none). The simulators answer them in a fixed
// precedence, so armed together on an API called a few times a second the first would
// starve the others.
func rotate(n, every int, next *int, counters ...*int) int {
	if n%every != 0 || slices.ContainsFunc(counters, func(c *int) bool { return *c > 0 }) {
		return -1
	}
	i := *next % len(counters)
	*counters[i], *next = 1, *next+1
	return i
}

func (p *cyprexxPair) clear() {
	p.envLeft, p.slowLeft = p.pv.Faults().AppError, p.cx.Faults().SlowBody
	p.cx.SetFaults(cxsim.Faults{})
	p.pv.SetFaults(pvsim.Faults{})
}

// count adds what only the simulators saw: Cyprexx's pushes lost, duplicated, forged or
// retried after a refusal; Pruvan's lost pulls, duplicated uploads, calls sent again, wrong
// credentials, and the error envelopes ticketsync met.
func (p *cyprexxPair) count(f *faultCounts) {
	for _, dl := range p.cx.Deliveries() {
		switch {
		case dl.Fault == "dropped":
			f.add("cyprexx", faultWebhookLos)
		case dl.Fault == "bad_key" || dl.Fault == "missing_key":
			f.add("cyprexx", faultWebhookForged)
		case dl.Fault == "duplicate":
			f.add("cyprexx", faultWebhookDup)
		}
		if dl.Delivered && dl.Attempts > 1 {
			f.add("cyprexx", faultWebhookResent)
		}
	}
	f.addN("pruvan", faultWebhookLos, p.pv.Stats().PullsDropped)
	f.addN("pruvan", faultWebhookDup, int(p.dupUpload.Load()))
	f.addN("pruvan", faultWebhookResent, int(p.resent.Load()))
	f.addN("pruvan", faultWebhookForged, int(p.forged.Load()))
	f.addN("pruvan", faultEnvelope, p.envArmed-p.envLeft)
	f.addN("cyprexx", faultSlowBody, p.slowArmed-p.slowLeft)
}

func (p *cyprexxPair) stop() {
	if p.stopAll != nil {
		p.stopAll()
		p.imports.Wait()
	}
	p.cx.Close()
	p.pv.Close()
}
