package stdwebhooks

import (
	"strconv"
	"testing"
	"time"
)

// Every delivered event is signed once per active secret (two during a rotation) and every
// receiver verifies it.

var benchBody = []byte(`{"id":"evt_0123456789abcdef","type":"ticket.status_changed","occurredAt":"2026-01-01T12:00:00.000Z",` +
	`"ticket":{"id":"tkt_1","tenant":"sunrise","externalId":"cubigo-1001","status":"InProgress","previousStatus":"Requested",` +
	`"remoteId":"104201","category":"Plumbing"},"feedback":null}`)

func benchSecrets(b *testing.B, n int) []Secret {
	b.Helper()
	var out []Secret
	for range n {
		raw, err := GenerateSecret()
		if err != nil {
			b.Fatal(err)
		}
		s, err := ParseSecret(raw)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func BenchmarkSign(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(strconv.Itoa(n)+"-secrets", func(b *testing.B) {
			secrets := benchSecrets(b, n)
			ts := time.Now().Unix()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				_ = Sign(secrets, "evt_0123456789abcdef", ts, benchBody)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	secrets := benchSecrets(b, 2)
	now := time.Now()
	ts := now.Unix()
	sig := Sign(secrets, "evt_0123456789abcdef", ts, benchBody)
	tsHeader := strconv.FormatInt(ts, 10)
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if err := Verify(secrets[1:], "evt_0123456789abcdef", tsHeader, sig, benchBody, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}
