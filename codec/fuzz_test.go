package codec

import (
	"errors"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds hostile "encrypted" payloads (any key id, any bytes) to Decode: it must
// fail with one of the documented errors, never panic and never return a forged payload.
// `go test` runs the seeds; `go test ./codec -run '^$' -fuzz FuzzDecode` explores further.
func FuzzDecode(f *testing.F) {
	kr := mustKeys(f, entry("k2", 2)+","+entry("k1", 1))
	// A genuine ciphertext with a fixed nonce, so that every fuzz worker process agrees on it.
	plain, _ := proto.Marshal(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)})
	k2, _ := kr.lookup("k2")
	nonce := make([]byte, k2.aead.NonceSize())
	genuine := k2.aead.Seal(nonce, nonce, plain, additionalData("k2"))
	f.Add("k2", genuine)
	f.Add("k1", genuine)
	f.Add("k9", genuine)
	f.Add("", []byte{})
	f.Add("k2", make([]byte, 28))
	f.Add("k2\xff\x00", []byte("not ciphertext at all"))
	c := New(kr)
	f.Fuzz(func(t *testing.T, keyID string, data []byte) {
		p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(EncodingEncrypted), MetadataKeyID: []byte(keyID)}, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p})
		if keyID == "k2" && string(data) == string(genuine) {
			if err != nil || string(out[0].Data) != `"x"` {
				t.Fatalf("genuine payload: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("forged payload decoded: key %q data %x -> %v", keyID, data, out)
		}
		if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrMissingKeyID) {
			t.Fatalf("undocumented error %v", err)
		}
	})
}

// FuzzRoundTrip: any payload (any metadata, any data) comes back identical through Encode and
// Decode, and the encrypted form keeps only the two codec metadata entries.
func FuzzRoundTrip(f *testing.F) {
	f.Add("encoding", []byte("json/plain"), []byte(`{"name":"Jane"}`))
	f.Add("encoding", []byte("binary/null"), []byte{})
	f.Add("", []byte{}, []byte{0, 0xff})
	f.Add("encoding", []byte(EncodingEncrypted), []byte("already encrypted? still wrapped"))
	c := New(mustKeys(f, entry("k1", 1)))
	f.Fuzz(func(t *testing.T, metaKey string, metaValue, data []byte) {
		in := &commonpb.Payload{Metadata: map[string][]byte{metaKey: metaValue}, Data: data}
		enc, err := c.Encode([]*commonpb.Payload{in})
		if err != nil {
			// proto refuses invalid UTF-8 in map keys; that is the only acceptable failure.
			if _, merr := proto.Marshal(in); merr == nil {
				t.Fatalf("encode: %v", err)
			}
			return
		}
		if len(enc[0].Metadata) != 2 || string(enc[0].Metadata["encoding"]) != EncodingEncrypted {
			t.Fatalf("metadata %v", enc[0].Metadata)
		}
		dec, err := c.Decode(enc)
		if err != nil || !proto.Equal(dec[0], in) {
			t.Fatalf("round trip: %v -> %v (%v)", in, dec, err)
		}
	})
}
