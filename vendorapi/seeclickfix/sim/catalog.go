package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// privateQuestion is SCF Connect's rule: imported questions about e-mail or phone are private.
var privateQuestion = regexp.MustCompile(`(?i)e-?mail|phone`)

type cwQuestionIn struct {
	RemoteID     any    `json:"remote_id"`
	Question     string `json:"question"`
	QuestionType string `json:"question_type"`
	SelectValues []struct {
		Key  any    `json:"key"`
		Name string `json:"name"`
	} `json:"select_values"`
	AnswerKeptPrivate *bool `json:"answer_kept_private"`
	ResponseRequired  *bool `json:"response_required"`
}

type cwRequestTypeIn struct {
	Title      string         `json:"title"`
	AgencyID   any            `json:"agency_id"`
	RemoteKind string         `json:"remote_kind"`
	RemoteID   any            `json:"remote_id"`
	Active     *bool          `json:"active"`
	Questions  []cwQuestionIn `json:"questions"`
}

// apiUpsertCityworks is PUT …/integrations/cityworks/request_types/{remote_id}: idempotent on
// (remote_kind, remote_id); 201 when created, 200 when updated. Imported questions keep their
// primary keys across updates (matched by remote_id).
func (s *Server) apiUpsertCityworks(req *request, rawRemote string) {
	b, err := io.ReadAll(http.MaxBytesReader(req.w, req.r.Body, maxBodyBytes))
	if err != nil {
		writeErr(req.w, bodyError(err))
		return
	}
	var in cwRequestTypeIn
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		writeErr(req.w, errBadJSON())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, created, e := s.upsertCityworksLocked(rawRemote, in)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	v := s.viewLocked(req, false)
	wire := v.requestType(rt)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	simkit.WriteJSON(req.w, status, map[string]any{
		"id": wire.ID, "title": wire.Title, "organization": wire.Organization, "questions": wire.Questions,
		"agency_id": rt.AgencyID, "remote_kind": rt.RemoteKind, "remote_id": rt.RemoteID, "active": rt.Active,
	})
}

func (s *Server) upsertCityworksLocked(rawRemote string, in cwRequestTypeIn) (*RequestType, bool, *Error) {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	pathID, err := strconv.ParseInt(rawRemote, 10, 64)
	if err != nil || pathID <= 0 {
		add("remote_id", "must be a positive number")
	}
	if id, ok := intOf(in.RemoteID); !ok || id != pathID {
		add("remote_id", "must match the URL")
	}
	if in.RemoteKind != "SR" && in.RemoteKind != "WO" {
		add("remote_kind", "must be SR or WO")
	}
	if strings.TrimSpace(in.Title) == "" {
		add("title", "can't be blank")
	}
	agencyID, _ := intOf(in.AgencyID)
	if agencyID != 0 && s.agencies[agencyID] == nil {
		add("agency_id", "is not a known agency")
	}
	if in.Active == nil {
		add("active", "must be true or false")
	}
	var qs []Question
	seen := map[int64]bool{}
	for i, q := range in.Questions {
		f := func(name string) string { return fmt.Sprintf("questions[%d].%s", i, name) }
		qid, ok := intOf(q.RemoteID)
		switch {
		case !ok || qid <= 0:
			add(f("remote_id"), "must be a positive number")
		case seen[qid]:
			add(f("remote_id"), "is duplicated")
		}
		seen[qid] = true
		if strings.TrimSpace(q.Question) == "" {
			add(f("question"), "can't be blank")
		}
		switch {
		case q.QuestionType == "select" && len(q.SelectValues) == 0:
			add(f("select_values"), "can't be blank for a select question")
		case q.QuestionType == "text" && len(q.SelectValues) > 0:
			add(f("question_type"), "must be select when answers exist")
		case q.QuestionType != "select" && q.QuestionType != "text":
			add(f("question_type"), "must be text or select")
		}
		if q.ResponseRequired == nil || !*q.ResponseRequired {
			add(f("response_required"), "must be true for imported questions")
		}
		if want := privateQuestion.MatchString(q.Question); q.AnswerKeptPrivate == nil || *q.AnswerKeptPrivate != want {
			add(f("answer_kept_private"), fmt.Sprintf("must be %t for this question", want))
		}
		sq := Question{Question: q.Question, QuestionType: q.QuestionType, ResponseRequired: true,
			AnswerKeptPrivate: privateQuestion.MatchString(q.Question), RemoteID: qid}
		for _, sv := range q.SelectValues {
			sq.SelectValues = append(sq.SelectValues, SelectValue{Key: scalarText(sv.Key), Name: sv.Name})
		}
		qs = append(qs, sq)
	}
	if len(errs) > 0 {
		return nil, false, &Error{Status: 422, msg: "invalid request type", Body: map[string]any{"errors": errs}}
	}
	var rt *RequestType
	for _, t := range s.rtypes {
		if t.RemoteKind == in.RemoteKind && t.RemoteID == pathID {
			rt = t
		}
	}
	created := rt == nil
	if created {
		s.nextRT++
		rt = &RequestType{ID: s.nextRT, RemoteKind: in.RemoteKind, RemoteID: pathID}
		s.rtypes[rt.ID] = rt
	}
	keys := map[int64]string{}
	for _, q := range rt.Questions {
		if q.RemoteID != 0 {
			keys[q.RemoteID] = q.PrimaryKey
		}
	}
	for i := range qs {
		if k, ok := keys[qs[i].RemoteID]; ok {
			qs[i].PrimaryKey = k
		} else {
			s.nextKey++
			qs[i].PrimaryKey = strconv.FormatInt(s.nextKey, 10)
		}
	}
	rt.Title, rt.AgencyID, rt.Active = in.Title, agencyID, *in.Active
	rt.Questions = slices.Concat(builtinQuestions(), qs)
	return rt, created, nil
}

// intOf reads a JSON number or numeric string.
func intOf(v any) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(scalarText(v)), 10, 64)
	return n, err == nil
}

// RequestTypes returns the catalog, by id.
func (s *Server) RequestTypes() []RequestType {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestType, 0, len(s.rtypes))
	for _, rt := range s.rtypes {
		out = append(out, rt.clone())
	}
	slices.SortFunc(out, func(a, b RequestType) int { return int(a.ID - b.ID) })
	return out
}
