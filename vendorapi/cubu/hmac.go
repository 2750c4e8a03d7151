package cubu

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// AuthorizationHeader carries Cubu's signature: "HMAC <base64(HMAC-SHA256(secret, body))>".
const AuthorizationHeader = "Authorization"

// Verification errors. Their texts are the messages Cubu's own sample answers with (401).
// They keep Cubu's capitals, hence the ST1005 exceptions.
var (
	//lint:ignore ST1005 Cubu's own 401 text, word for word
	ErrMissingHeader = errors.New("Missing Authorization Header")
	//lint:ignore ST1005 Cubu's own 401 text, word for word
	ErrMalformedHeader = errors.New("Invalid Authorization Header Format")
	//lint:ignore ST1005 Cubu's own 401 text, word for word
	ErrInvalidSignature = errors.New("Invalid Signature")
	// ErrNoSecrets means the connection has no usable secret. A connection whose Cubu side is
	// set to Authorization "None" must not call Verify at all; one that should verify but has
	// only empty secrets is misconfigured and must not accept anything.
	ErrNoSecrets = errors.New("cubu: no HMAC secret configured")
)

// Sign returns the Authorization header value Cubu sends for body: the secret is used as
// text (its UTF-8 bytes), not base64-decoded.
func Sign(secret, body []byte) string {
	return "HMAC " + base64.StdEncoding.EncodeToString(mac(secret, body))
}

func mac(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the Authorization header of a webhook against the exact raw body. Any of
// secrets verifies (rotation: the current and the previous secret), empty ones never do.
// The scheme is matched case-insensitively and the MAC is compared as 32 decoded bytes in
// constant time (Cubu's sample compares the base64 text case-insensitively, which is both
// looser and leakier). Every secret is tried even after a match, so the time taken does not
// tell which one matched.
func Verify(secrets [][]byte, header string, body []byte) error {
	usable := 0
	for _, s := range secrets {
		if len(s) > 0 {
			usable++
		}
	}
	if usable == 0 {
		return ErrNoSecrets
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingHeader
	}
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "HMAC") {
		return ErrMalformedHeader
	}
	got, ok := decodeMAC(strings.TrimSpace(value))
	if !ok {
		return ErrMalformedHeader
	}
	match := 0
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		match |= subtle.ConstantTimeCompare(got, mac(s, body))
	}
	if match != 1 {
		return ErrInvalidSignature
	}
	return nil
}

// decodeMAC reads standard base64 (padding optional) of exactly 32 bytes.
func decodeMAC(v string) ([]byte, bool) {
	if v == "" || len(v) > 64 {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		b, err = base64.RawStdEncoding.Strict().DecodeString(v)
	}
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	return b, true
}

// Secrets converts configured secret strings to Verify's form, dropping empty ones (an unset
// "${CUBU_HMAC_PREVIOUS}" expands to "").
func Secrets(ss []string) [][]byte {
	out := make([][]byte, 0, len(ss))
	for _, s := range ss {
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}
