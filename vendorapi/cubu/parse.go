package cubu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// MaxBodyBytes bounds a webhook body. Real bodies are about 1 KiB; free-text form answers
// could make them a few KiB more, never hundreds.
const MaxBodyBytes = 256 << 10

// Parse errors callers may branch on (the receiver answers 413 and 400 respectively).
var (
	ErrBodyTooLarge = fmt.Errorf("cubu: webhook body exceeds %d bytes", MaxBodyBytes)
	ErrEmptyBody    = errors.New("cubu: webhook body is empty")
)

// PayloadError is a body that is JSON-invalid or lacks what every hook needs. Field names
// the offending JSON field when known. The message never quotes personal data.
type PayloadError struct {
	Hook   Hook
	Field  string
	Reason string
}

func (e *PayloadError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("cubu: %s body: field %q: %s", e.Hook, e.Field, e.Reason)
	}
	return fmt.Sprintf("cubu: %s body: %s", e.Hook, e.Reason)
}

// ReadBody reads a webhook body of at most MaxBodyBytes; a longer one is ErrBodyTooLarge.
// The exact bytes are what the HMAC covers, so read with this before Verify and Parse.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cubu: read webhook body: %w", err)
	}
	if len(b) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID in the 8-4-4-4-12 form Cubu uses.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// Parse decodes body as hook's payload (verify the signature first). Unknown fields are
// ignored; wrong types, a missing or non-GUID caseId and bodies that are not one JSON object
// are *PayloadError; the case id is returned in lower case so ids from different sources
// compare equal.
func Parse(hook Hook, body []byte) (Payload, error) {
	p := newPayload(hook)
	if p == nil {
		return nil, &UnknownHookError{Segment: string(hook)}
	}
	if len(body) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return nil, ErrEmptyBody
	}
	if trimmed[0] != '{' {
		return nil, &PayloadError{Hook: hook, Reason: "body is not a JSON object"}
	}
	if err := json.Unmarshal(body, p); err != nil {
		return nil, decodeError(hook, err)
	}
	c := p.CaseInfo()
	switch {
	case c.CaseID == "":
		return nil, &PayloadError{Hook: hook, Field: "caseId", Reason: "is required"}
	case !IsGUID(c.CaseID):
		return nil, &PayloadError{Hook: hook, Field: "caseId", Reason: "is not a GUID"}
	}
	c.CaseID = strings.ToLower(c.CaseID)
	return p, nil
}

// decodeError turns encoding/json's errors into a PayloadError naming the field.
func decodeError(hook Hook, err error) *PayloadError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &PayloadError{Hook: hook, Reason: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &PayloadError{Hook: hook, Reason: "body is not a JSON object"}
		}
		return &PayloadError{Hook: hook, Field: jsonPath(typ.Field), Reason: fmt.Sprintf("want %s, got JSON %s", typ.Type, typ.Value)}
	}
	// Errors from our own UnmarshalJSON methods (dates, times, fields) carry no field name in
	// encoding/json; their text names the value kind.
	return &PayloadError{Hook: hook, Reason: err.Error()}
}

// embedded are the Go names encoding/json puts in field paths for our embedded structs.
var embedded = map[string]bool{"Case": true, "Contact": true, "TriggeredBy": true, "LockedBy": true}

// jsonPath turns "Case.ticket.number" into the JSON path "ticket.number".
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}
