package ticket

import (
	"regexp"
	"testing"
)

func TestEventID(t *testing.T) {
	const wf = "ticket/sunrise-twh/REQ-1"
	a, b := EventID(wf, 1), EventID(wf, 1)
	if a != b {
		t.Fatalf("not deterministic: %s vs %s", a, b)
	}
	// Golden values computed independently (Python hashlib/base64).
	if a != "evt_e3w6bobcyzezweiy5rtwuq4cwe" {
		t.Fatalf("EventID(%q, 1) = %s", wf, a)
	}
	if got := EventID(wf, 2); got != "evt_ykh2kbzfy4juruv4gsyvogs5jm" {
		t.Fatalf("EventID(%q, 2) = %s", wf, got)
	}
	re := regexp.MustCompile(`^evt_[a-z2-7]{26}$`)
	seen := map[string]bool{}
	for _, w := range []string{wf, "ticket/sunrise-twh/REQ-2", "ticket/sunrise-twh/REQ-1#1"} {
		for seq := int64(0); seq < 200; seq++ {
			id := EventID(w, seq)
			if !re.MatchString(id) {
				t.Fatalf("bad format %q", id)
			}
			if seen[id] {
				t.Fatalf("collision %s (%s, %d)", id, w, seq)
			}
			seen[id] = true
		}
	}
}
