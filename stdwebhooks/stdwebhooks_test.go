package stdwebhooks

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// Test vectors, copied verbatim from contracts/portal.md.
const (
	vecSecret      = "whsec_dGlja2V0c3luYy1wb3J0YWwtdGVzdC1zZWNyZXQtMzI="
	vecWrongSecret = "whsec_dGlja2V0c3luYy1wb3J0YWwtd3Jvbmctc2VjcmV0LTM="
	vecTS          = int64(1700000000)

	v1ID   = "evt_01HZX3K9T2"
	v1Body = `{"id":"evt_01HZX3K9T2","type":"ticket.status_changed","occurredAt":"2023-11-14T22:13:20Z","ticket":{"id":"tkt_42","tenant":"acme-senior-living","externalId":"cubigo-req-9001","status":"InProgress","previousStatus":"Requested","remoteId":"twh-wr-5567","category":"Plumbing"},"feedback":null}`
	v1Sig  = "v1,gMAKFsGaBXOW4zl8cdJAsEUP8v0rqe8UufyXzcdf35M="

	v2ID   = "evt_01HZX3KA0Q"
	v2Body = `{"id":"evt_01HZX3KA0Q","type":"ticket.feedback_added","occurredAt":"2023-11-14T22:13:20Z","ticket":{"id":"tkt_42","tenant":"acme-senior-living","externalId":"cubigo-req-9001","status":"OnHold","previousStatus":"InProgress","remoteId":"twh-wr-5567","category":"Plumbing"},"feedback":{"id":"fb_7","text":"Which bathroom sink is leaking?","author":"J. Rivera (Maintenance)","createdAt":"2023-11-14T22:12:58Z"}}`
	v2Sig  = "v1,9VIDPLRwgvAqvVYA1USvFOq0t0O0umzVANErsU0E3nA="

	wrongSigV1 = "v1,UsRMGUADvJEyd1iuJWAAMB9l2yogT6wa6FhHLkxGP5k="
)

var vecTime = time.Unix(vecTS, 0)

func mustSecret(t *testing.T, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func TestVerifyNegativeCases(t *testing.T) {
	good := []Secret{mustSecret(t, vecSecret)}
	wrong := []Secret{mustSecret(t, vecWrongSecret)}
	if got := Sign(wrong, v1ID, vecTS, []byte(v1Body)); got != wrongSigV1 {
		t.Fatalf("wrong-secret signature = %s, want the contract's %s", got, wrongSigV1)
	}
	changed := strings.Replace(v1Body, `"Plumbing"`, `"plumbing"`, 1)
	cases := []struct {
		name        string
		id, ts, sig string
		body        string
		now         time.Time
		secrets     []Secret
		want        error
	}{
		{"wrong secret", v1ID, "1700000000", wrongSigV1, v1Body, vecTime, good, ErrNoMatchingSignature},
		{"verified with the wrong secret", v1ID, "1700000000", v1Sig, v1Body, vecTime, wrong, ErrNoMatchingSignature},
		{"skew +301s", v1ID, "1700000000", v1Sig, v1Body, time.Unix(1700000301, 0), good, ErrTimestampTolerance},
		{"skew -301s", v1ID, "1700000000", v1Sig, v1Body, time.Unix(1699999699, 0), good, ErrTimestampTolerance},
		{"body byte changed", v1ID, "1700000000", v1Sig, changed, vecTime, good, ErrNoMatchingSignature},
		{"trailing newline added", v1ID, "1700000000", v1Sig, v1Body + "\n", vecTime, good, ErrNoMatchingSignature},
		{"timestamp changed", v1ID, "1700000001", v1Sig, v1Body, vecTime, good, ErrNoMatchingSignature},
		{"id changed", "evt_other", "1700000000", v1Sig, v1Body, vecTime, good, ErrNoMatchingSignature},
		{"missing id", "", "1700000000", v1Sig, v1Body, vecTime, good, ErrMissingHeaders},
		{"missing timestamp", v1ID, "", v1Sig, v1Body, vecTime, good, ErrMissingHeaders},
		{"missing signature", v1ID, "1700000000", "", v1Body, vecTime, good, ErrMissingHeaders},
		{"timestamp not integer", v1ID, "1700000000.5", v1Sig, v1Body, vecTime, good, ErrInvalidTimestamp},
		{"timestamp as date", v1ID, "2023-11-14T22:13:20Z", v1Sig, v1Body, vecTime, good, ErrInvalidTimestamp},
		{"other version", v1ID, "1700000000", "v2," + strings.TrimPrefix(v1Sig, "v1,"), v1Body, vecTime, good, ErrNoMatchingSignature},
		{"bare signature", v1ID, "1700000000", strings.TrimPrefix(v1Sig, "v1,"), v1Body, vecTime, good, ErrNoMatchingSignature},
		{"no secrets", v1ID, "1700000000", v1Sig, v1Body, vecTime, nil, ErrNoSecrets},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secrets, tc.id, tc.ts, tc.sig, []byte(tc.body), tc.now, DefaultTolerance)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyToleranceBoundaryAndRotation(t *testing.T) {
	good := []Secret{mustSecret(t, vecSecret)}
	for _, now := range []int64{1700000300, 1699999700} {
		if err := Verify(good, v1ID, "1700000000", v1Sig, []byte(v1Body), time.Unix(now, 0), 0); err != nil {
			t.Fatalf("skew of exactly 300 s must pass: %v", err)
		}
	}
	// Contract rotation case: old (wrong) entry first, valid one second.
	rot := wrongSigV1 + " " + v1Sig
	if err := Verify(good, v1ID, "1700000000", rot, []byte(v1Body), vecTime, 0); err != nil {
		t.Fatalf("rotation header rejected: %v", err)
	}
	// Receiver side rotation: the receiver holds both secrets, the sender signs with the old one.
	both := []Secret{mustSecret(t, vecWrongSecret), good[0]}
	if err := Verify(both, v1ID, "1700000000", v1Sig, []byte(v1Body), vecTime, 0); err != nil {
		t.Fatalf("receiver with two secrets rejected: %v", err)
	}
	// Sender side rotation: Sign emits one entry per secret, in order.
	sig := Sign(both, v1ID, vecTS, []byte(v1Body))
	if sig != rot {
		t.Fatalf("Sign with two secrets = %q, want %q", sig, rot)
	}
}

func TestParseSecret(t *testing.T) {
	if _, err := ParseSecret(vecSecret); err != nil {
		t.Fatal(err)
	}
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("ticketsync-portal-23byte")[:23])
	long := "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("ticketsync-portal-", 4)[:65]))
	for name, s := range map[string]string{
		"empty":      "",
		"no prefix":  strings.TrimPrefix(vecSecret, "whsec_"),
		"bad base64": "whsec_!!!not-base64!!!",
		"23 bytes":   short,
		"65 bytes":   long,
	} {
		_, err := ParseSecret(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("%s: error echoes the secret: %v", name, err)
		}
	}
	if _, err := ParseSecret(short); err == nil || !strings.Contains(err.Error(), "23 bytes") || !strings.Contains(err.Error(), "24 to 64") {
		t.Errorf("short secret error should give the length and the range: %v", err)
	}
	if _, err := ParseSecret(long); err == nil || !strings.Contains(err.Error(), "65 bytes") {
		t.Errorf("long secret error should give the length: %v", err)
	}
	// The Standard Webhooks range, both ends and between (31 bytes was refused before).
	for _, n := range []int{24, 31, 32, 64} {
		s := "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n)))
		if _, err := ParseSecret(s); err != nil {
			t.Errorf("%d-byte secret refused: %v", n, err)
		}
	}
	gen, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSecret(gen); err != nil {
		t.Fatalf("generated secret does not parse: %v", err)
	}
	sec := mustSecret(t, vecSecret)
	if s := sec.String(); strings.Contains(s, "dGlj") {
		t.Fatalf("String leaks the secret: %s", s)
	}
}
