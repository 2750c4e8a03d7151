package cyprexx

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Work order statuses known today. The set is open: relay any other value verbatim.
const (
	StatusAssigned   = "Assigned"
	StatusInProgress = "In Progress"
	StatusOnHold     = "On Hold"
	StatusCompleted  = "Completed"
	StatusCancelled  = "Cancelled"
)

// IsClosed reports whether a status ends the work order (the Pruvan project is closed and
// no longer returned by full refreshes).
func IsClosed(status string) bool { return status == StatusCompleted || status == StatusCancelled }

// Secret is a sensitive code (lockbox, key). It prints and logs as "[redacted]" so it never
// lands in logs by accident; JSON keeps the value, and Reveal returns it.
type Secret string

// Reveal returns the code.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Format hides the value for every fmt verb, %#v and %+v included.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue hides the value in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes null for an empty code, as Cyprexx does.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// WorkOrder is a Cyprexx work order. Dates are "YYYY-MM-DD" strings, kept as sent.
type WorkOrder struct {
	WorkOrderID     string    `json:"workOrderId"`
	WorkOrderNumber string    `json:"workOrderNumber"`
	Service         string    `json:"service"`
	Address1        string    `json:"address1"`
	Address2        string    `json:"address2"`
	City            string    `json:"city"`
	State           string    `json:"state"`
	Zip             string    `json:"zip"`
	ServiceDue      string    `json:"serviceDue"`
	JobNumber       string    `json:"jobNumber"`
	Status          string    `json:"status"`
	LockboxCode     Secret    `json:"lockboxCode"`
	KeyCode         Secret    `json:"keyCode"`
	Note            string    `json:"note"`
	Tasks           []Task    `json:"tasks"`
	Forms           []Form    `json:"forms"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Task is a unit of work with its photo requirements.
type Task struct {
	TaskID          string   `json:"taskId"`
	Name            string   `json:"name"`
	Instructions    string   `json:"instructions"`
	PhotoCategories []string `json:"photoCategories"`
	MinPhotos       int      `json:"minPhotos"`
}

// Form is a survey the vendor fills in; Version changes when its questions do.
type Form struct {
	FormID    string     `json:"formId"`
	Name      string     `json:"name"`
	Version   int        `json:"version"`
	Questions []Question `json:"questions"`
}

// Answer types of a form question.
const (
	AnswerText        = "text"
	AnswerNumber      = "number"
	AnswerYesNo       = "yesNo"
	AnswerSelect      = "select"
	AnswerMultiSelect = "multiSelect"
	AnswerDate        = "date"
	AnswerPhoto       = "photo"
)

// Question is one form question.
type Question struct {
	QuestionID string   `json:"questionId"`
	Text       string   `json:"text"`
	AnswerType string   `json:"answerType"`
	Options    []string `json:"options"`
	Required   bool     `json:"required"`
}

// Task returns the task with the given id.
func (w WorkOrder) Task(id string) (Task, bool) {
	for _, t := range w.Tasks {
		if t.TaskID == id {
			return t, true
		}
	}
	return Task{}, false
}

// Form returns the form with the given id.
func (w WorkOrder) Form(id string) (Form, bool) {
	for _, f := range w.Forms {
		if f.FormID == id {
			return f, true
		}
	}
	return Form{}, false
}

// Page is one page of the work-order feed.
type Page struct {
	Items      []WorkOrder
	NextCursor string // "" on the last page
}

// PushKey is a registered push key (the Validate step).
type PushKey struct {
	PushKey     string    `json:"pushKey"`
	CallbackURL string    `json:"callbackUrl"`
	Status      string    `json:"status"`
	ValidatedAt time.Time `json:"validatedAt"`
	// Created is false when the key was already registered (its callback URL replaced).
	Created bool `json:"-"`
}

// Photo is one photo to relay. Body is streamed as is (never buffered or re-encoded); the
// caller closes it if it needs closing.
type Photo struct {
	TaskID   string
	Category string // one of the task's photoCategories
	TakenAt  time.Time
	// Latitude and Longitude are optional.
	Latitude, Longitude *float64
	// SourceID is the Pruvan photo uuid: Cyprexx stores a photo once per sourceId, so a retry
	// after an unknown outcome is safe.
	SourceID string
	// FileName defaults to "<sourceId>.jpg"; ContentType to image/jpeg.
	FileName    string
	ContentType string
	Body        io.Reader
}

// PhotoReceipt identifies a stored photo.
type PhotoReceipt struct {
	PhotoID  string `json:"photoId"`
	SourceID string `json:"sourceId"`
	// Created is false when Cyprexx already had this sourceId (a retry).
	Created bool `json:"-"`
}

// Survey is one survey submission for a form.
type Survey struct {
	SubmissionID string    // the Pruvan survey uuid
	SubmittedAt  time.Time // zero: now
	// FormVersion, when set, is the form version the answers were given for; Cyprexx
	// answers 409 form_version_mismatch if the form has changed since.
	FormVersion int
	Answers     []Answer
}

// Answer answers one question. Value is a string, a number, a bool or a []string
// (multiSelect); PhotoIDs are Cyprexx photo ids (from PhotoReceipt) for photo questions.
type Answer struct {
	QuestionID string   `json:"questionId"`
	Value      any      `json:"value"`
	PhotoIDs   []string `json:"photoIds,omitempty"`
}

// SurveyReceipt tells how Cyprexx took a submission.
type SurveyReceipt struct {
	// Created is true for the form's first submission; false when it replaced an earlier
	// one or repeated the current one (same submissionId).
	Created bool
}
