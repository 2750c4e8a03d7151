package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// apiCreate is POST /issues: a report (JSON, form or multipart with answers[issue_image]);
// 201 with the issue and Location, or 202 when the ModerateIssues fault holds it.
func (s *Server) apiCreate(req *request) {
	in, e := readInput(req.w, req.r)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	img, e := in.image("answers[issue_image]")
	if e == nil && img == nil {
		img, e = in.image("image")
	}
	if e != nil {
		writeErr(req.w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.newIssueLocked(in, img, req.caller.person(), true)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	if s.faults.ModerateIssues > 0 {
		s.faults.ModerateIssues--
		s.stats.Moderated++
		is.Pending = true
		simkit.WriteJSON(req.w, http.StatusAccepted, map[string]any{"metadata": map[string]bool{"moderated": true}})
		return
	}
	v := s.viewLocked(req, false)
	req.w.Header().Set("Location", v.api("/issues/%d", is.ID))
	simkit.WriteJSON(req.w, http.StatusCreated, v.issue(is))
}

// newIssueLocked validates a report and stores it. strict applies the report form's rules
// (required answers, select keys); staff reports from the control page skip them.
func (s *Server) newIssueLocked(in *input, img *upload, reporter Person, strict bool) (*Issue, *Error) {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	lat, okLat := in.float("lat")
	lng, okLng := in.float("lng")
	if !okLat || !okLng || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		add("point", "can't be blank")
	}
	rtID, _ := in.int("request_type_id")
	rt := s.rtypes[rtID]
	if rt == nil || !rt.Active {
		add("request_type_id", "is not a valid request type")
	}
	if rt != nil && okLat && okLng && rt.AgencyID != 0 {
		if ag := s.agencies[rt.AgencyID]; ag != nil && !ag.contains(lat, lng) {
			add("point", "Point Issue is not within boundary of associated request type.")
		}
	}
	raw := in.obj("answers")
	var answers []Answer
	if rt != nil {
		for _, q := range rt.Questions {
			v, ok := raw[q.PrimaryKey]
			if q.QuestionType == "file" {
				if q.ResponseRequired && img == nil && strict {
					add(q.PrimaryKey, "can't be blank")
				}
				continue
			}
			if !ok || answerBlank(v) {
				if q.ResponseRequired && strict {
					add(q.PrimaryKey, "can't be blank")
				}
				continue
			}
			if msg := checkAnswer(q, v); msg != "" && strict {
				add(q.PrimaryKey, msg)
				continue
			}
			if q.PrimaryKey != "summary" && q.PrimaryKey != "description" {
				answers = append(answers, Answer{Key: q.PrimaryKey, Question: q.Question, Value: answerValue(q, v),
					Private: q.AnswerKeptPrivate})
			}
		}
	}
	if len(errs) > 0 {
		return nil, &Error{Status: 422, msg: "invalid issue", Body: map[string]any{"errors": errs}}
	}
	if in.bool("anonymize_reporter") {
		reporter = Person{}
	}
	now := s.now()
	s.nextIssue++
	is := &Issue{ID: s.nextIssue, Status: StatusOpen, Summary: scalarText(raw["summary"]),
		Description: scalarText(raw["description"]), Lat: lat, Lng: lng, Address: in.str("address"),
		RequestTypeID: rt.ID, Reporter: reporter, Answers: answers, CreatedAt: now, UpdatedAt: now,
		Private: in.bool("private")}
	if is.Summary == "" {
		is.Summary = rt.Title
	}
	if img != nil {
		is.Image = s.storeMediaLocked(img)
	}
	s.issues[is.ID] = is
	return is, nil
}

func answerBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	}
	return strings.TrimSpace(scalarText(v)) == ""
}

// checkAnswer validates an answer against its question type ("" when fine).
func checkAnswer(q Question, v any) string {
	valid := func(s string) bool {
		return slices.ContainsFunc(q.SelectValues, func(sv SelectValue) bool { return sv.Key == s })
	}
	switch q.QuestionType {
	case "select":
		if !valid(scalarText(v)) {
			return "is not one of the choices"
		}
	case "multivaluelist":
		list, ok := v.([]any)
		if !ok {
			return "must be a list of choices"
		}
		for _, it := range list {
			if !valid(scalarText(it)) {
				return "is not one of the choices"
			}
		}
	case "number":
		if _, err := strconv.ParseFloat(scalarText(v), 64); err != nil {
			return "is not a number"
		}
	case "boolean":
		if _, err := strconv.ParseBool(scalarText(v)); err != nil {
			return "must be true or false"
		}
	}
	return ""
}

// answerValue is the answer as details=true shows it: choice names for select questions,
// a list for multivaluelist, text otherwise.
func answerValue(q Question, v any) any {
	name := func(key string) string {
		for _, sv := range q.SelectValues {
			if sv.Key == key {
				return sv.Name
			}
		}
		return key
	}
	switch q.QuestionType {
	case "select":
		return name(scalarText(v))
	case "multivaluelist":
		list, _ := v.([]any)
		out := make([]string, 0, len(list))
		for _, it := range list {
			out = append(out, name(scalarText(it)))
		}
		return out
	}
	return scalarText(v)
}
