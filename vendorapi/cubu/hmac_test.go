package cubu_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

// contractMAC is the contract's test vector: secret "cubu_test" over testdata/afterResolve.json.
const contractMAC = "HMAC 85WIymFhjJA2/T1MRRxwrA8aMif+bzRhr6hncmwNJ4w="

func TestSignContractVector(t *testing.T) {
	body := fixture(t, "afterResolve.json")
	if len(body) != 786 {
		t.Fatalf("fixture is %d bytes, the contract's example is 786", len(body))
	}
	if got := cubu.Sign([]byte("cubu_test"), body); got != contractMAC {
		t.Fatalf("Sign = %s, want %s", got, contractMAC)
	}
}

func TestVerify(t *testing.T) {
	body := fixture(t, "afterResolve.json")
	current, previous := []byte("cubu_test"), []byte("cubu_previous")
	rotated := cubu.Sign(previous, body)
	unpadded := strings.TrimRight(contractMAC, "=")
	cases := []struct {
		name    string
		secrets [][]byte
		header  string
		body    []byte
		want    error
	}{
		{"valid", [][]byte{current}, contractMAC, body, nil},
		{"valid, scheme in lower case and padding dropped", [][]byte{current}, "hmac " + strings.TrimPrefix(unpadded, "HMAC "), body, nil},
		{"valid with surrounding spaces", [][]byte{current}, "  " + contractMAC + " ", body, nil},
		{"rotated: signed with the previous secret", [][]byte{current, previous}, rotated, body, nil},
		{"rotated: current second in the list", [][]byte{previous, current}, contractMAC, body, nil},
		{"empty secrets are skipped", [][]byte{nil, current}, contractMAC, body, nil},
		{"wrong secret", [][]byte{[]byte("not-the-secret")}, contractMAC, body, cubu.ErrInvalidSignature},
		{"previous secret retired", [][]byte{current}, rotated, body, cubu.ErrInvalidSignature},
		{"secret is text, not base64-decoded", [][]byte{[]byte(base64.StdEncoding.EncodeToString(current))}, contractMAC, body, cubu.ErrInvalidSignature},
		{"tampered body", [][]byte{current}, contractMAC, []byte(strings.Replace(string(body), "A\"", "B\"", 1)), cubu.ErrInvalidSignature},
		{"body with a trailing newline", [][]byte{current}, contractMAC, append(append([]byte{}, body...), '\n'), cubu.ErrInvalidSignature},
		{"missing header", [][]byte{current}, "", body, cubu.ErrMissingHeader},
		{"blank header", [][]byte{current}, "   ", body, cubu.ErrMissingHeader},
		{"bearer scheme", [][]byte{current}, "Bearer abc", body, cubu.ErrMalformedHeader},
		{"no value", [][]byte{current}, "HMAC", body, cubu.ErrMalformedHeader},
		{"not base64", [][]byte{current}, "HMAC ***", body, cubu.ErrMalformedHeader},
		{"hex instead of base64", [][]byte{current}, "HMAC " + strings.Repeat("ab", 32), body, cubu.ErrMalformedHeader},
		{"truncated MAC", [][]byte{current}, contractMAC[:30], body, cubu.ErrMalformedHeader},
		{"no secrets", nil, contractMAC, body, cubu.ErrNoSecrets},
		{"only empty secrets", [][]byte{{}, nil}, contractMAC, body, cubu.ErrNoSecrets},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := cubu.Verify(tc.secrets, tc.header, tc.body); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	// Distinct errors with the sample's wording (the receiver answers them as 401 details).
	if cubu.ErrMissingHeader.Error() != "Missing Authorization Header" ||
		cubu.ErrMalformedHeader.Error() != "Invalid Authorization Header Format" || cubu.ErrInvalidSignature.Error() != "Invalid Signature" {
		t.Error("error texts changed")
	}
}

// TestVerifyAgainstIndependentMAC recomputes the MAC with crypto/hmac directly, so Sign and
// Verify cannot agree on a shared mistake.
func TestVerifyAgainstIndependentMAC(t *testing.T) {
	body := []byte(`{"caseId":"8c0b7f3e-2d41-4a5b-9c6d-7e8f9a0b1c2d","fields":{"x":"ünïcödé ✓"}}`)
	secret := "s3cret with spaces & ünïcode"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	header := "HMAC " + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if cubu.Sign([]byte(secret), body) != header {
		t.Fatal("Sign disagrees with crypto/hmac")
	}
	if err := cubu.Verify(cubu.Secrets([]string{"", secret}), header, body); err != nil {
		t.Fatal(err)
	}
}

func TestSecrets(t *testing.T) {
	got := cubu.Secrets([]string{"a", "", "b"})
	if len(got) != 2 || string(got[0]) != "a" || string(got[1]) != "b" {
		t.Fatalf("Secrets = %q", got)
	}
}
