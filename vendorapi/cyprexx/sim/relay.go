package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Photo is a relayed photo as the simulator stored it: metadata and the sha256 of the bytes
// (the bytes themselves are not kept).
type Photo struct {
	PhotoID     string    `json:"photoId"`
	SourceID    string    `json:"sourceId"`
	WorkOrderID string    `json:"workOrderId"`
	TaskID      string    `json:"taskId"`
	Category    string    `json:"category"`
	TakenAt     string    `json:"takenAt"`
	Latitude    string    `json:"latitude"`
	Longitude   string    `json:"longitude"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ReceivedAt  time.Time `json:"receivedAt"`
	// Uploads counts how often this sourceId was posted (retries included).
	Uploads int `json:"uploads"`
}

var errTooLarge = errors.New("too large")

// apiPhoto reads the multipart upload as a stream, hashing the file as it arrives, and
// refuses early: wrong media type or oversize before reading further.
func (s *Server) apiPhoto(w http.ResponseWriter, r *http.Request, vendor, id string) {
	s.mu.Lock()
	_, e := s.lookupLocked(vendor, id)
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, errf(http.StatusUnsupportedMediaType, "unsupported_media_type", "expected multipart/form-data"))
		return
	}
	fields := map[string]string{}
	var got *Photo
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, errf(http.StatusBadRequest, "bad_request", "malformed multipart body: %v", err))
			return
		}
		if part.FormName() != "file" {
			b, err := io.ReadAll(io.LimitReader(part, 4<<10))
			if err != nil {
				writeError(w, errf(http.StatusBadRequest, "bad_request", "cannot read field %s: %v", part.FormName(), err))
				return
			}
			fields[part.FormName()] = string(b)
			continue
		}
		mt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt != "image/jpeg" {
			writeError(w, errf(http.StatusUnsupportedMediaType, "unsupported_media_type", "file must be image/jpeg, not %q", mt))
			return
		}
		p, err := readJPEG(part)
		switch {
		case errors.Is(err, errTooLarge):
			writeError(w, errf(http.StatusRequestEntityTooLarge, "file_too_large", "photos are limited to %d bytes", MaxPhotoBytes))
			return
		case errors.Is(err, errNotJPEG):
			writeError(w, errf(http.StatusUnsupportedMediaType, "unsupported_media_type", "file is not a JPEG image"))
			return
		case err != nil:
			writeError(w, errf(http.StatusBadRequest, "bad_request", "cannot read file: %v", err))
			return
		}
		p.FileName, p.ContentType = part.FileName(), part.Header.Get("Content-Type")
		got = p
	}
	invalid := map[string]string{}
	for _, f := range []string{"taskId", "category", "sourceId"} {
		if strings.TrimSpace(fields[f]) == "" {
			invalid[f] = "is required"
		}
	}
	if got == nil {
		invalid["file"] = "is required"
	}
	if v := fields["takenAt"]; v != "" {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			invalid["takenAt"] = "must be an RFC 3339 timestamp"
		}
	}
	for _, f := range []string{"latitude", "longitude"} {
		if v := fields[f]; v != "" {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				invalid[f] = "must be a number"
			}
		}
	}
	if len(invalid) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the photo upload is invalid")
		e.Details = map[string]any{"fields": invalid}
		writeError(w, e)
		return
	}
	status, out, e := s.storePhoto(vendor, id, fields, got)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	reset := status == http.StatusCreated && simkit.Take(&s.faults.ResetAfterUpload)
	slow := status == http.StatusCreated && !reset && simkit.Take(&s.faults.SlowUpload)
	delay := s.faults.SlowUploadDelay
	s.mu.Unlock()
	if reset { // stored, but the client never hears about it
		simkit.DropConnection(w)
		return
	}
	if slow && !simkit.Sleep(r.Context(), delay) {
		return // the client gave up; the photo stays stored
	}
	writeJSON(w, status, map[string]string{"photoId": out.PhotoID, "sourceId": out.SourceID})
}

// storePhoto commits an upload: a known sourceId returns the stored photo (200), else the
// work order must be open and the task and category known (201).
func (s *Server) storePhoto(vendor, id string, fields map[string]string, got *Photo) (int, Photo, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, e := s.lookupLocked(vendor, id)
	if e != nil {
		return 0, Photo{}, e
	}
	for _, p := range s.photos[id] {
		if p.SourceID == fields["sourceId"] {
			p.Uploads++
			s.stats.PhotoRetries++
			return http.StatusOK, *p, nil
		}
	}
	if closed(wo.Status) {
		return 0, Photo{}, errf(http.StatusConflict, "work_order_closed", "work order %s is %s", id, wo.Status)
	}
	i := slices.IndexFunc(wo.Tasks, func(t Task) bool { return t.TaskID == fields["taskId"] })
	if i < 0 {
		return 0, Photo{}, errf(http.StatusUnprocessableEntity, "unknown_task", "work order %s has no task %q", id, fields["taskId"])
	}
	if !slices.Contains(wo.Tasks[i].PhotoCategories, fields["category"]) {
		return 0, Photo{}, errf(http.StatusUnprocessableEntity, "invalid_category", "category %q is not one of %s",
			fields["category"], strings.Join(wo.Tasks[i].PhotoCategories, ", "))
	}
	s.nextPhoto++
	p := *got
	p.PhotoID, p.SourceID, p.WorkOrderID = "P"+strconv.FormatInt(s.nextPhoto, 10), fields["sourceId"], id
	p.TaskID, p.Category, p.TakenAt = fields["taskId"], fields["category"], fields["takenAt"]
	p.Latitude, p.Longitude, p.ReceivedAt, p.Uploads = fields["latitude"], fields["longitude"], s.now(), 1
	s.photos[id] = append(s.photos[id], &p)
	s.stats.PhotosStored++
	return http.StatusCreated, p, nil
}

var errNotJPEG = errors.New("not a JPEG")

// readJPEG hashes the file as it streams in, at most MaxPhotoBytes, checking the JPEG
// start-of-image marker.
func readJPEG(r io.Reader) (*Photo, error) {
	h := sha256.New()
	lr := io.LimitReader(r, MaxPhotoBytes+1)
	head := make([]byte, 3)
	n, err := io.ReadFull(lr, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n < 3 || head[0] != 0xFF || head[1] != 0xD8 || head[2] != 0xFF {
		return nil, errNotJPEG
	}
	h.Write(head)
	rest, err := io.Copy(h, lr)
	if err != nil {
		return nil, err
	}
	size := int64(n) + rest
	if size > MaxPhotoBytes {
		return nil, errTooLarge
	}
	return &Photo{Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// ---- surveys ----

// Submission is a form's current survey.
type Submission struct {
	SubmissionID string           `json:"submissionId"`
	FormID       string           `json:"formId"`
	FormVersion  int              `json:"formVersion"` // the form's version when accepted
	SubmittedAt  string           `json:"submittedAt"`
	Answers      []SubmittedValue `json:"answers"`
	ReceivedAt   time.Time        `json:"receivedAt"`
	// Replaced lists the submission ids this one replaced, oldest first.
	Replaced []string `json:"replaced,omitempty"`
}

// SubmittedValue is one answer as received.
type SubmittedValue struct {
	QuestionID string          `json:"questionId"`
	Value      json.RawMessage `json:"value"`
	PhotoIDs   []string        `json:"photoIds,omitempty"`
}

func (s *Server) apiSurvey(w http.ResponseWriter, r *http.Request, vendor, id, formID string) {
	var in struct {
		SubmissionID string           `json:"submissionId"`
		SubmittedAt  string           `json:"submittedAt"`
		FormVersion  *int             `json:"formVersion"`
		Answers      []SubmittedValue `json:"answers"`
	}
	if e := decodeBody(w, r, &in); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wo, e := s.lookupLocked(vendor, id)
	if e != nil {
		writeError(w, e)
		return
	}
	fi := slices.IndexFunc(wo.Forms, func(f Form) bool { return f.FormID == formID })
	if fi < 0 {
		writeError(w, errf(http.StatusNotFound, "not_found", "work order %s has no form %q", id, formID))
		return
	}
	form := wo.Forms[fi]
	cur := s.surveys[id][formID]
	if cur != nil && cur.SubmissionID == in.SubmissionID {
		writeJSON(w, http.StatusOK, map[string]string{"submissionId": cur.SubmissionID, "formId": formID, "status": "unchanged"})
		return
	}
	if e := s.validateSurveyLocked(wo, form, in.SubmissionID, in.SubmittedAt, in.FormVersion, in.Answers); e != nil {
		writeError(w, e)
		return
	}
	sub := &Submission{SubmissionID: in.SubmissionID, FormID: formID, FormVersion: form.Version, SubmittedAt: in.SubmittedAt,
		Answers: in.Answers, ReceivedAt: s.now()}
	status, label := http.StatusCreated, "accepted"
	if cur != nil {
		sub.Replaced = append(slices.Clone(cur.Replaced), cur.SubmissionID)
		status, label = http.StatusOK, "replaced"
	}
	if s.surveys[id] == nil {
		s.surveys[id] = map[string]*Submission{}
	}
	s.surveys[id][formID] = sub
	s.stats.Surveys++
	writeJSON(w, status, map[string]string{"submissionId": sub.SubmissionID, "formId": formID, "status": label})
}

// validateSurveyLocked checks a submission against the current form: a stale version or an
// answer to a question the form no longer has is 409 form_version_mismatch; missing or
// ill-typed answers are 422 validation_failed with a message per questionId.
func (s *Server) validateSurveyLocked(wo *WorkOrder, form Form, subID, at string, version *int, answers []SubmittedValue) *Error {
	fields := map[string]string{}
	if strings.TrimSpace(subID) == "" {
		fields["submissionId"] = "is required"
	}
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		fields["submittedAt"] = "must be an RFC 3339 timestamp"
	}
	if version != nil && *version != form.Version {
		return errf(http.StatusConflict, "form_version_mismatch", "form %s is at version %d, not %d; refetch the work order", form.FormID, form.Version, *version)
	}
	byID := map[string]SubmittedValue{}
	for _, a := range answers {
		if !slices.ContainsFunc(form.Questions, func(q Question) bool { return q.QuestionID == a.QuestionID }) {
			return errf(http.StatusConflict, "form_version_mismatch", "form %s (version %d) has no question %q; refetch the work order", form.FormID, form.Version, a.QuestionID)
		}
		if _, dup := byID[a.QuestionID]; dup {
			fields[a.QuestionID] = "answered twice"
		}
		byID[a.QuestionID] = a
	}
	for _, q := range form.Questions {
		a, ok := byID[q.QuestionID]
		if msg := s.checkAnswerLocked(wo, q, a, ok); msg != "" && fields[q.QuestionID] == "" {
			fields[q.QuestionID] = msg
		}
	}
	if len(fields) > 0 {
		e := errf(http.StatusUnprocessableEntity, "validation_failed", "the survey is invalid")
		e.Details = map[string]any{"fields": fields}
		return e
	}
	return nil
}

// checkAnswerLocked returns "" or what is wrong with one answer.
func (s *Server) checkAnswerLocked(wo *WorkOrder, q Question, a SubmittedValue, present bool) string {
	empty := !present || len(a.Value) == 0 || string(a.Value) == "null"
	if q.AnswerType == "photo" {
		if q.Required && (!present || len(a.PhotoIDs) == 0) {
			return "is required (photoIds)"
		}
		for _, pid := range a.PhotoIDs {
			if !slices.ContainsFunc(s.photos[wo.WorkOrderID], func(p *Photo) bool { return p.PhotoID == pid }) {
				return fmt.Sprintf("photo %q is not a photo of this work order", pid)
			}
		}
		return ""
	}
	if empty {
		if q.Required {
			return "is required"
		}
		return ""
	}
	var (
		str  string
		num  float64
		yes  bool
		list []string
	)
	switch q.AnswerType {
	case "text":
		if json.Unmarshal(a.Value, &str) != nil {
			return "must be a string"
		}
	case "number":
		if json.Unmarshal(a.Value, &num) != nil {
			return "must be a number"
		}
	case "yesNo":
		if json.Unmarshal(a.Value, &yes) != nil {
			return "must be true or false"
		}
	case "select":
		if json.Unmarshal(a.Value, &str) != nil || !slices.Contains(q.Options, str) {
			return "must be one of " + strings.Join(q.Options, ", ")
		}
	case "multiSelect":
		if json.Unmarshal(a.Value, &list) != nil {
			return "must be a list of options"
		}
		for _, v := range list {
			if !slices.Contains(q.Options, v) {
				return fmt.Sprintf("%q is not one of %s", v, strings.Join(q.Options, ", "))
			}
		}
		if q.Required && len(list) == 0 {
			return "is required"
		}
	case "date":
		if json.Unmarshal(a.Value, &str) != nil {
			return "must be a date (YYYY-MM-DD)"
		}
		if _, err := time.Parse("2006-01-02", str); err != nil {
			return "must be a date (YYYY-MM-DD)"
		}
	}
	return ""
}
