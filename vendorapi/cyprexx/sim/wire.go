package sim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// ---- helpers ----

// slowWriter drips a response in 8 pieces with a pause before each: a body that arrives too
// slowly for the client's timeout.
type slowWriter struct {
	http.ResponseWriter
	ctx   context.Context
	delay time.Duration
}

func (sw *slowWriter) Write(b []byte) (int, error) {
	n := 0
	step := max(len(b)/8, 1)
	for n < len(b) {
		if !simkit.Sleep(sw.ctx, sw.delay) {
			return n, sw.ctx.Err()
		}
		m, err := sw.ResponseWriter.Write(b[n:min(n+step, len(b))])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := sw.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
	return n, nil
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// writeJSON declares Content-Length (unlike simkit.WriteJSON), so a SlowBody answer arrives as
// one declared-length body flushed in pieces rather than as chunks.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"server_error","message":"encode"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// decodeBody reads a JSON body: malformed JSON is 400 bad_request (422 is for valid JSON
// with invalid content).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *Error {
	if err := simkit.ReadJSON(w, r, v, maxBodyBytes); err != nil {
		return errf(http.StatusBadRequest, "bad_request", "%v", err)
	}
	return nil
}

const maintenancePage = `<!DOCTYPE html><html><head><title>Cyprexx maintenance</title></head>` +
	`<body><h1>Scheduled maintenance</h1><p>Cyprexx is undergoing maintenance. Please try again shortly.</p></body></html>`

const loginPage = `<!DOCTYPE html><html><head><title>Cyprexx Vendor Portal - Sign in</title></head>` +
	`<body><form method="post" action="/login"><input name="user"><input name="password" type="password"></form></body></html>`
