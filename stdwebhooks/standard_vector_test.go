package stdwebhooks

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks specification's own known-answer case, as contracts/portal.md quotes
// it. Its secret decodes to 24 bytes: the bottom of the accepted range.
const (
	stdSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	stdID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	stdTS     = int64(1614265330)
	stdBody   = `{"test": 2432232314}`
	stdSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardWebhooksKnownAnswer(t *testing.T) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stdSecret, SecretPrefix))
	if err != nil || len(raw) != 24 {
		t.Fatalf("the standard's secret decodes to %d bytes, %v; the vector expects 24", len(raw), err)
	}
	sec, err := ParseSecret(stdSecret)
	if err != nil {
		t.Fatalf("the standard's own secret is refused: %v", err)
	}
	if got := Sign([]Secret{sec}, stdID, stdTS, []byte(stdBody)); got != stdSig {
		t.Fatalf("Sign = %s, want %s", got, stdSig)
	}
	if err := Verify([]Secret{sec}, stdID, "1614265330", stdSig, []byte(stdBody), time.Unix(stdTS+10, 0), 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// One byte off, or the right signature at another timestamp, is refused.
	if err := Verify([]Secret{sec}, stdID, "1614265330", stdSig, []byte(`{"test": 2432232315}`), time.Unix(stdTS, 0), 0); err == nil {
		t.Error("a changed body verified")
	}
	if err := Verify([]Secret{sec}, stdID, "1614265331", stdSig, []byte(stdBody), time.Unix(stdTS, 0), 0); err == nil {
		t.Error("a changed timestamp verified")
	}
	// The stock verifier agrees with our signature.
	wh, err := standardwebhooks.NewWebhook(stdSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", stdID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", Sign([]Secret{sec}, stdID, stdTS, []byte(stdBody)))
	if err := wh.VerifyIgnoringTimestamp([]byte(stdBody), h); err != nil {
		t.Fatalf("stock verifier: %v", err)
	}
}
