package vendorapi

import (
	"fmt"
	"io"
	"net/http"
)

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
