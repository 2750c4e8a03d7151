package pruvan

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Order-source methods: the last path segment of Pruvan's calls (an extension such as
// ".php" that Pruvan appends is ignored).
const (
	MethodValidate       = "validate"
	MethodGetWorkOrders  = "getWorkOrders"
	MethodStatus         = "status"
	MethodUploadPictures = "uploadPictures"
)

// StatusComplete is the Pruvan project status that marks field work done.
const StatusComplete = "complete"

// Credentials are the integration credentials Pruvan sends in every payload (username,
// password — a hash such as 40 hex digits, as configured — and token). All three are
// required: a handler with incomplete credentials rejects every call.
type Credentials struct {
	Username string
	Password string
	Token    string
}

func (c Credentials) complete() bool { return c.Username != "" && c.Password != "" && c.Token != "" }

// matches compares in constant time (hashing first so lengths do not leak either). The
// password is a hex digest, whose letter case varies between systems.
func (c Credentials) matches(user, password, token string) bool {
	if !c.complete() {
		return false
	}
	eq := func(a, b string) int {
		ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
		return subtle.ConstantTimeCompare(ha[:], hb[:])
	}
	ok := eq(c.Username, user) & eq(strings.ToLower(c.Password), strings.ToLower(password)) & eq(c.Token, token)
	return ok == 1
}

// OrderSource is what ticketsync implements to be Pruvan's order source for one connection.
// NewOrderSourceHandler authenticates every call before any method runs.
//
// Errors: return ErrUnknownWorkOrder (wrapped or not), a Reject error or a non-retryable
// *vendorapi.Error for a permanent "no" (Pruvan gets the message in a 200 answer); any other
// error is taken as transient (503, the message is not shown to Pruvan).
type OrderSource interface {
	// Validate stores the push key Pruvan issued (a URL or bare key) for PushClient calls.
	Validate(ctx context.Context, pushKey string) error
	// WorkOrders returns the projects changed or created since the given time, or, when since
	// is nil (full refresh), every current project. It must answer within Pruvan's 30 s
	// deadline; the handler cancels ctx a little earlier (WithWorkOrdersDeadline).
	WorkOrders(ctx context.Context, since *time.Time) ([]WorkOrder, error)
	// Status applies one item of a status batch.
	Status(ctx context.Context, u StatusUpdate) error
	// UploadPictures receives one published item: a photo (with its file) or a survey. Body
	// streams the file unaltered; it must be consumed before returning, or left unread on
	// purpose (e.g. a duplicate uuid already stored). Pruvan retries with the same uuid.
	UploadPictures(ctx context.Context, u Upload) error
}

// ErrUnknownWorkOrder is the answer for a work order number this source does not know.
var ErrUnknownWorkOrder = errors.New("unknown work order")

// RejectedError is a permanent refusal whose message Pruvan may show.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return e.Reason }

// Reject returns a permanent refusal with a message for Pruvan.
func Reject(format string, a ...any) error { return &RejectedError{Reason: fmt.Sprintf(format, a...)} }

// permanent reports whether err is a refusal rather than a passing failure.
func permanent(err error) bool {
	var re *RejectedError
	var ve *vendorapi.Error
	switch {
	case errors.Is(err, ErrUnknownWorkOrder), errors.As(err, &re):
		return true
	case errors.As(err, &ve):
		return !ve.Retryable
	}
	return false
}

// StatusUpdate is one item of a status call.
type StatusUpdate struct {
	WorkOrderNumber string
	// Status is the Pruvan project status, e.g. "complete".
	Status string
	// CompletedDate is completedDate as sent ("YYYY-MM-DD HH:MM:SS"); Completed is it parsed
	// (zero when absent or unreadable).
	CompletedDate string
	Completed     time.Time
	// Fields is the item exactly as sent, unknown fields included.
	Fields map[string]json.RawMessage
}

// IsComplete reports whether the update marks field work done.
func (u StatusUpdate) IsComplete() bool { return strings.EqualFold(u.Status, StatusComplete) }

// Picture is the JSON payload of an uploadPictures call (all strings on the wire, numbers
// accepted too). Credentials are checked and not kept.
type Picture struct {
	UUID                                          string // globally unique item serial
	Key1, Key2, Key3, Key4, Key5                  string // Key2 = workOrderNumber, Key4 = service (task) name
	Attribute1, Attribute2, Attribute3            string // address1, address2, city
	Attribute4, Attribute5, Attribute6            string // state, zip, country
	FileName, FileExt, FileType                   string // FileType: "picture" or a survey item (typo "fielType" accepted)
	EvidenceType                                  string // e.g. Before, After, Survey
	Template                                      string // "{client}::{surveyTemplateId}"
	SurveyID                                      string
	GPSLatitude, GPSLongitude, GPSAccuracy        string
	GPSTimestamp, CreationDate, Timestamp         string
	CreatedBy, CreatedBySubUser, ParentUUID       string
	CSRCertifiedLocation, CSRCertifiedTime, Notes string
	// Survey is the survey JSON (answers [{id, answer}]); a JSON string holding JSON is
	// unwrapped. Empty for photos.
	Survey json.RawMessage
	// Extra holds the payload members this type does not name (keys as sent), so nothing
	// Pruvan adds is lost; Raw is the whole payload without the credentials.
	Extra map[string]json.RawMessage
	Raw   json.RawMessage
}

// WorkOrderNumber is the project the item belongs to (key2).
func (p Picture) WorkOrderNumber() string { return p.Key2 }

// ServiceName is the task the item was taken for (key4).
func (p Picture) ServiceName() string { return p.Key4 }

// IsSurvey reports whether the item is a survey submission rather than a photo.
func (p Picture) IsSurvey() bool {
	if strings.EqualFold(p.FileType, "survey") {
		return true
	}
	return len(p.Survey) > 0 && !strings.EqualFold(p.FileType, "picture")
}

// SurveyTemplate is the template id of Template ("{client}::{id}" → "id").
func (p Picture) SurveyTemplate() string {
	if _, id, ok := strings.Cut(p.Template, "::"); ok {
		return id
	}
	return p.Template
}

// SurveyAnswer is one answer of a survey; Answer is kept as JSON (string, number, bool, list,
// or photo serials for photo questions).
type SurveyAnswer struct {
	ID     string          `json:"id"`
	Answer json.RawMessage `json:"answer"`
}

// Text renders the answer as text: strings as they are, lists joined by ", ", others as JSON.
func (a SurveyAnswer) Text() string {
	var s string
	if json.Unmarshal(a.Answer, &s) == nil {
		return s
	}
	var list []any
	if json.Unmarshal(a.Answer, &list) == nil {
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, ", ")
	}
	return string(a.Answer)
}

// Strings returns a list answer's items (e.g. photo serials); a single string becomes one item.
func (a SurveyAnswer) Strings() []string {
	var list []string
	if json.Unmarshal(a.Answer, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(a.Answer, &s) == nil && s != "" {
		return []string{s}
	}
	return nil
}

// SurveyAnswers parses the survey: {"answers":[{id,answer}…]} or a bare list.
func (p Picture) SurveyAnswers() ([]SurveyAnswer, error) {
	if len(p.Survey) == 0 {
		return nil, nil
	}
	var obj struct {
		Answers []SurveyAnswer `json:"answers"`
	}
	if err := json.Unmarshal(p.Survey, &obj); err == nil {
		return obj.Answers, nil
	}
	var list []SurveyAnswer
	if err := json.Unmarshal(p.Survey, &list); err != nil {
		return nil, fmt.Errorf("pruvan: survey is neither {answers:[…]} nor a list: %w", err)
	}
	return list, nil
}

// Upload is one uploadPictures call.
type Upload struct {
	Picture Picture
	// HasFile is false for an item sent without a file part (e.g. some survey submissions).
	HasFile bool
	// FileName and ContentType come from the file part's headers.
	FileName    string
	ContentType string
	// Body streams the file's bytes exactly as Pruvan sent them (the framed image when the
	// client enabled the Pruvan frame). Reading past the handler's size limit fails.
	Body io.Reader
	// VerificationLink is the Pruvan Validator link for the item (WithValidatorURL + uuid),
	// empty when not configured.
	VerificationLink string
}

// payload is a decoded order-source payload keyed by lower-cased member name: Pruvan and the
// systems it talks to disagree on case ("pushKey"/"pushkey", "uuid"/"uuId").
type payload map[string]json.RawMessage

func parsePayload(b []byte) (payload, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	p := make(payload, len(raw))
	for k, v := range raw {
		p[strings.ToLower(k)] = v
	}
	return p, nil
}

// str reads a member as text: strings as they are, numbers and booleans as written, null or
// absent as "".
func (p payload) str(name string) string { return rawString(p[strings.ToLower(name)]) }

func rawString(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(v))
}

func (p payload) credentials() (string, string, string) {
	return p.str("username"), p.str("password"), p.str("token")
}

// since reads getWorkOrders' timestamp: unix seconds (number or numeric string); null, absent
// or unreadable means a full refresh (the safe reading: more orders, never fewer).
func (p payload) since() *time.Time {
	v := p["timestamp"]
	s := rawString(v)
	if s == "" {
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		t := time.Unix(int64(f), 0).UTC()
		if f < 0 {
			t = time.Unix(0, 0).UTC()
		}
		return &t
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

var pictureFields = map[string]func(*Picture) *string{
	"uuid": func(p *Picture) *string { return &p.UUID },
	"key1": func(p *Picture) *string { return &p.Key1 }, "key2": func(p *Picture) *string { return &p.Key2 },
	"key3": func(p *Picture) *string { return &p.Key3 }, "key4": func(p *Picture) *string { return &p.Key4 },
	"key5":       func(p *Picture) *string { return &p.Key5 },
	"attribute1": func(p *Picture) *string { return &p.Attribute1 }, "attribute2": func(p *Picture) *string { return &p.Attribute2 },
	"attribute3": func(p *Picture) *string { return &p.Attribute3 }, "attribute4": func(p *Picture) *string { return &p.Attribute4 },
	"attribute5": func(p *Picture) *string { return &p.Attribute5 }, "attribute6": func(p *Picture) *string { return &p.Attribute6 },
	"filename": func(p *Picture) *string { return &p.FileName }, "fileext": func(p *Picture) *string { return &p.FileExt },
	"filetype": func(p *Picture) *string { return &p.FileType }, "evidencetype": func(p *Picture) *string { return &p.EvidenceType },
	"template": func(p *Picture) *string { return &p.Template }, "surveyid": func(p *Picture) *string { return &p.SurveyID },
	"gpslatitude": func(p *Picture) *string { return &p.GPSLatitude }, "gpslongitude": func(p *Picture) *string { return &p.GPSLongitude },
	"gpsaccuracy": func(p *Picture) *string { return &p.GPSAccuracy }, "gpstimestamp": func(p *Picture) *string { return &p.GPSTimestamp },
	"creationdate": func(p *Picture) *string { return &p.CreationDate }, "timestamp": func(p *Picture) *string { return &p.Timestamp },
	"createdby": func(p *Picture) *string { return &p.CreatedBy }, "createdbysubuser": func(p *Picture) *string { return &p.CreatedBySubUser },
	"parentuuid": func(p *Picture) *string { return &p.ParentUUID }, "csrcertifiedlocation": func(p *Picture) *string { return &p.CSRCertifiedLocation },
	"csrcertifiedtime": func(p *Picture) *string { return &p.CSRCertifiedTime }, "notes": func(p *Picture) *string { return &p.Notes },
}

var credentialFields = map[string]bool{"username": true, "password": true, "token": true}

// picture builds the typed payload of an uploadPictures call from the raw JSON object b.
func picture(b []byte) (Picture, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Picture{}, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	var pic Picture
	kept := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		lk := strings.ToLower(k)
		if credentialFields[lk] {
			continue
		}
		kept[k] = v
		switch {
		case lk == "survey":
			pic.Survey = surveyJSON(v)
		case lk == "fieltype": // a typo some systems send; fileType wins when both are there
			if pic.FileType == "" {
				pic.FileType = rawString(v)
			}
		case pictureFields[lk] != nil:
			*pictureFields[lk](&pic) = rawString(v)
		default:
			if pic.Extra == nil {
				pic.Extra = map[string]json.RawMessage{}
			}
			pic.Extra[k] = v
		}
	}
	if ft, ok := lookup(raw, "filetype"); ok && rawString(ft) != "" {
		pic.FileType = rawString(ft)
	}
	pic.Raw, _ = json.Marshal(kept)
	return pic, nil
}

func lookup(m map[string]json.RawMessage, lower string) (json.RawMessage, bool) {
	for k, v := range m {
		if strings.ToLower(k) == lower {
			return v, true
		}
	}
	return nil, false
}

// surveyJSON unwraps a survey sent as a JSON string that holds JSON; null and "" are empty.
func surveyJSON(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return v
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return v
}
