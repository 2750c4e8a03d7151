package theworxhub_test

// Contract tests: the real client against the simulator over real HTTP. No canned responses.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// clock is a manual clock for the simulator (ties, cursor expiry, rate-limit window).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 5, 1, 13, 2, 11, 431_000_000, time.UTC)} }

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
	client *theworxhub.Client
}

func newEnv(t *testing.T, opts sim.Options, tweak ...func(*theworxhub.Config)) *env {
	t.Helper()
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(s.Close)
	t.Cleanup(srv.Close)
	cfg := theworxhub.Config{BaseURL: srv.URL, ClientID: sim.DefaultClientID, ClientSecret: sim.DefaultClientSecret,
		Timeout: 2 * time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := theworxhub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c}
}

func newRequest(ref string) vendorapi.NewRequest {
	return vendorapi.NewRequest{
		ExternalReference: ref,
		RequestType:       "Maintenance",
		Title:             "Leaking tap",
		Description:       "The kitchen tap drips all night.",
		Location:          vendorapi.Location{Address: "Building A, apt 12"},
		Requester:         vendorapi.Person{Name: "Ada Resident", Email: "ada@example.org"},
	}
}

func mustCreate(t *testing.T, e *env, ref string) string {
	t.Helper()
	id, err := e.client.Create(context.Background(), newRequest(ref))
	if err != nil {
		t.Fatalf("create %s: %v", ref, err)
	}
	return id
}

// vendorErr asserts err is a *vendorapi.Error and returns it.
func vendorErr(t *testing.T, err error) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendorapi.Error, got %T %v", err, err)
	}
	if ve.Vendor != theworxhub.Vendor {
		t.Errorf("Vendor = %q", ve.Vendor)
	}
	return ve
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	ref := e.client.Reference("conn-1", "ext-42")
	if ref != "ticketsync:conn-1:ext-42" || e.client.Kind() != "theworxhub" {
		t.Fatalf("Reference = %q Kind = %q", ref, e.client.Kind())
	}

	if got, err := e.client.FindByReference(ctx, ref); err != nil || got != nil {
		t.Fatalf("FindByReference before create = %v, %v; want nil, nil", got, err)
	}
	id := mustCreate(t, e, ref)
	if id == "" || strings.Trim(id, "0123456789") != "" {
		t.Fatalf("id %q is not a numeric string", id)
	}

	// The mapping landed where the contract says.
	stored, ok := e.sim.Request(id)
	if !ok {
		t.Fatalf("sim has no request %s", id)
	}
	if stored.Location != "Building A, apt 12" || stored.RequestedFor.Name != "Ada Resident" ||
		stored.RequestedFor.Email != "ada@example.org" || stored.RequestedFor.Phone != "" ||
		stored.ExternalReference != ref || stored.RequestType != "Maintenance" || stored.Status != sim.StatusPending {
		t.Fatalf("stored request = %+v", stored)
	}

	found, err := e.client.FindByReference(ctx, ref)
	if err != nil || found == nil || found.ID != id || found.Status != "Pending" || found.Category != "" || found.WorkOrderID != "" {
		t.Fatalf("FindByReference = %+v, %v", found, err)
	}
	got, err := e.client.Get(ctx, id)
	if err != nil || got.ID != id || got.ExternalReference != ref || got.CreatedAt.IsZero() || !got.ModifiedAt.Equal(stored.ModifiedAt) {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	cm := vendorapi.Comment{Text: "Please come after 10am", Author: "Ada Resident"}
	added, err := e.client.AddComment(ctx, id, cm)
	if err != nil || added.ID == "" || added.Text != cm.Text || added.Author != cm.Author || added.CreatedAt.IsZero() {
		t.Fatalf("AddComment = %+v, %v", added, err)
	}
	got, _ = e.client.Get(ctx, id)
	if len(got.Comments) != 1 || got.Comments[0].ID != added.ID || got.Status != "Pending" || !theworxhub.HasComment(got, cm) {
		t.Fatalf("after comment: %+v", got)
	}

	cancelled, err := e.client.Cancel(ctx, id, "no longer needed")
	if err != nil || cancelled.Status != "Cancelled" || cancelled.ID != id {
		t.Fatalf("Cancel = %+v, %v", cancelled, err)
	}
	again, err := e.client.Cancel(ctx, id, "again")
	if err != nil || again.Status != "Cancelled" || !again.ModifiedAt.Equal(cancelled.ModifiedAt) {
		t.Fatalf("second Cancel must be an idempotent no-op: %+v, %v", again, err)
	}
	if r, _ := e.sim.Request(id); r.CancelReason != "no longer needed" {
		t.Errorf("cancel reason = %q", r.CancelReason)
	}

	_, err = e.client.AddComment(ctx, id, cm)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 409 || ve.Code != "invalid_transition" || ve.Retryable || !vendorapi.IsConflict(err) {
		t.Fatalf("comment on cancelled: %+v", ve)
	}

	_, err = e.client.Get(ctx, "999999999")
	ve = vendorErr(t, err)
	if !vendorapi.IsNotFound(err) || ve.Code != "not_found" || ve.Retryable || ve.Kind() != "NotFound" {
		t.Fatalf("Get unknown: %+v", ve)
	}
}

func TestCancelTerminalConflict(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	done := mustCreate(t, e, "ticketsync:c:done")
	rejected := mustCreate(t, e, "ticketsync:c:rej")
	if wr, err := e.sim.SetCategory(done, "Plumbing"); err != nil || wr.Status != sim.StatusInProgress || wr.WorkOrderID == "" {
		t.Fatalf("SetCategory = %+v, %v", wr, err)
	}
	if _, err := e.sim.Transition(done, sim.StatusCompleted, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Transition(rejected, sim.StatusRejected, &sim.FeedbackInput{Text: "Not our building"}, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{done, rejected} {
		before, _ := e.sim.Request(id)
		_, err := e.client.Cancel(ctx, id, "changed my mind")
		ve := vendorErr(t, err)
		if ve.HTTPStatus != http.StatusConflict || ve.Code != theworxhub.CodeInvalidTransition || ve.Retryable || ve.Kind() != "Conflict" {
			t.Fatalf("cancel %s: %+v", before.Status, ve)
		}
		if after, _ := e.sim.Request(id); after.Status != before.Status || !after.ModifiedAt.Equal(before.ModifiedAt) {
			t.Fatalf("rejected cancel changed the request: %+v", after)
		}
	}
}

func TestCreateTruncatesLongText(t *testing.T) {
	e := newEnv(t, sim.Options{})
	req := newRequest("ticketsync:c:long")
	req.Title = strings.Repeat("é", 250)
	req.Description = strings.Repeat("ab ", 2000)
	req.Location.Address = strings.Repeat("🏠", 201)
	id, err := e.client.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wr, _ := e.sim.Request(id)
	for name, tc := range map[string]struct {
		got string
		max int
	}{"title": {wr.Title, 200}, "description": {wr.Description, 4000}, "location": {wr.Location, 200}} {
		if n := utf8.RuneCountInString(tc.got); n > tc.max || !strings.HasSuffix(tc.got, "…") || !utf8.ValidString(tc.got) {
			t.Errorf("%s: %d runes, suffix %q", name, n, tc.got[len(tc.got)-6:])
		}
	}
	if utf8.RuneCountInString(wr.Title) != 200 {
		t.Errorf("title should use the whole limit, got %d runes", utf8.RuneCountInString(wr.Title))
	}
}

func TestValidation422(t *testing.T) {
	e := newEnv(t, sim.Options{})
	req := newRequest("ticketsync:c:bad")
	req.RequestType = "Plumbing"
	req.Title = ""
	_, err := e.client.Create(context.Background(), req)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 422 || ve.Code != theworxhub.CodeValidationFailed || ve.Retryable || ve.Kind() != "Validation" {
		t.Fatalf("422: %+v", ve)
	}
	if !strings.Contains(ve.Fields["requestType"], "must be one of") || ve.Fields["title"] == "" || len(ve.Fields) != 2 {
		t.Fatalf("fields = %v", ve.Fields)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("invalid create stored %d requests", n)
	}
}

func TestDuplicateCreateAdoptsExisting(t *testing.T) {
	e := newEnv(t, sim.Options{})
	first := mustCreate(t, e, "ticketsync:c:dup")
	second := mustCreate(t, e, "ticketsync:c:dup")
	if first != second {
		t.Fatalf("duplicate create returned %s, want existing %s", second, first)
	}
	// Adoption works in any state, also after the request was closed.
	if _, err := e.client.Cancel(context.Background(), first, ""); err != nil {
		t.Fatal(err)
	}
	if third := mustCreate(t, e, "ticketsync:c:dup"); third != first {
		t.Fatalf("create after cancel returned %s", third)
	}
	if n, st := len(e.sim.Requests()), e.sim.Stats(); n != 1 || st.Creates != 1 {
		t.Fatalf("%d requests, %d creates; want exactly one", n, st.Creates)
	}
}

// ---- change feed ----

func collect(t *testing.T, c *theworxhub.Client, since time.Time, limit int) (items []vendorapi.RemoteRequest, pages int) {
	t.Helper()
	cursor := ""
	for {
		page, err := c.Changes(context.Background(), since, cursor, limit)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		if len(page.Items) > limit {
			t.Fatalf("page of %d items exceeds limit %d", len(page.Items), limit)
		}
		pages++
		items = append(items, page.Items...)
		if page.NextCursor == "" {
			return items, pages
		}
		cursor = page.NextCursor
		if pages > 100 {
			t.Fatal("feed does not end")
		}
	}
}

func TestFeedTiesAndPaging(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now})
	var ids []string
	for i := range 7 { // all in the same millisecond
		ids = append(ids, mustCreate(t, e, fmt.Sprintf("ticketsync:c:tie-%d", i)))
	}
	items, pages := collect(t, e.client, time.Time{}, 3)
	if pages != 3 || len(items) != 7 {
		t.Fatalf("got %d items in %d pages, want 7 in 3", len(items), pages)
	}
	for i, it := range items {
		if it.ID != ids[i] || !it.ModifiedAt.Equal(items[0].ModifiedAt) {
			t.Fatalf("item %d = %s@%s, want %s at the tied timestamp", i, it.ID, it.ModifiedAt, ids[i])
		}
	}
	// Exactly the page size left: the last page has no cursor.
	if _, pages := collect(t, e.client, time.Time{}, 7); pages != 1 {
		t.Fatalf("limit 7 over 7 items took %d pages", pages)
	}
}

func TestFeedBoundaryIsInclusive(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now})
	var ids []string
	for i := range 3 {
		clk.Advance(time.Second)
		ids = append(ids, mustCreate(t, e, fmt.Sprintf("ticketsync:c:b-%d", i)))
	}
	all, _ := collect(t, e.client, time.Time{}, 100)
	watermark := all[1].ModifiedAt
	items, _ := collect(t, e.client, watermark, 100)
	if len(items) != 2 || items[0].ID != ids[1] || items[1].ID != ids[2] {
		t.Fatalf("since the 2nd item's modifiedAt: %v; want the boundary item again plus the 3rd", idsOf(items))
	}
	// Sub-millisecond precision is dropped, never rounded up past the boundary.
	if items, _ := collect(t, e.client, watermark.Add(700*time.Microsecond), 100); len(items) != 2 {
		t.Fatalf("sub-ms since lost the boundary item: %v", idsOf(items))
	}
	if items, _ := collect(t, e.client, all[2].ModifiedAt.Add(time.Millisecond), 100); len(items) != 0 {
		t.Fatalf("after the last change: %v", idsOf(items))
	}
}

func TestFeedItemMovesPagesWhileListing(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		clk.Advance(10 * time.Millisecond)
		ids = append(ids, mustCreate(t, e, fmt.Sprintf("ticketsync:c:m-%d", i)))
	}
	page1, err := e.client.Changes(ctx, time.Time{}, "", 2)
	if err != nil || len(page1.Items) != 2 || page1.NextCursor == "" {
		t.Fatalf("page 1 = %+v, %v", page1, err)
	}
	// While we page: item 0 (already seen) and item 2 (not yet seen) change.
	clk.Advance(time.Second)
	if _, err := e.sim.AddFeedback(ids[0], sim.FeedbackInput{Text: "We are on it", VisibleToRequestor: true}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if _, err := e.client.AddComment(ctx, ids[2], vendorapi.Comment{Text: "hi", Author: "Ada"}); err != nil {
		t.Fatal(err)
	}
	seen := append([]vendorapi.RemoteRequest(nil), page1.Items...)
	cursor := page1.NextCursor
	for cursor != "" {
		p, err := e.client.Changes(ctx, time.Time{}, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p.Items...)
		cursor = p.NextCursor
	}
	count := map[string]int{}
	for _, it := range seen {
		count[it.ID]++
	}
	want := map[string]int{ids[0]: 2, ids[1]: 1, ids[2]: 1, ids[3]: 1, ids[4]: 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Fatalf("occurrences %v, want %v (order %v)", count, want, idsOf(seen))
	}
	last := seen[len(seen)-1]
	if last.ID != ids[2] || len(last.Comments) != 1 || seen[len(seen)-2].ID != ids[0] || len(seen[len(seen)-2].Feedback) != 1 {
		t.Fatalf("changed items must come last in modifiedAt order: %v", idsOf(seen))
	}
	if !seen[0].ModifiedAt.Before(seen[len(seen)-2].ModifiedAt) {
		t.Fatal("re-appearing item must carry its newer modifiedAt")
	}
}

func TestFeedExpiredAndBadCursor(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now})
	ctx := context.Background()
	for i := range 3 {
		mustCreate(t, e, fmt.Sprintf("ticketsync:c:x-%d", i))
	}
	p, err := e.client.Changes(ctx, time.Time{}, "", 1)
	if err != nil || p.NextCursor == "" {
		t.Fatalf("%+v %v", p, err)
	}
	watermark := p.Items[0].ModifiedAt
	if _, err := e.client.Changes(ctx, time.Time{}, p.NextCursor, 1); err != nil {
		t.Fatalf("fresh cursor: %v", err)
	}
	// 24 h later the cursor is dead. (The sim's token has expired too: the client must
	// transparently refresh it and then report the cursor error.)
	clk.Advance(24*time.Hour + time.Second)
	_, err = e.client.Changes(ctx, time.Time{}, p.NextCursor, 1)
	ve := vendorErr(t, err)
	if !theworxhub.IsInvalidCursor(err) || ve.HTTPStatus != 400 || ve.Retryable {
		t.Fatalf("expired cursor: %+v", ve)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 1 {
		t.Fatalf("token refresh after expiry: %+v", st)
	}
	_, err = e.client.Changes(ctx, time.Time{}, p.NextCursor+"x", 1)
	if !theworxhub.IsInvalidCursor(err) {
		t.Fatalf("tampered cursor: %v", err)
	}
	// Restart from the watermark as the contract prescribes.
	items, _ := collect(t, e.client, watermark, 100)
	if len(items) != 3 {
		t.Fatalf("restart from watermark: %v", idsOf(items))
	}
	if theworxhub.IsInvalidCursor(errors.New("invalid_cursor")) || theworxhub.IsInvalidCursor(nil) {
		t.Fatal("IsInvalidCursor must only match the vendor error")
	}
}

func TestFeedLimitBounds(t *testing.T) {
	e := newEnv(t, sim.Options{})
	mustCreate(t, e, "ticketsync:c:l")
	if _, err := e.client.Changes(context.Background(), time.Time{}, "", theworxhub.MaxPageSize); err != nil {
		t.Fatalf("limit 500: %v", err)
	}
	_, err := e.client.Changes(context.Background(), time.Time{}, "", theworxhub.MaxPageSize+1)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 400 || ve.Code != theworxhub.CodeInvalidLimit || ve.Retryable || theworxhub.IsInvalidCursor(err) {
		t.Fatalf("limit 501: %+v", ve)
	}
	// limit 0 = server default.
	if p, err := e.client.Changes(context.Background(), time.Time{}, "", 0); err != nil || len(p.Items) != 1 {
		t.Fatalf("default limit: %+v %v", p, err)
	}
}

func TestFeedShowsLatestStateAfterSeveralTransitions(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now})
	ctx := context.Background()
	id := mustCreate(t, e, "ticketsync:c:multi")
	first, _ := collect(t, e.client, time.Time{}, 10)
	watermark := first[0].ModifiedAt

	clk.Advance(time.Second)
	if _, err := e.sim.SetCategory(id, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Transition(id, sim.StatusOnHold, &sim.FeedbackInput{Text: "Which tap?", Author: "Bob", VisibleToRequestor: true}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddFeedback(id, sim.FeedbackInput{Text: "internal: order washer"}); err != nil {
		t.Fatal(err)
	}
	items, _ := collect(t, e.client, watermark, 10)
	if len(items) != 1 {
		t.Fatalf("want one entry per request, got %v", idsOf(items))
	}
	r := items[0]
	if r.Status != "OnHold" || r.Category != "Plumbing" || r.WorkOrderID == "" || !r.ModifiedAt.After(watermark) {
		t.Fatalf("latest state: %+v", r)
	}
	if len(r.Feedback) != 2 || r.Feedback[0].Status != "OnHold" || !r.Feedback[0].VisibleToRequestor ||
		r.Feedback[0].Author != "Bob" || r.Feedback[1].VisibleToRequestor || r.Feedback[0].ID == "" {
		t.Fatalf("feedback: %+v", r.Feedback)
	}
	// The answer arrives as a comment, staff resume; the sim refuses staff nonsense.
	if _, err := e.client.AddComment(ctx, id, vendorapi.Comment{Text: "The kitchen one", Author: "Ada"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Transition(id, sim.StatusRejected, &sim.FeedbackInput{Text: "x"}, false); err == nil {
		t.Fatal("OnHold → Rejected must be refused")
	}
	if _, err := e.sim.Transition(id, sim.StatusInProgress, nil, false); err != nil {
		t.Fatal(err)
	}
	// An unmapped status is passed through raw (translation is the mapping's job).
	if _, err := e.sim.Transition(id, "Escalated", nil, false); err == nil {
		t.Fatal("unknown status without force must be refused")
	}
	if _, err := e.sim.Transition(id, "Escalated", nil, true); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.Get(ctx, id); err != nil || got.Status != "Escalated" || len(got.Comments) != 1 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func idsOf(items []vendorapi.RemoteRequest) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID+"@"+it.ModifiedAt.Format("15:04:05.000"))
	}
	return out
}

// ---- auth ----

func TestTokenIsCachedAndSharedByConcurrentCalls(t *testing.T) {
	e := newEnv(t, sim.Options{})
	id := mustCreate(t, e, "ticketsync:c:tok")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.Get(context.Background(), id); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.TokenRequests != 1 || st.APICalls != 17 {
		t.Fatalf("stats %+v; want 1 token request for 17 calls", st)
	}
}

func TestRevokedTokenIsRefreshedAndCallRetriedOnce(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	id := mustCreate(t, e, "ticketsync:c:rev")
	e.sim.RevokeAll()
	if _, err := e.client.AddComment(ctx, id, vendorapi.Comment{Text: "still there?", Author: "Ada"}); err != nil {
		t.Fatalf("call after revocation: %v", err)
	}
	e.sim.SetFaults(sim.Faults{RevokeTokens: true}) // same, via the fault API
	if _, err := e.client.Get(ctx, id); err != nil {
		t.Fatalf("call after second revocation: %v", err)
	}
	st := e.sim.Stats()
	if st.TokensIssued != 3 || st.Unauthorized != 2 || st.APICalls != 3 {
		t.Fatalf("stats %+v; want 3 tokens, 2 rejected calls, 3 served calls", st)
	}
	// The rejected POST was not half-applied, and the retry added exactly one comment.
	if got, _ := e.sim.Request(id); len(got.Comments) != 1 {
		t.Fatalf("comments = %d", len(got.Comments))
	}
}

func TestPersistent401IsNonRetryableAfterOneRetry(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.SetFaults(sim.Faults{TokenRevokeRate: 1})
	_, err := e.client.Get(context.Background(), "1")
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 401 || ve.Code != "token_expired" || ve.Retryable || ve.Kind() != "Auth" {
		t.Fatalf("%+v", ve)
	}
	if st := e.sim.Stats(); st.TokensIssued != 2 || st.Unauthorized != 2 {
		t.Fatalf("stats %+v; want exactly one refresh and one retry", st)
	}
}

func TestWrongSecretIsNonRetryableAuth(t *testing.T) {
	e := newEnv(t, sim.Options{}, func(c *theworxhub.Config) { c.ClientSecret = "wrong" })
	_, err := e.client.Create(context.Background(), newRequest("ticketsync:c:auth"))
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 401 || ve.Code != "invalid_client" || ve.Retryable || ve.Kind() != "Auth" || vendorapi.IsRetryable(err) {
		t.Fatalf("%+v", ve)
	}
	if st := e.sim.Stats(); st.APICalls != 0 || st.TokenRequests != 1 || len(e.sim.Requests()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// ---- transient failures ----

func TestRateLimitBurst429(t *testing.T) {
	e := newEnv(t, sim.Options{})
	id := mustCreate(t, e, "ticketsync:c:429")
	e.sim.SetFaults(sim.Faults{RateLimitBurst: 1, RetryAfterSeconds: 7})
	_, err := e.client.Get(context.Background(), id)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 429 || !ve.Retryable || ve.RetryAfter != 7*time.Second || ve.Code != "rate_limited" || ve.Kind() != "RateLimited" {
		t.Fatalf("%+v", ve)
	}
	if _, err := e.client.Get(context.Background(), id); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
}

func TestSlidingRateLimit(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sim.Options{Now: clk.Now, RateLimit: 3})
	id := mustCreate(t, e, "ticketsync:c:rl")
	clk.Advance(20 * time.Second)
	for range 2 {
		if _, err := e.client.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.Get(context.Background(), id)
	ve := vendorErr(t, err)
	// The window frees up 60 s after the first call, i.e. 40 s from now.
	if ve.HTTPStatus != 429 || !ve.Retryable || ve.RetryAfter != 40*time.Second {
		t.Fatalf("%+v", ve)
	}
	clk.Advance(41 * time.Second)
	if _, err := e.client.Get(context.Background(), id); err != nil {
		t.Fatalf("after the window slid: %v", err)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t, sim.Options{Seed: 7})
	e.sim.SetFaults(sim.Faults{ErrorRate: 1})
	statuses := map[int]bool{}
	for range 12 {
		_, err := e.client.Create(context.Background(), newRequest("ticketsync:c:5xx"))
		ve := vendorErr(t, err)
		if !ve.Retryable || ve.Code != "server_error" || ve.Kind() != "Unavailable" {
			t.Fatalf("%+v", ve)
		}
		statuses[ve.HTTPStatus] = true
	}
	for s := range statuses {
		if s != 500 && s != 502 && s != 504 {
			t.Fatalf("unexpected status %d", s)
		}
	}
	if len(e.sim.Requests()) != 0 {
		t.Fatal("a 5xx must not have committed anything")
	}
}

func TestMaintenancePage503(t *testing.T) {
	e := newEnv(t, sim.Options{})
	id := mustCreate(t, e, "ticketsync:c:503")
	e.sim.SetFaults(sim.Faults{Maintenance: 1, RetryAfterSeconds: 30})
	_, err := e.client.Get(context.Background(), id)
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 503 || !ve.Retryable || ve.RetryAfter != 30*time.Second || ve.Code != theworxhub.CodeNotJSON ||
		!strings.Contains(ve.Message, "Scheduled maintenance") {
		t.Fatalf("%+v", ve)
	}
}

func TestHTMLOn200IsRetryable(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.SetFaults(sim.Faults{HTMLOn200: 1})
	_, err := e.client.Create(context.Background(), newRequest("ticketsync:c:html"))
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 200 || !ve.Retryable || ve.Code != theworxhub.CodeNotJSON {
		t.Fatalf("%+v", ve)
	}
	if len(e.sim.Requests()) != 0 {
		t.Fatal("the HTML answer must not have committed")
	}
	mustCreate(t, e, "ticketsync:c:html")
	if n := len(e.sim.Requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestSlowCreatePastTimeoutThenRetryAdopts(t *testing.T) {
	e := newEnv(t, sim.Options{}, func(c *theworxhub.Config) { c.Timeout = 300 * time.Millisecond })
	e.sim.SetFaults(sim.Faults{SlowCreate: 1, SlowCreateDelay: 5 * time.Second})
	req := newRequest("ticketsync:c:slow")
	start := time.Now()
	_, err := e.client.Create(context.Background(), req)
	ve := vendorErr(t, err)
	if !ve.Retryable || ve.HTTPStatus != 0 || ve.Kind() != "Transport" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%+v", ve)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	committed := e.sim.Requests()
	if len(committed) != 1 {
		t.Fatalf("the slow create should have committed, sim has %d", len(committed))
	}
	id, err := e.client.Create(context.Background(), req)
	if err != nil || id != committed[0].ID {
		t.Fatalf("retry = %q, %v; want adoption of %s", id, err, committed[0].ID)
	}
	if n, st := len(e.sim.Requests()), e.sim.Stats(); n != 1 || st.Creates != 1 {
		t.Fatalf("%d requests; want exactly one", n)
	}
}

func TestDroppedConnectionAfterCommitThenRetryAdopts(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.sim.SetFaults(sim.Faults{DropAfterCreate: 1})
	req := newRequest("ticketsync:c:drop")
	_, err := e.client.Create(context.Background(), req)
	ve := vendorErr(t, err)
	if !ve.Retryable || ve.HTTPStatus != 0 {
		t.Fatalf("%+v", ve)
	}
	committed := e.sim.Requests()
	if len(committed) != 1 {
		t.Fatalf("sim has %d", len(committed))
	}
	id, err := e.client.Create(context.Background(), req)
	if err != nil || id != committed[0].ID {
		t.Fatalf("retry = %q, %v", id, err)
	}
	if found, err := e.client.FindByReference(context.Background(), req.ExternalReference); err != nil || found.ID != id {
		t.Fatalf("FindByReference = %+v, %v", found, err)
	}
	if n := len(e.sim.Requests()); n != 1 {
		t.Fatalf("%d requests; want exactly one", n)
	}
}

func TestTransportFailuresAndCancellation(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.Get(ctx, "1")
	if ve := vendorErr(t, err); ve.Retryable {
		t.Fatalf("a cancelled context must not be retryable: %+v", ve)
	}
	e.srv.Close()
	_, err = e.client.Get(context.Background(), "1")
	if ve := vendorErr(t, err); !ve.Retryable || ve.HTTPStatus != 0 {
		t.Fatalf("connection refused: %+v", ve)
	}
}

// ---- webhooks ----

type received struct {
	delivery, signature string
	body                []byte
}

func webhookReceiver(t *testing.T, status func() int) (*httptest.Server, chan received) {
	ch := make(chan received, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.Header.Get(theworxhub.DeliveryHeader), r.Header.Get(theworxhub.SignatureHeader), b}
		w.WriteHeader(status())
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func next(t *testing.T, ch chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivery")
		return received{}
	}
}

func quiet(t *testing.T, ch chan received) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("unexpected delivery %s", r.body)
	case <-time.After(150 * time.Millisecond):
	}
}

func TestWebhookDelivery(t *testing.T) {
	var mu sync.Mutex
	code := http.StatusNoContent
	status := func() int { mu.Lock(); defer mu.Unlock(); return code }
	rcv, ch := webhookReceiver(t, status)
	const secret = "whsec-test"
	e := newEnv(t, sim.Options{WebhookURL: rcv.URL, WebhookSecret: secret, WebhookRetryDelay: 10 * time.Millisecond})
	ctx := context.Background()

	id := mustCreate(t, e, "ticketsync:c:wh")
	d := next(t, ch)
	if !theworxhub.VerifyWebhook(secret, d.body, d.signature) || d.delivery == "" {
		t.Fatalf("delivery %+v does not verify", d)
	}
	ev, err := theworxhub.ParseWebhook(d.body)
	got, _ := e.client.Get(ctx, id)
	if err != nil || ev.Event != "workrequest.updated" || ev.ID != id || !ev.ModifiedAt.Equal(got.ModifiedAt) {
		t.Fatalf("event %+v, %v (object modifiedAt %s)", ev, err, got.ModifiedAt)
	}
	quiet(t, ch)

	// Duplicates carry the same delivery id.
	e.sim.SetFaults(sim.Faults{WebhookDuplicate: 1})
	if _, err := e.client.AddComment(ctx, id, vendorapi.Comment{Text: "x", Author: "Ada"}); err != nil {
		t.Fatal(err)
	}
	a, b := next(t, ch), next(t, ch)
	if a.delivery != b.delivery || string(a.body) != string(b.body) || !theworxhub.VerifyWebhook(secret, b.body, b.signature) {
		t.Fatalf("duplicate deliveries differ: %+v / %+v", a, b)
	}

	// Bad signatures must be rejected by the receiver.
	e.sim.SetFaults(sim.Faults{WebhookBadSignature: 1})
	if _, err := e.sim.SetCategory(id, "Plumbing"); err != nil {
		t.Fatal(err)
	}
	if bad := next(t, ch); theworxhub.VerifyWebhook(secret, bad.body, bad.signature) {
		t.Fatal("bad signature verified")
	}

	// A failing receiver gets at most 3 attempts, all with the same delivery id.
	e.sim.SetFaults(sim.Faults{})
	mu.Lock()
	code = http.StatusInternalServerError
	mu.Unlock()
	if _, err := e.sim.AddFeedback(id, sim.FeedbackInput{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	r1, r2, r3 := next(t, ch), next(t, ch), next(t, ch)
	if r1.delivery != r2.delivery || r2.delivery != r3.delivery {
		t.Fatal("retries must reuse the delivery id")
	}
	quiet(t, ch)

	// Lost notifications: the feed is the source of truth.
	e.sim.SetFaults(sim.Faults{WebhookDropRate: 1})
	if _, err := e.sim.Transition(id, sim.StatusOnHold, nil, false); err != nil {
		t.Fatal(err)
	}
	quiet(t, ch)
	if st := e.sim.Stats(); st.WebhooksDropped != 1 {
		t.Fatalf("stats %+v", st)
	}
}
