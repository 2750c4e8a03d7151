package mapping

import "testing"

// Per poll the workflow looks its pinned mapping up (once per run) and translates the remote
// status (every read): both must stay far below a vendor round trip.

func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		if _, err := Lookup("theworxhub-v1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslate(b *testing.B) {
	m, err := Lookup("theworxhub-v1")
	if err != nil {
		b.Fatal(err)
	}
	statuses := []string{"Pending", "InProgress", "OnHold", "Completed", "Escalated"}
	i := 0
	for b.Loop() {
		m.Translate(statuses[i%len(statuses)])
		i++
	}
}
