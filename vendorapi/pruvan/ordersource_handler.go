package pruvan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// Handler defaults.
const (
	// DefaultWorkOrdersDeadline leaves a margin under Pruvan's 30 s wait for getWorkOrders.
	DefaultWorkOrdersDeadline = 25 * time.Second
	// DefaultMaxFileSize bounds one uploaded file (framed photos are several MB).
	DefaultMaxFileSize = 64 << 20
	maxPayloadBytes    = 8 << 20 // payload JSON (a status batch or a survey)
	maxOtherPartBytes  = 64 << 10
)

const errBadCredentials = "invalid username or password"

// HandlerOption tunes NewOrderSourceHandler.
type HandlerOption func(*handler)

// WithWorkOrdersDeadline bounds WorkOrders (default 25 s, under Pruvan's 30 s).
func WithWorkOrdersDeadline(d time.Duration) HandlerOption {
	return func(h *handler) { h.deadline = d }
}

// WithMaxFileSize bounds one uploaded file (default 64 MiB); larger uploads get 413.
func WithMaxFileSize(n int64) HandlerOption { return func(h *handler) { h.maxFile = n } }

// WithSpoolDir is where a file part that arrives before its payload is kept on disk until
// the payload has been read (default os.TempDir()). Nothing is held in memory.
func WithSpoolDir(dir string) HandlerOption { return func(h *handler) { h.spoolDir = dir } }

// WithValidatorURL sets the Pruvan Validator link prefix; Upload.VerificationLink is the
// prefix followed by the item's escaped uuid.
func WithValidatorURL(prefix string) HandlerOption { return func(h *handler) { h.validator = prefix } }

// WithLocation is the time zone of completedDate (sent without one); default UTC.
func WithLocation(loc *time.Location) HandlerOption { return func(h *handler) { h.loc = loc } }

type handler struct {
	src       OrderSource
	creds     Credentials
	deadline  time.Duration
	maxFile   int64
	spoolDir  string
	validator string
	loc       *time.Location
}

// NewOrderSourceHandler serves Pruvan's calls for one connection: POST …/{validate |
// getWorkOrders | status | uploadPictures}[.ext], payload in the form field "payload" (or
// the raw JSON body). The method is the last path segment, so the handler can be mounted
// under any prefix (e.g. /v1/hooks/pruvan/{connection}/). Every call's credentials are
// checked against creds before src sees it; a mismatch is 401 with
// "invalid username or password".
func NewOrderSourceHandler(src OrderSource, creds Credentials, opts ...HandlerOption) http.Handler {
	h := &handler{src: src, creds: creds, deadline: DefaultWorkOrdersDeadline, maxFile: DefaultMaxFileSize, loc: time.UTC}
	for _, o := range opts {
		o(h)
	}
	return h
}

// MethodOf returns the order-source method a request path names ("" if none): the last
// segment, extension dropped, case-insensitive; "getStatus" is an alias of "status".
func MethodOf(p string) string {
	base, _, _ := strings.Cut(path.Base(p), ".")
	switch strings.ToLower(base) {
	case "validate":
		return MethodValidate
	case "getworkorders":
		return MethodGetWorkOrders
	case "status", "getstatus":
		return MethodStatus
	case "uploadpictures":
		return MethodUploadPictures
	}
	return ""
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := MethodOf(r.URL.Path)
	if method == "" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown order-source method"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, h.failure(method, "use POST"))
		return
	}
	if method == MethodUploadPictures {
		h.uploadPictures(w, r)
		return
	}
	b, err := readPayload(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, h.failure(method, err.Error()))
		return
	}
	p, err := parsePayload(b)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, h.failure(method, err.Error()))
		return
	}
	if !h.creds.matches(p.credentials()) {
		writeJSON(w, http.StatusUnauthorized, h.failure(method, errBadCredentials))
		return
	}
	switch method {
	case MethodValidate:
		h.validate(w, r.Context(), p)
	case MethodGetWorkOrders:
		h.getWorkOrders(w, r.Context(), p)
	case MethodStatus:
		h.status(w, r.Context(), p)
	}
}

// failure is each method's negative answer shape.
func (h *handler) failure(method, msg string) any {
	switch method {
	case MethodValidate:
		return map[string]any{"validated": false, "error": msg}
	case MethodGetWorkOrders:
		return map[string]any{"workOrders": []WorkOrder{}, "error": msg}
	case MethodStatus:
		return map[string]any{"status": false, "error": map[string]string{"workOrderNumber": "", "error": msg}}
	default:
		return map[string]any{"status": false, "error": msg}
	}
}

// answerError writes a refusal (200, message shown) or a passing failure (503, generic
// message: internal details stay internal).
func (h *handler) answerError(w http.ResponseWriter, method string, err error, body func(msg string) any) {
	if permanent(err) {
		writeJSON(w, http.StatusOK, body(err.Error()))
		return
	}
	w.Header().Set("Retry-After", "30")
	writeJSON(w, http.StatusServiceUnavailable, body("temporarily unable to process "+method+", please retry"))
}

func (h *handler) validate(w http.ResponseWriter, ctx context.Context, p payload) {
	key := strings.TrimSpace(p.str("pushKey"))
	if key == "" {
		writeJSON(w, http.StatusBadRequest, h.failure(MethodValidate, "missing pushKey"))
		return
	}
	if err := h.src.Validate(ctx, key); err != nil {
		h.answerError(w, MethodValidate, err, func(m string) any { return h.failure(MethodValidate, m) })
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"validated": true, "error": ""})
}

func (h *handler) getWorkOrders(w http.ResponseWriter, ctx context.Context, p payload) {
	ctx, cancel := context.WithTimeout(ctx, h.deadline)
	defer cancel()
	orders, err := h.src.WorkOrders(ctx, p.since())
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("work orders not ready within %s: %w", h.deadline, err)
		}
		h.answerError(w, MethodGetWorkOrders, err, func(m string) any { return h.failure(MethodGetWorkOrders, m) })
		return
	}
	if orders == nil {
		orders = []WorkOrder{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"workOrders": orders, "error": ""})
}

// status applies every item, so one unknown work order does not block the others, and
// reports the first refusal. A passing failure stops the batch (Pruvan sends it again).
func (h *handler) status(w http.ResponseWriter, ctx context.Context, p payload) {
	var items []map[string]json.RawMessage
	raw, ok := p["workorders"]
	if !ok || json.Unmarshal(raw, &items) != nil {
		writeJSON(w, http.StatusBadRequest, h.failure(MethodStatus, "workOrders must be a list of objects"))
		return
	}
	var refused map[string]string
	for _, it := range items {
		u := h.statusUpdate(it)
		if u.WorkOrderNumber == "" {
			if refused == nil {
				refused = map[string]string{"workOrderNumber": "", "error": "item without workOrderNumber"}
			}
			continue
		}
		err := h.src.Status(ctx, u)
		switch {
		case err == nil:
		case permanent(err):
			if refused == nil {
				refused = map[string]string{"workOrderNumber": u.WorkOrderNumber, "error": err.Error()}
			}
		default:
			won := u.WorkOrderNumber
			h.answerError(w, MethodStatus, err, func(m string) any {
				return map[string]any{"status": false, "error": map[string]string{"workOrderNumber": won, "error": m}}
			})
			return
		}
	}
	if refused != nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": false, "error": refused})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": true, "error": nil})
}

func (h *handler) statusUpdate(item map[string]json.RawMessage) StatusUpdate {
	p := make(payload, len(item))
	for k, v := range item {
		p[strings.ToLower(k)] = v
	}
	u := StatusUpdate{WorkOrderNumber: strings.TrimSpace(p.str("workOrderNumber")), Status: p.str("status"),
		CompletedDate: p.str("completedDate"), Fields: item}
	for _, layout := range []string{"2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(u.CompletedDate), h.loc); err == nil {
			u.Completed = t.UTC()
			break
		}
	}
	return u
}

// readPayload returns the payload JSON of a non-upload call: the form field "payload"
// (urlencoded or multipart) or, for any other content type, the body itself.
func readPayload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPayloadBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("cannot read form: %v", err)
		}
		return formPayload(r.PostForm)
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxPayloadBytes); err != nil {
			return nil, fmt.Errorf("cannot read form: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		return formPayload(r.MultipartForm.Value)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read body: %v", err)
	}
	return b, nil
}

func formPayload(v url.Values) ([]byte, error) {
	for k, vs := range v {
		if strings.EqualFold(k, "payload") && len(vs) > 0 {
			return []byte(vs[0]), nil
		}
	}
	return nil, errors.New("missing form field payload")
}

// ---- uploadPictures ----

var errFileTooLarge = errors.New("file too large")

// limitedBody reads at most max bytes and fails beyond.
type limitedBody struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.over = true
			return 0, errFileTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// uploadPictures streams the multipart body part by part: the file goes straight to the
// OrderSource when the payload came first (Pruvan's order); a file that comes first is
// spooled to disk until the payload has been read and authenticated.
func (h *handler) uploadPictures(w http.ResponseWriter, r *http.Request) {
	const m = MethodUploadPictures
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		// An item without a file (e.g. a survey) may come as a plain form.
		b, err := readPayload(w, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, h.failure(m, err.Error()))
			return
		}
		h.deliverUpload(w, r.Context(), b, nil)
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var (
		pl                   []byte
		spool                *os.File
		spoolName, spoolType string
		fileSeen             bool
	)
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, h.failure(m, "malformed multipart body: "+err.Error()))
			return
		}
		switch {
		case strings.EqualFold(part.FormName(), "payload") && part.FileName() == "":
			b, err := io.ReadAll(io.LimitReader(part, maxPayloadBytes+1))
			if err != nil || len(b) > maxPayloadBytes {
				writeJSON(w, http.StatusBadRequest, h.failure(m, "payload unreadable or too large"))
				return
			}
			pl = b
			if p, err := parsePayload(pl); err == nil && !h.creds.matches(p.credentials()) {
				writeJSON(w, http.StatusUnauthorized, h.failure(m, errBadCredentials))
				return // before a single byte of the file is read
			}
		case part.FileName() != "" && !fileSeen:
			fileSeen = true
			if pl != nil {
				h.deliverUpload(w, r.Context(), pl, &filePart{name: part.FileName(), ctype: part.Header.Get("Content-Type"), r: part})
				return
			}
			f, err := os.CreateTemp(h.spoolDir, "pruvan-upload-*")
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, h.failure(m, "cannot store the upload, please retry"))
				return
			}
			spool = f
			lb := &limitedBody{r: part, left: h.maxFile}
			if _, err := io.Copy(f, lb); err != nil {
				status := http.StatusBadRequest
				if lb.over {
					status = http.StatusRequestEntityTooLarge
				}
				writeJSON(w, status, h.failure(m, "file: "+err.Error()))
				return
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, h.failure(m, "cannot store the upload, please retry"))
				return
			}
			spoolName, spoolType = part.FileName(), part.Header.Get("Content-Type")
		default: // other fields, or a second file: not part of the contract
			if _, err := io.Copy(io.Discard, io.LimitReader(part, h.maxFile+maxOtherPartBytes)); err != nil {
				writeJSON(w, http.StatusBadRequest, h.failure(m, "malformed multipart body: "+err.Error()))
				return
			}
		}
	}
	if pl == nil {
		writeJSON(w, http.StatusBadRequest, h.failure(m, "missing form field payload"))
		return
	}
	var fp *filePart
	if spool != nil {
		fp = &filePart{name: spoolName, ctype: spoolType, r: spool}
	}
	h.deliverUpload(w, r.Context(), pl, fp)
}

type filePart struct {
	name, ctype string
	r           io.Reader
}

// deliverUpload authenticates the payload, hands the item to the OrderSource and answers.
func (h *handler) deliverUpload(w http.ResponseWriter, ctx context.Context, pl []byte, file *filePart) {
	const m = MethodUploadPictures
	p, err := parsePayload(pl)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, h.failure(m, err.Error()))
		return
	}
	if !h.creds.matches(p.credentials()) {
		writeJSON(w, http.StatusUnauthorized, h.failure(m, errBadCredentials))
		return
	}
	pic, err := picture(pl)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, h.failure(m, err.Error()))
		return
	}
	if strings.TrimSpace(pic.UUID) == "" {
		writeJSON(w, http.StatusBadRequest, h.failure(m, "payload without uuid"))
		return
	}
	up := Upload{Picture: pic, Body: http.NoBody}
	if h.validator != "" {
		up.VerificationLink = h.validator + url.QueryEscape(pic.UUID)
	}
	var lb *limitedBody
	if file != nil {
		lb = &limitedBody{r: file.r, left: h.maxFile}
		up.HasFile, up.FileName, up.ContentType, up.Body = true, file.name, file.ctype, lb
	}
	err = h.src.UploadPictures(ctx, up)
	switch {
	case lb != nil && lb.over:
		writeJSON(w, http.StatusRequestEntityTooLarge, h.failure(m, fmt.Sprintf("file larger than %d bytes", h.maxFile)))
	case err != nil:
		h.answerError(w, m, err, func(msg string) any { return h.failure(m, msg) })
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": true, "error": ""})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
