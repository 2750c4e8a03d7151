package stdwebhooks

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The targets run their seeds in every `go test`; explore further with e.g.
// `go test ./stdwebhooks -run '^$' -fuzz FuzzSignature -fuzztime 60s`.

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
