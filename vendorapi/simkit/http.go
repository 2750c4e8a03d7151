package simkit

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WriteJSON writes v as an application/json answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONAs(w, status, "application/json; charset=utf-8", v)
}

// WriteJSONAs writes v as JSON labelled contentType (some vendors label JSON text/plain). A
// value that cannot be encoded is a 500: a simulator bug, not a vendor behaviour.
func WriteJSONAs(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

// WriteHTML writes an HTML page.
func WriteHTML(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, page)
}

// Page returns the writer of an HTML answer; retryAfter > 0 adds Retry-After (seconds).
// Simulators choose an answer under their lock and write it after releasing it.
func Page(status int, page string, retryAfter int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		SetRetryAfter(w.Header(), retryAfter)
		WriteHTML(w, status, page)
	}
}

// SetRetryAfter sets Retry-After to seconds when it is positive.
func SetRetryAfter(h http.Header, seconds int) {
	if seconds > 0 {
		h.Set("Retry-After", strconv.Itoa(seconds))
	}
}

// ErrEmptyBody is ReadJSON's error for a blank body; handlers where the body is optional
// treat it as "{}".
var ErrEmptyBody = errors.New("a JSON body is required")

// ReadJSON decodes r's JSON body into v, reading at most limit bytes (a longer body is an
// error, not a truncated one). A blank body is ErrEmptyBody and leaves v untouched.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return fmt.Errorf("cannot read body: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return ErrEmptyBody
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("malformed JSON body: %w", err)
	}
	return nil
}

// IsForm reports whether r carries the staff page's form fields rather than JSON.
func IsForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// RandomHex returns n random bytes in hex (tokens, ids that need not be reproducible).
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Serve serves h on a free loopback port until the returned server is closed: a simulator for a
// run of `bench` or `chaos`. The URL is http://127.0.0.1:port.
func Serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}
