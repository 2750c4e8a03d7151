package seeclickfix_test

import (
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
)

// The catalog sink: categories become request types of their agency (SCF checks the import
// rules itself: select when there are answers, keyed by answer id; private for e-mail/phone;
// always required), retired ones are deactivated, an unchanged catalog costs no call.

func catalog() []vendorapi.Category {
	return []vendorapi.Category{
		{ID: "101", Name: "Pothole", Kind: "SR", Agency: "7", Questions: []vendorapi.Question{
			{ID: "1001", Text: "How large is the pothole?", Required: true, Answers: []string{"Small", "Large"},
				Choices: []vendorapi.Choice{{ID: "1002", Text: "Small"}, {ID: "1003", Text: "Large"}}},
			{ID: "1006", Text: "What E-Mail address can we reach you at?", Required: true, Private: true},
		}},
		{ID: "1001", Name: "Pothole Repair", Kind: "WO", Agency: "7"}, // same number, other kind
		{ID: "106", Name: "Sign Problem (retired)", Kind: "SR", Agency: "7", Retired: true},
		{ID: "107", Name: "No agency", Kind: "SR"},
	}
}

func importedType(s *sim.Server, kind string, id int64) *sim.RequestType {
	for _, rt := range s.RequestTypes() {
		if rt.RemoteKind == kind && rt.RemoteID == id {
			return &rt
		}
	}
	return nil
}

func TestCatalogSink(t *testing.T) {
	w := newSCFWorld(t, nil)
	counts, err := w.conn.SyncCatalog(tctx(t), catalog())
	if err != nil {
		t.Fatal(err)
	}
	if counts.Created != 3 || counts.Failed != 1 || counts.Updated != 0 {
		t.Fatalf("counts: %+v", counts)
	}
	sr := importedType(w.sim, "SR", 101)
	if sr == nil || sr.Title != "Pothole" || sr.AgencyID != 7 || !sr.Active {
		t.Fatalf("SR request type: %+v", sr)
	}
	var imported []sim.Question
	for _, q := range sr.Questions {
		if q.RemoteID != 0 {
			imported = append(imported, q)
		}
	}
	if len(imported) != 2 {
		t.Fatalf("questions: %+v", sr.Questions)
	}
	size, email := imported[0], imported[1]
	if size.QuestionType != "select" || len(size.SelectValues) != 2 || size.SelectValues[1].Key != "1003" || size.SelectValues[1].Name != "Large" ||
		!size.ResponseRequired || size.AnswerKeptPrivate {
		t.Fatalf("select question: %+v", size)
	}
	if email.QuestionType != "text" || !email.AnswerKeptPrivate || !email.ResponseRequired {
		t.Fatalf("e-mail question: %+v", email)
	}
	if wo := importedType(w.sim, "WO", 1001); wo == nil || wo.Title != "Pothole Repair" || wo.ID == sr.ID {
		t.Fatalf("WO request type (same number as an SR, kept apart): %+v", wo)
	}
	if retired := importedType(w.sim, "SR", 106); retired == nil || retired.Active {
		t.Fatalf("retired template must be inactive: %+v", retired)
	}

	// Unchanged: no SCF call at all. Changed: one update.
	before := w.sim.Stats().APICalls
	counts, err = w.conn.SyncCatalog(tctx(t), catalog())
	if err != nil || counts.Unchanged != 3 || counts.Failed != 1 || w.sim.Stats().APICalls != before {
		t.Fatalf("second sync: %+v %v (%d calls)", counts, err, w.sim.Stats().APICalls-before)
	}
	cats := catalog()
	cats[0].Name = "Pothole or sinkhole"
	counts, err = w.conn.SyncCatalog(tctx(t), cats)
	if err != nil || counts.Updated != 1 || counts.Unchanged != 2 {
		t.Fatalf("changed sync: %+v %v", counts, err)
	}
	if sr := importedType(w.sim, "SR", 101); sr.Title != "Pothole or sinkhole" {
		t.Fatalf("title not updated: %q", sr.Title)
	}
}

// A transient failure stops the sync with a retryable error (the workflow retries it).
func TestCatalogSinkTransientFailure(t *testing.T) {
	w := newSCFWorld(t, nil)
	w.sim.SetFaults(sim.Faults{HTMLPages: 5})
	_, err := w.conn.SyncCatalog(tctx(t), catalog())
	if err == nil || !vendorapi.IsRetryable(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
}
