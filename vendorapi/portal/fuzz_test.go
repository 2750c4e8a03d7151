package portal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The targets run their seeds in every `go test`; explore further with e.g.
// `go test ./vendorapi/portal -run '^$' -fuzz FuzzSignature -fuzztime 60s`.

// FuzzSignature: for every secret the contract accepts, Sign equals the Standard Webhooks
// reference library's signature (an independent implementation), both verifiers accept it,
// and neither accepts it for another body, id or timestamp.
func FuzzSignature(f *testing.F) {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vecSecret, SecretPrefix))
	f.Add(key, v1ID, vecTS, []byte(v1Body))
	f.Add(key, v2ID, vecTS, []byte(v2Body))
	f.Add(bytes.Repeat([]byte{0}, 64), "evt_x", int64(0), []byte{})
	f.Add([]byte("short"), "evt_x", int64(-1), []byte("x"))
	f.Add(key, "id.with.dots", int64(-9223372036854775808), []byte("{}"))
	f.Fuzz(func(t *testing.T, key []byte, id string, ts int64, body []byte) {
		secret := SecretPrefix + base64.StdEncoding.EncodeToString(key)
		s, err := ParseSecret(secret)
		if err != nil {
			if len(key) >= 24 && strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(key)) {
				t.Fatalf("ParseSecret's error echoes the secret: %v", err)
			}
			return
		}
		if strings.Contains(fmt.Sprint(s), base64.StdEncoding.EncodeToString(key)) || strings.Contains(fmt.Sprintf("%#v", s), base64.StdEncoding.EncodeToString(key)) {
			t.Fatal("a parsed secret prints its key")
		}
		sig := Sign([]Secret{s}, id, ts, body)
		ref, err := standardwebhooks.NewWebhookRaw(key)
		if err != nil {
			t.Fatal(err)
		}
		if want, err := ref.Sign(id, time.Unix(ts, 0), body); err != nil || sig != want {
			t.Fatalf("Sign = %q, reference library says %q (%v)", sig, want, err)
		}
		if id == "" || strings.ContainsAny(id, "\r\n\x00") {
			return // not a deliverable webhook-id
		}
		tsHeader := strconv.FormatInt(ts, 10)
		now := time.Unix(ts, 0)
		if err := Verify([]Secret{s}, id, tsHeader, sig, body, now, 0); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		h := http.Header{}
		h.Set(standardwebhooks.HeaderWebhookID, id)
		h.Set(standardwebhooks.HeaderWebhookTimestamp, tsHeader)
		h.Set(standardwebhooks.HeaderWebhookSignature, sig)
		if h.Get(standardwebhooks.HeaderWebhookID) == id {
			if err := ref.VerifyIgnoringTimestamp(body, h); err != nil {
				t.Fatalf("reference library refuses our signature: %v", err)
			}
		}
		for name, err := range map[string]error{
			"other body": Verify([]Secret{s}, id, tsHeader, sig, append(bytes.Clone(body), ' '), now, 0),
			"other id":   Verify([]Secret{s}, id+"x", tsHeader, sig, body, now, 0),
			"other ts":   Verify([]Secret{s}, id, strconv.FormatInt(ts^1, 10), sig, body, time.Unix(ts^1, 0), 0),
		} {
			if !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("%s: want ErrNoMatchingSignature, got %v", name, err)
			}
		}
	})
}

// FuzzVerify checks Verify against an independent reading of contracts/portal.md receiver
// steps 2–5 for arbitrary headers: it accepts exactly when all three headers are present, the
// timestamp is an integer within 5 minutes of now (computed without overflow), and one of the
// first 32 space-separated entries is "v1,<base64 HMAC>" of "<id>.<timestamp>.<body>".
func FuzzVerify(f *testing.F) {
	f.Add(v1ID, strconv.FormatInt(vecTS, 10), v1Sig, []byte(v1Body), vecTS)
	f.Add(v1ID, " 1700000000 ", "v2,x "+v1Sig, []byte(v1Body), vecTS+300)
	f.Add(v1ID, "1700000000", v1Sig, []byte(v1Body), vecTS+301)
	f.Add(v1ID, "+1700000000", v1Sig+"\t"+wrongSigV1, []byte(v1Body), vecTS-300)
	f.Add(v1ID, "-9223372036854775808", v1Sig, []byte(v1Body), int64(9223372036854775807))
	f.Add("", "1", "v1,", []byte{}, int64(1))
	f.Add(v1ID, "1700000000", strings.Repeat("v1,x ", 32)+v1Sig, []byte(v1Body), vecTS)
	secret, err := ParseSecret(vecSecret)
	if err != nil {
		f.Fatal(err)
	}
	tolerance := int64(DefaultTolerance / time.Second)
	f.Fuzz(func(t *testing.T, id, tsHeader, sigHeader string, body []byte, now int64) {
		err := Verify([]Secret{secret}, id, tsHeader, sigHeader, body, time.Unix(now, 0), 0)

		want := id != "" && tsHeader != "" && sigHeader != ""
		ts, perr := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
		want = want && perr == nil
		if want {
			skew := new(big.Int).Sub(big.NewInt(now), big.NewInt(ts))
			want = skew.Abs(skew).Cmp(big.NewInt(tolerance)) <= 0
		}
		if want {
			expected := "v1," + secret.mac(id, ts, body)
			fields := strings.Fields(sigHeader)
			want = slices.Contains(fields[:min(len(fields), maxSignatures)], expected)
		}
		if want != (err == nil) {
			t.Fatalf("Verify(id %q, ts %q, sig %q, now %d) = %v, want accepted=%v", id, tsHeader, sigHeader, now, err, want)
		}
		if err != nil && !errors.Is(err, ErrMissingHeaders) && !errors.Is(err, ErrInvalidTimestamp) &&
			!errors.Is(err, ErrTimestampTolerance) && !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("undocumented error %v", err)
		}
	})
}

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
		if parsed.ID != e.ID || parsed.Type != e.Type || parsed.Ticket.Status != e.Ticket.Status || !parsed.OccurredAt.Equal(e.OccurredAt) {
			t.Fatalf("parsed %+v from %s", parsed, body)
		}
		again, err := parsed.Body()
		if err != nil {
			t.Fatalf("a parsed body does not render: %v", err)
		}
		if !utf8.Valid([]byte(id + tid + tenant + ext + remote + category + fbID + fbText + fbAuthor + reason)) {
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
