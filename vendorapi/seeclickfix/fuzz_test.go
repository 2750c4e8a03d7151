package seeclickfix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix"
	"github.com/ticketsync/ticketsync/vendorapi/vendortest"
)

// The fuzz targets below run their seeds in every `go test`; explore further with e.g.
// `go test ./vendorapi/seeclickfix -run '^$' -fuzz FuzzListDecoders -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

const fuzzSCFToken = "scf-token-never-in-errors"

// fakeSCF answers every request with one fuzzed response, in memory, and records the hosts
// asked (credentials must never leave the configured origin).
type fakeSCF struct {
	status      int
	contentType string
	location    string
	body        []byte
	hosts       []string
}

func (f *fakeSCF) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	f.hosts = append(f.hosts, r.URL.Scheme+"://"+r.URL.Host)
	resp := &http.Response{StatusCode: f.status, Header: http.Header{}, Request: r, ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(f.body))}
	if f.contentType != "" {
		resp.Header.Set("Content-Type", f.contentType)
	}
	if f.location != "" {
		resp.Header.Set("Location", f.location)
	}
	return resp, nil
}

// reencode is the canonical JSON of v; decoding it again must give the same canonical JSON.
func reencode(t *testing.T, v any, fresh func() any) {
	t.Helper()
	a, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", v, err)
	}
	w := fresh()
	if err := json.Unmarshal(a, w); err != nil {
		t.Fatalf("re-decode %s: %v", a, err)
	}
	b, err := json.Marshal(w)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the value:\n%s\n%s (%v)", a, b, err)
	}
}

func checkComments(t *testing.T, cs []seeclickfix.Comment) {
	t.Helper()
	for _, c := range cs {
		if c.ID != seeclickfix.CommentIDFromURL(c.FlagURL) || c.ID < 0 {
			t.Fatalf("comment id %d does not come from flag_url %q", c.ID, c.FlagURL)
		}
	}
}

// FuzzListDecoders throws arbitrary answers (status, Content-Type, Location, body) at the issue
// list, single issue and comment list calls and checks the client's rules: every failure is a
// *vendorapi.Error of this vendor with no token in its text; 5xx/429/408, 304 and non-JSON 2xx
// are retryable, 400/401/403/404/422 are not; redirects never send the token to another origin
// and end; a success is a 2xx whose issues have ids (single issue), whose issue list is present,
// whose comment ids come from flag_url, and which survives a JSON round trip.
func FuzzListDecoders(f *testing.F) {
	issue := `{"id":1046,"status":"Acknowledged","summary":"Pothole","description":"Deep one","rating":"2","lat":42.3,"lng":-72.6,` +
		`"address":"1 Main St","point":{"type":"Point","coordinates":[-72.6,42.3]},"created_at":"2024-05-01T09:00:00-04:00",` +
		`"acknowledged_at":"2024-05-01T10:00:00-04:00","closed_at":null,"reopened_at":null,"updated_at":"2024-05-01T10:00:00-04:00",` +
		`"private_visibility":false,"url":"https://seeclickfix.com/api/v2/issues/1046","html_url":"h","comment_url":"c","flag_url":"f",` +
		`"request_type":{"id":7,"title":"Pothole","organization":{"name":"Town"},"url":"https://seeclickfix.com/api/v2/request_types/7"},` +
		`"transitions":{"close_url":"x"},"reporter":{"id":0,"name":"Anonymous","role":"Registered User","civic_points":null},` +
		`"media":{"image_full":null},"questions":[{"question":"Size?","answer":3},{"question":"Deep?","answer":true}],"assignee":null}`
	comment := `{"comment":"On it","created_at":"2024-05-01T10:00:00-04:00","updated_at":"2024-05-01T10:00:00-04:00",` +
		`"editable_until":"2024-05-01T10:15:00-04:00","last_edited_at":null,"commenter":{"id":9,"name":"Staff","role":"Verified Official"},` +
		`"issue_url":"https://seeclickfix.com/api/v2/issues/1046","flag_url":"https://seeclickfix.com/api/v2/comments/55/flag","media":{}}`
	seeds := []struct {
		op      uint8
		status  uint16
		ct, loc string
		body    string
	}{
		{0, 200, "application/json; charset=utf-8", "", `{"errors":null,"metadata":{"pagination":{"page":1,"per_page":100,"pages":2,"next_page":2,"next_page_url":"u","previous_page":null}},"issues":[` + issue + `]}`},
		{0, 200, "application/json", "", `{"metadata":{"pagination":{"page":2,"pages":2,"next_page":null}},"issues":[]}`},
		{0, 200, "application/json", "", `{"comments":[]}`},
		{0, 200, "application/json", "", `{"issues":null}`},
		{0, 200, "application/json", "", `{"issues":[{"id":1,"rating":"high"}]}`},
		{0, 200, "application/json", "", `{"issues":[{"id":1,"created_at":"2024-13-01T00:00:00Z"}]}`},
		{0, 200, "text/html", "", `<html><head><title>Sign in - SeeClickFix</title></head></html>`},
		{0, 304, "", "", ``},
		{0, 301, "", "/api/v2/organizations/1/issues?page=2", ``},
		{0, 302, "", "https://evil.example/steal", ``},
		{0, 307, "", "http://seeclickfix.com/api/v2/x", ``},
		{0, 302, "", "%zz", ``},
		{0, 500, "text/html", "", `<html><title>We're sorry, but something went wrong (500)</title></html>`},
		{0, 429, "application/json", "", `{"error":"Rate limit exceeded"}`},
		{1, 200, "application/json", "", issue},
		{1, 200, "application/json", "", `{"id":0}`},
		{1, 200, "application/json", "", `{"id":1,"organization":"Town","questions":[{"question":"q","answer":{"a":[1,2]}}]}`},
		{1, 404, "application/json", "", `{"message":"Not found"}`},
		{1, 422, "application/json", "", `{"errors":{"point":["Point Issue is not within boundary of associated request type."]}}`},
		{1, 422, "application/json", "", `{"comment":"can't be blank","request":"Unable to parse JSON"}`},
		{1, 401, "application/json", "", `{"message":"` + fuzzSCFToken + `"}`},
		{2, 200, "application/json", "", `{"comments":[` + comment + `,{"comment":"x","flag_url":"/comments/abc/flag"},{"flag_url":null}]}`},
		{2, 200, "application/json", "", `{"comments":[{"flag_url":"https://seeclickfix.com/api/v2/comments/-5/flag"}]}`},
		{2, 200, "application/json", "", `{"comments":null}`},
		{2, 403, "application/json", "", `{"errors":{"base":"forbidden by administrative rules"}}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.status, s.ct, s.loc, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, op uint8, status uint16, contentType, location string, body []byte) {
		if strings.ContainsAny(contentType+location, "\r\n\x00") {
			return // not representable in an HTTP header
		}
		fake := &fakeSCF{status: 200 + int(status)%400, contentType: contentType, location: location, body: body}
		c, err := seeclickfix.New(seeclickfix.Config{
			BaseURL: "https://seeclickfix.com", OrganizationID: 1, Token: fuzzSCFToken,
			HTTPClient: &http.Client{Transport: fake, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var opName string
		var check func()
		switch op % 3 {
		case 0:
			opName = "list issues"
			var page seeclickfix.IssuePage
			page, err = c.ListIssues(ctx, seeclickfix.IssueQuery{PerPage: 100})
			check = func() {
				if page.Issues == nil {
					t.Fatal("list issues: success without an issue list")
				}
				for _, is := range page.Issues {
					checkComments(t, is.Comments)
				}
				reencode(t, page, func() any { return new(seeclickfix.IssuePage) })
			}
		case 1:
			opName = "get issue"
			var is *seeclickfix.Issue
			is, err = c.Issue(ctx, 1046, true)
			check = func() {
				if is == nil || is.ID == 0 {
					t.Fatalf("get issue: success without an id: %+v", is)
				}
				checkComments(t, is.Comments)
				reencode(t, is, func() any { return new(seeclickfix.Issue) })
			}
		case 2:
			opName = "list comments"
			var cs []seeclickfix.Comment
			cs, err = c.Comments(ctx, 1046)
			check = func() {
				checkComments(t, cs)
				reencode(t, cs, func() any { return new([]seeclickfix.Comment) })
			}
		}
		for _, h := range fake.hosts {
			if h != "https://seeclickfix.com" {
				t.Fatalf("%s: a request went to %s", opName, h)
			}
		}
		if len(fake.hosts) > seeclickfix.DefaultMaxRedirects+1 {
			t.Fatalf("%s: %d requests for one call", opName, len(fake.hosts))
		}
		st := fake.status
		twoXX := st >= 200 && st <= 299
		if err != nil {
			ve := vendortest.ClassifiedError(t, opName, err, seeclickfix.Vendor, body, fuzzSCFToken)
			switch {
			case ve.Code == seeclickfix.CodeRedirectRefused || ve.Code == seeclickfix.CodeTooManyRedirects:
				if ve.Retryable || location == "" {
					t.Fatalf("%s: redirect failure %+v", opName, ve)
				}
			case st >= 500 || st == 429 || st == 408 || st == 304:
				if !ve.Retryable {
					t.Fatalf("%s: HTTP %d must be retryable: %v", opName, st, err)
				}
			case twoXX:
				if !ve.Retryable {
					t.Fatalf("%s: an unusable 2xx must be retryable: %v", opName, err)
				}
			case st == 400 || st == 401 || st == 403 || st == 404 || st == 422:
				if ve.Retryable {
					t.Fatalf("%s: HTTP %d must not be retryable: %v", opName, st, err)
				}
			}
			return
		}
		if !twoXX {
			t.Fatalf("%s: HTTP %d (%q) accepted as success", opName, st, body)
		}
		check()
	})
}
