package codec

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written on every encrypted payload. The original payload (its metadata,
// e.g. "json/plain", and its data) is serialised and encrypted whole, so only these two entries
// stay readable.
const (
	// EncodingEncrypted is the "encoding" metadata value of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

// Decode errors (wrapped; test with errors.Is).
var (
	// ErrUnknownKey: the payload names a key id that is not configured (removed too early from
	// TICKETSYNC_CODEC_KEYS, or written by another deployment).
	ErrUnknownKey = errors.New("codec: payload encrypted with a key that is not configured")
	// ErrMissingKeyID: an encrypted payload without its key id metadata.
	ErrMissingKeyID = errors.New("codec: encrypted payload has no " + MetadataKeyID + " metadata")
	// ErrDecrypt: authentication failed — the ciphertext or key id was altered, or the key's
	// bytes differ from those that encrypted it.
	ErrDecrypt = errors.New("codec: payload does not decrypt (altered ciphertext, or the key bytes changed under the same id)")
)

// additionalData binds the ciphertext to its key id, so swapping the metadata of two payloads
// fails authentication instead of decrypting under the wrong key's name.
func additionalData(keyID string) []byte { return []byte("ticketsync-codec-v1\x00" + keyID) }

// Codec is a converter.PayloadCodec that encrypts with the Keyring's first key (AES-256-GCM,
// random 96-bit nonce per payload, data = nonce ‖ ciphertext ‖ tag) and decrypts with whichever
// key the payload names. Payloads without the encrypted encoding pass through Decode unchanged,
// so histories written before the codec was turned on still read.
type Codec struct {
	keys Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns the codec for keys.
func New(keys Keyring) *Codec { return &Codec{keys: keys} }

// Encode encrypts every payload with the first key. It never mutates its input.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(c.keys.keys) == 0 {
		return payloads, ErrNoKeys
	}
	k := c.keys.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: serialise payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(k.id),
			},
			Data: k.aead.Seal(nonce, nonce, plain, additionalData(k.id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and returns the others as they are. It never mutates its
// input.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return payloads, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	id, ok := p.GetMetadata()[MetadataKeyID]
	if !ok || len(id) == 0 {
		return nil, ErrMissingKeyID
	}
	k, ok := c.keys.lookup(string(id))
	if !ok {
		return nil, fmt.Errorf("%w: key id %q (configured: %s); add that key back to %s",
			ErrUnknownKey, printable(string(id)), strings.Join(c.keys.IDs(), ", "), EnvKeys)
	}
	data := p.GetData()
	ns := k.aead.NonceSize()
	if len(data) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is shorter than nonce and tag", ErrDecrypt, len(data))
	}
	plain, err := k.aead.Open(nil, data[:ns], data[ns:], additionalData(k.id))
	if err != nil {
		return nil, fmt.Errorf("%w: key id %q", ErrDecrypt, k.id)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		// Authenticated but not a payload: written by something else under our key.
		return nil, fmt.Errorf("%w: decrypted bytes are not a payload: %v", ErrDecrypt, err)
	}
	return &d, nil
}

// printable bounds and sanitises a key id read from a (possibly hostile) payload before it is
// put in an error message.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// NewDataConverter wraps the SDK's default data converter with the codec: set it as
// client.Options.DataConverter on every client (workers use their client's).
func NewDataConverter(keys Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
}

// NewFailureConverter encrypts failures too: with EncodeCommonAttributes the message and stack
// trace of every error move into an encrypted payload (a vendor validation error may quote a
// requester's email). Set it as client.Options.FailureConverter next to NewDataConverter.
func NewFailureConverter(keys Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          NewDataConverter(keys),
		EncodeCommonAttributes: true,
	})
}
