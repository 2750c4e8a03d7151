package vendorapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadBody(t *testing.T) {
	resp := func(body io.Reader) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(body)}
	}
	if b, err := vendorapi.ReadBody("v", "op", resp(strings.NewReader("12345")), 5); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q %v", b, err)
	}
	_, err := vendorapi.ReadBody("v", "get thing", resp(strings.NewReader("123456")), 5)
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || ve.Code != vendorapi.CodeResponseTooLarge || ve.Retryable || ve.HTTPStatus != 200 ||
		ve.Op != "get thing" || ve.Message != "response body exceeds 5 bytes" {
		t.Errorf("over the limit: %#v", err)
	}
	_, err = vendorapi.ReadBody("v", "op", resp(failingReader{}), 5)
	if !errors.As(err, &ve) || ve.HTTPStatus != 0 || !ve.Retryable || ve.Err == nil {
		t.Errorf("a failed read is a retryable transport error: %#v", err)
	}
}

func TestSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100)))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, hasCT := r.Header["Content-Type"]
		_, hasAuth := r.Header["Authorization"]
		io.WriteString(w, strings.Join([]string{r.Method, r.Header.Get("Accept"), r.Header.Get("User-Agent"),
			r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(body),
			map[bool]string{true: "ct", false: "no-ct"}[hasCT], map[bool]string{true: "auth", false: "no-auth"}[hasAuth]}, "|"))
	}))
	defer srv.Close()
	ctx := context.Background()
	a := vendorapi.Attempt{Method: http.MethodPost, URL: srv.URL + "/x", ContentType: "application/json", Body: []byte(`{"a":1}`),
		Authorization: "Bearer t0k", UserAgent: "ticketsync-test", Timeout: time.Second, MaxBody: 1 << 10}
	resp, body, err := vendorapi.Send(ctx, srv.Client(), "v", "op", a)
	if err != nil || resp.StatusCode != http.StatusTeapot ||
		string(body) != `POST|application/json|ticketsync-test|application/json|Bearer t0k|{"a":1}|ct|auth` {
		t.Fatalf("with a body: %v %v %s", resp, err, body)
	}
	a.Method, a.Body, a.Authorization = http.MethodGet, nil, ""
	if _, body, err = vendorapi.Send(ctx, srv.Client(), "v", "op", a); err != nil || string(body) != `GET|application/json|ticketsync-test||||no-ct|no-auth` {
		t.Fatalf("without a body or credentials: %v %s", err, body)
	}

	var ve *vendorapi.Error
	slow := a
	slow.URL, slow.Timeout = srv.URL+"/slow", 20*time.Millisecond
	if _, _, err = vendorapi.Send(ctx, srv.Client(), "v", "op", slow); !errors.As(err, &ve) || !ve.Retryable || ve.HTTPStatus != 0 {
		t.Errorf("timeout: %#v", err)
	}
	big := a
	big.URL, big.MaxBody = srv.URL+"/big", 99
	if _, _, err = vendorapi.Send(ctx, srv.Client(), "v", "op", big); !errors.As(err, &ve) || ve.Code != vendorapi.CodeResponseTooLarge {
		t.Errorf("oversized answer: %#v", err)
	}
	bad := a
	bad.URL = "http://[::1"
	if _, _, err = vendorapi.Send(ctx, srv.Client(), "v", "op", bad); !errors.As(err, &ve) || ve.Retryable || ve.Message != "build request" {
		t.Errorf("unbuildable request: %#v", err)
	}
}
