// Package codec keeps personal data out of plaintext Temporal history.
//
// Requester names, emails, phones, descriptions and comments travel in workflow and activity
// inputs, results, signals, queries and memos; Temporal stores them as payloads. This package
// encrypts every payload with AES-256-GCM before it leaves the process (a
// converter.PayloadCodec plugged into the client's DataConverter and FailureConverter) and
// serves the codec over HTTP (/codec/encode, /codec/decode) so that authorised staff still read
// tickets in Temporal Web and the temporal CLI.
//
// Keys come from TICKETSYNC_CODEC_KEYS ("k2:<base64>,k1:<base64>"): the first key encrypts,
// every key decrypts, so a key is rotated by putting a new one first and keeping the old ones
// for as long as histories written with them exist. The key id travels in each payload's
// metadata; key bytes never appear in errors, logs or String forms.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Environment variables read by FromEnv.
const (
	// EnvKeys lists the payload keys, "id:<base64 of 32 bytes>", comma-separated, newest first.
	EnvKeys = "TICKETSYNC_CODEC_KEYS"
	// EnvTokens lists the bearer tokens accepted by the codec endpoint, comma-separated (any
	// of them is accepted, so a token is rotated by adding the new one before removing the old).
	EnvTokens = "TICKETSYNC_CODEC_TOKENS"
	// EnvOrigins lists the browser origins (Temporal Web) allowed to call the codec endpoint,
	// comma-separated, e.g. "http://127.0.0.1:8233".
	EnvOrigins = "TICKETSYNC_CODEC_ORIGINS"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// MinTokenLength is the shortest accepted endpoint token: it guards decrypted personal data, so
// it must not be guessable.
const MinTokenLength = 16

// ErrNoKeys is returned when encryption is asked of an empty Keyring. Encoding fails closed
// rather than writing plaintext.
var ErrNoKeys = errors.New("codec: no encryption key configured (set " + EnvKeys + ")")

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring is an immutable, ordered set of AES-256 keys: the first encrypts, all decrypt. The
// zero Keyring holds no key (encoding fails with ErrNoKeys; unencrypted payloads still decode).
// It is safe for concurrent use.
type Keyring struct {
	keys []key
}

// ParseKeys parses "id:<base64>,id:<base64>,…" (standard or URL base64, padded or not, each
// decoding to exactly 32 bytes). Ids match [A-Za-z0-9][A-Za-z0-9._-]{0,63} and are unique.
// An empty or blank string yields the empty Keyring. Errors name the entry by position and id,
// never its key material.
func ParseKeys(s string) (Keyring, error) {
	var kr Keyring
	if strings.TrimSpace(s) == "" {
		return kr, nil
	}
	seen := map[string]bool{}
	var errs []error
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		switch {
		case entry == "":
			errs = append(errs, fmt.Errorf("key %d is empty (stray comma?)", i+1))
			continue
		case !ok:
			errs = append(errs, fmt.Errorf("key %d: want id:<base64 of %d bytes>", i+1, KeySize))
			continue
		case !keyIDPattern.MatchString(id):
			errs = append(errs, fmt.Errorf("key %d: id %q must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}", i+1, id))
			continue
		case seen[id]:
			errs = append(errs, fmt.Errorf("key %d: id %q is used twice", i+1, id))
			continue
		}
		seen[id] = true
		raw, err := decodeBase64(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: not valid base64", id))
			continue
		}
		if len(raw) != KeySize {
			errs = append(errs, fmt.Errorf("key %q: decodes to %d bytes, want %d (generate one with: openssl rand -base64 %d)", id, len(raw), KeySize, KeySize))
			continue
		}
		k, err := newKey(id, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", id, err))
			continue
		}
		kr.keys = append(kr.keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return Keyring{}, fmt.Errorf("codec: %s: %w", EnvKeys, err)
	}
	return kr, nil
}

// NewKeyring builds a Keyring from raw keys, first = the encryption key (tests, tools).
func NewKeyring(ids []string, secrets [][]byte) (Keyring, error) {
	if len(ids) != len(secrets) {
		return Keyring{}, errors.New("codec: NewKeyring needs one id per secret")
	}
	var parts []string
	for i := range ids {
		parts = append(parts, ids[i]+":"+base64.StdEncoding.EncodeToString(secrets[i]))
	}
	return ParseKeys(strings.Join(parts, ","))
}

func newKey(id string, raw []byte) (key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, err
	}
	return key{id: id, aead: aead}, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("invalid base64")
}

// Len is the number of keys.
func (kr Keyring) Len() int { return len(kr.keys) }

// IDs lists the key ids, the encryption key first.
func (kr Keyring) IDs() []string {
	ids := make([]string, len(kr.keys))
	for i, k := range kr.keys {
		ids[i] = k.id
	}
	return ids
}

// String shows the ids only; key bytes never reach a log.
func (kr Keyring) String() string { return "codec.Keyring[" + strings.Join(kr.IDs(), ",") + "]" }

// GoString keeps %#v redacted too.
func (kr Keyring) GoString() string { return kr.String() }

func (kr Keyring) lookup(id string) (key, bool) {
	for _, k := range kr.keys {
		if k.id == id {
			return k, true
		}
	}
	return key{}, false
}

// GenerateKey returns a fresh "id:<base64 of 32 random bytes>" entry for EnvKeys (operators,
// the dev launcher).
func GenerateKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("codec: key id %q must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}", id)
	}
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// GenerateToken returns a fresh random endpoint token (32 random bytes, URL base64).
func GenerateToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Config is the codec's environment: keys for the data converter, tokens and origins for the
// HTTP endpoint.
type Config struct {
	Keys           Keyring
	Tokens         []string
	AllowedOrigins []string
}

// FromEnv reads EnvKeys, EnvTokens and EnvOrigins (a nil lookup reads the process
// environment). Every malformed value is reported at once. Unset variables leave the fields
// empty: the caller decides whether that is allowed (production requires keys; the dev
// launcher generates and persists some).
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var cfg Config
	var errs []error
	keys, _ := lookup(EnvKeys)
	kr, err := ParseKeys(keys)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Keys = kr
	tokens, _ := lookup(EnvTokens)
	cfg.Tokens = splitList(tokens)
	if err := checkTokens(cfg.Tokens); err != nil {
		errs = append(errs, fmt.Errorf("codec: %s: %w", EnvTokens, err))
	}
	origins, _ := lookup(EnvOrigins)
	cfg.AllowedOrigins = splitList(origins)
	if err := checkOrigins(cfg.AllowedOrigins); err != nil {
		errs = append(errs, fmt.Errorf("codec: %s: %w", EnvOrigins, err))
	}
	return cfg, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func checkTokens(tokens []string) error {
	var errs []error
	for i, t := range tokens {
		if len(t) < MinTokenLength {
			errs = append(errs, fmt.Errorf("token %d is shorter than %d characters", i+1, MinTokenLength))
		}
		if strings.ContainsAny(t, " \t\r\n") {
			errs = append(errs, fmt.Errorf("token %d contains whitespace", i+1))
		}
	}
	return errors.Join(errs...)
}

// originPattern is a browser origin: scheme://host[:port], nothing after.
var originPattern = regexp.MustCompile(`^https?://[^/?#\s]+$`)

func checkOrigins(origins []string) error {
	var errs []error
	for _, o := range origins {
		if o == "*" {
			// A wildcard cannot be combined with credentials, and would hand decrypted
			// personal data to any page the staff member visits.
			errs = append(errs, errors.New(`"*" is not allowed: list Temporal Web's origin, e.g. http://127.0.0.1:8233`))
		} else if !originPattern.MatchString(o) {
			errs = append(errs, fmt.Errorf("%q is not an origin (want scheme://host[:port], no path)", o))
		}
	}
	return errors.Join(errs...)
}
