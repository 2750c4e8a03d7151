package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// personalTicket carries the fields issue 12 names as personal: they must never reach Temporal
// in plaintext.
type personalTicket struct {
	ExternalID  string
	Name        string
	Email       string
	Phone       string
	Description string
	Comments    []string
}

func samplePersonal() personalTicket {
	return personalTicket{
		ExternalID:  "req-4711",
		Name:        "Jane Q. Resident",
		Email:       "jane.resident@example.org",
		Phone:       "+1 555 0100 42",
		Description: "Water is leaking under the kitchen sink in unit 12B",
		Comments:    []string{"Please call before entering, my dog is nervous"},
	}
}

func (p personalTicket) secrets() []string {
	return append([]string{p.Name, p.Email, p.Phone, p.Description}, p.Comments...)
}

// assertNoPlaintext checks raw bytes and every textual form a history can be read in (protojson
// as the CLI and Temporal Web fetch it, with base64 data), case-insensitively.
func assertNoPlaintext(t *testing.T, what string, raw []byte, secrets []string) {
	t.Helper()
	lower := bytes.ToLower(raw)
	for _, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if bytes.Contains(lower, bytes.ToLower([]byte(form))) {
				t.Fatalf("%s contains personal data %q", what, form)
			}
		}
		// Also any 8-byte window of it: a partial leak (e.g. a truncated description) counts.
		for i := 0; i+8 <= len(s); i++ {
			if bytes.Contains(lower, bytes.ToLower([]byte(s[i:i+8]))) {
				t.Fatalf("%s contains a fragment %q of %q", what, s[i:i+8], s)
			}
		}
	}
}

func TestRoundTripThroughDataConverter(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	dc := NewDataConverter(kr)
	in := samplePersonal()
	payloads, err := dc.ToPayloads(in, "a string", 42, []byte{0, 1, 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range payloads.Payloads {
		if string(p.Metadata["encoding"]) != EncodingEncrypted || string(p.Metadata[MetadataKeyID]) != "k1" || len(p.Metadata) != 2 {
			t.Fatalf("payload %d metadata %v", i, p.Metadata)
		}
	}
	var out personalTicket
	var s string
	var n int
	var b []byte
	var null *string
	if err := dc.FromPayloads(payloads, &out, &s, &n, &b, &null); err != nil {
		t.Fatal(err)
	}
	if out.Email != in.Email || out.Comments[0] != in.Comments[0] || s != "a string" || n != 42 || !bytes.Equal(b, []byte{0, 1, 2}) || null != nil {
		t.Fatalf("round trip: %+v %q %d %v %v", out, s, n, b, null)
	}
	if got := dc.ToString(payloads.Payloads[1]); got != `"a string"` {
		t.Fatalf("ToString decodes for display: %q", got)
	}
}

func TestEncodedPayloadHasNoPlaintext(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	in := samplePersonal()
	payloads, err := NewDataConverter(kr).ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(payloads)
	js, _ := protojson.Marshal(payloads)
	assertNoPlaintext(t, "binary payload", raw, in.secrets())
	assertNoPlaintext(t, "JSON payload", js, in.secrets())
	// Without the codec (what anyone holding only the history sees) nothing decodes.
	var out personalTicket
	if err := converter.GetDefaultDataConverter().FromPayloads(payloads, &out); err == nil {
		t.Fatalf("the default converter read an encrypted payload: %+v", out)
	}
	// Same plaintext twice gives different ciphertexts (random nonce): equal requests cannot
	// be correlated in history.
	again, _ := NewDataConverter(kr).ToPayloads(in)
	if bytes.Equal(again.Payloads[0].Data, payloads.Payloads[0].Data) {
		t.Fatal("two encryptions of the same value are identical")
	}
}

func TestRotationOldKeyStillDecrypts(t *testing.T) {
	old := mustKeys(t, entry("k1", 1))
	p, err := NewDataConverter(old).ToPayload(samplePersonal())
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustKeys(t, entry("k2", 2)+","+entry("k1", 1))
	dc := NewDataConverter(rotated)
	var out personalTicket
	if err := dc.FromPayload(p, &out); err != nil || out.Name != samplePersonal().Name {
		t.Fatalf("after rotation: %+v %v", out, err)
	}
	fresh, err := dc.ToPayload(samplePersonal())
	if err != nil || string(fresh.Metadata[MetadataKeyID]) != "k2" {
		t.Fatalf("new payloads must use the first key: %v %v", fresh.GetMetadata(), err)
	}
	// The old key alone cannot read what the new key wrote.
	if err := NewDataConverter(old).FromPayload(fresh, &out); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
}

func TestUnknownKeyIDIsAClearError(t *testing.T) {
	p, _ := NewDataConverter(mustKeys(t, entry("retired-2025", 1))).ToPayload("x")
	_, err := New(mustKeys(t, entry("k2", 2)+","+entry("k3", 3))).Decode([]*commonpb.Payload{p})
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{`"retired-2025"`, "k2, k3", EnvKeys} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	noID := proto.Clone(p).(*commonpb.Payload)
	delete(noID.Metadata, MetadataKeyID)
	if _, err := New(mustKeys(t, entry("retired-2025", 1))).Decode([]*commonpb.Payload{noID}); !errors.Is(err, ErrMissingKeyID) {
		t.Fatalf("got %v", err)
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	kr := mustKeys(t, entry("a", 1)+","+entry("b", 2))
	c := New(kr)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"hello"`)}})
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(p *commonpb.Payload){
		"flipped data bit":  func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce bit": func(p *commonpb.Payload) { p.Data[0] ^= 0x80 },
		"truncated":         func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] },
		"too short":         func(p *commonpb.Payload) { p.Data = p.Data[:5] },
		"empty":             func(p *commonpb.Payload) { p.Data = nil },
		// Both keys exist: the key id is bound to the ciphertext, so relabelling fails.
		"key id swapped": func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("b") },
	} {
		p := proto.Clone(enc[0]).(*commonpb.Payload)
		mutate(p)
		if _, err := c.Decode([]*commonpb.Payload{p}); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: want ErrDecrypt, got %v", name, err)
		}
	}
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	// A history written before the codec was turned on.
	plain, err := converter.GetDefaultDataConverter().ToPayloads(samplePersonal(), "before")
	if err != nil {
		t.Fatal(err)
	}
	c := New(mustKeys(t, entry("k1", 1)))
	out, err := c.Decode(plain.Payloads)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if out[i] != plain.Payloads[i] {
			t.Fatalf("payload %d was replaced", i)
		}
	}
	var pt personalTicket
	var s string
	if err := NewDataConverter(mustKeys(t, entry("k1", 1))).FromPayloads(plain, &pt, &s); err != nil || pt.Email == "" || s != "before" {
		t.Fatalf("%+v %q %v", pt, s, err)
	}
	// Even an empty keyring reads old histories.
	if _, err := New(Keyring{}).Decode(plain.Payloads); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyKeyringFailsClosed(t *testing.T) {
	_, err := NewDataConverter(Keyring{}).ToPayload(samplePersonal())
	if !errors.Is(err, ErrNoKeys) {
		t.Fatalf("want ErrNoKeys (never plaintext), got %v", err)
	}
}

func TestCodecDoesNotMutateInput(t *testing.T) {
	c := New(mustKeys(t, entry("k1", 1)))
	in := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}}
	before := proto.Clone(in[0])
	enc, err := c.Encode(in)
	if err != nil || !proto.Equal(in[0], before) {
		t.Fatalf("Encode mutated its input: %v", err)
	}
	encBefore := proto.Clone(enc[0])
	dec, err := c.Decode(enc)
	if err != nil || !proto.Equal(enc[0], encBefore) || !proto.Equal(dec[0], before) {
		t.Fatalf("Decode mutated its input or lost data: %v", err)
	}
}

func TestFailureConverterEncryptsMessages(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	fc := NewFailureConverter(kr)
	in := samplePersonal()
	cause := temporal.NewNonRetryableApplicationError("theworxhub rejected requester email "+in.Email,
		"Validation", nil, in.Description)
	f := fc.ErrorToFailure(cause)
	raw, _ := proto.Marshal(f)
	js, _ := protojson.Marshal(f)
	assertNoPlaintext(t, "binary failure", raw, in.secrets())
	assertNoPlaintext(t, "JSON failure", js, in.secrets())

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	if !errors.As(back, &appErr) || !strings.Contains(appErr.Error(), in.Email) || appErr.Type() != "Validation" {
		t.Fatalf("decoded failure: %v", back)
	}
	var detail string
	if err := appErr.Details(&detail); err != nil || detail != in.Description {
		t.Fatalf("details: %q %v", detail, err)
	}
}
