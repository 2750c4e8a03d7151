package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strconv"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// PhotoRequest is "upload photos": Count photos of Category (evidenceType: Before, After, …)
// for Task (a service name; default the project's first), each Size bytes.
type PhotoRequest struct {
	Count    int    `json:"count"`
	Category string `json:"category"`
	Task     string `json:"task"`
	Size     int    `json:"size"`
}

// SurveyRequest is "submit survey" for Task (default the first with a survey); Template
// defaults to the task's survey template id. Answers map question id → answer (string,
// number, bool or list, e.g. photo uuids).
type SurveyRequest struct {
	Task     string         `json:"task"`
	Template string         `json:"template"`
	Answers  map[string]any `json:"answers"`
}

type uploadTarget struct {
	in      Integration
	project Project
	task    Service
}

func (s *Server) target(key, task string, needSurvey bool) (uploadTarget, error) {
	p, ok := s.Project(key)
	if !ok {
		return uploadTarget{}, errf(http.StatusNotFound, "not_found", "no project %q", key)
	}
	in, e := s.integration(p.ClientCode)
	if e != nil {
		return uploadTarget{}, e
	}
	i := slices.IndexFunc(p.WorkOrder.Services, func(sv Service) bool {
		if task != "" {
			return sv.ServiceName == task
		}
		return !needSurvey || sv.Survey != "" || len(sv.SurveyDynamic) > 0
	})
	if i < 0 {
		return uploadTarget{}, errf(http.StatusUnprocessableEntity, "unknown_task", "project %s has no task %q", key, task)
	}
	return uploadTarget{in: in, project: p, task: p.WorkOrder.Services[i]}, nil
}

// basePayloadLocked is the item metadata Pruvan sends with every uploaded item.
func (s *Server) basePayloadLocked(t uploadTarget, uuid string) map[string]any {
	wo, now := t.project.WorkOrder, s.now()
	return map[string]any{
		"uuid": uuid, "key1": t.in.ClientCode, "key2": wo.WorkOrderNumber, "key3": "", "key4": t.task.ServiceName, "key5": "",
		"attribute1": wo.Address1, "attribute2": wo.Address2, "attribute3": wo.City, "attribute4": wo.State,
		"attribute5": wo.Zip, "attribute6": wo.Country,
		"gpsLatitude": fmt.Sprintf("%.6f", 25.8+s.rng.Float64()/100), "gpsLongitude": fmt.Sprintf("%.6f", -80.3-s.rng.Float64()/100),
		"gpsAccuracy": strconv.Itoa(3 + s.rng.IntN(10)), "gpsTimestamp": ts(now), "creationDate": ts(now),
		"createdBy": "crew", "createdBySubUser": "crew-1", "parentUuid": "", "csrCertifiedLocation": "true",
		"csrCertifiedTime": "true", "timestamp": strconv.FormatInt(now.Unix(), 10), "notes": "",
	}
}

// UploadPhotos sends Count photos, one uploadPictures call each (twice with the same uuid
// when DuplicateUploads fires), and records what was sent on the project.
func (s *Server) UploadPhotos(ctx context.Context, key string, req PhotoRequest) ([]SentItem, error) {
	if req.Count <= 0 {
		req.Count = 1
	}
	if req.Category == "" {
		req.Category = "Before"
	}
	if req.Size <= 0 {
		req.Size = DefaultPhotoSize
	}
	t, err := s.target(key, req.Task, false)
	if err != nil {
		return nil, err
	}
	var out []SentItem
	for n := range req.Count {
		s.mu.Lock()
		uuid := s.uuidLocked()
		seed := s.rng.Uint64()
		name := fmt.Sprintf("IMG_%s_%d.jpg", s.now().Format("20060102_150405"), n+1)
		p := s.basePayloadLocked(t, uuid)
		for k, v := range map[string]any{"fileName": name, "fileExt": "jpg", "fileType": "picture", "evidenceType": req.Category,
			"template": "", "survey": nil, "surveyId": ""} {
			p[k] = v
		}
		copies := 1
		if simkit.Take(&s.faults.DuplicateUploads) {
			copies = 2
		}
		s.mu.Unlock()
		proto := SentItem{UUID: uuid, Kind: "photo", Task: t.task.ServiceName, Category: req.Category, FileName: name}
		spec := &photoSpec{name: name, seed: seed, size: req.Size}
		s.remember(key, proto, p, spec)
		for range copies {
			item := proto
			s.send(ctx, t, p, spec, &item)
			out = append(out, item)
		}
	}
	return out, nil
}

// SubmitSurvey sends one survey submission (a new uuid every time: Pruvan keeps the latest).
func (s *Server) SubmitSurvey(ctx context.Context, key string, req SurveyRequest) (SentItem, error) {
	t, err := s.target(key, req.Task, true)
	if err != nil {
		return SentItem{}, err
	}
	tmpl := req.Template
	if tmpl == "" {
		tmpl = t.task.Survey
	}
	if tmpl == "" {
		return SentItem{}, errf(http.StatusUnprocessableEntity, "no_survey", "task %q has no survey template", t.task.ServiceName)
	}
	ids := make([]string, 0, len(req.Answers))
	for id := range req.Answers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	answers := make([]map[string]any, len(ids))
	for i, id := range ids {
		answers[i] = map[string]any{"id": id, "answer": req.Answers[id]}
	}
	survey, _ := json.Marshal(map[string]any{"answers": answers})
	s.mu.Lock()
	uuid := s.uuidLocked()
	p := s.basePayloadLocked(t, uuid)
	for k, v := range map[string]any{"fileName": "", "fileExt": "", "fileType": "survey", "evidenceType": "Survey",
		"template": t.in.ClientCode + "::" + tmpl, "survey": string(survey), "surveyId": simkit.RandomHex(8)} {
		p[k] = v
	}
	s.mu.Unlock()
	item := SentItem{UUID: uuid, Kind: "survey", Task: t.task.ServiceName, Category: "Survey",
		Template: t.in.ClientCode + "::" + tmpl, Survey: string(survey)}
	s.remember(key, item, p, nil)
	s.send(ctx, t, p, nil, &item)
	return item, nil
}

type photoSpec struct {
	name string
	seed uint64
	size int
}

// send makes one uploadPictures call: a multipart body streamed through a pipe (payload
// part, then the file part, or the other way round with FileBeforePayload) and records the
// outcome in item and on the project.
func (s *Server) send(ctx context.Context, t uploadTarget, fields map[string]any, photo *photoSpec, item *SentItem) {
	s.mu.Lock()
	s.stats.Uploads++
	payload := s.payloadLocked(&t.in, fields)
	fileFirst := photo != nil && simkit.Take(&s.faults.FileBeforePayload)
	s.mu.Unlock()
	pj, _ := json.Marshal(payload)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	type written struct {
		size int64
		sum  string
	}
	done := make(chan written, 1)
	go func() {
		var wr written
		err := func() error {
			writeFile := func() error {
				if photo == nil {
					return nil
				}
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, photo.name))
				h.Set("Content-Type", "image/jpeg")
				part, err := mw.CreatePart(h)
				if err != nil {
					return err
				}
				sum := sha256.New()
				cw := &countWriter{w: io.MultiWriter(part, sum)}
				if err := writePhoto(cw, photo.seed, photo.size, item.UUID); err != nil {
					return err
				}
				wr.size, wr.sum = cw.n, hex.EncodeToString(sum.Sum(nil))
				return nil
			}
			if fileFirst {
				if err := writeFile(); err != nil {
					return err
				}
			}
			if err := mw.WriteField("payload", string(pj)); err != nil {
				return err
			}
			if !fileFirst {
				if err := writeFile(); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
		done <- wr
	}()
	item.SentAt = s.now()
	status, data, err := s.post(ctx, t.in, "uploadPictures", mw.FormDataContentType(), pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the answer came before the end
	wr := <-done
	item.Size, item.SHA256, item.HTTPStatus = wr.size, wr.sum, status
	var ans struct {
		Status bool `json:"status"`
	}
	switch {
	case err != nil:
		item.Error = err.Error()
	case json.Unmarshal(data, &ans) != nil || status != http.StatusOK || !ans.Status:
		item.Error = answerError(data)
	default:
		item.Accepted = true
	}
	s.mu.Lock()
	if p, ok := s.projects[t.project.Key]; ok {
		p.Sent = append(p.Sent, *item)
	}
	s.mu.Unlock()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// uuidLocked draws a version-4 uuid from the seeded RNG (reproducible runs).
func (s *Server) uuidLocked() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
