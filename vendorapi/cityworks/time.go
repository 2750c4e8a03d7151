package cityworks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Time is a Cityworks timestamp. The zero value is null: Cityworks writes
// "0001-01-01T00:00:00" (or null) for a date that is not set.
//
// On the wire Cityworks uses offset-less local wall clock in the site's time zone (legacy) or
// ISO-8601 with Z. Values the client returns are in the tenant zone (Config.Location); values
// the client sends are written as wall clock in that zone, which both formats' servers read.
type Time struct {
	time.Time
	// naive marks a decoded offset-less value whose wall clock has not been placed in the
	// tenant zone yet (the JSON decoder does not know the zone; the client fixes it up).
	naive bool
}

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{Time: t} }

// nullDate is how Cityworks spells "no date".
const nullDate = "0001-01-01T00:00:00"

var wallLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// UnmarshalJSON reads null, "", 0001-01-01… (all zero), RFC 3339 and offset-less values.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cityworks date: %w", err)
	}
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return nil
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.Time = v
		return nil
	}
	for _, layout := range wallLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time, t.naive = v, true
			return nil
		}
	}
	return fmt.Errorf("cityworks date %q: unknown format", s)
}

// MarshalJSON writes the wall clock without offset (whole seconds, as Cityworks does), or
// 0001-01-01T00:00:00 for the zero value.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return json.Marshal(nullDate)
	}
	return json.Marshal(t.Format("2006-01-02T15:04:05"))
}

// Ptr returns &t.Time, or nil when t is null.
func (t Time) Ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}

// inZone places a naive wall clock in loc and converts an absolute time to loc.
func (t *Time) inZone(loc *time.Location) {
	switch {
	case t.IsZero():
		t.naive = false
	case t.naive:
		w := t.Time
		t.Time = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
		t.naive = false
	default:
		t.Time = t.Time.In(loc)
	}
}

var timeType = reflect.TypeFor[Time]()

// zoneTimes applies inZone to every Time reachable from v (a pointer), through structs,
// pointers, slices, arrays, maps and interfaces. Walking by reflection means a new date field
// can never be forgotten.
func zoneTimes(v any, loc *time.Location) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return // nothing addressable to fix (a value copy is encoded as it is)
	}
	walkTimes(rv.Elem(), loc)
}

func walkTimes(v reflect.Value, loc *time.Location) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanAddr() {
				v.Addr().Interface().(*Time).inZone(loc)
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkTimes(v.Field(i), loc)
			}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			e := v.Elem()
			if v.Kind() == reflect.Interface && e.Kind() != reflect.Pointer {
				return // a value in an interface is not addressable; we only send pointers
			}
			walkTimes(e, loc)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkTimes(v.Index(i), loc)
		}
	case reflect.Map:
		if v.Len() == 0 || !hasTime(v.Type().Elem(), 0) {
			return
		}
		// Map elements are not addressable: fix a copy and store it back.
		iter := v.MapRange()
		for iter.Next() {
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(iter.Value())
			walkTimes(cp, loc)
			v.SetMapIndex(iter.Key(), cp)
		}
	}
}

// hasTime reports whether values of t can contain a Time (to skip maps of strings cheaply).
func hasTime(t reflect.Type, depth int) bool {
	if depth > 8 {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType {
			return true
		}
		for i := range t.NumField() {
			if hasTime(t.Field(i).Type, depth+1) {
				return true
			}
		}
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasTime(t.Elem(), depth+1)
	case reflect.Interface:
		return true
	}
	return false
}
