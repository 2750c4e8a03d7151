package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// MinSecretBytes is the minimum decoded secret length the contract accepts.
const MinSecretBytes = 32

// DefaultTolerance bounds |now − webhook-timestamp| on verification (contract step 3). It also
// bounds how long a captured request can be replayed.
const DefaultTolerance = 5 * time.Minute

// Secret is a parsed signing key. Its String form is redacted so it never reaches a log.
type Secret struct {
	key []byte
}

// ParseSecret parses "whsec_" + standard base64 of at least 32 bytes. Errors never echo the
// secret itself.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Secret{}, errors.New("portal secret is empty (want whsec_ followed by base64 of at least 32 random bytes)")
	}
	if !strings.HasPrefix(s, SecretPrefix) {
		return Secret{}, errors.New("portal secret must start with \"whsec_\" followed by base64 of at least 32 random bytes")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return Secret{}, errors.New("portal secret: the part after \"whsec_\" is not valid standard base64")
	}
	if len(key) < MinSecretBytes {
		return Secret{}, fmt.Errorf("portal secret must be \"whsec_\" + base64 of at least %d random bytes, but this one decodes to %d bytes (generate one with: echo whsec_$(openssl rand -base64 32))", MinSecretBytes, len(key))
	}
	return Secret{key: key}, nil
}

// ParseSecrets parses every secret (rotation: all of them sign, any of them verifies).
func ParseSecrets(ss []string) ([]Secret, error) {
	out := make([]Secret, 0, len(ss))
	for i, s := range ss {
		sec, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		out = append(out, sec)
	}
	return out, nil
}

// GenerateSecret returns a fresh random secret in whsec_ form (for operators and the dev launcher).
func GenerateSecret() (string, error) {
	b := make([]byte, MinSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// IsZero reports whether s was never parsed.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// String is redacted on purpose.
func (s Secret) String() string { return SecretPrefix + "…" }

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return "portal.Secret{redacted}" }

func (s Secret) mac(id string, ts int64, body []byte) string {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(strconv.FormatInt(ts, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Sign returns the webhook-signature header value: one "v1,<base64>" entry per secret,
// space-separated, so receivers holding either the old or the new secret accept during rotation.
func Sign(secrets []Secret, id string, ts int64, body []byte) string {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		parts = append(parts, "v1,"+s.mac(id, ts, body))
	}
	return strings.Join(parts, " ")
}

// Verification errors (wrapped; test with errors.Is).
var (
	ErrMissingHeaders      = errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	ErrInvalidTimestamp    = errors.New("webhook-timestamp is not an integer")
	ErrTimestampTolerance  = errors.New("webhook-timestamp outside the tolerance")
	ErrNoMatchingSignature = errors.New("no matching signature")
	ErrNoSecrets           = errors.New("no secret to verify with")
)

// maxSignatures bounds the work a hostile header can cause.
const maxSignatures = 32

// Verify checks a delivery per the contract's receiver steps 2–5 over the raw body bytes:
// headers present, integer timestamp within tolerance of now (≤ 0 means DefaultTolerance),
// and a v1 signature equal, in constant time, to the HMAC under any of secrets.
func Verify(secrets []Secret, id, tsHeader, sigHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	if id == "" || tsHeader == "" || sigHeader == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	skew := now.Unix() - ts
	if skew < 0 {
		skew = -skew
	}
	if skew > int64(tolerance/time.Second) {
		return fmt.Errorf("%w: %d s from now (max %s)", ErrTimestampTolerance, skew, tolerance)
	}
	if len(secrets) == 0 {
		return ErrNoSecrets
	}
	expected := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		expected = append(expected, []byte(s.mac(id, ts, body)))
	}
	for i, entry := range strings.Fields(sigHeader) {
		if i >= maxSignatures {
			break
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		for _, want := range expected {
			if hmac.Equal([]byte(sig), want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}
