package seeclickfix_test

// Contract tests: the real client against the simulator over real HTTP. No canned responses.

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// clock is a manual clock for the simulator (ties, rate windows, auto-archive).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 2, 10, 13, 15, 19, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sim    *sim.Server
	srv    *httptest.Server
	clock  *clock
	client *seeclickfix.Client
}

// newEnv starts a simulator on a manual clock (rate limit off unless opts say otherwise via
// tweak) and a client with Basic auth.
func newEnv(t *testing.T, opts sim.Options, tweak ...func(*seeclickfix.Config)) *env {
	t.Helper()
	clk := newClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := seeclickfix.Config{BaseURL: srv.URL, OrganizationID: sim.DefaultOrganizationID,
		Username: sim.DefaultUsername, Password: sim.DefaultPassword, Timeout: 2 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := seeclickfix.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, clock: clk, client: c}
}

func noLimit() sim.Options { return sim.Options{DisableRateLimit: true} }

// vendorErr asserts err is a *vendorapi.Error of this vendor and returns it.
func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != seeclickfix.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func report(t *testing.T, e *env, in sim.ReportInput) sim.Issue {
	t.Helper()
	is, err := e.sim.Report(in)
	if err != nil {
		t.Fatalf("sim report: %v", err)
	}
	return is
}

// pngBytes is a real PNG of the given side length.
func pngBytes(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for x := range side {
		img.Set(x, x, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIssueGetAndDetails(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	pic := pngBytes(t, 8)
	is := report(t, e, sim.ReportInput{Summary: "Pothole on Elm", Description: "Big one", Lat: 41.31, Lng: -72.92,
		Address: "12 Elm St", RequestTypeID: 1001, Reporter: "Ada Citizen", Image: pic,
		Answers: map[string]any{"5001": "2", "5002": "555-0100"}})
	anon := report(t, e, sim.ReportInput{Summary: "Graffiti", RequestTypeID: 1002,
		Answers: map[string]any{"5004": []any{"wall", "bridge"}}})

	got, err := e.client.Issue(ctx, is.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != is.ID || got.Status != seeclickfix.StatusOpen || got.Summary != "Pothole on Elm" || got.Description != "Big one" ||
		got.Address != "12 Elm St" || got.Lat != 41.31 || got.Lng != -72.92 || got.RequestType.ID != 1001 ||
		got.RequestType.Title != "Pothole" || got.RequestType.Organization != sim.DefaultOrganizationName ||
		got.Reporter.Name != "Ada Citizen" || got.Reporter.ID == 0 || got.PrivateVisibility {
		t.Fatalf("issue = %+v", got)
	}
	if got.Point == nil || got.Point.Type != "Point" || got.Point.Coordinates[0] != -72.92 || got.Point.Coordinates[1] != 41.31 {
		t.Errorf("point = %+v", got.Point)
	}
	if !got.CreatedAt.Equal(is.CreatedAt) || !got.UpdatedAt.Equal(is.UpdatedAt) || !got.ClosedAt.IsZero() || !got.AcknowledgedAt.IsZero() {
		t.Errorf("times: created %v updated %v closed %v", got.CreatedAt, got.UpdatedAt, got.ClosedAt)
	}
	if _, off := got.UpdatedAt.Zone(); off != -5*3600 {
		t.Errorf("timestamps lost their offset: %v", got.UpdatedAt)
	}
	if got.Transitions.CloseURL == "" || got.Transitions.OpenURL != "" {
		t.Errorf("transitions of an open issue = %+v", got.Transitions)
	}
	// The member API user sees private answers; choice names stand for select keys.
	ans := got.Answers()
	if ans["How deep is it?"] != "Deep" || ans["Your phone number"] != "555-0100" || len(got.Comments) != 0 || got.CommentCount != 0 {
		t.Errorf("answers = %v, comments = %v", ans, got.Comments)
	}
	if loc := got.Location(); loc.Address != "12 Elm St" || loc.Lat == nil || *loc.Lat != 41.31 {
		t.Errorf("Location() = %+v", loc)
	}
	if p := got.Requester(); p.Name != "Ada Citizen" {
		t.Errorf("Requester() = %+v", p)
	}

	// The issue's image: a redirecting URL, fetched without credentials.
	att := got.Attachments()
	if len(att) != 1 || att[0].URL != got.Media.ImageFull || got.Media.ImageSquare100x100 == "" {
		t.Fatalf("media = %+v", got.Media)
	}
	m, err := e.client.DownloadMedia(ctx, got.Media.ImageFull, 0)
	if err != nil || !bytes.Equal(m.Data, pic) || m.ContentType != "image/png" || !strings.Contains(m.URL, "/_media/") {
		t.Fatalf("DownloadMedia = %+v, %v", m, err)
	}
	_, err = e.client.DownloadMedia(ctx, got.Media.ImageFull, int64(len(pic)-1))
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeMediaTooLarge || ve.Retryable {
		t.Errorf("oversized media: %+v", ve)
	}
	_, err = e.client.DownloadMedia(ctx, e.srv.URL+"/files/nope/full", 0)
	if ve := vendorErr(t, err); !vendorapi.IsNotFound(err) || ve.Retryable {
		t.Errorf("missing media: %+v", ve)
	}

	// Anonymous reporter, multivaluelist answer, no image.
	got2, err := e.client.Issue(ctx, anon.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got2.Reporter.ID != 0 || got2.Requester().Name != "Anonymous" || got2.Answers()["Surfaces"] != "Wall, Bridge" ||
		got2.Media.ImageFull != "" || got2.Attachments() != nil || got2.Description != "" {
		t.Errorf("anonymous issue = %+v", got2)
	}

	_, err = e.client.Issue(ctx, 999999, false)
	if ve := vendorErr(t, err); !vendorapi.IsNotFound(err) || ve.Code != seeclickfix.CodeNotFound || ve.Retryable || ve.Kind() != "NotFound" {
		t.Errorf("unknown issue: %+v", ve)
	}
}

func TestCommentsAddListImageAndEdits(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "Streetlight out", RequestTypeID: 1003, Reporter: "Bo"})
	if _, err := e.sim.AddComment(is.ID, sim.CommentInput{Comment: "Still dark tonight", Name: "Bo"}); err != nil {
		t.Fatal(err)
	}

	res, err := e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "A crew is scheduled for Tuesday."})
	if err != nil || res.Moderated || res.Comment == nil || res.IssueStatus != seeclickfix.StatusOpen {
		t.Fatalf("AddComment = %+v, %v", res, err)
	}
	if res.Comment.ID == 0 || res.Comment.Comment != "A crew is scheduled for Tuesday." || !res.Comment.IsStaff() ||
		res.Comment.Commenter.ID != sim.DefaultUser().ID {
		t.Errorf("posted comment = %+v", res.Comment)
	}
	pic := pngBytes(t, 16)
	withImg, err := e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "Photo of the repair", Image: &seeclickfix.Image{Name: "after.png", Data: pic}})
	if err != nil || withImg.Comment == nil || withImg.Comment.Media.ImageFull == "" {
		t.Fatalf("AddComment with image = %+v, %v", withImg, err)
	}

	comments, err := e.client.Comments(ctx, is.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 3 || comments[0].Comment != "Still dark tonight" || comments[0].IsStaff() ||
		comments[1].ID != res.Comment.ID || comments[2].ID != withImg.Comment.ID {
		t.Fatalf("comments = %+v", comments)
	}
	if comments[0].ID == 0 || comments[0].ID == comments[1].ID || comments[0].EditableUntil.IsZero() || !comments[0].LastEditedAt.IsZero() {
		t.Errorf("derived ids / times: %+v", comments[0])
	}
	if !seeclickfix.HasComment(comments, " A crew is scheduled for Tuesday. ", sim.DefaultUser().ID) ||
		seeclickfix.HasComment(comments, "A crew is scheduled for Tuesday.", 12345) ||
		seeclickfix.HasComment(comments, "never said", 0) {
		t.Error("HasComment")
	}
	m, err := e.client.DownloadMedia(ctx, comments[2].Media.ImageFull, 0)
	if err != nil || !bytes.Equal(m.Data, pic) {
		t.Fatalf("comment image: %v", err)
	}

	// What the client relayed, read back from the simulator.
	var api []sim.Post
	for _, p := range e.sim.Posted(is.ID) {
		if p.Via == "api" {
			api = append(api, p)
		}
	}
	if len(api) != 2 || api[0].Kind != "comment" || api[0].Comment != "A crew is scheduled for Tuesday." || api[0].Image != nil ||
		!bytes.Equal(api[1].Image, pic) || api[1].ImageType != "image/png" || api[1].By.ID != sim.DefaultUser().ID {
		t.Fatalf("posted via API = %+v", api)
	}

	// Comments are edited later: same derived id, new text, last_edited_at set, issue updated.
	e.clock.Advance(2 * time.Minute)
	before, _ := e.client.Issue(ctx, is.ID, false)
	if _, err := e.sim.EditComment(is.ID, comments[0].ID, "Still dark, and now flickering"); err != nil {
		t.Fatal(err)
	}
	again, _ := e.client.Comments(ctx, is.ID)
	if again[0].ID != comments[0].ID || again[0].Comment != "Still dark, and now flickering" || again[0].LastEditedAt.IsZero() {
		t.Errorf("edited comment = %+v", again[0])
	}
	if after, _ := e.client.Issue(ctx, is.ID, false); !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("edit did not move updated_at: %v → %v", before.UpdatedAt, after.UpdatedAt)
	}

	// Validation and unknown issues.
	_, err = e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "   "})
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument || ve.Retryable {
		t.Errorf("blank comment: %+v", ve)
	}
	_, err = e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "pdf", Image: &seeclickfix.Image{Data: []byte("%PDF-1.4 not an image")}})
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument || ve.Retryable {
		t.Errorf("non-image upload: %+v", ve)
	}
	_, err = e.client.AddComment(ctx, 999999, seeclickfix.Post{Comment: "hello"})
	if !vendorapi.IsNotFound(err) {
		t.Errorf("comment on unknown issue: %v", err)
	}
}

func TestModeratedComment(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "Trash", Reporter: "Cy"})
	e.sim.SetFaults(sim.Faults{ModerateComments: 1})
	res, err := e.client.AddComment(ctx, is.ID, seeclickfix.Post{Comment: "Thanks for reporting"})
	if err != nil || !res.Moderated || res.Comment != nil {
		t.Fatalf("moderated AddComment = %+v, %v", res, err)
	}
	if cs, _ := e.client.Comments(ctx, is.ID); len(cs) != 0 {
		t.Fatalf("held comment is listed: %+v", cs)
	}
	posted := e.sim.Posted(is.ID)
	if len(posted) != 1 || !posted[0].Moderated {
		t.Fatalf("posted = %+v", posted)
	}
	if err := e.sim.ApproveComment(is.ID, posted[0].CommentID); err != nil {
		t.Fatal(err)
	}
	if cs, _ := e.client.Comments(ctx, is.ID); len(cs) != 1 || !seeclickfix.HasComment(cs, "Thanks for reporting", 0) {
		t.Fatalf("approved comment missing: %+v", cs)
	}
}

func TestStatusChanges(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	is := report(t, e, sim.ReportInput{Summary: "Fallen tree", Reporter: "Di"})
	post := func(text string) seeclickfix.Post { return seeclickfix.Post{Comment: text} }

	ack, err := e.client.Acknowledge(ctx, is.ID, post("We have received your report."))
	if err != nil || ack.IssueStatus != seeclickfix.StatusAcknowledged || ack.AlreadyDone || ack.Comment == nil ||
		ack.Comment.Comment != "We have received your report." {
		t.Fatalf("Acknowledge = %+v, %v", ack, err)
	}
	again, err := e.client.Acknowledge(ctx, is.ID, post("We have received your report."))
	if err != nil || !again.AlreadyDone || again.IssueStatus != seeclickfix.StatusAcknowledged {
		t.Fatalf("second Acknowledge = %+v, %v", again, err)
	}
	pic := pngBytes(t, 4)
	closed, err := e.client.Close(ctx, is.ID, seeclickfix.Post{Comment: "Tree removed.", Image: &seeclickfix.Image{Data: pic}})
	if err != nil || closed.IssueStatus != seeclickfix.StatusClosed || closed.Comment == nil || closed.Comment.Media.ImageFull == "" {
		t.Fatalf("Close = %+v, %v", closed, err)
	}
	got, _ := e.client.Issue(ctx, is.ID, true)
	if got.Status != seeclickfix.StatusClosed || got.ClosedAt.IsZero() || got.AcknowledgedAt.IsZero() ||
		got.Transitions.OpenURL == "" || got.Transitions.CloseURL != "" || len(got.Comments) != 2 {
		t.Fatalf("closed issue = %+v", got)
	}
	// A retried close (first attempt went through) is success, not a parked ticket.
	dup, err := e.client.Close(ctx, is.ID, post("Tree removed."))
	if err != nil || !dup.AlreadyDone || dup.IssueStatus != seeclickfix.StatusClosed {
		t.Fatalf("second Close = %+v, %v", dup, err)
	}
	// Acknowledging a closed issue is a genuine refusal.
	_, err = e.client.Acknowledge(ctx, is.ID, post("late"))
	if ve := vendorErr(t, err); ve.HTTPStatus != 422 || ve.Code != seeclickfix.CodeInvalidTransition || ve.Retryable ||
		!strings.Contains(ve.Message, "Closed") {
		t.Fatalf("acknowledge closed: %+v", ve)
	}
	reopened, err := e.client.Reopen(ctx, is.ID, post("Reopening: stump still there."))
	if err != nil || reopened.IssueStatus != seeclickfix.StatusOpen {
		t.Fatalf("Reopen = %+v, %v", reopened, err)
	}
	if got, _ := e.client.Issue(ctx, is.ID, false); got.ReopenedAt.IsZero() || !got.ClosedAt.IsZero() {
		t.Errorf("reopened issue = %+v", got)
	}
	var kinds []string
	for _, p := range e.sim.Posted(is.ID) {
		kinds = append(kinds, p.Kind+":"+p.StatusFrom+">"+p.StatusTo)
	}
	if strings.Join(kinds, ",") != "acknowledge:Open>Acknowledged,close:Acknowledged>Closed,open:Closed>Open" {
		t.Errorf("posted = %v", kinds)
	}

	// Closed issues archive after 7 days; archived ones cannot change status.
	if _, err := e.client.Close(ctx, is.ID, post("Done for good.")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(7*24*time.Hour + time.Second)
	arch, err := e.client.Issue(ctx, is.ID, false)
	if err != nil || arch.Status != seeclickfix.StatusArchived || !arch.IsFinal() || arch.Transitions != (seeclickfix.Transitions{}) {
		t.Fatalf("after 7 days: %+v, %v", arch, err)
	}
	if res, err := e.client.Close(ctx, is.ID, post("again")); err != nil || !res.AlreadyDone {
		t.Errorf("close archived = %+v, %v (archived counts as closed)", res, err)
	}
	_, err = e.client.Reopen(ctx, is.ID, post("reopen archived"))
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidTransition || ve.Retryable {
		t.Errorf("reopen archived: %+v", ve)
	}
	// A status change needs a comment; checked before any call.
	calls := e.sim.Stats().APICalls
	_, err = e.client.Close(ctx, is.ID, post(""))
	if ve := vendorErr(t, err); ve.Code != seeclickfix.CodeInvalidArgument || e.sim.Stats().APICalls != calls {
		t.Errorf("close without comment: %+v", ve)
	}
}

func TestNonMemberIsForbiddenOnOrganizationAPI(t *testing.T) {
	citizen := sim.User{ID: 77, Name: "Eve", Token: "citizen-token"}
	e := newEnv(t, sim.Options{DisableRateLimit: true, Users: []sim.User{sim.DefaultUser(), citizen}},
		func(c *seeclickfix.Config) { c.Username, c.Password, c.Token = "", "", "citizen-token" })
	_, err := e.client.Issue(context.Background(), 1, false)
	if ve := vendorErr(t, err); ve.HTTPStatus != 403 || ve.Code != seeclickfix.CodeForbidden || ve.Retryable || ve.Kind() != "Auth" {
		t.Fatalf("non-member on the organization API: %+v", ve)
	}
}

func TestCreateIssue(t *testing.T) {
	e := newEnv(t, noLimit())
	ctx := context.Background()
	created, err := e.client.CreateIssue(ctx, seeclickfix.NewIssue{Lat: 41.3, Lng: -72.9, Address: "1 Main St", RequestTypeID: 1002,
		Answers: map[string]any{"summary": "Tag on the bridge", "description": "Blue paint", "5003": true, "5004": []string{"bridge", "wall"}}})
	if err != nil || created.Moderated || created.ID == 0 || created.Issue == nil || !strings.HasSuffix(created.Location, "/issues/"+strconv.FormatInt(created.ID, 10)) {
		t.Fatalf("CreateIssue = %+v, %v", created, err)
	}
	if created.Issue.Summary != "Tag on the bridge" || created.Issue.Reporter.ID != sim.DefaultUser().ID {
		t.Errorf("created issue = %+v", created.Issue)
	}
	got, _ := e.client.Issue(ctx, created.ID, true)
	if got.Answers()["Surfaces"] != "Bridge, Wall" || got.Answers()["Is it offensive?"] != "true" {
		t.Errorf("answers = %v", got.Answers())
	}

	pic := pngBytes(t, 6)
	withImg, err := e.client.CreateIssue(ctx, seeclickfix.NewIssue{Lat: 41.3, Lng: -72.9, RequestTypeID: 1001, AnonymizeReporter: true,
		Answers: map[string]any{"summary": "Deep hole", "5001": "2", "5004": []string{"ignored: not a question of 1001"}}, Image: &seeclickfix.Image{Data: pic}})
	if err != nil || withImg.Issue == nil || withImg.Issue.Media.ImageFull == "" || withImg.Issue.Reporter.ID != 0 {
		t.Fatalf("CreateIssue multipart = %+v, %v", withImg, err)
	}
	if m, err := e.client.DownloadMedia(ctx, withImg.Issue.Media.ImageFull, 0); err != nil || !bytes.Equal(m.Data, pic) {
		t.Errorf("issue image: %v", err)
	}

	_, err = e.client.CreateIssue(ctx, seeclickfix.NewIssue{Lat: 41.3, Lng: -72.9, RequestTypeID: 1001,
		Answers: map[string]any{"5001": "9"}})
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 422 || ve.Code != seeclickfix.CodeValidationFailed || ve.Retryable || ve.Kind() != "Validation" ||
		ve.Fields["summary"] == "" || ve.Fields["5001"] == "" {
		t.Errorf("invalid report: %+v", ve)
	}

	e.sim.SetFaults(sim.Faults{ModerateIssues: 1})
	held, err := e.client.CreateIssue(ctx, seeclickfix.NewIssue{Lat: 41.3, Lng: -72.9, RequestTypeID: 1004,
		Answers: map[string]any{"summary": "Noise"}})
	if err != nil || !held.Moderated || held.ID != 0 {
		t.Errorf("moderated report = %+v, %v", held, err)
	}
}
