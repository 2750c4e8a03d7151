package portal

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzTypes = []string{TypeStatusChanged, TypeFeedbackAdded, TypeNeedsAttention, TypeClosed, "ticket.other", ""}
var fuzzStatuses = []string{"", "Submitted", "Requested", "InProgress", "OnHold", "Done", "Canceled", "Closed"}

// FuzzEventBody builds events from arbitrary fields (times in milliseconds, any year): Body fails exactly when Validate does;
// otherwise it is compact valid JSON with the id first, ParseEvent reads it back, and writing
// the parsed event again gives the same bytes (what receivers dedupe and verify on).
func FuzzEventBody(f *testing.F) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC).UnixMilli()
	f.Add("evt_a", uint8(0), at, "tkt_1", "acme", "x<&>", uint8(3), uint8(2), "twh-1", "Plumbing", "fb_1", "Which sink?", "J. Rivera", at, "")
	f.Add("evt_b", uint8(1), at+123, "t", "a", "e", uint8(4), uint8(3), "", "", "f", "\u2028\xff", "", at, "")
	f.Add("evt_c", uint8(2), at, "t", "a", "e", uint8(0), uint8(0), "", "", "", "", "", at, `unmapped remote status "Frozen"`)
	f.Add("evt_d", uint8(3), at, "t", "a", "e", uint8(5), uint8(4), "r", "c", "", "", "", at, "")
	f.Add("bad", uint8(4), int64(0), "", "", "", uint8(7), uint8(7), "", "", "", "", "", int64(0), "")
	f.Fuzz(func(t *testing.T, id string, typ uint8, occurred int64, tid, tenant, ext string, status, prev uint8,
		remote, category, fbID, fbText, fbAuthor string, fbAt int64, reason string) {
		e := Event{ID: id, Type: fuzzTypes[int(typ)%len(fuzzTypes)], OccurredAt: time.UnixMilli(occurred),
			Ticket: Ticket{ID: tid, Tenant: tenant, ExternalID: ext, Status: fuzzStatuses[int(status)%len(fuzzStatuses)],
				PreviousStatus: fuzzStatuses[int(prev)%len(fuzzStatuses)], RemoteID: remote, Category: category}}
		if e.Type == TypeFeedbackAdded || fbID != "" && typ >= 128 {
			e.Feedback = &Feedback{ID: fbID, Text: fbText, Author: fbAuthor, CreatedAt: time.UnixMilli(fbAt)}
		}
		if e.Type == TypeNeedsAttention || reason != "" && typ >= 128 {
			e.Attention = &Attention{Reason: reason, Since: time.UnixMilli(fbAt)}
		}
		body, err := e.Body()
		if verr := e.Validate(); (verr == nil) != (err == nil) {
			t.Fatalf("Validate = %v but Body = %v", verr, err)
		}
		if err != nil {
			return
		}
		checkBody(t, body)
		if !bytes.HasPrefix(body, []byte(`{"id":`)) {
			t.Fatalf("key order: %s", body)
		}
		parsed, err := ParseEvent(body)
		if err != nil {
			t.Fatalf("our own body does not parse: %v\n%s", err, body)
		}
		validUTF8 := true
		for _, s := range []string{id, tid, tenant, ext, remote, category, fbID, fbText, fbAuthor, reason} {
			validUTF8 = validUTF8 && utf8.ValidString(s) // each alone: two halves can join into a valid rune
		}
		if validUTF8 && parsed.ID != e.ID || parsed.Type != e.Type || parsed.Ticket.Status != e.Ticket.Status || !parsed.OccurredAt.Equal(rfc3339Range(e.OccurredAt)) {
			t.Fatalf("parsed %+v from %s", parsed, body)
		}
		again, err := parsed.Body()
		if err != nil {
			t.Fatalf("a parsed body does not render: %v", err)
		}
		if !validUTF8 {
			// Invalid UTF-8 was written as \ufffd and reads back as U+FFFD, which is written
			// raw: stable from then on.
			body = again
			if again, err = mustParse(t, body).Body(); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(again, body) {
			t.Fatalf("body not stable:\n%s\n%s", body, again)
		}
	})
}

// FuzzParseEvent: any body either fails to parse or, when what it parses to is a valid event,
// re-encodes to a body that parses back to the same bytes.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{v1Body, v2Body, `{}`, `null`, `{"id":"evt_1","occurredAt":"2023-11-14T22:13:20.1234567+14:00"}`,
		`{"id":"evt_1","type":"ticket.closed","occurredAt":"2023-11-14T22:13:20Z","ticket":{"id":"t","tenant":"a","externalId":"e","status":"Done"},"feedback":null,"attention":null}`,
		`{"id":"evt_1","type":"ticket.needs_attention","occurredAt":"2023-11-14T22:13:20Z","ticket":{"id":"t","tenant":"a","externalId":"e","status":null},"feedback":null,"attention":{"reason":"r","since":"9999-12-31T22:59:59-01:00"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEvent(body)
		if err != nil || e.Validate() != nil {
			return
		}
		out, err := e.Body()
		if err != nil {
			t.Fatalf("a valid parsed event does not render: %v", err)
		}
		checkBody(t, out)
		e2, err := ParseEvent(out)
		if err != nil {
			t.Fatalf("re-rendered body does not parse: %v\n%s", err, out)
		}
		out2, err := e2.Body()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s (%v)", out, out2, err)
		}
	})
}

// rfc3339Range is t as a body can carry it: four-digit years only, so earlier times read back
// as the zero time and later ones as the last millisecond of 9999.
func rfc3339Range(t time.Time) time.Time {
	switch last := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC); {
	case t.After(last):
		return last
	case t.UTC().Year() < 1:
		return time.Time{}
	}
	return t
}

func mustParse(t *testing.T, body []byte) Event {
	t.Helper()
	e, err := ParseEvent(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return e
}

func checkBody(t *testing.T, body []byte) {
	t.Helper()
	if !json.Valid(body) || bytes.HasSuffix(body, []byte("\n")) {
		t.Fatalf("not compact JSON: %q", body)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, body); err != nil || !bytes.Equal(c.Bytes(), body) {
		t.Fatalf("not compact: %s", body)
	}
}
