package pruvan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// The fuzz target below runs its seeds in every `go test`; explore further with
// `go test ./vendorapi/pruvan -run '^$' -fuzz FuzzOrderSourceHandler -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

const (
	fuzzRefusal  = "refused by the source"
	fuzzInternal = "internal-detail-never-shown" // a transient failure's text stays internal
	fuzzMaxFile  = 1024
)

// fuzzSource records what the handler hands it and answers as told: 0 ok, 1 a refusal,
// 2 a transient failure.
type fuzzSource struct {
	behaviour uint8
	calls     int
	pushKey   string
	since     *time.Time
	updates   []pruvan.StatusUpdate
	uploads   []pruvan.Upload
	files     [][]byte
}

func (f *fuzzSource) answer() error {
	switch f.behaviour % 3 {
	case 1:
		return pruvan.Reject(fuzzRefusal)
	case 2:
		return errors.New(fuzzInternal)
	}
	return nil
}

func (f *fuzzSource) Validate(_ context.Context, key string) error {
	f.calls++
	f.pushKey = key
	return f.answer()
}

func (f *fuzzSource) WorkOrders(_ context.Context, since *time.Time) ([]pruvan.WorkOrder, error) {
	f.calls++
	f.since = since
	return nil, f.answer()
}

func (f *fuzzSource) Status(_ context.Context, u pruvan.StatusUpdate) error {
	f.calls++
	f.updates = append(f.updates, u)
	return f.answer()
}

func (f *fuzzSource) UploadPictures(_ context.Context, u pruvan.Upload) error {
	f.calls++
	b, err := io.ReadAll(u.Body)
	f.uploads = append(f.uploads, u)
	f.files = append(f.files, b)
	if err != nil {
		return err
	}
	return f.answer()
}

// credsIn is an independent reading of the payload's credentials: any says some member of each
// name (case-insensitive) carries the configured value, all that every such member does.
func credsIn(payload []byte) (any, all bool) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(payload, &raw) != nil {
		return false, false
	}
	want := map[string]string{"username": testCreds.Username, "password": strings.ToLower(testCreds.Password), "token": testCreds.Token}
	seen, bad := map[string]bool{}, map[string]bool{}
	for k, v := range raw {
		name := strings.ToLower(k)
		w, ok := want[name]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = strings.TrimSpace(string(v))
			if s == "null" {
				s = ""
			}
		}
		if name == "password" {
			s = strings.ToLower(s)
		}
		if s == w {
			seen[name] = true
		} else {
			bad[name] = true
		}
	}
	return len(seen) == 3, len(seen) == 3 && len(bad) == 0
}

// FuzzOrderSourceHandler sends arbitrary order-source calls (method, body encoding, payload,
// file, the source's answer) to the production handler through httptest and checks: every
// answer is JSON with a known status; the source is only reached with the right credentials,
// and a payload with only the right credentials is never refused as unauthenticated;
// validate hands on a trimmed non-empty pushKey, getWorkOrders a UTC since (or nil), status
// only items with a trimmed workOrderNumber and a UTC completion date, uploadPictures a
// trimmed uuid, a Raw payload without credentials and the file bytes as sent, cut at the
// size limit; a refusal is a 200 carrying its message, a transient failure a 503 with
// Retry-After that does not show the internal error.
func FuzzOrderSourceHandler(f *testing.F) {
	cred := `"username":"ticketsync","password":"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8","token":"tok-1"`
	pic := `{` + cred + `,"uuid":"a1b2c3","key1":"ACME","key2":"880001","key4":"Lawn","fileName":"p.jpg","fileExt":"jpg",` +
		`"fileType":"picture","evidenceType":"After","gpsLatitude":38.5,"timestamp":"1714557845","notes":null,"newField":[1]}`
	survey := `{` + cred + `,"uuId":"s-9","key2":"880001","fielType":"survey","template":"ACME::42",` +
		`"survey":"{\"answers\":[{\"id\":\"q1\",\"answer\":\"yes\"},{\"id\":\"q2\",\"answer\":[\"a1b2c3\"]}]}"}`
	for _, s := range []struct {
		method, kind, behaviour uint8
		payload, file           string
	}{
		{0, 1, 0, `{` + cred + `,"pushKey":" https://pruvan.example/api/?apiKey=K1 "}`, ""},
		{0, 0, 1, `{` + cred + `,"pushkey":"K1"}`, ""},
		{0, 1, 2, `{` + cred + `,"PUSHKEY":"K1"}`, ""},
		{0, 1, 0, `{` + cred + `,"pushKey":""}`, ""},
		{0, 1, 0, `{"username":"ticketsync","password":"x","token":"tok-1","pushKey":"K1"}`, ""},
		{0, 1, 0, `{` + cred + `,"Username":"mallory","pushKey":"K1"}`, ""},
		{1, 1, 0, `{` + cred + `,"timestamp":null}`, ""},
		{1, 2, 0, `{` + cred + `,"timestamp":1714557845}`, ""},
		{1, 1, 0, `{` + cred + `,"timestamp":"1714557845.9"}`, ""},
		{1, 1, 2, `{` + cred + `,"timestamp":-5}`, ""},
		{1, 0, 0, `{` + cred + `,"timestamp":"2024-05-01T13:02:11+02:00"}`, ""},
		{1, 0, 0, `{` + cred + `,"timestamp":"NaN"}`, ""},
		{2, 1, 0, `{` + cred + `,"workOrders":[{"workOrderNumber":" 880001 ","status":"complete","completedDate":"2024-05-01 13:02:11","x":1}]}`, ""},
		{2, 1, 1, `{` + cred + `,"workOrders":[{"workOrderNumber":"880001","status":"complete"},{"status":"open"},{"workOrderNumber":7}]}`, ""},
		{2, 1, 2, `{` + cred + `,"workOrders":[{"workOrderNumber":"880001","completedDate":"2024-05-01"}]}`, ""},
		{2, 1, 0, `{` + cred + `,"workOrders":{}}`, ""},
		{2, 1, 0, `{` + cred + `}`, ""},
		{3, 2, 0, pic, "\xff\xd8\xff\xe0JFIF"},
		{3, 3, 0, pic, "\xff\xd8\xff\xe0JFIF file first"},
		{3, 2, 0, pic, strings.Repeat("x", fuzzMaxFile+1)},
		{3, 3, 1, pic, strings.Repeat("x", fuzzMaxFile+1)},
		{3, 1, 0, survey, ""},
		{3, 2, 2, `{` + cred + `,"uuid":"  "}`, "f"},
		{3, 2, 0, `{"username":"ticketsync","password":"x","token":"tok-1","uuid":"u"}`, "never read"},
		{3, 4, 0, "--B\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n" + pic + "\r\n--B\r\n" +
			"Content-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\r\nJPEG\r\n--B--\r\n", ""},
		{3, 4, 0, "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\r\nJPEG\r\n--B", ""},
		{2, 4, 0, "--B\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{}\r\n--B--\r\n", ""},
		{0, 0, 0, `[1,2]`, ""},
		{0, 0, 0, ``, ""},
		{4, 0, 0, `{}`, ""},
	} {
		f.Add(s.method, s.kind, s.behaviour, []byte(s.payload), []byte(s.file))
	}
	spool := f.TempDir()
	methods := []string{"validate", "getWorkOrders.json", "status", "uploadPictures", "nope"}
	f.Fuzz(func(t *testing.T, method, kind, behaviour uint8, payload, file []byte) {
		name := methods[int(method)%len(methods)]
		var (
			body bytes.Buffer
			ct   string
		)
		switch kind % 5 {
		case 0: // the raw JSON body
			body.Write(payload)
			ct = "application/json"
		case 1: // the form field, as Pruvan sends it
			body.WriteString(url.Values{"payload": {string(payload)}}.Encode())
			ct = "application/x-www-form-urlencoded"
		case 2, 3: // multipart: payload then file (Pruvan's order), or the file first (spooled)
			mw := multipart.NewWriter(&body)
			writePayload := func() { fw, _ := mw.CreateFormField("payload"); fw.Write(payload) }
			writeFile := func() { fw, _ := mw.CreateFormFile("file", "p.jpg"); fw.Write(file) }
			if kind%5 == 2 {
				writePayload()
				writeFile()
			} else {
				writeFile()
				writePayload()
			}
			mw.Close()
			ct = mw.FormDataContentType()
		case 4: // a hand-made (hostile) multipart body
			body.Write(payload)
			ct = "multipart/form-data; boundary=B"
		}
		src := &fuzzSource{behaviour: behaviour}
		h := pruvan.NewOrderSourceHandler(src, testCreds, pruvan.WithMaxFileSize(fuzzMaxFile), pruvan.WithSpoolDir(spool))
		r := httptest.NewRequest(http.MethodPost, "/v1/hooks/pruvan/conn-1/"+name, &body)
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		var ans map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatalf("%s: answer %d is not JSON: %q", name, w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("%s: unexpected status %d: %s", name, w.Code, w.Body)
		}
		if name == "nope" {
			if w.Code != http.StatusNotFound || src.calls != 0 {
				t.Fatalf("unknown method: %d, %d calls", w.Code, src.calls)
			}
			return
		}
		if strings.Contains(w.Body.String(), fuzzInternal) {
			t.Fatalf("%s: the answer shows the internal error: %s", name, w.Body)
		}

		// The payload the handler saw, when this test built the request.
		var pl []byte
		if kind%5 != 4 {
			pl = payload
		}
		anyCreds, onlyCreds := credsIn(pl)
		if src.calls > 0 && kind%5 != 4 && !anyCreds {
			t.Fatalf("%s: the source was reached without the credentials: %q", name, pl)
		}
		if w.Code == http.StatusUnauthorized && onlyCreds {
			t.Fatalf("%s: refused the right credentials: %q", name, pl)
		}
		overLimit := name == "uploadPictures" && (kind%5 == 2 || kind%5 == 3) && len(file) > fuzzMaxFile
		if src.calls > 0 && !overLimit { // an over-long file is answered 413 whatever the source said
			switch src.behaviour % 3 {
			case 1:
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), fuzzRefusal) {
					t.Fatalf("%s: a refusal answered %d %s", name, w.Code, w.Body)
				}
			case 2:
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
					t.Fatalf("%s: a transient failure answered %d %s", name, w.Code, w.Body)
				}
			}
		}

		switch name {
		case "validate":
			if src.calls > 0 && (src.pushKey == "" || strings.TrimSpace(src.pushKey) != src.pushKey) {
				t.Fatalf("validate: push key %q", src.pushKey)
			}
		case "getWorkOrders.json":
			if src.since != nil && src.since.Location() != time.UTC {
				t.Fatalf("getWorkOrders: since %v not UTC", src.since)
			}
			if src.calls > 0 && src.behaviour%3 == 0 {
				if w.Code != http.StatusOK || ans["workOrders"] == nil {
					t.Fatalf("getWorkOrders: answered %d %s", w.Code, w.Body)
				}
			}
		case "status":
			for _, u := range src.updates {
				if u.WorkOrderNumber == "" || strings.TrimSpace(u.WorkOrderNumber) != u.WorkOrderNumber {
					t.Fatalf("status: item with work order number %q", u.WorkOrderNumber)
				}
				if !u.Completed.IsZero() && u.Completed.Location() != time.UTC {
					t.Fatalf("status: completed %v not UTC", u.Completed)
				}
			}
		case "uploadPictures":
			if src.calls > 1 {
				t.Fatalf("uploadPictures: %d deliveries for one call", src.calls)
			}
			for i, u := range src.uploads {
				if strings.TrimSpace(u.Picture.UUID) == "" {
					t.Fatal("uploadPictures: item without uuid delivered")
				}
				var raw map[string]json.RawMessage
				if err := json.Unmarshal(u.Picture.Raw, &raw); err != nil {
					t.Fatalf("uploadPictures: Raw %q: %v", u.Picture.Raw, err)
				}
				for k := range raw {
					switch strings.ToLower(k) {
					case "username", "password", "token":
						t.Fatalf("uploadPictures: Raw keeps the credential %q", k)
					}
				}
				got := src.files[i]
				if len(got) > fuzzMaxFile {
					t.Fatalf("uploadPictures: %d bytes passed the %d-byte limit", len(got), fuzzMaxFile)
				}
				if kind%5 == 2 || kind%5 == 3 {
					if !u.HasFile || !bytes.HasPrefix(file, got) || (len(file) <= fuzzMaxFile && !bytes.Equal(got, file)) {
						t.Fatalf("uploadPictures: file of %d bytes delivered as %d bytes (has file %t)", len(file), len(got), u.HasFile)
					}
					if overLimit && w.Code != http.StatusRequestEntityTooLarge {
						t.Fatalf("uploadPictures: a %d-byte file answered %d", len(file), w.Code)
					}
				}
			}
		}
	})
}
