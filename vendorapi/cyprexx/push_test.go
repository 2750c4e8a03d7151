package cyprexx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
)

func TestVerifyPush(t *testing.T) {
	h := func(v string) http.Header {
		hd := http.Header{}
		if v != "" {
			hd.Set(cyprexx.PushKeyHeader, v)
		}
		return hd
	}
	cases := []struct {
		name, secret, header string
		want                 error
	}{
		{"valid", "k-123", "k-123", nil},
		{"valid with spaces around", "k-123", " k-123 ", nil},
		{"missing header", "k-123", "", cyprexx.ErrPushKeyMissing},
		{"wrong key", "k-123", "k-124", cyprexx.ErrPushKeyMismatch},
		{"prefix of the key", "k-123", "k-12", cyprexx.ErrPushKeyMismatch},
		{"case differs", "k-abc", "K-ABC", cyprexx.ErrPushKeyMismatch},
		{"no key configured", "", "anything", cyprexx.ErrNoPushKey},
	}
	for _, c := range cases {
		if err := cyprexx.VerifyPush(c.secret, h(c.header)); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestParsePush(t *testing.T) {
	ev, err := cyprexx.ParsePush([]byte(`{"event":"workorder.updated","workOrderId":"880001","updatedAt":"2024-05-01T13:02:11.431Z","extra":1}`))
	if err != nil || ev.Event != cyprexx.EventUpdated || ev.WorkOrderID != "880001" ||
		!ev.UpdatedAt.Equal(time.Date(2024, 5, 1, 13, 2, 11, 431_000_000, time.UTC)) {
		t.Fatalf("%+v %v", ev, err)
	}
	if ev, err := cyprexx.ParsePush([]byte(`{"event":"ping"}`)); err != nil || ev.Event != cyprexx.EventPing {
		t.Fatalf("ping: %+v %v", ev, err)
	}
	for _, bad := range []string{`{}`, `{"event":"workorder.created"}`, `not json`, `{"event":"workorder.updated","workOrderId":"1","updatedAt":"yesterday"}`} {
		if _, err := cyprexx.ParsePush([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestReadPush(t *testing.T) {
	req := func(key, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/hooks/cyprexx/conn-1", strings.NewReader(body))
		if key != "" {
			r.Header.Set(cyprexx.PushKeyHeader, key)
		}
		r.Header.Set(cyprexx.DeliveryHeader, "d-1")
		return r
	}
	ev, err := cyprexx.ReadPush("k", req("k", `{"event":"workorder.cancelled","workOrderId":"7","updatedAt":"2024-05-01T00:00:00Z"}`))
	if err != nil || ev.DeliveryID != "d-1" || ev.Event != cyprexx.EventCancelled {
		t.Fatalf("%+v %v", ev, err)
	}
	// An unauthenticated request is refused before its body is read.
	r := req("wrong", `{"event":"ping"}`)
	if _, err := cyprexx.ReadPush("k", r); !errors.Is(err, cyprexx.ErrPushKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}
	if n, _ := r.Body.Read(make([]byte, 4)); n != 4 {
		t.Fatal("the body of an unauthenticated push was read")
	}
	big := `{"event":"ping","pad":"` + strings.Repeat("x", cyprexx.MaxPushBody) + `"}`
	if _, err := cyprexx.ReadPush("k", req("k", big)); err == nil {
		t.Fatal("oversized push accepted")
	}
}
