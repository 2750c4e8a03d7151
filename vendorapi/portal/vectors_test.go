package portal

import (
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/ticketsync/ticketsync/stdwebhooks"
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

func mustSecret(t *testing.T, s string) stdwebhooks.Secret {
	t.Helper()
	sec, err := stdwebhooks.ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func v1Event() Event {
	return Event{
		ID: v1ID, Type: TypeStatusChanged, OccurredAt: time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC),
		Ticket: Ticket{ID: "tkt_42", Tenant: "acme-senior-living", ExternalID: "cubigo-req-9001",
			Status: "InProgress", PreviousStatus: "Requested", RemoteID: "twh-wr-5567", Category: "Plumbing"},
	}
}

func v2Event() Event {
	// A non-UTC zone on purpose: the body must still say Z.
	est := time.FixedZone("EST", -5*3600)
	return Event{
		ID: v2ID, Type: TypeFeedbackAdded, OccurredAt: time.Date(2023, 11, 14, 17, 13, 20, 0, est),
		Ticket: Ticket{ID: "tkt_42", Tenant: "acme-senior-living", ExternalID: "cubigo-req-9001",
			Status: "OnHold", PreviousStatus: "InProgress", RemoteID: "twh-wr-5567", Category: "Plumbing"},
		Feedback: &Feedback{ID: "fb_7", Text: "Which bathroom sink is leaking?", Author: "J. Rivera (Maintenance)",
			CreatedAt: time.Date(2023, 11, 14, 22, 12, 58, 0, time.UTC)},
	}
}

func TestVectorsByteExact(t *testing.T) {
	sec := []stdwebhooks.Secret{mustSecret(t, vecSecret)}
	for _, tc := range []struct {
		name, id, body, sig string
		ev                  Event
		size                int
	}{
		{"V1", v1ID, v1Body, v1Sig, v1Event(), 290},
		{"V2", v2ID, v2Body, v2Sig, v2Event(), 407},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := tc.ev.Body()
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.body {
				t.Fatalf("body mismatch\n got %s\nwant %s", body, tc.body)
			}
			if len(body) != tc.size {
				t.Fatalf("len = %d, want %d", len(body), tc.size)
			}
			if got := stdwebhooks.Sign(sec, tc.id, vecTS, body); got != tc.sig {
				t.Fatalf("signature = %s, want %s", got, tc.sig)
			}
			if err := stdwebhooks.Verify(sec, tc.id, "1700000000", tc.sig, body, vecTime, 0); err != nil {
				t.Fatalf("verify: %v", err)
			}
			// The stock Standard Webhooks verifier agrees (timestamp is years old: skip that check).
			wh, err := standardwebhooks.NewWebhook(vecSecret)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("webhook-id", tc.id)
			h.Set("webhook-timestamp", "1700000000")
			h.Set("webhook-signature", tc.sig)
			if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
				t.Fatalf("stock verifier: %v", err)
			}
			back, err := ParseEvent(body)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Body()
			if string(again) != tc.body {
				t.Fatalf("ParseEvent round trip changed the body:\n%s", again)
			}
		})
	}
}

// The contract's negative vector: V1 signed with the wrong secret is refused alone, and accepted
// beside the right signature (rotation: any entry that verifies is enough).
func TestWrongSecretVector(t *testing.T) {
	body := []byte(v1Body)
	wrong := []stdwebhooks.Secret{mustSecret(t, vecWrongSecret)}
	if got := stdwebhooks.Sign(wrong, v1ID, vecTS, body); got != wrongSigV1 {
		t.Fatalf("V1 with the wrong secret = %s, want the contract's %s", got, wrongSigV1)
	}
	sec := []stdwebhooks.Secret{mustSecret(t, vecSecret)}
	if err := stdwebhooks.Verify(sec, v1ID, "1700000000", wrongSigV1, body, vecTime, 0); err == nil {
		t.Fatal("a signature made with another secret must be refused")
	}
	if err := stdwebhooks.Verify(sec, v1ID, "1700000000", wrongSigV1+" "+v1Sig, body, vecTime, 0); err != nil {
		t.Fatalf("rotation case: %v", err)
	}
}
