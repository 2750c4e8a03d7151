package cyprexx_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func TestPhotoCategory(t *testing.T) {
	task := cyprexx.Task{TaskID: "T1", PhotoCategories: []string{"Before", "After"}}
	if c, err := cyprexx.PhotoCategory(task, "after", nil); err != nil || c != "After" {
		t.Fatalf("%q %v", c, err)
	}
	if _, err := cyprexx.PhotoCategory(task, "During", []string{"Before", "After"}); !errors.Is(err, cyprexx.ErrNotRelayed) {
		t.Fatalf("filtered by QA: %v", err)
	}
	if _, err := cyprexx.PhotoCategory(task, "During", []string{"During"}); !errors.Is(err, cyprexx.ErrUnmappable) {
		t.Fatalf("relayed but unknown to the task: %v", err)
	}
}

func TestPhotoFromPruvan(t *testing.T) {
	wo := sampleWO()
	body := strings.NewReader("\xff\xd8\xff framed bytes")
	up := pruvan.Upload{HasFile: true, FileName: "IMG_1.jpg", Body: body, Picture: pruvan.Picture{UUID: "u-1", Key2: cyprexx.ProjectID(wo),
		Key4: "Trim hedges", EvidenceType: "AFTER", GPSLatitude: "25.5", GPSLongitude: "-80.25", GPSTimestamp: "2024-05-30 09:15:00"}}
	p, err := cyprexx.PhotoFromPruvan(wo, up, []string{"Before", "After"})
	if err != nil {
		t.Fatal(err)
	}
	if p.TaskID != "T2" || p.Category != "After" || p.SourceID != "u-1" || p.FileName != "IMG_1.jpg" || p.Body != body ||
		*p.Latitude != 25.5 || *p.Longitude != -80.25 || !p.TakenAt.Equal(time.Date(2024, 5, 30, 9, 15, 0, 0, time.UTC)) {
		t.Fatalf("%+v", p)
	}
	up.Picture.Key4 = "Mow the roof"
	if _, err := cyprexx.PhotoFromPruvan(wo, up, nil); !errors.Is(err, cyprexx.ErrUnmappable) {
		t.Fatalf("unknown service: %v", err)
	}
}

func TestSurveyFromPruvan(t *testing.T) {
	wo := sampleWO()
	wo.Forms[0].Questions = append(wo.Forms[0].Questions,
		cyprexx.Question{QuestionID: "q3", AnswerType: cyprexx.AnswerPhoto},
		cyprexx.Question{QuestionID: "q4", AnswerType: cyprexx.AnswerNumber},
		cyprexx.Question{QuestionID: "q5", AnswerType: cyprexx.AnswerMultiSelect, Options: []string{"a", "b"}},
		cyprexx.Question{QuestionID: "q6", AnswerType: cyprexx.AnswerDate})
	survey := `{"answers":[{"id":"q1","answer":"Yes"},{"id":"q2","answer":"some"},{"id":"q3","answer":["u-1","u-2"]},
		{"id":"q4","answer":"3.5"},{"id":"q5","answer":"a, b"},{"id":"q6","answer":"2024-05-30 10:00:00"}]}`
	up := pruvan.Upload{Picture: pruvan.Picture{UUID: "s-1", Template: "cyprexx::F1:v3", FileType: "survey",
		Survey: json.RawMessage(survey), CreationDate: "2024-05-30 10:05:00"}}
	relayed := map[string]string{"u-1": "P1", "u-2": "P2"}
	lookup := func(u string) (string, bool) { id, ok := relayed[u]; return id, ok }
	formID, s, err := cyprexx.SurveyFromPruvan(wo, up, lookup)
	if err != nil || formID != "F1" || s.SubmissionID != "s-1" || s.FormVersion != 3 || len(s.Answers) != 6 ||
		!s.SubmittedAt.Equal(time.Date(2024, 5, 30, 10, 5, 0, 0, time.UTC)) {
		t.Fatalf("%q %+v %v", formID, s, err)
	}
	a := s.Answers
	if a[0].Value != true || a[1].Value != "some" || strings.Join(a[2].PhotoIDs, ",") != "P1,P2" || a[3].Value != 3.5 ||
		strings.Join(a[4].Value.([]string), "|") != "a|b" || a[5].Value != "2024-05-30" {
		t.Fatalf("answers %+v", a)
	}
	delete(relayed, "u-2")
	if _, _, err := cyprexx.SurveyFromPruvan(wo, up, lookup); !errors.Is(err, cyprexx.ErrPhotoPending) {
		t.Fatalf("photo not relayed yet: %v", err)
	}
	for name, tweak := range map[string]func(*pruvan.Upload){
		"foreign template": func(u *pruvan.Upload) { u.Picture.Template = "other::hpirFull" },
		"unknown form":     func(u *pruvan.Upload) { u.Picture.Template = "cyprexx::F9:v1" },
		"unknown question": func(u *pruvan.Upload) { u.Picture.Survey = json.RawMessage(`{"answers":[{"id":"zz","answer":"1"}]}`) },
		"bad yes/no": func(u *pruvan.Upload) {
			u.Picture.Survey = json.RawMessage(`{"answers":[{"id":"q1","answer":"maybe"}]}`)
		},
	} {
		u := up
		tweak(&u)
		if _, _, err := cyprexx.SurveyFromPruvan(wo, u, lookup); !errors.Is(err, cyprexx.ErrUnmappable) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
