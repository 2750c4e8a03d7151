package chaos

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/ticket"
	arcgissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// SeeClickFix → Cityworks: a citizen reports an issue in SeeClickFix (with a photo), the
// intake poll starts its ticket, which creates a Cityworks service request (address from
// ArcGIS, the photo attached). Cityworks has no push: ticketsync learns of staff's changes from
// its change feed and per-ticket polls. Staff notes "To SCF: …" and their photos reach the
// citizen, the citizen's comments reach Cityworks, and a close or cancel closes the issue.
const (
	scfPairName  = "seeclickfix-cityworks"
	scfConnID    = "chaos-scf"
	scfPublic    = cityworks.DefaultPublicCommentPrefix
	scfAckText   = "A crew has been assigned."
	scfGeocoder  = "/arcgis/rest/services/World/GeocodeServer"
	scfTypeLight = 1003 // SCF request type → Cityworks problem 102 (STLIGHT)
	scfTypeHole  = 1001 // → 101 (POTHOLE)
)

func init() { pairMakers = append(pairMakers, func() pair { return &scfPair{} }) }

type scfPair struct {
	scf *scfsim.Server
	cw  *cwsim.Server
	geo *arcgissim.Server
	m   mapping.Mapping
	st  *stack

	scfBase scfsim.Faults
	cwBase  cwsim.Faults
	geoBase arcgissim.Faults
	// Cityworks faults its proxy cannot tell from a good answer (a 302, Status 1 in a 200):
	// what was armed, and how many fired (counters that ran down).
	cwArmed cwsim.Faults
	fired   struct{ statusErrors, objectMoved int }
}

func (p *scfPair) conn() string    { return scfConnID }
func (p *scfPair) name() string    { return scfPairName }
func (p *scfPair) kinds() []string { return []string{"cityworks", "seeclickfix"} }

func (p *scfPair) start(st *stack, seed uint64) (string, error) {
	m, err := mapping.Lookup("cityworks-v1")
	if err != nil {
		return "", err
	}
	p.m, p.st = m, st
	// SCF's own rate limit would only slow the run; its 429s are injected instead.
	p.scf = scfsim.New(scfsim.Options{DisableRateLimit: true, Seed: seed})
	p.cw = cwsim.New(cwsim.Options{Seed: seed + 1})
	p.geo = arcgissim.New(arcgissim.Options{Seed: seed + 2, Empty: true})
	p.geo.AddPlace(arcgissim.Place{X: scfsim.DefaultLng, Y: scfsim.DefaultLat, AddNum: "165", StreetName: "Church St",
		City: "New Haven", Region: "Connecticut", RegionAbbr: "CT", Postal: "06510"})
	urls := map[string]string{}
	for i, sim := range []struct {
		name string
		srv  http.Handler
	}{{"seeclickfix", p.scf}, {"cityworks", p.cw}, {"arcgis", p.geo}} {
		u, err := st.serveSim(sim.srv)
		if err != nil {
			return "", err
		}
		px, err := st.addProxy(sim.name, u, seed+10+uint64(i))
		if err != nil {
			return "", err
		}
		urls[sim.name] = px.URL()
	}
	return fmt.Sprintf(`  - id: %s
    tenant: %s
    requestSystem: {kind: seeclickfix, baseUrl: %q, organizationId: %d, username: %q, password: %q, pollInterval: 2s, rateLimit: 100000}
    workSystem: {kind: cityworks, baseUrl: %q, version: "23", loginName: %q, password: %q}
    mapping: cityworks-v1
    pollInterval: 3s
    options:
      geocoder: {url: %q}
      categories:
        - {requestType: %d, kind: SR, templateId: 102}
        - {requestType: %d, kind: SR, templateId: 101}
      acknowledgeComment: %q
`, scfConnID, tenant, urls["seeclickfix"], scfsim.DefaultOrganizationID, scfsim.DefaultUsername, scfsim.DefaultPassword,
		urls["cityworks"]+"/cityworks", cwsim.DefaultLoginName, cwsim.DefaultPassword, urls["arcgis"]+scfGeocoder,
		scfTypeLight, scfTypeHole, scfAckText), nil
}

// ready: nothing to wire; SeeClickFix is polled and Cityworks read through its feed.
func (p *scfPair) ready(context.Context, *stack) error { return nil }

// scfIssue is the SeeClickFix issue of a ticket (its external id).
func scfIssue(t *tracked) int64 {
	ext, _ := t.ident()
	id, _ := strconv.ParseInt(ext, 10, 64)
	return id
}

func scfSR(t *tracked) int { id, _ := strconv.Atoi(t.remote()); return id }

// scfPhoto is a small PNG: SeeClickFix shows only images, and the checks compare bytes.
func scfPhoto(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func (p *scfPair) raise(ctx context.Context, d *driver, t *tracked) error {
	typ := int64(scfTypeLight)
	if strings.Contains(t.script, "pothole") {
		typ = scfTypeHole
	}
	is, err := p.scf.Report(scfsim.ReportInput{Summary: "Chaos " + t.label, Description: "A ticket of the chaos run (" + t.script + ").",
		Address: "near 165 Church St", RequestTypeID: typ, Reporter: "Citizen " + t.label,
		Image: scfPhoto(color.RGBA{R: 200, A: 255}), ImageName: "report.png"})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	ext := strconv.FormatInt(is.ID, 10)
	t.mu.Lock()
	t.ext, t.id = ext, ticket.ID(scfConnID, ext)
	t.mu.Unlock()
	// The intake poll starts the ticket: accepted once the store has it.
	for {
		_, err := d.st.api.Store.GetTicketAnyTenant(ctx, t.id)
		if err == nil {
			t.created.Store(true)
			d.created.Add(1)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("issue %s never taken in (last: %v): %w", ext, err, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (p *scfPair) waitRemote(ctx context.Context, d *driver, t *tracked) error {
	return p.waitSR(ctx, t, "the service request", nil)
}

// waitSR waits until Cityworks holds the ticket's service request (and cond holds for it).
func (p *scfPair) waitSR(ctx context.Context, t *tracked, what string, cond func(cwsim.RequestView) bool) error {
	ext, _ := t.ident()
	ref := cityworks.ExternalReference(scfConnID, ext)
	for {
		for _, r := range p.cw.Requests() {
			if r.OtherSystemId != ref {
				continue
			}
			t.remoteID.Store(strconv.Itoa(r.RequestId))
			if cond == nil || cond(r) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Staff in Cityworks and the citizen in SeeClickFix.
func cwStatus(code, reason string) step {
	return func(_ context.Context, d *driver, t *tracked) error {
		_, err := d.st.pairFor(scfConnID).(*scfPair).cw.SetRequestStatus(scfSR(t), code, reason)
		return err
	}
}

func cwNote(text string) step {
	return func(_ context.Context, d *driver, t *tracked) error {
		_, err := d.st.pairFor(scfConnID).(*scfPair).cw.AddRequestComment(scfSR(t), text, "Pat Crew")
		return err
	}
}

func cwPhoto(text string) step {
	return func(_ context.Context, d *driver, t *tracked) error {
		_, err := d.st.pairFor(scfConnID).(*scfPair).cw.AddRequestAttachment(scfSR(t), "after.png", "image/png",
			scfPhoto(color.RGBA{G: 200, A: 255}), text)
		return err
	}
}

// citizenComment waits until Cityworks has the comment, so one that never arrives is lost.
func citizenComment(text string) step {
	return func(ctx context.Context, d *driver, t *tracked) error {
		p := d.st.pairFor(scfConnID).(*scfPair)
		if _, err := p.scf.AddComment(scfIssue(t), scfsim.CommentInput{Comment: text, Name: "Citizen " + t.label}); err != nil {
			return err
		}
		t.mu.Lock()
		t.comments = append(t.comments, text)
		t.mu.Unlock()
		return p.waitSR(ctx, t, "the citizen's comment", func(r cwsim.RequestView) bool { return cwMentions(r, text) > 0 })
	}
}

// cwMentions counts the service request's comments that carry text.
func cwMentions(r cwsim.RequestView, text string) int {
	n := 0
	for _, c := range r.Comments {
		if strings.Contains(c.Comments, text) {
			n++
		}
	}
	return n
}

func (p *scfPair) scripts() []script {
	return []script{
		{"scf: dispatched, comments both ways, closed", []step{cwStatus(cwsim.SRDispatch, ""),
			citizenComment("It is still dark tonight."), cwNote(scfPublic + " A crew is on the way."),
			cwNote("internal: bring the bucket truck"), cwPhoto(scfPublic + " Fixed, see the photo"),
			cwStatus(cwsim.SRClosed, "Lamp replaced")}},
		{"scf: cancelled in Cityworks", []step{cwNote("internal: same pole as last week's report"),
			cwStatus(cwsim.SRCancel, "Duplicate of an earlier request")}},
		{"scf: pothole closed without work", []step{cwStatus(cwsim.SRClosed, "Not a city street")}},
		{"scf: staff note only, then closed", []step{cwNote(scfPublic + " We will look at it this week."),
			citizenComment("Thank you!"), cwStatus(cwsim.SRInProg, ""), cwStatus(cwsim.SRClosed, "")}},
	}
}

// faults: every fault the three simulators can inject on the calls ticketsync makes, at rates
// ticketsync must ride out. Status-error envelopes are permanent by the contract, so they go
// only to the change feed's reads (the next read retries) — elsewhere they would rightly park
// the ticket.
func (p *scfPair) faults() {
	p.scfBase = scfsim.Faults{ErrorRate: 0.2, RetryAfterSeconds: 1}
	p.cwBase = cwsim.Faults{ErrorRate: 0.2, TokenExpireRate: 0.02, RetryAfterSeconds: 1, SlowDelay: 35 * time.Second}
	p.geoBase = arcgissim.Faults{ErrorRate: 0.2, RetryAfterSeconds: 1}
	p.scf.SetFaults(p.scfBase)
	p.cw.SetFaults(p.cwBase)
	p.geo.SetFaults(p.geoBase)
}

func (p *scfPair) tick(n int) {
	changed := false
	arm := func(every int, counter *int, to int) { changed = topUp(n, every, counter, to) || changed }

	sf := p.scf.Faults()
	sf.ErrorRate, sf.RetryAfterSeconds = p.scfBase.ErrorRate, p.scfBase.RetryAfterSeconds
	arm(5, &sf.RateLimitBurst, 2)
	arm(7, &sf.HTMLPages, 1)
	arm(9, &sf.HTMLOn200, 1)
	arm(11, &sf.Redirects, 1)
	if changed {
		p.scf.SetFaults(sf)
	}

	changed = false
	cf := p.cw.Faults()
	p.tally(cf)
	cf.ErrorRate, cf.TokenExpireRate, cf.RetryAfterSeconds, cf.SlowDelay = p.cwBase.ErrorRate, p.cwBase.TokenExpireRate, p.cwBase.RetryAfterSeconds, p.cwBase.SlowDelay
	arm(5, &cf.RateLimitBurst, 3)
	arm(6, &cf.ServerErrors, 1)
	arm(7, &cf.Unavailable, 1)
	arm(9, &cf.HTMLOn200, 1)
	arm(11, &cf.LoginRedirect, 1)
	arm(13, &cf.ObjectMoved, 1)
	arm(10, &cf.DropAfterCreate, 1)
	if n%17 == 0 && cf.StatusError == 0 {
		cf.StatusError, cf.StatusErrorMethod, cf.StatusErrorMessage, changed = 1, "ServiceRequest/Search", "Simulated query failure", true
	}
	if n%29 == 0 && !cf.ExpireTokens {
		cf.ExpireTokens, changed = true, true
	}
	if n%45 == 15 && cf.SlowCreate == 0 { // held past the client's timeout: costs ~35 s, so rarely
		cf.SlowCreate, changed = 1, true
	}
	if n%40 == 5 && cf.SlowUpload == 0 {
		cf.SlowUpload, changed = 1, true
	}
	if changed {
		p.cw.SetFaults(cf)
		p.cwArmed = cf
	}

	changed = false
	gf := p.geo.Faults()
	gf.ErrorRate, gf.RetryAfterSeconds = p.geoBase.ErrorRate, p.geoBase.RetryAfterSeconds
	arm(4, &gf.RateLimitBurst, 1)
	arm(6, &gf.ServerErrors, 1)
	arm(7, &gf.Unavailable, 1)
	arm(8, &gf.HTMLOn200, 1)
	arm(9, &gf.ConnectionReset, 1)
	arm(10, &gf.ErrorBody, 1)
	if changed {
		p.geo.SetFaults(gf)
	}
}

// tally counts the armed Cityworks counters that fired since the last look.
func (p *scfPair) tally(now cwsim.Faults) {
	p.fired.statusErrors += max(p.cwArmed.StatusError-now.StatusError, 0)
	p.fired.objectMoved += max(p.cwArmed.ObjectMoved-now.ObjectMoved, 0)
	p.cwArmed = now
}

func (p *scfPair) clear() {
	p.tally(p.cw.Faults())
	p.scf.SetFaults(scfsim.Faults{})
	p.cw.SetFaults(cwsim.Faults{})
	p.geo.SetFaults(arcgissim.Faults{})
}

// count adds what the proxy saw as a good answer: Cityworks sessions ended under ticketsync
// (Status 2 or a 302 to the login page; the "Object moved" page is the proxy's HTML-on-200
// already) and Status 1 envelopes.
func (p *scfPair) count(f *faultCounts) {
	f.addN("cityworks", faultAuth, p.cw.Stats().Unauthorized-p.fired.objectMoved)
	f.addN("cityworks", faultEnvelope, p.fired.statusErrors)
}

func (p *scfPair) stop() {}
