package cyprexx

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// The reverse direction (contracts/cyprexx.md): a Pruvan photo → POST /photos (taskId from
// the key4 service name), a Pruvan survey → POST /surveys/{formId} (form from the template
// id). These helpers turn an uploadPictures item into the Cyprexx request; relaying it is
// the connector's job.

var (
	// ErrNotRelayed: the photo's category is not among the connection's QA relayCategories.
	// Not a failure: the item is skipped.
	ErrNotRelayed = errors.New("cyprexx: photo category not relayed by the QA settings")
	// ErrUnmappable: the item cannot be placed on the work order (no such task, category or
	// question). Permanent until the work order or the configuration changes: park.
	ErrUnmappable = errors.New("cyprexx: Pruvan item does not fit the work order")
	// ErrPhotoPending: a survey answer references a photo not relayed yet. Retry later.
	ErrPhotoPending = errors.New("cyprexx: survey references a photo not relayed yet")
)

// PhotoCategory picks the Cyprexx category for a Pruvan evidence type: the task's own
// spelling of it (case-insensitive match). relayCategories (QA settings) limits what is
// relayed at all; empty means everything.
func PhotoCategory(task Task, evidenceType string, relayCategories []string) (string, error) {
	if len(relayCategories) > 0 && !slices.ContainsFunc(relayCategories, func(c string) bool { return strings.EqualFold(c, evidenceType) }) {
		return "", fmt.Errorf("%w: %q", ErrNotRelayed, evidenceType)
	}
	for _, c := range task.PhotoCategories {
		if strings.EqualFold(c, evidenceType) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: task %s takes %s, not %q", ErrUnmappable, task.TaskID, strings.Join(task.PhotoCategories, ", "), evidenceType)
}

// PhotoFromPruvan turns a Pruvan photo upload into a Cyprexx photo. The body is
// up.Body, passed through untouched (the Pruvan frame, when enabled, stays in the bytes);
// SourceID is the Pruvan uuid, which makes the relay idempotent.
func PhotoFromPruvan(wo WorkOrder, up pruvan.Upload, relayCategories []string) (Photo, error) {
	pic := up.Picture
	task, ok := TaskForService(wo, pic.ServiceName())
	if !ok {
		return Photo{}, fmt.Errorf("%w: no task for Pruvan service %q", ErrUnmappable, pic.ServiceName())
	}
	cat, err := PhotoCategory(task, pic.EvidenceType, relayCategories)
	if err != nil {
		return Photo{}, err
	}
	p := Photo{TaskID: task.TaskID, Category: cat, SourceID: pic.UUID, FileName: up.FileName, Body: up.Body}
	for _, v := range []string{pic.GPSTimestamp, pic.CreationDate, pic.Timestamp} {
		if t, ok := pruvanTime(v); ok {
			p.TakenAt = t
			break
		}
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(pic.GPSLatitude), 64)
	lng, err2 := strconv.ParseFloat(strings.TrimSpace(pic.GPSLongitude), 64)
	if err1 == nil && err2 == nil && (lat != 0 || lng != 0) {
		p.Latitude, p.Longitude = &lat, &lng
	}
	return p, nil
}

// SurveyFromPruvan turns a Pruvan survey upload into a Cyprexx submission for the form its
// template names. photoID maps a Pruvan photo uuid to the Cyprexx photoId it was relayed as.
func SurveyFromPruvan(wo WorkOrder, up pruvan.Upload, photoID func(uuid string) (string, bool)) (string, Survey, error) {
	pic := up.Picture
	formID, version, ok := ParseSurveyTemplate(pic.Template)
	if !ok {
		return "", Survey{}, fmt.Errorf("%w: survey template %q is not one of ours", ErrUnmappable, pic.Template)
	}
	form, ok := wo.Form(formID)
	if !ok {
		return "", Survey{}, fmt.Errorf("%w: work order %s has no form %q", ErrUnmappable, wo.WorkOrderID, formID)
	}
	answers, err := pic.SurveyAnswers()
	if err != nil {
		return "", Survey{}, fmt.Errorf("%w: %v", ErrUnmappable, err)
	}
	s := Survey{SubmissionID: pic.UUID, FormVersion: version}
	for _, v := range []string{pic.CreationDate, pic.GPSTimestamp, pic.Timestamp} {
		if t, ok := pruvanTime(v); ok {
			s.SubmittedAt = t
			break
		}
	}
	for _, a := range answers {
		i := slices.IndexFunc(form.Questions, func(q Question) bool { return q.QuestionID == a.ID })
		if i < 0 {
			return "", Survey{}, fmt.Errorf("%w: form %s has no question %q", ErrUnmappable, formID, a.ID)
		}
		ans, err := answer(form.Questions[i], a, photoID)
		if err != nil {
			return "", Survey{}, err
		}
		s.Answers = append(s.Answers, ans)
	}
	return formID, s, nil
}

// answer converts one Pruvan answer to the question's Cyprexx answer type.
func answer(q Question, a pruvan.SurveyAnswer, photoID func(string) (string, bool)) (Answer, error) {
	out := Answer{QuestionID: q.QuestionID}
	text := strings.TrimSpace(a.Text())
	bad := func() (Answer, error) {
		return Answer{}, fmt.Errorf("%w: answer %q to %s is not a %s", ErrUnmappable, text, q.QuestionID, q.AnswerType)
	}
	switch q.AnswerType {
	case AnswerPhoto:
		for _, uuid := range a.Strings() {
			id, ok := photoID(uuid)
			if !ok {
				return Answer{}, fmt.Errorf("%w: %s (question %s)", ErrPhotoPending, uuid, q.QuestionID)
			}
			out.PhotoIDs = append(out.PhotoIDs, id)
		}
	case AnswerNumber:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return bad()
		}
		out.Value = f
	case AnswerYesNo:
		switch strings.ToLower(text) {
		case "yes", "y", "true", "1":
			out.Value = true
		case "no", "n", "false", "0":
			out.Value = false
		default:
			return bad()
		}
	case AnswerMultiSelect:
		var list []string
		if json.Unmarshal(a.Answer, &list) != nil && text != "" { // "a, b" as one string
			for _, v := range strings.Split(text, ",") {
				list = append(list, strings.TrimSpace(v))
			}
		}
		out.Value = list
	case AnswerDate:
		t, ok := pruvanTime(text)
		if !ok {
			return bad()
		}
		out.Value = t.Format("2006-01-02")
	default: // text, select
		out.Value = text
	}
	return out, nil
}

// pruvanTime reads Pruvan's timestamps: "YYYY-MM-DD HH:MM:SS", RFC 3339, a date, or unix
// seconds.
func pruvanTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range []string{"2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
