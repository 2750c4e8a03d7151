package ticket

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi"
)

func TestIDSetIsBoundedAndRemembersByTime(t *testing.T) {
	var s IDSet
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	n := MaxSeenIDs + 1000
	for i := range n {
		s.Add(fmt.Sprintf("F-%d", i), at(i))
		s.Add(fmt.Sprintf("F-%d", i), at(i)) // a repeat is no new entry
	}
	if s.Len() != MaxSeenIDs {
		t.Fatalf("holds %d ids, want %d", s.Len(), MaxSeenIDs)
	}
	for _, i := range []int{0, 999, 1000, n - 1} {
		if !s.Has(fmt.Sprintf("F-%d", i), at(i)) {
			t.Errorf("F-%d (evicted or not) should count as seen", i)
		}
	}
	if s.Has(fmt.Sprintf("F-%d", n), at(n)) || s.Has("new", time.Time{}) {
		t.Error("an id never added counts as seen")
	}
	// Without times (comments), only the last MaxSeenIDs are remembered.
	var c IDSet
	for i := range n {
		c.Add(fmt.Sprintf("c-%d", i), time.Time{})
	}
	if c.Has("c-0", time.Time{}) || !c.Has(fmt.Sprintf("c-%d", n-1), time.Time{}) {
		t.Error("comment ids: want the most recent remembered, the oldest forgotten")
	}

	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 96<<10 {
		t.Fatalf("%d ids encode to %d bytes", s.Len(), len(b))
	}
	var back IDSet
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Len() != s.Len() || !back.Horizon.Equal(s.Horizon) || !back.Has(fmt.Sprintf("F-%d", n-1), at(n-1)) || !back.Has("F-3", at(3)) {
		t.Fatalf("round trip: %d ids, horizon %s", back.Len(), back.Horizon)
	}
	clone := back.Clone()
	clone.Add("only-in-clone", time.Time{})
	if back.Has("only-in-clone", time.Time{}) {
		t.Fatal("a clone aliases its original")
	}
	if err := json.Unmarshal([]byte(`{"ids":"abc"}`), &back); err == nil {
		t.Fatal("a malformed set was accepted")
	}
}

func TestClip(t *testing.T) {
	if s, cut := Clip("short", 10); s != "short" || cut {
		t.Fatalf("%q %t", s, cut)
	}
	long := strings.Repeat("é", 100)
	s, cut := Clip(long, 40)
	if !cut || utf8.RuneCountInString(s) != 40 || !strings.HasSuffix(s, shortenedMarker) || !utf8.ValidString(s) {
		t.Fatalf("%q (%d runes)", s, utf8.RuneCountInString(s))
	}
	if again, cut := Clip(s, 40); again != s || cut {
		t.Fatal("clipping a clipped text changed it")
	}
}

// The budget counts the encoding Temporal stores: <, > and & take 6 bytes each.
func TestRequestBytesCountsEscapes(t *testing.T) {
	plain := RequestBytes(vendorapi.NewRequest{Description: strings.Repeat("a", 1000)})
	escaped := RequestBytes(vendorapi.NewRequest{Description: strings.Repeat("<", 1000)})
	if escaped-plain != 5000 {
		t.Fatalf("plain %d, escaped %d bytes", plain, escaped)
	}
}
