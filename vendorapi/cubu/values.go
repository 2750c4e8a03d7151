package cubu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Fields are the case's form answers: field type id → value. Cubu documents string values;
// numbers and booleans are kept as their JSON text and nested values as compact JSON, so a
// new field kind never makes a hook unreadable. A null value is left out.
type Fields map[string]string

// UnmarshalJSON implements the leniency described on Fields.
func (f *Fields) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && string(t) != "null" {
		return fmt.Errorf("fields: want an object of field type id → value, got %s", jsonKind(t))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("fields: %w", err)
	}
	if raw == nil {
		*f = nil
		return nil
	}
	out := make(Fields, len(raw))
	for k, v := range raw {
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			out[k] = s
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				return err
			}
			out[k] = buf.String()
		}
	}
	*f = out
	return nil
}

// Date is a calendar date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether the date was absent (JSON null or missing).
func (d Date) IsZero() bool { return d == Date{} }

// String renders YYYY-MM-DD ("" for the zero date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// MarshalJSON writes "YYYY-MM-DD" or null.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD"; a .NET DateTime ("2024-12-16T00:00:00") keeps its date part.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*d = Date{}
		return err
	}
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q is not YYYY-MM-DD", truncate(s, 40))
	}
	*d = Date{t.Year(), t.Month(), t.Day()}
	return nil
}

// LocalDateTime is a wall-clock time with no zone ("2024-12-16T09:30:00"). Clock holds the
// wall-clock fields in UTC and is not an instant; use In with the appointment's zone.
type LocalDateTime struct {
	Clock time.Time
}

// IsZero reports whether the time was absent.
func (l LocalDateTime) IsZero() bool { return l.Clock.IsZero() }

// In interprets the wall clock in loc.
func (l LocalDateTime) In(loc *time.Location) time.Time {
	c := l.Clock
	return time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc)
}

// MarshalJSON writes the wall clock without a zone, or null.
func (l LocalDateTime) MarshalJSON() ([]byte, error) {
	if l.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(l.Clock.Format("2006-01-02T15:04:05.999999999"))
}

// UnmarshalJSON reads a wall clock; an offset, if Cubu sends one, is dropped (the wall clock
// is what the customer was told).
func (l *LocalDateTime) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*l = LocalDateTime{}
		return err
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		*l = LocalDateTime{Clock: t}
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*l = LocalDateTime{Clock: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)}
		return nil
	}
	return fmt.Errorf("local time %q is not YYYY-MM-DDThh:mm:ss", truncate(s, 40))
}

// UTCTime is an instant. A value without a zone designator (a .NET DateTime of unspecified
// kind) is read as UTC, as the field name promises.
type UTCTime struct {
	time.Time
}

// MarshalJSON writes RFC 3339 in UTC, or null.
func (u UTCTime) MarshalJSON() ([]byte, error) {
	if u.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(u.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON implements the rule described on UTCTime.
func (u *UTCTime) UnmarshalJSON(b []byte) error {
	s, null, err := jsonString(b)
	if err != nil || null {
		*u = UTCTime{}
		return err
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*u = UTCTime{t.UTC()}
		return nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		*u = UTCTime{t}
		return nil
	}
	return fmt.Errorf("UTC time %q is not RFC 3339", truncate(s, 40))
}

// jsonString decodes a JSON string or null; the error names only the kind of value found.
func jsonString(b []byte) (s string, null bool, err error) {
	if string(b) == "null" {
		return "", true, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false, fmt.Errorf("date or time: want a string, got %s", jsonKind(b))
	}
	return s, false, nil
}

// jsonKind names the kind of a JSON value for error messages (never the value itself).
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
