package theworxhub_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
	"github.com/ticketsync/ticketsync/vendorapi/vendortest"
)

// The fuzz targets below run their seeds in every `go test`; explore further with e.g.
// `go test ./vendorapi/theworxhub -run '^$' -fuzz FuzzWebhookSignature -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

// FuzzWebhookSignature checks X-TWH-Signature verification against an independent reading of
// the contract: valid exactly when the header is "sha256=" + hex HMAC-SHA256(secret, body)
// (prefix and hex case-insensitive, surrounding blanks ignored), never with an empty secret.
func FuzzWebhookSignature(f *testing.F) {
	vecBody := `{"event":"workrequest.updated","id":"wr_1001","modifiedAt":"2023-11-14T22:13:20Z"}`
	f.Add("twh_test", []byte(vecBody), "sha256=0b1ec2e14ac8b92ce4af3f9acd1560754fd52b7b859c6e7ac89a83ca5334cfc3")
	f.Add("twh_test", []byte(vecBody), "SHA256=0B1EC2E14AC8B92CE4AF3F9ACD1560754FD52B7B859C6E7AC89A83CA5334CFC3 ")
	f.Add("twh_test", []byte(vecBody+" "), "sha256=0b1ec2e14ac8b92ce4af3f9acd1560754fd52b7b859c6e7ac89a83ca5334cfc3")
	f.Add("", []byte(vecBody), "sha256=")
	f.Add("s", []byte{}, "sha256=zz")
	f.Add("s", []byte("x"), "sha1=abcd")
	f.Add("s", []byte("x"), "sha256=0b1ec2e14ac8b92ce4af3f9acd1560754fd52b7b859c6e7ac89a83ca5334cfc")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		valid := "sha256=" + hex.EncodeToString(mac.Sum(nil))

		want := secret != "" && strings.EqualFold(strings.TrimSpace(header), valid)
		if got := theworxhub.VerifyWebhook(secret, body, header); got != want {
			t.Fatalf("VerifyWebhook(%q, %q, %q) = %v, want %v", secret, body, header, got, want)
		}
		if secret == "" {
			return
		}
		if !theworxhub.VerifyWebhook(secret, body, valid) {
			t.Fatal("a correct signature is refused")
		}
		if theworxhub.VerifyWebhook(secret, append(bytes.Clone(body), 0), valid) {
			t.Fatal("a signature verifies a different body")
		}
		if theworxhub.VerifyWebhook(secret+"x", body, valid) {
			t.Fatal("a signature verifies under a different secret")
		}
	})
}

// FuzzParseWebhook: any body either fails or yields an event with event and id set and a UTC
// modifiedAt, and what it yields survives a JSON round trip unchanged.
func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{
		`{"event":"workrequest.updated","id":"wr_1001","modifiedAt":"2023-11-14T22:13:20Z"}`,
		`{"event":"workrequest.updated","id":"1","modifiedAt":"2023-11-14T23:13:20.123+01:00","extra":[1,{}]}`,
		`{"event":"workrequest.updated","id":"1"}`,
		`{"event":"","id":"1"}`, `{"id":1}`, `{"modifiedAt":"yesterday"}`, `null`, `[]`, `"x"`, ``, `{`,
		`{"event":"e","id":"i","modifiedAt":"0000-01-01T00:00:00Z"}`,
		`{"event":"e","id":"i","modifiedAt":"9999-12-31T23:59:59.999999999-23:59"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := theworxhub.ParseWebhook(body)
		if err != nil {
			if ev != (theworxhub.WebhookEvent{}) {
				t.Fatalf("error %v with a non-zero event %+v", err, ev)
			}
			return
		}
		if ev.Event == "" || ev.ID == "" {
			t.Fatalf("accepted an event without event or id: %+v", ev)
		}
		if ev.ModifiedAt.Location() != time.UTC {
			t.Fatalf("modifiedAt not in UTC: %v", ev.ModifiedAt)
		}
		if y := ev.ModifiedAt.Year(); y < 0 || y > 9999 {
			// An offset can push a year-9999 time past RFC 3339's range once in UTC. Only the
			// delivery key uses modifiedAt today, and it formats it without error.
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", ev, err)
		}
		ev2, err := theworxhub.ParseWebhook(again)
		if err != nil || ev2.Event != ev.Event || ev2.ID != ev.ID || !ev2.ModifiedAt.Equal(ev.ModifiedAt) {
			t.Fatalf("round trip %+v -> %s -> %+v (%v)", ev, again, ev2, err)
		}
	})
}

// fakeTWH answers the token endpoint correctly and every API call with one fuzzed response,
// in memory (a RoundTripper: no sockets, so the fuzzer runs fast).
type fakeTWH struct {
	status      int
	contentType string
	retryAfter  string
	body        []byte
	fuzzToken   bool // answer the token endpoint with the fuzzed response instead
}

const (
	fuzzSecret = "client-secret-never-in-errors"
	fuzzToken  = "access-token-never-in-errors"
)

func (f *fakeTWH) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	resp := &http.Response{Header: http.Header{}, Request: r, ProtoMajor: 1, ProtoMinor: 1}
	if strings.HasSuffix(r.URL.Path, "/oauth/token") && !f.fuzzToken {
		resp.StatusCode = http.StatusOK
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(strings.NewReader(`{"access_token":"` + fuzzToken + `","token_type":"Bearer","expires_in":3600}`))
		return resp, nil
	}
	resp.StatusCode = f.status
	if f.contentType != "" {
		resp.Header.Set("Content-Type", f.contentType)
	}
	if f.retryAfter != "" {
		resp.Header.Set("Retry-After", f.retryAfter)
	}
	resp.Body = io.NopCloser(bytes.NewReader(f.body))
	return resp, nil
}

func isJSON(contentType string) bool {
	return vendorapi.IsJSON(&http.Response{Header: http.Header{"Content-Type": {contentType}}})
}

// FuzzClientResponses throws arbitrary responses (status, Content-Type, Retry-After, body) at
// every client operation and checks the classification rules of the contract and of
// vendorapi: every failure is a *vendorapi.Error of this vendor; 5xx/429/408 and non-JSON 2xx
// bodies are retryable; 400/403/404/422 are not; a success is a 2xx (or an adopted 409
// duplicate) with a usable, UTC-normalised object; no error text carries the client secret
// or the access token.
func FuzzClientResponses(f *testing.F) {
	obj := `{"id":"104233","externalReference":"ticketsync:c:e","status":"Pending","category":null,"workOrderId":7,` +
		`"createdAt":"2024-05-01T13:02:11.431Z","modifiedAt":"2024-05-01T15:02:11.431+02:00",` +
		`"feedback":[{"id":1,"text":"t","visibleToRequestor":true,"status":"OnHold","createdAt":"2024-05-01T13:02:11Z","author":"a"}],` +
		`"comments":[{"id":"c1","text":"x","author":"y","createdAt":"2024-05-01T13:02:11Z"}]}`
	seeds := []struct {
		op     uint8
		status uint16
		ct, ra string
		body   string
	}{
		{0, 200, "application/json", "", obj},
		{1, 200, "application/json; charset=utf-8", "", `{"items":[` + obj + `],"nextCursor":"abc"}`},
		{1, 200, "application/json", "", `{"items":null,"nextCursor":null}`},
		{2, 201, "application/json", "", `{"id":"104233","status":"Pending"}`},
		{2, 201, "application/json", "", `{"id":104233}`},
		{2, 409, "application/json", "", `{"error":{"code":"duplicate_external_reference","message":"dup","existingId":"104233"}}`},
		{2, 409, "application/json", "", `{"error":{"code":"duplicate_external_reference","message":"dup"}}`},
		{2, 422, "application/json", "", `{"error":{"code":"validation_failed","message":"bad","fields":{"requestType":"must be one of","x":["a","b"]}}}`},
		{3, 201, "application/json", "", `{"id":"c1","text":"x","author":"y","createdAt":"2024-05-01T13:02:11Z"}`},
		{4, 409, "application/json", "", `{"error":{"code":"invalid_transition","message":"completed"}}`},
		{0, 404, "application/json", "", `{"error":{"code":"not_found","message":"gone"}}`},
		{0, 401, "application/json", "", `{"error":{"code":"token_expired","message":"expired"}}`},
		{0, 429, "application/json", "7", `{"error":{"code":"rate_limited","message":"slow down"}}`},
		{0, 503, "text/html", "120", `<html><head><title>Scheduled maintenance</title></head><body>back soon</body></html>`},
		{0, 200, "text/html; charset=utf-8", "", `<html><title>Sign in</title></html>`},
		{0, 200, "application/json", "", `{"id":""}`},
		{0, 200, "application/json", "", `null`},
		{0, 200, "application/json", "", `{"id":"1","createdAt":"not a time"}`},
		{0, 502, "", "", ``},
		{5, 200, "application/json", "", `{"items":[{"id":"1","externalReference":"other"}],"nextCursor":null}`},
		{6, 401, "application/json", "", `{"error":"invalid_client","error_description":"bad secret"}`},
		{6, 200, "application/json", "", `{"access_token":"","expires_in":-5}`},
		{6, 200, "application/json", "", `{"access_token":"t","expires_in":9223372036854775807}`},
		{1, 400, "application/problem+json", "", `{"error":{"code":"invalid_cursor","message":"expired"}}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.status, s.ct, s.ra, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, op uint8, status uint16, contentType, retryAfter string, body []byte) {
		fake := &fakeTWH{status: 200 + int(status)%400, contentType: contentType, retryAfter: retryAfter, body: body, fuzzToken: op%7 == 6}
		if strings.ContainsAny(contentType+retryAfter, "\r\n\x00") {
			return // not representable in an HTTP header
		}
		c, err := theworxhub.New(theworxhub.Config{
			BaseURL: "https://acme.theworxhub.example", ClientID: "id", ClientSecret: fuzzSecret,
			HTTPClient: &http.Client{Transport: fake, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var (
			remote *vendorapi.RemoteRequest
			page   vendorapi.ChangePage
			cm     vendorapi.Comment
			id     string
			opName string
		)
		switch op % 7 {
		case 0, 6:
			opName = "get"
			remote, err = c.Get(ctx, "104233")
		case 1:
			opName = "changes"
			page, err = c.Changes(ctx, time.Unix(1700000000, 0), "", 100)
		case 2:
			opName = "create"
			id, err = c.Create(ctx, vendorapi.NewRequest{RequestType: "Maintenance", Title: "t", Description: "d",
				ExternalReference: "ticketsync:c:e", Requester: vendorapi.Person{Name: "n"}})
		case 3:
			opName = "comment"
			cm, err = c.AddComment(ctx, "104233", vendorapi.Comment{Text: "x", Author: "y"})
		case 4:
			opName = "cancel"
			remote, err = c.Cancel(ctx, "104233", "no longer needed")
		case 5:
			opName = "find"
			remote, err = c.FindByReference(ctx, "ticketsync:c:e")
		}
		st := fake.status
		twoXX := st >= 200 && st <= 299
		if err != nil {
			ve := vendortest.ClassifiedError(t, opName, err, theworxhub.Vendor, body, fuzzSecret, fuzzToken)
			switch {
			case st >= 500 || st == 429 || st == 408:
				if !ve.Retryable {
					t.Fatalf("%s: HTTP %d must be retryable: %v", opName, st, err)
				}
			case twoXX && !isJSON(contentType):
				if !ve.Retryable {
					t.Fatalf("%s: a non-JSON 2xx (proxy page) must be retryable: %v", opName, err)
				}
			case st == 400 || st == 403 || st == 404 || st == 422:
				if ve.Retryable {
					t.Fatalf("%s: HTTP %d must not be retryable: %v", opName, st, err)
				}
			}
			return
		}
		// Success: only a 2xx, or Create adopting a 409 duplicate.
		if !twoXX && !(op%7 == 2 && st == http.StatusConflict) {
			t.Fatalf("%s: HTTP %d (%q) accepted as success", opName, st, body)
		}
		checkUTC := func(r vendorapi.RemoteRequest) {
			times := []time.Time{r.CreatedAt, r.ModifiedAt}
			for _, fb := range r.Feedback {
				times = append(times, fb.CreatedAt)
			}
			for _, c := range r.Comments {
				times = append(times, c.CreatedAt)
			}
			for _, tm := range times {
				if !tm.IsZero() && tm.Location() != time.UTC {
					t.Fatalf("%s: time %v not in UTC", opName, tm)
				}
			}
		}
		switch op % 7 {
		case 0, 4, 6:
			if remote == nil || remote.ID == "" {
				t.Fatalf("%s: success without an id: %+v", opName, remote)
			}
			checkUTC(*remote)
		case 1:
			for _, it := range page.Items {
				checkUTC(it)
			}
		case 2:
			if id == "" {
				t.Fatalf("create: success without an id")
			}
		case 3:
			if !cm.CreatedAt.IsZero() && cm.CreatedAt.Location() != time.UTC {
				t.Fatalf("comment: time not in UTC")
			}
		case 5:
			if remote != nil {
				if remote.ExternalReference != "ticketsync:c:e" {
					t.Fatalf("find: returned another request's reference %q", remote.ExternalReference)
				}
				checkUTC(*remote)
			}
		}
	})
}
