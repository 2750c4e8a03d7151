package cyprexx_test

// Contract tests of the relays: photos (streamed), surveys and completion.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
)

// jpegStream produces size bytes that start like a JPEG, written through an io.Pipe as the
// upload reads them, so the test itself never holds the photo either. The returned func
// gives the sha256 of what was produced once it has all been read.
func jpegStream(size int, seed uint64) (io.Reader, func() string) {
	pr, pw := io.Pipe()
	h := sha256.New()
	done := make(chan string, 1)
	go func() {
		rng := mrand.New(mrand.NewPCG(seed, 1))
		w := io.MultiWriter(pw, h)
		w.Write([]byte{0xFF, 0xD8, 0xFF, 0xE0})
		buf := make([]byte, 64<<10)
		left := size - 4
		for left > 0 {
			n := min(left, len(buf))
			for i := range buf[:n] {
				buf[i] = byte(rng.Uint32())
			}
			if _, err := w.Write(buf[:n]); err != nil {
				pw.CloseWithError(err)
				done <- ""
				return
			}
			left -= n
		}
		pw.Close()
		done <- hex.EncodeToString(h.Sum(nil))
	}()
	return pr, func() string { return <-done }
}

func photo(sourceID string, body io.Reader) cyprexx.Photo {
	lat, lng := 25.8123, -80.3311
	return cyprexx.Photo{TaskID: "T1", Category: "Before", TakenAt: time.Date(2024, 5, 30, 9, 0, 0, 0, time.UTC),
		Latitude: &lat, Longitude: &lng, SourceID: sourceID, Body: body}
}

func TestUploadLargePhotoStreamsUnaltered(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	body, sum := jpegStream(cyprexx.MaxPhotoBytes, 42) // exactly 20 MiB: the largest allowed
	rec, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, photo("pruvan-uuid-1", body))
	if err != nil || !rec.Created || rec.PhotoID == "" || rec.SourceID != "pruvan-uuid-1" {
		t.Fatalf("%+v %v", rec, err)
	}
	ps := e.sim.Photos(wo.WorkOrderID)
	if len(ps) != 1 {
		t.Fatalf("photos %+v", ps)
	}
	p := ps[0]
	if p.SHA256 != sum() || p.Size != cyprexx.MaxPhotoBytes || p.PhotoID != rec.PhotoID || p.TaskID != "T1" || p.Category != "Before" ||
		p.TakenAt != "2024-05-30T09:00:00.000Z" || p.Latitude != "25.8123" || p.Longitude != "-80.3311" ||
		p.FileName != "pruvan-uuid-1.jpg" || p.ContentType != "image/jpeg" {
		t.Fatalf("stored photo %+v", p)
	}
}

func TestUploadRetryWithSameSourceIDIsIdempotent(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")

	// Stored, then the connection is reset: the client cannot know, and retries.
	e.sim.SetFaults(sim.Faults{ResetAfterUpload: 1})
	body, sum := jpegStream(1<<20, 1)
	_, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, photo("u-1", body))
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" {
		t.Fatalf("reset after commit: %+v", ve)
	}
	sha := sum()
	body, _ = jpegStream(1<<20, 1)
	rec, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, photo("u-1", body))
	if err != nil || rec.Created {
		t.Fatalf("retry: %+v %v", rec, err)
	}

	// Stored, then answered too late for the client's timeout.
	e.sim.SetFaults(sim.Faults{SlowUpload: 1, SlowUploadDelay: 3 * time.Second})
	slow, _ := cyprexx.New(cyprexx.Config{BaseURL: e.srv.URL, APIToken: sim.DefaultToken, UploadTimeout: 500 * time.Millisecond})
	body, _ = jpegStream(1<<20, 2)
	_, err = slow.UploadPhoto(ctx, wo.WorkOrderID, photo("u-2", body))
	if ve := vendorErr(t, err); !ve.Retryable {
		t.Fatalf("slow answer: %+v", ve)
	}
	body, _ = jpegStream(1<<20, 2)
	rec2, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, photo("u-2", body))
	if err != nil || rec2.Created {
		t.Fatalf("retry after timeout: %+v %v", rec2, err)
	}
	ps := e.sim.Photos(wo.WorkOrderID)
	if len(ps) != 2 || ps[0].PhotoID != rec.PhotoID || ps[0].Uploads != 2 || ps[0].SHA256 != sha || ps[1].PhotoID != rec2.PhotoID || ps[1].Uploads != 2 {
		t.Fatalf("photos %+v", ps)
	}
	if st := e.sim.Stats(); st.PhotosStored != 2 || st.PhotoRetries != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	check := func(name string, p cyprexx.Photo, status int, code string) {
		t.Helper()
		_, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, p)
		ve := vendorErr(t, err)
		if ve.HTTPStatus != status || ve.Code != code || ve.Retryable {
			t.Errorf("%s: %+v", name, ve)
		}
	}
	big, _ := jpegStream(cyprexx.MaxPhotoBytes+1, 3)
	check("over 20 MiB", photo("big", big), 413, cyprexx.CodeFileTooLarge)
	check("not a JPEG", photo("png", bytes.NewReader([]byte("\x89PNG\r\n\x1a\nrest"))), 415, cyprexx.CodeUnsupportedMediaType)
	gif := photo("gif", bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0}))
	gif.ContentType = "image/gif"
	check("declared non-JPEG", gif, 415, cyprexx.CodeUnsupportedMediaType)
	unknown := photo("t9", bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0}))
	unknown.TaskID = "T9"
	check("unknown task", unknown, 422, cyprexx.CodeUnknownTask)
	cat := photo("cat", bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0}))
	cat.Category = "Selfie"
	check("invalid category", cat, 422, cyprexx.CodeInvalidCategory)
	if len(e.sim.Photos(wo.WorkOrderID)) != 0 {
		t.Fatal("a refused photo was stored")
	}
	if _, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, cyprexx.Photo{TaskID: "T1", Category: "Before", Body: bytes.NewReader(nil)}); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("no sourceId: %v", err)
	}
	// A source that breaks while being read: retry later with a fresh body.
	broken := photo("broken", io.MultiReader(bytes.NewReader([]byte{0xFF, 0xD8, 0xFF}), errReader{}))
	if _, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, broken); !vendorapi.IsRetryable(err) {
		t.Fatalf("broken source: %v", err)
	}
	e.sim.Cancel(wo.WorkOrderID)
	_, err := e.client.UploadPhoto(ctx, wo.WorkOrderID, photo("late", bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0})))
	if !cyprexx.IsWorkOrderClosed(err) || vendorErr(t, err).Retryable {
		t.Fatalf("closed work order: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

func uploadN(t *testing.T, e *env, woID, task, category string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		body, _ := jpegStream(2048, uint64(i))
		p := photo(woID+task+category+string(rune('a'+i)), body)
		p.TaskID, p.Category = task, category
		rec, err := e.client.UploadPhoto(context.Background(), woID, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.PhotoID)
	}
	return ids
}

func TestSurveys(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	photos := uploadN(t, e, wo.WorkOrderID, "T1", "After", 1)
	answers := []cyprexx.Answer{{QuestionID: "lawnCut", Value: true}, {QuestionID: "debris", Value: "some"},
		{QuestionID: "frontPhoto", PhotoIDs: photos}, {QuestionID: "comments", Value: "all good"}}
	rec, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-1", FormVersion: 1, Answers: answers})
	if err != nil || !rec.Created {
		t.Fatalf("%+v %v", rec, err)
	}
	if rec, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-1", Answers: answers}); err != nil || rec.Created {
		t.Fatalf("same submission again: %+v %v", rec, err)
	}
	answers[1].Value = "heavy"
	if rec, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-2", Answers: answers}); err != nil || rec.Created {
		t.Fatalf("replacement: %+v %v", rec, err)
	}
	sub := e.sim.Surveys(wo.WorkOrderID)["PCR"]
	if sub.SubmissionID != "s-2" || len(sub.Replaced) != 1 || sub.Replaced[0] != "s-1" || string(sub.Answers[1].Value) != `"heavy"` ||
		sub.Answers[2].PhotoIDs[0] != photos[0] {
		t.Fatalf("stored %+v", sub)
	}

	bad := []cyprexx.Answer{{QuestionID: "lawnCut", Value: "yes"}, {QuestionID: "debris", Value: "lots"}, {QuestionID: "frontPhoto", PhotoIDs: []string{"P-nope"}}}
	_, err = e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-3", Answers: bad})
	ve := vendorErr(t, err)
	if ve.HTTPStatus != 422 || ve.Code != cyprexx.CodeValidationFailed || ve.Retryable || ve.Fields["lawnCut"] == "" ||
		!strings.Contains(ve.Fields["debris"], "one of") || !strings.Contains(ve.Fields["frontPhoto"], "P-nope") {
		t.Fatalf("validation: %+v", ve)
	}
	if _, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-4"}); vendorErr(t, err).Fields["lawnCut"] != "is required" {
		t.Fatalf("required: %v", err)
	}
	if _, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-5", Answers: []cyprexx.Answer{{QuestionID: "x", Value: struct{}{}}}}); vendorErr(t, err).Code != "invalid_argument" {
		t.Fatalf("bad value type: %v", err)
	}

	// Cyprexx changes the form: old answers no longer fit.
	form := sim.StandardForm()
	form.Questions = form.Questions[1:]
	b, _ := json.Marshal(map[string]any{"forms": []sim.Form{form}})
	if _, err := e.sim.Update(wo.WorkOrderID, b); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-6", FormVersion: 1, Answers: answers[1:]})
	if !cyprexx.IsFormVersionMismatch(err) || vendorErr(t, err).Retryable {
		t.Fatalf("stale version: %v", err)
	}
	_, err = e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-7", Answers: answers})
	if !cyprexx.IsFormVersionMismatch(err) {
		t.Fatalf("answer to a removed question: %v", err)
	}
	fresh, _ := e.client.WorkOrder(ctx, wo.WorkOrderID)
	f, _ := fresh.Form("PCR")
	if _, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-8", FormVersion: f.Version, Answers: answers[1:]}); err != nil || f.Version != 2 {
		t.Fatalf("after refetching (version %d): %v", f.Version, err)
	}
	if _, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "NOPE", cyprexx.Survey{SubmissionID: "s-9"}); !vendorapi.IsNotFound(err) {
		t.Fatalf("unknown form: %v", err)
	}
}

func TestComplete(t *testing.T) {
	e := newEnv(t, sim.Options{DisableRateLimit: true})
	ctx := context.Background()
	wo := issue(t, e, "Grass Cut")
	at := time.Date(2024, 6, 1, 15, 4, 5, 0, time.UTC)
	_, err := e.client.Complete(ctx, wo.WorkOrderID, at)
	ve := vendorErr(t, err)
	if !cyprexx.IsIncomplete(err) || ve.Retryable || ve.Fields["photos:T1"] != "0 of 2 required photos" || ve.Fields["form:PCR"] != "no survey submitted" {
		t.Fatalf("incomplete: %+v", ve)
	}
	uploadN(t, e, wo.WorkOrderID, "T1", "After", 2)
	if _, err := e.client.SubmitSurvey(ctx, wo.WorkOrderID, "PCR", cyprexx.Survey{SubmissionID: "s-1", Answers: []cyprexx.Answer{{QuestionID: "lawnCut", Value: true}}}); err != nil {
		t.Fatal(err)
	}
	done, err := e.client.Complete(ctx, wo.WorkOrderID, at)
	if err != nil || done.Status != cyprexx.StatusCompleted || done.WorkOrderID != wo.WorkOrderID {
		t.Fatalf("%+v %v", done, err)
	}
	if again, err := e.client.Complete(ctx, wo.WorkOrderID, at.Add(time.Hour)); err != nil || again.Status != cyprexx.StatusCompleted {
		t.Fatalf("repeated: %+v %v", again, err)
	}
	if cs := e.sim.Completions(); len(cs) != 1 || !cs[0].CompletedAt.Equal(at) {
		t.Fatalf("completions %+v", cs)
	}
	other := issue(t, e, "Winterization")
	e.sim.Cancel(other.WorkOrderID)
	_, err = e.client.Complete(ctx, other.WorkOrderID, at)
	if ve := vendorErr(t, err); ve.HTTPStatus != 409 || ve.Code != cyprexx.CodeWorkOrderCancelled || ve.Retryable {
		t.Fatalf("cancelled: %+v", ve)
	}
}
