package cubu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// HandleHook implements vendorapi.HookHandler for POST /v1/hooks/cubu/{connection}/service/
// actions/{hook}. In order: the method, the signature over the exact body (so nothing about
// an unauthenticated call is judged further), the hook named by the path, the size, the
// payload. Then a before-hook is answered at once from the payload alone (Decide: no I/O, never
// waiting on the work system) and an after-hook becomes intents:
//
//	options.createOn (afterResolve or afterQueueUp)  start: the ticket of the case id
//	afterClose (options.afterClose: cancel)          signal cancel, when the case's ticket is open
//	every other after-hook                           nothing: acknowledged and kept in the
//	                                                 delivery log (there is no timeline-only signal)
//
// DeliveryKey is ReplayKey (hook, case id, body hash): Cubu signs no timestamp or delivery id,
// so a byte-identical delivery is acknowledged without a second effect. The engine records the
// key only once the intents succeeded, so a delivery we failed to act on is acted on when it
// comes again.
func (c *Connector) HandleHook(ctx context.Context, env vendorapi.HookEnv, req vendorapi.HookRequest) (vendorapi.HookResult, error) {
	if req.Method != http.MethodPost {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusMethodNotAllowed, "Cubu service webhooks are POST requests")
	}
	if err := Verify(c.secrets, req.Header.Get(AuthorizationHeader), req.Body); err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnauthorized, err.Error())
	}
	hook, err := hookOf(req.Path)
	if err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusNotFound, err.Error())
	}
	p, err := Parse(hook, req.Body)
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusRequestEntityTooLarge, err.Error())
	case err != nil:
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusBadRequest, err.Error())
	}
	if hook.Synchronous() {
		return c.before(ctx, p), nil
	}
	return c.after(ctx, env, p, req.Body)
}

// hookOf reads the hook from the route's {path...}: "service/actions/<segment>", with either
// documented spelling of the segment.
func hookOf(path string) (Hook, error) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(path, "/"), strings.TrimPrefix(PathPrefix, "/"))
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", fmt.Errorf("cubu: no service webhook at %q: Cubu posts to …/service/actions/<hook> (want one of %s)",
			path, strings.Join(hookNames(), ", "))
	}
	return ParseHook(rest)
}

// before answers a before-hook (200 with Cubu's response body). Only the gate of createOn
// checks the required fields; the others always allow. DecideWithin bounds the answer by
// beforeHookTimeout and allows when anything goes wrong: our trouble never blocks an agent.
func (c *Connector) before(ctx context.Context, p Payload) vendorapi.HookResult {
	d := Decision{Allow: true, Reason: fmt.Sprintf("%s does not guard %s", p.Hook(), c.opts.CreateOn)}
	if p.Hook() == c.gate {
		d = DecideWithin(ctx, c.opts.BeforeHookTimeout, func(context.Context) (Decision, error) {
			return c.decide(p), nil
		})
	}
	return vendorapi.HookResult{Status: http.StatusOK, ContentType: "application/json", Body: d.Body()}
}

// decide is Decide plus the work system's request types: a case whose request type the work
// system would refuse is blocked with the same message as one without a request type.
func (c *Connector) decide(p Payload) Decision {
	d := Decide(p, c.opts.Fields, c.required)
	if !d.Allow || len(c.types) == 0 {
		return d
	}
	if rt := c.opts.Fields.extract(p).values[FieldRequestType]; rt != "" && !slices.Contains(c.types, rt) {
		return Decision{Allow: false, Missing: []string{FieldRequestType},
			Message: fmt.Sprintf("This service is not set up to create work orders (request type %q is unknown to the work system), so you cannot %s %s here yet. Please ask an administrator.",
				rt, verbs[p.Hook()], ticketLabel(p.CaseInfo())),
			Reason: fmt.Sprintf("request type %q is not accepted by %s", rt, c.workKind)}
	}
	return d
}

// after turns an after-hook into intents.
func (c *Connector) after(ctx context.Context, env vendorapi.HookEnv, p Payload, body []byte) (vendorapi.HookResult, error) {
	caseID := p.CaseInfo().CaseID
	res := vendorapi.HookResult{DeliveryKey: ReplayKey(c.conn, p.Hook(), caseID, body)}
	switch {
	case p.Hook() == c.opts.CreateOn:
		nr, err := c.newRequest(p)
		if err != nil {
			// Verified and well-formed, but no work system would take it: say so to Cubu's
			// delivery log instead of starting a ticket that can only park.
			return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnprocessableEntity, err.Error())
		}
		res.Intents = []vendorapi.Intent{{Kind: vendorapi.IntentStart, ExternalID: caseID, Request: &nr}}
	case p.Hook() == AfterClose && c.opts.AfterClose == AfterCloseCancel:
		t, ok, err := env.Ticket(ctx, caseID)
		if err != nil {
			return vendorapi.HookResult{}, fmt.Errorf("cubu: look up the ticket of case %s: %w", caseID, err)
		}
		if ok && !ticket.IsTerminal(t.Status) {
			res.Intents = []vendorapi.Intent{{Kind: vendorapi.IntentSignal, ExternalID: caseID, Signal: ticket.SignalCancel,
				Payload: ticket.CancelSignal{Reason: "the case (" + ticketLabel(p.CaseInfo()) + ") was closed in Cubu"}}}
		}
	}
	return res, nil
}

// newRequest maps a case to the vendor-neutral request of its ticket: ToNewRequest, checked
// against the work system's request types, plus the Cubu context staff need (queue ticket,
// appointment, customer record) as answers.
func (c *Connector) newRequest(p Payload) (vendorapi.NewRequest, error) {
	r, err := ToNewRequest(p, c.opts.Fields)
	if err != nil {
		return vendorapi.NewRequest{}, err
	}
	if len(c.types) > 0 && !slices.Contains(c.types, r.RequestType) {
		return vendorapi.NewRequest{}, &MappingError{CaseID: r.ExternalID, Reason: fmt.Sprintf(
			"request type %q is not accepted by %s (want one of %s)", r.RequestType, c.workKind, strings.Join(c.types, ", "))}
	}
	answers := map[string]string{}
	for k, v := range r.Answers {
		answers[k] = v
	}
	addAnswer := func(k, v string) {
		if _, taken := answers[k]; !taken && v != "" {
			answers[k] = v
		}
	}
	addAnswer("Cubu ticket", r.Ticket)
	addAnswer("Appointment", appointmentText(AppointmentOf(p)))
	if r.ContactFromCustomerRecord {
		addAnswer("Cubu customer record", r.CustomerRecordID)
	}
	if len(answers) == 0 {
		answers = nil
	}
	return vendorapi.NewRequest{
		RequestType: r.RequestType,
		Title:       r.Title,
		Description: r.Description,
		Location:    vendorapi.Location{Address: r.Location.Address, Lat: r.Location.Lat, Lng: r.Location.Lng},
		Requester:   vendorapi.Person{Name: r.Requester.Name, Email: r.Requester.Email, Phone: r.Requester.Phone},
		Answers:     answers,
	}, nil
}

// appointmentText renders an appointment as the customer was told it: the local wall clock and
// its zone, e.g. "2024-12-17 09:30 America/New_York, 30 min". It reads only the payload (no
// time zone database), so the same case always maps to the same request.
func appointmentText(a *Appointment) string {
	if a == nil {
		return ""
	}
	var when string
	switch {
	case !a.TimeLocal.IsZero():
		when = a.TimeLocal.Clock.Format("2006-01-02 15:04")
	case !a.Date.IsZero():
		when = fmt.Sprintf("%s %02d:%02d", a.Date, a.Start/60, a.Start%60)
	case !a.TimeUTC.IsZero():
		when = a.TimeUTC.UTC().Format("2006-01-02 15:04") + " UTC"
	default:
		return ""
	}
	if a.TimeZoneID != "" && !strings.HasSuffix(when, " UTC") {
		when += " " + a.TimeZoneID
	}
	if a.Duration > 0 {
		when += fmt.Sprintf(", %d min", a.Duration)
	}
	return when
}
