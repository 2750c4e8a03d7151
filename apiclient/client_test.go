package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/apiclient"
)

func TestNewRefusesUnsafeBaseURLs(t *testing.T) {
	for _, base := range []string{"http://api.example.org", "ftp://127.0.0.1", "https://user:pw@api.example.org", "https://api.example.org/?x=1", "::"} {
		if _, err := apiclient.New(apiclient.Options{BaseURL: base}); err == nil {
			t.Errorf("%s accepted", base)
		}
	}
	for _, base := range []string{"", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:8080/", "https://api.example.org/prefix"} {
		if _, err := apiclient.New(apiclient.Options{BaseURL: base}); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
}

func serve(t *testing.T, h http.HandlerFunc) *apiclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := apiclient.New(apiclient.Options{BaseURL: srv.URL + "/", APIKey: "k", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProblemAnswersBecomeErrors(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(422)
		_, _ = io.WriteString(w, `{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"the request has invalid or missing values","errors":[{"field":"title","message":"is required"},{"field":"requester.name","message":"is required"}]}`)
	})
	_, _, err := c.CreateTicket(context.Background(), apiclient.CreateTicket{})
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Problem == nil || len(e.Problem.Errors) != 2 || e.Status != 422 || e.Retryable() {
		t.Fatalf("%#v", err)
	}
	if err.Error() != "Unprocessable Entity: the request has invalid or missing values" {
		t.Fatalf("message %q", err.Error())
	}
	if apiclient.StatusOf(err) != 422 {
		t.Fatal("StatusOf")
	}
}

func TestNonProblemAnswers(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/v1/tickets/busy":
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			_, _ = io.WriteString(w, "<html>"+strings.Repeat("maintenance ", 100)+"</html>")
		case "/v1/tickets/html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>login</html>")
		case "/v1/tickets/moved":
			http.Redirect(w, r, "https://elsewhere.example/v1/tickets/x", http.StatusTemporaryRedirect)
		case "/v1/tickets/huge":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+strings.Repeat("x", 17<<20)+`"}`)
		case "/v1/tickets/a%2Fb":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"a/b"}`)
		default:
			t.Errorf("unexpected %s", r.URL.EscapedPath())
		}
	})
	ctx := context.Background()
	_, err := c.GetTicket(ctx, "busy")
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != 503 || !e.Retryable() || e.RetryAfter != 7*time.Second || len(e.Body) > 310 || e.Problem != nil {
		t.Fatalf("busy: %#v", err)
	}
	if _, err := c.GetTicket(ctx, "html"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("html 200: %v", err)
	}
	if _, err := c.GetTicket(ctx, "moved"); apiclient.StatusOf(err) != 307 {
		t.Fatalf("redirect followed or not reported: %v", err)
	}
	if _, err := c.GetTicket(ctx, "huge"); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("huge: %v", err)
	}
	if tk, err := c.GetTicket(ctx, "a/b"); err != nil || tk.ID != "a/b" {
		t.Fatalf("escaped id: %v %v", tk, err)
	}
}

func TestTransportErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := apiclient.New(apiclient.Options{BaseURL: url})
	_, err := c.Health(context.Background())
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != 0 || !e.Retryable() {
		t.Fatalf("%#v", err)
	}
}

func TestTicketByExternalIDNotFound(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[],"nextCursor":null}`)
	})
	_, err := c.TicketByExternalID(context.Background(), "c1", "nope")
	if apiclient.StatusOf(err) != 404 || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("%v", err)
	}
}
