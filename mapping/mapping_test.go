package mapping

import "testing"

func TestTheWorxHubV1IsTheSeedTable(t *testing.T) {
	m, err := Lookup("theworxhub-v1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Pending": Requested, "InProgress": InProgress, "OnHold": OnHold,
		"Completed": Done, "Cancelled": Canceled, "Rejected": Canceled}
	for remote, portal := range want {
		if got, ok := m.Translate(remote); !ok || got != portal {
			t.Errorf("%s → %q (%t), want %s", remote, got, ok, portal)
		}
	}
	for _, unknown := range []string{"Escalated", "pending", "", "Canceled"} {
		if got, ok := m.Translate(unknown); ok {
			t.Errorf("%q must be unmapped, got %s", unknown, got)
		}
	}
	if latest, err := Latest("theworxhub"); err != nil || latest.Name != "theworxhub-v1" {
		t.Fatalf("latest: %v %v", latest.Name, err)
	}
	if _, err := Latest("nope"); err == nil {
		t.Fatal("unknown kind must error")
	}
	if _, err := Lookup("theworxhub-v9"); err == nil {
		t.Fatal("unknown mapping must error")
	}
	if !IsTerminal(Done) || !IsTerminal(Canceled) || IsTerminal(OnHold) || !IsPortalStatus(Submitted) || IsPortalStatus("Open") {
		t.Fatal("status helpers")
	}
}
