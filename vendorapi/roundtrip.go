package vendorapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Attempt is one HTTP request of a vendor client.
type Attempt struct {
	Method, URL string
	// ContentType labels Body; a nil Body sends no body and no Content-Type.
	ContentType string
	Body        []byte
	// Authorization is the header's whole value ("Bearer …"); "" sends none.
	Authorization string
	UserAgent     string
	// Timeout (> 0) bounds the attempt, reading the answer included; MaxBody caps the answer
	// read.
	Timeout time.Duration
	MaxBody int64
}

// Send makes one attempt with hc, asking for JSON, and returns the answer with its body read
// (at most a.MaxBody bytes, see ReadBody) and closed. Only the failure to get an answer is an
// error (a TransportError, or an unbuildable request); the status is for the caller to classify.
func Send(ctx context.Context, hc *http.Client, vendor, op string, a Attempt) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	var body io.Reader
	if a.Body != nil {
		body = bytes.NewReader(a.Body)
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, a.URL, body)
	if err != nil {
		return nil, nil, &Error{Vendor: vendor, Op: op, Message: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", a.UserAgent)
	if a.Body != nil {
		req.Header.Set("Content-Type", a.ContentType)
	}
	if a.Authorization != "" {
		req.Header.Set("Authorization", a.Authorization)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, TransportError(vendor, op, err)
	}
	defer resp.Body.Close()
	data, err := ReadBody(vendor, op, resp, a.MaxBody)
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}

// CodeResponseTooLarge is the Error.Code of an answer longer than a client reads.
const CodeResponseTooLarge = "response_too_large"

// ReadBody reads resp's body, at most limit bytes; the caller still closes it. A failed read
// is a TransportError. A longer body is a non-retryable CodeResponseTooLarge error: the same
// call would fetch the same body again, and reading on would let one answer exhaust memory.
func ReadBody(vendor, op string, resp *http.Response, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, TransportError(vendor, op, err)
	}
	if int64(len(data)) > limit {
		return nil, &Error{Vendor: vendor, Op: op, HTTPStatus: resp.StatusCode, Code: CodeResponseTooLarge,
			Message: fmt.Sprintf("response body exceeds %d bytes", limit)}
	}
	return data, nil
}
