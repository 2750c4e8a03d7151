package vendorapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

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
