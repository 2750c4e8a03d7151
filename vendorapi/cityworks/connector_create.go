package cityworks

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// privateQuestionRe is SeeClickFix Connect's rule for questions whose answers are personal: the
// text mentions an e-mail address or a phone number. It also finds the caller's contact answers.
var privateQuestionRe = regexp.MustCompile(`(?i)e-?mail|phone`)

// qaTTL bounds how long a problem's questions are cached for creates (they change rarely; a
// stale cache only costs an answer that lands in Details instead of the Q&A).
const qaTTL = 10 * time.Minute

type cachedQA struct {
	qa ProblemQA
	at time.Time
}

// CreateWithNotes creates the ticket's service request or work order, per the category its
// request type maps to (options.categories), and returns its remote id with notes for the
// ticket's timeline. Before creating, the point is reverse-geocoded when a geocoder is
// configured; when that fails or finds nothing, the request's own address is used and a note
// says so. A request naming an existing Cityworks request (vendorapi.AnswerAdoptRemoteID, an
// import) adopts it instead. Our reference goes in OtherSystemId (SR) or the reference text
// field (WO); the client looks it up before creating, so a retried create never duplicates.
func (c *Connector) CreateWithNotes(ctx context.Context, req vendorapi.NewRequest) (string, []string, error) {
	const op = "create request"
	if adopt := req.Answers[vendorapi.AnswerAdoptRemoteID]; adopt != "" {
		id, err := c.adopt(ctx, adopt)
		return id, nil, err
	}
	cat, ok := c.opts.category(req.RequestType)
	if !ok {
		return "", nil, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusUnprocessableEntity, Code: "unmapped_request_type",
			Message: fmt.Sprintf("request type %q has no entry in options.categories (known: %s)", req.RequestType, c.knownTypes())}
	}
	addr, notes := c.address(ctx, req.Location)
	if cat.Kind == KindWO {
		id, err := c.createWO(ctx, cat, req, addr)
		return id, notes, err
	}
	id, err := c.createSR(ctx, cat, req, addr)
	return id, notes, err
}

func (c *Connector) knownTypes() string {
	var out []string
	for _, cat := range c.opts.Categories {
		out = append(out, string(cat.RequestType))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// adopt returns an existing request raised directly in Cityworks (an imported one): it must
// exist and must not be one of ours.
func (c *Connector) adopt(ctx context.Context, id string) (string, error) {
	const op = "adopt request"
	rid, err := parseRemoteID(op, id)
	if err != nil || rid.sr == 0 {
		return "", invalidArgument(op, fmt.Sprintf("only service requests are imported, not %q", id))
	}
	sr, err := c.client.Request(ctx, rid.sr)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(sr.InitiatedByApp, c.client.app) {
		return "", invalidArgument(op, fmt.Sprintf("service request %d was created by ticketsync, not imported", rid.sr))
	}
	return srRemote(sr.RequestId), nil
}

// location is where the request is, as Cityworks takes it.
type location struct {
	Address, City, State, Zip string
	X, Y                      *float64 // longitude, latitude (WGS84)
}

// address resolves the request's point to an address through the geocoder, falling back to
// the request's own address (with a note) on no match or any failure: a geocode never blocks a
// create.
func (c *Connector) address(ctx context.Context, l vendorapi.Location) (location, []string) {
	out := location{Address: strings.TrimSpace(l.Address)}
	if l.Lat == nil || l.Lng == nil {
		return out, nil
	}
	lng, lat := *l.Lng, *l.Lat
	out.X, out.Y = &lng, &lat
	if c.geocoder == nil {
		return out, nil
	}
	res, err := c.geocoder.ReverseGeocode(ctx, lng, lat)
	fallback := fmt.Sprintf("the reporter's address %q was used", out.Address)
	switch {
	case err != nil:
		return out, []string{fmt.Sprintf("reverse geocoding of (%.6f, %.6f) failed (%v); %s", lat, lng, err, fallback)}
	case !res.Found:
		return out, []string{fmt.Sprintf("reverse geocoding found no address near (%.6f, %.6f); %s", lat, lng, fallback)}
	}
	a := res.Address
	street := a.Street
	if street == "" {
		street = a.Match
	}
	geo := location{Address: street, City: a.City, State: a.State, Zip: a.Zip, X: out.X, Y: out.Y}
	return geo, []string{fmt.Sprintf("address from reverse geocoding: %s (reporter gave %q)", a.Match, out.Address)}
}

func (c *Connector) createSR(ctx context.Context, cat CategoryOption, req vendorapi.NewRequest, loc location) (string, error) {
	sid, _ := strconv.Atoi(string(cat.TemplateID)) // checked by ParseOptions
	in := NewServiceRequest{ProblemSid: sid, OtherSystemId: req.ExternalReference,
		Address: loc.Address, City: loc.City, State: loc.State, Zip: loc.Zip, X: loc.X, Y: loc.Y}
	if loc.X != nil {
		in.WKID = 4326
	}
	answers, rest, err := c.answers(ctx, sid, req.Answers)
	if err != nil {
		return "", err
	}
	in.Answers = answers
	in.Details = details(req, rest)
	first, last := splitName(req.Requester.Name)
	in.CallerFirstName, in.CallerLastName = first, last
	in.CallerEmail, in.CallerHomePhone = contact(req)
	sr, err := c.client.CreateRequest(ctx, in)
	if err != nil {
		return "", err
	}
	return srRemote(sr.RequestId), nil
}

func (c *Connector) createWO(ctx context.Context, cat CategoryOption, req vendorapi.NewRequest, loc location) (string, error) {
	in := NewWorkOrder{WOTemplateId: string(cat.TemplateID), EntityType: cat.EntityType, Reference: req.ExternalReference,
		Address: loc.Address, City: loc.City, Zip: loc.Zip, X: loc.X, Y: loc.Y}
	if loc.X != nil {
		in.WKID = 4326
	}
	// Work orders have no questions or caller fields: everything the requester said goes in
	// the comments, so the crew sees it. The heading keeps a requester's text that happens to
	// start with the public prefix from being relayed back as staff feedback.
	var b strings.Builder
	b.WriteString("Requester's report:\n")
	b.WriteString(details(req, sortedAnswers(req.Answers)))
	if name := strings.TrimSpace(req.Requester.Name); name != "" {
		fmt.Fprintf(&b, "\nRequester: %s", name)
		if email, phone := contact(req); email != "" || phone != "" {
			fmt.Fprintf(&b, " %s", strings.TrimSpace(email+" "+phone))
		}
	}
	in.Comments = b.String()
	wos, err := c.client.CreateWorkOrder(ctx, in)
	if err != nil {
		return "", err
	}
	if len(wos) == 0 {
		return "", &vendorapi.Error{Vendor: Vendor, Op: "create work order", Code: "bad_response", Retryable: true,
			Message: "Cityworks answered the create without a work order"}
	}
	return woRemote(string(wos[0].WorkOrderId)), nil
}

// answers maps the request's answers (keyed by question text, or by QuestionId) to the
// problem's answer ids: a fixed choice by its text, free text into the question's free-text
// answer. What cannot be mapped is returned as "question: answer" lines for Details, so
// nothing the requester said is lost.
func (c *Connector) answers(ctx context.Context, problemSid int, given map[string]string) ([]AnswerInput, []string, error) {
	if len(given) == 0 {
		return nil, nil, nil
	}
	qa, err := c.problemQA(ctx, problemSid)
	if err != nil {
		return nil, nil, err
	}
	var out []AnswerInput
	var rest []string
	for _, key := range slices.Sorted(maps.Keys(given)) {
		val := strings.TrimSpace(given[key])
		if key == vendorapi.AnswerAdoptRemoteID || val == "" {
			continue
		}
		qi := slices.IndexFunc(qa.Questions, func(q Question) bool {
			return strings.EqualFold(strings.TrimSpace(q.Question), strings.TrimSpace(key)) || strconv.Itoa(q.QuestionId) == key
		})
		if qi < 0 {
			rest = append(rest, key+": "+val)
			continue
		}
		q := qa.Questions[qi]
		choices := qa.AnswersTo(q.QuestionId)
		if i := slices.IndexFunc(choices, func(a Answer) bool { return a.IsFixedChoice() && strings.EqualFold(strings.TrimSpace(a.Answer), val) }); i >= 0 {
			out = append(out, AnswerInput{AnswerId: choices[i].AnswerId})
			continue
		}
		if i := slices.IndexFunc(choices, func(a Answer) bool { return !a.IsFixedChoice() }); i >= 0 {
			out = append(out, AnswerInput{AnswerId: choices[i].AnswerId, AnswerValue: val})
			continue
		}
		rest = append(rest, q.Question+": "+val)
	}
	return out, rest, nil
}

func (c *Connector) problemQA(ctx context.Context, sid int) (ProblemQA, error) {
	c.qaMu.Lock()
	e, ok := c.qaCache[sid]
	c.qaMu.Unlock()
	if ok && c.now().Sub(e.at) < qaTTL {
		return e.qa, nil
	}
	qa, err := c.client.ProblemQA(ctx, sid)
	if err != nil {
		return ProblemQA{}, err
	}
	c.qaMu.Lock()
	c.qaCache[sid] = cachedQA{qa: *qa, at: c.now()}
	c.qaMu.Unlock()
	return *qa, nil
}

// details is the free text of the request: its title and description, then the answers that
// have no place of their own.
func details(req vendorapi.NewRequest, extra []string) string {
	parts := []string{strings.TrimSpace(req.Title)}
	if d := strings.TrimSpace(req.Description); d != "" && d != parts[0] {
		parts = append(parts, d)
	}
	if len(extra) > 0 {
		parts = append(parts, strings.Join(extra, "\n"))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "\n\n")
}

func sortedAnswers(given map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if v := strings.TrimSpace(given[k]); v != "" && k != vendorapi.AnswerAdoptRemoteID {
			out = append(out, k+": "+v)
		}
	}
	return out
}

// splitName splits a display name into Cityworks' caller first and last names (the last word
// is the last name). "Anonymous" reporters give no caller.
func splitName(name string) (first, last string) {
	f := strings.Fields(name)
	switch {
	case len(f) == 0 || (len(f) == 1 && strings.EqualFold(f[0], "anonymous")):
		return "", ""
	case len(f) == 1:
		return f[0], ""
	}
	return strings.Join(f[:len(f)-1], " "), f[len(f)-1]
}

// contact is the caller's e-mail and phone: the requester's own, else the answers to
// questions asking for them (SeeClickFix keeps those private; Cityworks has caller fields).
func contact(req vendorapi.NewRequest) (email, phone string) {
	email, phone = strings.TrimSpace(req.Requester.Email), strings.TrimSpace(req.Requester.Phone)
	for _, k := range slices.Sorted(maps.Keys(req.Answers)) {
		v := strings.TrimSpace(req.Answers[k])
		if v == "" || !privateQuestionRe.MatchString(k) {
			continue
		}
		lk := strings.ToLower(k)
		if email == "" && (strings.Contains(lk, "mail")) {
			email = v
		}
		if phone == "" && strings.Contains(lk, "phone") {
			phone = v
		}
	}
	return email, phone
}
