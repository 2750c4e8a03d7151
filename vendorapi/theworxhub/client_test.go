package theworxhub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"abcdefghijk", 10, "abcdefghi…", true},
		{"ééééé", 3, "éé…", true},
		{"🏠🏠🏠🏠", 2, "🏠…", true},
		{"word and more", 6, "word…", true}, // no dangling space before the ellipsis
		{"abc", 1, "…", true},
		{"abc", 0, "", true},
		{"", 0, "", false},
	} {
		got, cut := Truncate(tc.in, tc.max)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tc.in, tc.max, got, cut, tc.want, tc.cut)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tc.max, 0) {
			t.Errorf("Truncate(%q, %d) = %q is invalid or too long", tc.in, tc.max, got)
		}
	}
}

func TestExternalReference(t *testing.T) {
	if got := ExternalReference("conn", "42"); got != "ticketsync:conn:42" {
		t.Fatalf("short form = %q", got)
	}
	// Exactly 100 characters stays readable; 101 is hashed.
	ext100 := strings.Repeat("x", 100-len("ticketsync:c:"))
	if got := ExternalReference("c", ext100); got != "ticketsync:c:"+ext100 {
		t.Fatalf("100-char form was hashed: %q", got)
	}
	long := "ticketsync:c:" + ext100 + "y"
	sum := sha256.Sum256([]byte(long))
	want := "ticketsync:" + hex.EncodeToString(sum[:])[:40]
	if got := ExternalReference("c", ext100+"y"); got != want || len(got) != 51 {
		t.Fatalf("long form = %q, want %q", got, want)
	}
	first, again := ExternalReference("c", ext100+"y"), ExternalReference("c", ext100+"y")
	if first != again || first == ExternalReference("c", ext100+"z") {
		t.Fatal("references must be stable and distinct")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{})
	if err == nil || !strings.Contains(err.Error(), "BaseURL is required") ||
		!strings.Contains(err.Error(), "ClientID is required") || !strings.Contains(err.Error(), "ClientSecret is required") {
		t.Fatalf("empty config: %v", err)
	}
	for _, base := range []string{"ftp://x", "https://", "https://x?y=1", "://bad"} {
		if _, err := New(Config{BaseURL: base, ClientID: "a", ClientSecret: "b"}); err == nil {
			t.Errorf("BaseURL %q accepted", base)
		}
	}
	if _, err := New(Config{BaseURL: "https://a.example", ClientID: "a", ClientSecret: "b", Timeout: -time.Second}); err == nil {
		t.Error("negative timeout accepted")
	}
	c, err := New(Config{BaseURL: "https://acme.theworxhub.example/", ClientID: "a", ClientSecret: "b"})
	if err != nil || c.base != "https://acme.theworxhub.example" || c.timeout != defaultTimeout || c.ua == "" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

func TestWebhookTestVector(t *testing.T) {
	body := []byte(`{"event":"workrequest.updated","id":"wr_1001","modifiedAt":"2023-11-14T22:13:20Z"}`)
	const sig = "sha256=0b1ec2e14ac8b92ce4af3f9acd1560754fd52b7b859c6e7ac89a83ca5334cfc3"
	if len(body) != 82 {
		t.Fatalf("vector body is %d bytes", len(body))
	}
	if !VerifyWebhook("twh_test", body, sig) {
		t.Fatal("contract test vector does not verify")
	}
	if !VerifyWebhook("twh_test", body, " SHA256="+strings.ToUpper(sig[7:])) {
		t.Error("hex/prefix case should not matter")
	}
	for name, ok := range map[string]bool{
		"wrong secret":  VerifyWebhook("twh_tesT", body, sig),
		"empty secret":  VerifyWebhook("", body, sig),
		"tampered body": VerifyWebhook("twh_test", append([]byte(nil), append(body[:81:81], ' ', '}')...), sig),
		"no prefix":     VerifyWebhook("twh_test", body, sig[7:]),
		"truncated":     VerifyWebhook("twh_test", body, sig[:len(sig)-2]),
		"not hex":       VerifyWebhook("twh_test", body, "sha256=zz"),
		"empty":         VerifyWebhook("twh_test", body, ""),
	} {
		if ok {
			t.Errorf("%s verified", name)
		}
	}
	ev, err := ParseWebhook(body)
	if err != nil || ev.Event != "workrequest.updated" || ev.ID != "wr_1001" || ev.ModifiedAt.Unix() != 1700000000 {
		t.Fatalf("ParseWebhook = %+v, %v", ev, err)
	}
	for _, bad := range []string{`not json`, `{"event":"workrequest.updated"}`, `{"id":"1"}`} {
		if _, err := ParseWebhook([]byte(bad)); err == nil {
			t.Errorf("ParseWebhook(%s) accepted", bad)
		}
	}
}

// A verified push pokes its request with the modification it announces, so a ticket that has
// read it (the push of our own create) does not read again; the delivery key dedupes retries.
func TestHandleHookPokesWithTheAnnouncedModification(t *testing.T) {
	body := []byte(`{"event":"workrequest.updated","id":"wr_1001","modifiedAt":"2023-11-14T22:13:20.123Z"}`)
	req := vendorapi.HookRequest{Method: http.MethodPost, Body: body, Header: http.Header{}}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, "sha256="+hmacHex("twh_test", body))
	req.Header.Set(DeliveryHeader, "d-1")
	res, err := Hooks{Secret: "twh_test"}.HandleHook(context.Background(), nil, req)
	if err != nil {
		t.Fatal(err)
	}
	want := vendorapi.Intent{Kind: vendorapi.IntentPoke, RemoteID: "wr_1001", ModifiedAt: time.UnixMilli(1700000000123).UTC()}
	if len(res.Intents) != 1 || res.Intents[0] != want || res.DeliveryKey != "d-1@2023-11-14T22:13:20.123Z" {
		t.Fatalf("HandleHook = %+v", res)
	}
	req.Header.Set(SignatureHeader, "sha256=00")
	if _, err := (Hooks{Secret: "twh_test"}).HandleHook(context.Background(), nil, req); err == nil {
		t.Fatal("a bad signature was accepted")
	}
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestParseErrorBody(t *testing.T) {
	eb := parseErrorBody([]byte(`{"error":{"code":"validation_failed","message":"m","fields":{"title":"is required","tags":["a","b"]},"extra":1}}`))
	if eb.Code != "validation_failed" || eb.Message != "m" || eb.Fields["title"] != "is required" || eb.Fields["tags"] != `["a","b"]` {
		t.Fatalf("%+v", eb)
	}
	eb = parseErrorBody([]byte(`{"error":{"code":"duplicate_external_reference","existingId":104233}}`))
	if eb.ExistingID != "104233" {
		t.Fatalf("numeric existingId: %+v", eb)
	}
	eb = parseErrorBody([]byte(`{"error":"invalid_client","error_description":"bad secret"}`))
	if eb.Code != "invalid_client" || eb.Message != "bad secret" {
		t.Fatalf("OAuth shape: %+v", eb)
	}
	if eb := parseErrorBody([]byte(`<html>`)); eb.Code != "" {
		t.Fatalf("garbage: %+v", eb)
	}
}

func TestFormatTime(t *testing.T) {
	in := time.Date(2024, 5, 1, 15, 2, 11, 431_999_999, time.FixedZone("CEST", 2*3600))
	if got := FormatTime(in); got != "2024-05-01T13:02:11.431Z" {
		t.Fatalf("FormatTime = %q", got)
	}
	if got := FormatTime(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)); got != "2024-05-01T00:00:00.000Z" {
		t.Fatalf("FormatTime = %q", got)
	}
}
