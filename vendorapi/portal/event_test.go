package portal

import (
	"strings"
	"testing"
	"time"
)

func TestBodyNullsAndOmissions(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	first := Event{ID: "evt_a", Type: TypeStatusChanged, OccurredAt: at,
		Ticket: Ticket{ID: "tkt_1", Tenant: "t", ExternalID: "x<&>", Status: "Requested"}}
	body, err := first.Body()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt_a","type":"ticket.status_changed","occurredAt":"2024-01-02T03:04:05.678Z","ticket":{"id":"tkt_1","tenant":"t","externalId":"x<&>","status":"Requested","previousStatus":null,"remoteId":null,"category":null},"feedback":null}`
	if string(body) != want {
		t.Fatalf("got  %s\nwant %s", body, want)
	}

	att := Event{ID: "evt_b", Type: TypeNeedsAttention, OccurredAt: at,
		Ticket:    Ticket{ID: "tkt_1", Tenant: "t", ExternalID: "x", Status: "Requested", PreviousStatus: "", RemoteID: "r1"},
		Attention: &Attention{Reason: `unmapped remote status "Frozen"`, Since: at}}
	body, err = att.Body()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(body), `"feedback":null,"attention":{"reason":"unmapped remote status \"Frozen\"","since":"2024-01-02T03:04:05.678Z"}}`) {
		t.Fatalf("attention body: %s", body)
	}
	// Parked before the work system has the request: no portal status yet.
	early := att
	early.Ticket.Status, early.Ticket.RemoteID = "", ""
	if b := mustBody(t, early); !strings.Contains(b, `"status":null,"previousStatus":null,"remoteId":null`) {
		t.Fatalf("early needs_attention: %s", b)
	}
	fromSubmitted := first
	fromSubmitted.Ticket.PreviousStatus = "Submitted"
	if mustBody(t, fromSubmitted) != want {
		t.Fatal("previousStatus Submitted (internal) must be sent as null")
	}
	if strings.Contains(mustBody(t, v1Event()), "attention") {
		t.Fatal("attention must be omitted when nil")
	}
}

func mustBody(t *testing.T, e Event) string {
	t.Helper()
	b, err := e.Body()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventValidate(t *testing.T) {
	base := v1Event()
	mut := func(f func(*Event)) Event { e := base; f(&e); return e }
	bad := map[string]Event{
		"no id":                   mut(func(e *Event) { e.ID = "" }),
		"id without evt_":         mut(func(e *Event) { e.ID = "abc" }),
		"unknown type":            mut(func(e *Event) { e.Type = "ticket.updated" }),
		"zero time":               mut(func(e *Event) { e.OccurredAt = time.Time{} }),
		"Submitted is internal":   mut(func(e *Event) { e.Ticket.Status = "Submitted" }),
		"empty status":            mut(func(e *Event) { e.Ticket.Status = "" }),
		"not a portal status":     mut(func(e *Event) { e.Ticket.Status = "Pending" }),
		"bad previous":            mut(func(e *Event) { e.Ticket.PreviousStatus = "Pending" }),
		"feedback on status":      mut(func(e *Event) { e.Feedback = &Feedback{ID: "f"} }),
		"feedback event without":  mut(func(e *Event) { e.Type = TypeFeedbackAdded }),
		"attention missing":       mut(func(e *Event) { e.Type = TypeNeedsAttention }),
		"attention on status":     mut(func(e *Event) { e.Attention = &Attention{Reason: "x"} }),
		"closed on non-terminal":  mut(func(e *Event) { e.Type = TypeClosed }),
		"missing ticket tenant":   mut(func(e *Event) { e.Ticket.Tenant = "" }),
		"missing ticket external": mut(func(e *Event) { e.Ticket.ExternalID = "" }),
	}
	for name, e := range bad {
		if _, err := e.Body(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	closed := mut(func(e *Event) { e.Type = TypeClosed; e.Ticket.Status = "Done"; e.Ticket.PreviousStatus = "Done" })
	if _, err := closed.Body(); err != nil {
		t.Fatalf("closed: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	mid := func() float64 { return 0.5 }
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, 10 * time.Second}, {1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second},
		{9, 2560 * time.Second}, {10, time.Hour}, {11, time.Hour}, {1000, time.Hour},
	} {
		if got := Backoff(tc.attempt, mid); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
	if got := Backoff(1, func() float64 { return 0 }); got != 8*time.Second {
		t.Errorf("-20%%: %s", got)
	}
	if got := Backoff(1, func() float64 { return 1 }); got != 12*time.Second {
		t.Errorf("+20%%: %s", got)
	}
	if got := Backoff(50, func() float64 { return 1 }); got != 72*time.Minute {
		t.Errorf("cap +20%%: %s", got)
	}
	for i := 0; i < 1000; i++ {
		if d := Backoff(3, nil); d < 32*time.Second || d > 48*time.Second {
			t.Fatalf("random jitter out of ±20%%: %s", d)
		}
	}
}

func TestCheckURL(t *testing.T) {
	ok := []string{"https://portal.example/hooks", "http://localhost:8080/h", "http://LOCALHOST/h",
		"http://127.0.0.1:9/h", "http://127.8.9.10/h", "http://[::1]:8080/h"}
	bad := []string{"http://portal.example/hooks", "http://10.0.0.1/h", "http://[::2]/h", "ftp://localhost/h",
		"https:///nohost", "localhost:8080", "http://localhost.evil.example/h", "http://127.0.0.1.nip.io/h", ""}
	for _, u := range ok {
		if err := CheckURL(u); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if err := CheckURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
