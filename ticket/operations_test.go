package ticket

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestRefLogAttrs(t *testing.T) {
	var buf bytes.Buffer
	ref := NewRef("sunrise", "sunrise-twh", "REQ-1")
	ref.Logger(slog.New(slog.NewJSONHandler(&buf, nil))).Info("polled")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ticketId": ref.TicketID, "workflowId": "ticket/sunrise-twh/REQ-1",
		"connection": "sunrise-twh", "tenant": "sunrise", "externalId": "REQ-1"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %q (line %s)", k, line[k], v, buf.String())
		}
	}
}
