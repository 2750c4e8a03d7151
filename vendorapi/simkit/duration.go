package simkit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"
)

// Duration is a time.Duration that is written to JSON as a Go duration string ("250ms") and
// read from one, or from a number of milliseconds (250), which is what a human types into
// curl. null reads as zero.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bad duration %s", b)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// MarshalDurations encodes the struct v like encoding/json, except that its time.Duration
// fields are written as Duration (after the other fields, in their own order). A simulator's
// Faults keep plain time.Duration fields, so Go callers write Latency: 2*time.Second, and
// delegate their MarshalJSON here.
func MarshalDurations(v any) ([]byte, error) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	m := mirrorOf(rv.Type())
	out := reflect.New(m.typ).Elem()
	for i, j := range m.from {
		copyField(out.Field(i), rv.Field(j))
	}
	return json.Marshal(out.Interface())
}

// UnmarshalDurations decodes b into the struct *v like encoding/json, except that its
// time.Duration fields are read as Duration. Fields b does not name keep their values, but
// durations b does not name become zero. On error *v is left unchanged.
func UnmarshalDurations(b []byte, v any) error {
	rv := reflect.ValueOf(v).Elem()
	m := mirrorOf(rv.Type())
	aux := reflect.New(m.typ)
	for i, j := range m.from {
		if !m.duration[i] {
			aux.Elem().Field(i).Set(rv.Field(j))
		}
	}
	if err := json.Unmarshal(b, aux.Interface()); err != nil {
		return err
	}
	for i, j := range m.from {
		copyField(rv.Field(j), aux.Elem().Field(i))
	}
	return nil
}

// mirror is a struct type like the original with Duration in place of time.Duration. Being
// another type, it has none of the original's methods, so encoding it does not recurse.
type mirror struct {
	typ      reflect.Type
	from     []int  // mirror field i is original field from[i]
	duration []bool // whether mirror field i is a Duration
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	mirrorType   = reflect.TypeFor[Duration]()
	mirrors      sync.Map // reflect.Type → *mirror
)

func mirrorOf(t reflect.Type) *mirror {
	if m, ok := mirrors.Load(t); ok {
		return m.(*mirror)
	}
	var fields, durations []reflect.StructField
	var from, durFrom []int
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case !f.IsExported():
			continue // encoding/json ignores it too
		case f.Anonymous:
			panic("simkit: " + t.String() + " embeds " + f.Name + "; durations need a flat struct")
		}
		f.Index, f.Offset = nil, 0
		if f.Type == durationType {
			f.Type = mirrorType
			durations, durFrom = append(durations, f), append(durFrom, i)
		} else {
			fields, from = append(fields, f), append(from, i)
		}
	}
	m := &mirror{typ: reflect.StructOf(append(fields, durations...)), from: append(from, durFrom...),
		duration: make([]bool, len(fields)+len(durations))}
	for i := len(fields); i < len(m.duration); i++ {
		m.duration[i] = true
	}
	got, _ := mirrors.LoadOrStore(t, m)
	return got.(*mirror)
}

// copyField sets dst to src, converting between time.Duration and Duration.
func copyField(dst, src reflect.Value) {
	if dst.Type() == src.Type() {
		dst.Set(src)
		return
	}
	dst.SetInt(src.Int())
}
