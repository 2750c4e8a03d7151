package cyprexx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
)

// The fuzz targets below run their seeds in every `go test`; explore further with e.g.
// `go test ./vendorapi/cyprexx -run '^$' -fuzz FuzzReadPush -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

// FuzzVerifyPush checks X-Cyprexx-Push-Key verification against an independent reading of the
// contract: valid exactly when the header, blanks trimmed, equals the configured key, never
// with no key configured; every refusal is one of the three sentinels, the right one.
func FuzzVerifyPush(f *testing.F) {
	for _, s := range [][2]string{
		{"k-123", "k-123"}, {"k-123", " k-123\t"}, {"k-123", ""}, {"k-123", "k-124"}, {"k-123", "k-12"},
		{"k-abc", "K-ABC"}, {"", "anything"}, {"", ""}, {" k ", " k "}, {"k\x00", "k"}, {"ü", "u\u0308"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, header string) {
		h := http.Header{}
		h.Set(cyprexx.PushKeyHeader, header)
		got := strings.TrimSpace(header)
		var want error
		switch {
		case key == "":
			want = cyprexx.ErrNoPushKey
		case got == "":
			want = cyprexx.ErrPushKeyMissing
		case got != key:
			want = cyprexx.ErrPushKeyMismatch
		}
		if err := cyprexx.VerifyPush(key, h); err != want {
			t.Fatalf("VerifyPush(%q, %q) = %v, want %v", key, header, err, want)
		}
		if key == "" {
			return
		}
		ok := http.Header{}
		ok.Set(cyprexx.PushKeyHeader, key)
		if err := cyprexx.VerifyPush(key, ok); (err == nil) != (strings.TrimSpace(key) == key) {
			t.Fatalf("the configured key %q itself: %v", key, err)
		}
		if err := cyprexx.VerifyPush(key+"x", h); want == nil && err == nil {
			t.Fatalf("%q verified under key %q and %q", header, key, key+"x")
		}
		if err := cyprexx.VerifyPush(key, http.Header{}); err != cyprexx.ErrPushKeyMissing {
			t.Fatalf("no header: %v", err)
		}
	})
}

// countingReader records whether the body was read at all.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

// FuzzReadPush feeds whole push requests (configured key, header key, delivery id, body) to
// ReadPush, the production receiver's parser: nothing is read before the key verifies; a
// verified push either fails (an over-long body, undecodable JSON, no event, no workOrderId
// outside ping) leaving the zero event, or yields an event with the delivery id from its
// header, a UTC updatedAt, and a value that survives a JSON round trip through ParsePush.
func FuzzReadPush(f *testing.F) {
	for _, s := range []struct{ key, header, delivery, body string }{
		{"k", "k", "6f1c", `{"event":"workorder.updated","workOrderId":"880001","updatedAt":"2024-05-01T13:02:11.431Z"}`},
		{"k", "k", "6f1c", `{"event":"workorder.created","workOrderId":"880001","updatedAt":"2024-05-01T15:02:11+02:00","extra":[1]}`},
		{"k", "k", "", `{"event":"workorder.cancelled","workOrderId":"1"}`},
		{"k", "k", "d", `{"event":"ping"}`},
		{"k", "k", "d", `{"event":"ping","workOrderId":5}`},
		{"k", "k", "d", `{}`},
		{"k", "k", "d", `{"event":"workorder.created"}`},
		{"k", "k", "d", `{"event":"workorder.updated","workOrderId":"1","updatedAt":"yesterday"}`},
		{"k", "k", "d", `{"event":"x","workOrderId":"1","updatedAt":"9999-12-31T23:59:59-23:59"}`},
		{"k", "k", "d", `not json`},
		{"k", "k", "d", `null`},
		{"k", "wrong", "d", `{"event":"ping"}`},
		{"k", "", "d", `{"event":"ping"}`},
		{"", "", "d", `{"event":"ping"}`},
		{"k", "k", "d", `{"event":"ping","pad":"` + strings.Repeat("a", cyprexx.MaxPushBody) + `"}`},
	} {
		f.Add(s.key, s.header, s.delivery, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, key, header, delivery string, body []byte) {
		if strings.ContainsAny(header+delivery, "\r\n\x00") {
			return // not representable in an HTTP header
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/hooks/cyprexx/conn-1", nil)
		cr := &countingReader{r: bytes.NewReader(body)}
		r.Body = io.NopCloser(cr)
		if header != "" {
			r.Header.Set(cyprexx.PushKeyHeader, header)
		}
		if delivery != "" {
			r.Header.Set(cyprexx.DeliveryHeader, delivery)
		}
		ev, err := cyprexx.ReadPush(key, r)
		if verr := cyprexx.VerifyPush(key, r.Header); verr != nil {
			if !errors.Is(err, verr) || cr.read != 0 {
				t.Fatalf("unverified push: err %v (want %v), %d bytes read", err, verr, cr.read)
			}
			return
		}
		if err != nil {
			if ev != (cyprexx.PushEvent{}) {
				t.Fatalf("error %v with a non-zero event %+v", err, ev)
			}
			if len(body) > cyprexx.MaxPushBody {
				return
			}
			if _, perr := cyprexx.ParsePush(body); perr == nil {
				t.Fatalf("ReadPush refused a body ParsePush accepts: %v", err)
			}
			return
		}
		if len(body) > cyprexx.MaxPushBody {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		if ev.Event == "" || (ev.Event != cyprexx.EventPing && ev.WorkOrderID == "") {
			t.Fatalf("accepted an incomplete push %+v", ev)
		}
		if ev.DeliveryID != r.Header.Get(cyprexx.DeliveryHeader) {
			t.Fatalf("delivery id %q, header %q", ev.DeliveryID, r.Header.Get(cyprexx.DeliveryHeader))
		}
		if ev.UpdatedAt.Location() != time.UTC {
			t.Fatalf("updatedAt not in UTC: %v", ev.UpdatedAt)
		}
		if y := ev.UpdatedAt.Year(); y < 0 || y > 9999 {
			return // an offset can push a year-9999 time past RFC 3339's range once in UTC
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", ev, err)
		}
		ev2, err := cyprexx.ParsePush(again)
		if err != nil || ev2.Event != ev.Event || ev2.WorkOrderID != ev.WorkOrderID || !ev2.UpdatedAt.Equal(ev.UpdatedAt) {
			t.Fatalf("round trip %+v -> %s -> %+v (%v)", ev, again, ev2, err)
		}
	})
}
