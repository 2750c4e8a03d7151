package sim

import (
	"context"
	"testing"
)

// Resend sends an item refused by the order source again: same uuid, same bytes, same survey.
func TestResendRepeatsTheItem(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	h.s.Refresh(ctx, "cyprexx", true)
	h.s.SetFaults(Faults{BadCredentials: 2})
	sent, err := h.s.UploadPhotos(ctx, "cyprexx::W1-Grass Cut", PhotoRequest{Category: "Before", Task: "Trim", Size: 64 << 10})
	if err != nil || len(sent) != 1 || sent[0].Accepted {
		t.Fatalf("the refused upload: %+v %v", sent, err)
	}
	survey, err := h.s.SubmitSurvey(ctx, "cyprexx::W1-Grass Cut", SurveyRequest{Answers: map[string]any{"q1": "yes"}})
	if err != nil || survey.Accepted {
		t.Fatalf("the refused survey: %+v %v", survey, err)
	}
	again, err := h.s.Resend(ctx, sent[0].UUID)
	if err != nil || !again.Accepted || again.UUID != sent[0].UUID || again.SHA256 != sent[0].SHA256 || again.Size != sent[0].Size {
		t.Fatalf("resent %+v (first %+v) %v", again, sent[0], err)
	}
	if up := h.src.uploads[0]; up.sha != sent[0].SHA256 || up.payload["uuid"] != sent[0].UUID {
		t.Fatalf("the order source got %s %v", up.sha, up.payload["uuid"])
	}
	s2, err := h.s.Resend(ctx, survey.UUID)
	if err != nil || !s2.Accepted || s2.UUID != survey.UUID || s2.Survey != survey.Survey {
		t.Fatalf("resent survey %+v %v", s2, err)
	}
	if p, _ := h.s.Project("cyprexx::W1-Grass Cut"); len(p.Sent) != 4 {
		t.Fatalf("every attempt is recorded on the project: %d", len(p.Sent))
	}
	if _, err := h.s.Resend(ctx, "no-such-uuid"); err == nil {
		t.Fatal("an unknown uuid must fail")
	}
}
