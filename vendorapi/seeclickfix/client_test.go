package seeclickfix

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"BaseURL is required", "OrganizationID", "Token or Username and Password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	ok := Config{OrganizationID: 7, Token: "t"}
	for _, tc := range []struct {
		base string
		good bool
		api  string
	}{
		{"https://seeclickfix.com", true, "https://seeclickfix.com/api/v2"},
		{"https://test.seeclickfix.com/api/v2/", true, "https://test.seeclickfix.com/api/v2"},
		{"https://scf.example/prefix", true, "https://scf.example/prefix/api/v2"},
		{"http://127.0.0.1:8088", true, "http://127.0.0.1:8088/api/v2"},
		{"http://localhost:1", true, "http://localhost:1/api/v2"},
		{"http://[::1]:9", true, "http://[::1]:9/api/v2"},
		{"http://scf.example", false, ""},
		{"http://10.0.0.1", false, ""},
		{"ftp://scf.example", false, ""},
		{"https://user:pw@scf.example", false, ""},
		{"https://scf.example?x=1", false, ""},
		{"scf.example", false, ""},
	} {
		cfg := ok
		cfg.BaseURL = tc.base
		c, err := New(cfg)
		if (err == nil) != tc.good {
			t.Errorf("BaseURL %q: err = %v, want ok=%v", tc.base, err, tc.good)
			continue
		}
		if tc.good && c.api != tc.api {
			t.Errorf("BaseURL %q: API root %q, want %q", tc.base, c.api, tc.api)
		}
	}
	for _, cfg := range []Config{
		{BaseURL: "https://x", OrganizationID: 1, Token: "t", Username: "u", Password: "p"},
		{BaseURL: "https://x", OrganizationID: 1, Username: "u"},
		{BaseURL: "https://x", OrganizationID: 1, Username: "a:b", Password: "p"},
		{BaseURL: "https://x", OrganizationID: 1, Token: "t", Timeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	c, err := New(Config{BaseURL: "https://x", OrganizationID: 1, Username: "api", Password: "p:w"})
	if err != nil || c.auth != "Basic YXBpOnA6dw==" || c.org != "/organizations/1" || c.overlap != DefaultFeedOverlap {
		t.Errorf("client = %+v, %v", c, err)
	}
}

func TestParseErrorBodyShapes(t *testing.T) {
	for _, tc := range []struct {
		body, msg string
		fields    map[string]string
	}{
		{`{"message":"Too Many Requests","documentation_url":"http://dev.seeclickfix.com"}`, "Too Many Requests", nil},
		{`{"errors":{"point":["Point Issue is not within boundary of associated request type."]}}`,
			"point: Point Issue is not within boundary of associated request type.",
			map[string]string{"point": "Point Issue is not within boundary of associated request type."}},
		{`{"errors":{"summary":["can't be blank","is too short"],"5001":["is not one of the choices"]}}`,
			"5001: is not one of the choices; summary: can't be blank, is too short",
			map[string]string{"summary": "can't be blank, is too short", "5001": "is not one of the choices"}},
		{`{"comment":"can't be blank"}`, "comment: can't be blank", map[string]string{"comment": "can't be blank"}},
		{`{"request":"Unable to parse JSON"}`, "request: Unable to parse JSON", map[string]string{"request": "Unable to parse JSON"}},
		{`{"errors":null,"metadata":{"x":1}}`, "", nil},
		{`not json`, "", nil},
	} {
		msg, fields := parseErrorBody([]byte(tc.body))
		if msg != tc.msg || len(fields) != len(tc.fields) {
			t.Errorf("%s: msg %q fields %v", tc.body, msg, fields)
			continue
		}
		for k, v := range tc.fields {
			if fields[k] != v {
				t.Errorf("%s: field %s = %q", tc.body, k, fields[k])
			}
		}
	}
}

func TestLenientDecoding(t *testing.T) {
	var is Issue
	raw := `{"id":5,"status":"Open","rating":"3","description":null,"address":null,"acknowledged_at":null,
		"updated_at":"2026-02-10T08:15:19-05:00","request_type":{"id":9,"title":"T","organization":{"name":"City"}},
		"reporter":{"id":0,"name":"","civic_points":"12"},
		"questions":[{"question":"a","answer":["x",2,true,null]},{"question":"b","answer":7.5},{"question":"c","answer":null}]}`
	if err := json.Unmarshal([]byte(raw), &is); err != nil {
		t.Fatal(err)
	}
	if is.Rating != 3 || is.Description != "" || !is.AcknowledgedAt.IsZero() || is.RequestType.Organization != "City" ||
		is.Reporter.CivicPoints != 12 || !is.UpdatedAt.Equal(time.Date(2026, 2, 10, 13, 15, 19, 0, time.UTC)) {
		t.Errorf("issue = %+v", is)
	}
	if a := is.Answers(); a["a"] != "x, 2, true" || a["b"] != "7.5" || a["c"] != "" {
		t.Errorf("answers = %v", a)
	}
	var q Question
	if err := json.Unmarshal([]byte(`{"primary_key":5001,"select_values":[{"key":3,"name":"n"}]}`), &q); err != nil ||
		q.PrimaryKey != "5001" || q.SelectValues[0].Key != "3" {
		t.Errorf("question = %+v, %v", q, err)
	}
	var o RequestTypeOption
	if err := json.Unmarshal([]byte(`{"organization":null,"title":"Community","url":"https://x/api/v2/request_types/42"}`), &o); err != nil ||
		o.Organization != "" {
		t.Errorf("option = %+v, %v", o, err)
	}
	var c Comment
	if err := json.Unmarshal([]byte(`{"comment":"hi","flag_url":"https://x/api/v2/comments/8812/flag","commenter":{"role":"Verified Official"}}`), &c); err != nil ||
		c.ID != 8812 || !c.IsStaff() {
		t.Errorf("comment = %+v, %v", c, err)
	}
	for in, want := range map[string]int64{
		"https://x/api/v2/request_types/42": 42, "/api/v2/request_types/42/": 42, "https://x/request_types/abc": 0, "": 0,
	} {
		if got := RequestTypeIDFromURL(in); got != want {
			t.Errorf("RequestTypeIDFromURL(%q) = %d", in, got)
		}
	}
	if CommentIDFromURL("https://x/api/v2/issues/3/flag") != 0 {
		t.Error("an issue's flag URL is not a comment's")
	}
}

func TestCursorEncoding(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fc, ok := decodeCursor(StartCursor(since))
	if !ok || fc.Watermark != since.Unix() || fc.Catch || fc.Page != 0 {
		t.Fatalf("StartCursor decodes to %+v, %v", fc, ok)
	}
	for _, bad := range []string{"", "!!", feedCursor{V: 99}.encode(), feedCursor{V: cursorVersion, Page: -1}.encode()} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestQuestionKeptPrivate(t *testing.T) {
	for q, want := range map[string]bool{
		"Email": true, "Your e-mail address": true, "E-MAIL": true, "Phone number": true, "Telephone": true,
		"Mailbox number": false, "Size of the hole": false,
	} {
		if QuestionKeptPrivate(q) != want {
			t.Errorf("QuestionKeptPrivate(%q) != %v", q, want)
		}
	}
}

func TestUnusableResponsesAreRetryable(t *testing.T) {
	answers := map[string]func(w http.ResponseWriter){
		"/api/v2/organizations/1/issues": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"metadata":{}}`))
		},
		"/api/v2/organizations/1/issues/5": func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotModified) },
		"/api/v2/organizations/1/issues/6": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"not a number"}`))
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answers[r.URL.Path](w) }))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, OrganizationID: 1, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err1 := c.ListIssues(ctx, IssueQuery{})
	_, err2 := c.Issue(ctx, 5, false)
	_, err3 := c.Issue(ctx, 6, false)
	for i, err := range []error{err1, err2, err3} {
		var ve *vendorapi.Error
		if !errors.As(err, &ve) || ve.Code != CodeBadResponse || !ve.Retryable {
			t.Errorf("case %d: %v", i+1, err)
		}
	}
}
