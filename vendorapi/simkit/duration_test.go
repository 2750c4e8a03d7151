package simkit_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// faults is shaped like a simulator's Faults: plain time.Duration fields, JSON delegated.
type faults struct {
	ErrorRate   float64       `json:"errorRate"`
	Latency     time.Duration `json:"latency"`
	Burst       int           `json:"burst"`
	SlowDelay   time.Duration `json:"slowDelay"`
	Name        string        `json:"name,omitempty"`
	hidden      int
	Ignored     bool `json:"-"`
	RevokeOnSet bool `json:"revokeOnSet"`
}

func (f faults) MarshalJSON() ([]byte, error)  { return simkit.MarshalDurations(f) }
func (f *faults) UnmarshalJSON(b []byte) error { return simkit.UnmarshalDurations(b, f) }
func (f faults) withHidden(n int) faults       { f.hidden = n; return f }
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	check(t, err)
	return string(b)
}
func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMarshalDurationsWritesStringsAfterTheOtherFields(t *testing.T) {
	f := faults{ErrorRate: 0.5, Latency: 250 * time.Millisecond, Burst: 2, SlowDelay: 35 * time.Second, Ignored: true}
	want := `{"errorRate":0.5,"burst":2,"revokeOnSet":false,"latency":"250ms","slowDelay":"35s"}`
	if got := mustJSON(t, f); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := mustJSON(t, &f); got != want { // through a pointer too
		t.Fatalf("pointer: got %s", got)
	}
	if got := mustJSON(t, map[string]faults{"f": {}}); got != `{"f":{"errorRate":0,"burst":0,"revokeOnSet":false,"latency":"0s","slowDelay":"0s"}}` {
		t.Fatalf("nested zero value: %s", got)
	}
}

func TestUnmarshalDurationsReadsStringsAndMilliseconds(t *testing.T) {
	for _, tc := range []struct {
		in      string
		latency time.Duration
	}{
		{`{"latency":"2s"}`, 2 * time.Second},
		{`{"latency":"1m30s"}`, 90 * time.Second},
		{`{"latency":40}`, 40 * time.Millisecond},
		{`{"latency":1.5}`, 1500 * time.Microsecond},
		{`{"latency":null}`, 0},
		{`{}`, 0},
	} {
		var f faults
		if err := json.Unmarshal([]byte(tc.in), &f); err != nil || f.Latency != tc.latency {
			t.Errorf("%s: latency %v, err %v; want %v", tc.in, f.Latency, err, tc.latency)
		}
	}
}

func TestUnmarshalDurationsMergesLikeEncodingJSON(t *testing.T) {
	f := faults{ErrorRate: 0.25, Burst: 3, Latency: time.Second, SlowDelay: time.Minute}.withHidden(7)
	check(t, json.Unmarshal([]byte(`{"burst":1,"slowDelay":"5ms","name":"x"}`), &f))
	want := faults{ErrorRate: 0.25, Burst: 1, SlowDelay: 5 * time.Millisecond, Name: "x"}.withHidden(7)
	if f != want {
		t.Fatalf("got %+v, want %+v (unnamed fields kept, unnamed durations zero)", f, want)
	}
}

func TestUnmarshalDurationsRejectsBadValuesAndKeepsTheOld(t *testing.T) {
	for _, in := range []string{`{"latency":"soon"}`, `{"latency":""}`, `{"latency":true}`, `{"slowDelay":[1]}`, `{"burst":"x"}`, `[`} {
		f := faults{Burst: 9, Latency: time.Second}
		err := json.Unmarshal([]byte(in), &f)
		if err == nil {
			t.Errorf("%s: no error", in)
		}
		if f.Burst != 9 || f.Latency != time.Second {
			t.Errorf("%s: changed to %+v", in, f)
		}
	}
	var f faults
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &f); err == nil || !strings.Contains(err.Error(), `bad duration "soon"`) {
		t.Errorf("error names the value: %v", err)
	}
}

func TestDurationRoundTrips(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, 250 * time.Millisecond, 36 * time.Hour} {
		var back simkit.Duration
		if err := json.Unmarshal([]byte(mustJSON(t, simkit.Duration(d))), &back); err != nil || time.Duration(back) != d {
			t.Errorf("%v came back as %v (%v)", d, time.Duration(back), err)
		}
	}
}

type Common struct{ Rate float64 }

type embeds struct {
	Common
	Extra time.Duration
}

func TestMarshalDurationsRefusesEmbeddedStructs(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "embeds") {
			t.Fatalf("recovered %v, want a panic naming the embedded field", r)
		}
	}()
	simkit.MarshalDurations(embeds{})
}
