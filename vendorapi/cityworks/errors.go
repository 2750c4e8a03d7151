package cityworks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Envelope statuses.
const (
	StatusOK                 = 0
	StatusError              = 1
	StatusUnauthorized       = 2
	StatusInvalidCredentials = 3
)

// Message codes of the contract. Codes are per method (6 is Cancel's failure on
// ServiceRequest/Cancel but InvalidActivityId on Comment/Add), so check them together with
// the operation.
const (
	CodeInactiveUser                                         = 3  // Authenticate
	CodeMissingComments                                      = 3  // Comment/Add
	CodeInvalidCredentials                                   = 4  // Authenticate
	CodeCloseFailed                                          = 4  // ServiceRequest/Close
	CodeNotAuthorizedToCreate                                = 5  // ServiceRequest/Create, WorkOrder/Create
	CodeCancelFailed                                         = 6  // ServiceRequest/Cancel
	CodeInvalidActivityID                                    = 6  // Comment/Add
	CodeInvalidActivityMapLogicXY                            = 9  // Create
	CodeNoUIDSetForEntityType                                = 18 // WorkOrder/Create
	CodeInvalidField                                         = 30
	CodeErrorRequiredFields                                  = 33 // ServiceRequest/Close
	CodeErrorRequiredCustomFields                            = 34 // Close
	CodeItemNotFound                                         = 35
	CodeIncompleteTasks                                      = 36 // WorkOrder/Close
	CodeWarningItemNotFound                                  = 60 // a warning: Status 0 with an empty Value
	CodeWarningEmptyOrNullField                              = 61
	MessageTypeSuccess, MessageTypeWarning, MessageTypeError = 0, 1, 2
)

// Message is one item of ErrorMessages, WarningMessages or SuccessMessages.
type Message struct {
	Code         int
	Name         string
	DisplayText  string
	DebugDetails string
	MessageType  int
	Service      string
	InnerMessage json.RawMessage `json:",omitempty"`
}

// envelope is every Cityworks answer.
type envelope struct {
	Status          int
	Message         string
	ErrorMessages   []Message
	WarningMessages []Message
	SuccessMessages []Message
	Value           json.RawMessage
	// WebServiceRequestId is echoed by WorkOrder/Create.
	WebServiceRequestId string
}

// EnvelopeError is the Cityworks detail of an envelope failure; it is the Err of the
// *vendorapi.Error the client returns, so errors.As finds it.
type EnvelopeError struct {
	Status   int
	Message  string
	Messages []Message // ErrorMessages
}

func (e *EnvelopeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Cityworks Status %d", e.Status)
	for _, m := range e.Messages {
		fmt.Fprintf(&b, ", code %d", m.Code)
		if m.Name != "" {
			fmt.Fprintf(&b, " %s", m.Name)
		}
	}
	return b.String()
}

// HasCode reports whether one of the error messages carries code.
func (e *EnvelopeError) HasCode(code int) bool {
	for _, m := range e.Messages {
		if m.Code == code {
			return true
		}
	}
	return false
}

// Codes returns the codes of the error messages.
func (e *EnvelopeError) Codes() []int {
	out := make([]int, 0, len(e.Messages))
	for _, m := range e.Messages {
		out = append(out, m.Code)
	}
	return out
}

// HasCode reports whether err is a Cityworks envelope failure carrying message code.
func HasCode(err error, code int) bool {
	var se *EnvelopeError
	return errors.As(err, &se) && se.HasCode(code)
}

// EnvelopeStatus returns the envelope Status of err, or -1 when err is not an envelope failure
// (transport, HTTP or HTML problems).
func EnvelopeStatus(err error) int {
	var se *EnvelopeError
	if errors.As(err, &se) {
		return se.Status
	}
	return -1
}

// IsNotFound reports whether err says the item does not exist (Status 1 code 35).
func IsNotFound(err error) bool { return vendorapi.IsNotFound(err) }

// envelopeError classifies a non-zero Status; see the package documentation.
func envelopeError(op string, env *envelope) *vendorapi.Error {
	se := &EnvelopeError{Status: env.Status, Message: env.Message, Messages: env.ErrorMessages}
	e := &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusOK, Err: se}
	switch env.Status {
	case StatusError:
		e.HTTPStatus = http.StatusUnprocessableEntity
		e.Code = "Error"
		switch {
		case se.HasCode(CodeItemNotFound):
			e.HTTPStatus, e.Code = http.StatusNotFound, "ErrorItemNotFound"
		case se.HasCode(CodeNotAuthorizedToCreate): // only Create uses code 5
			e.HTTPStatus, e.Code = http.StatusForbidden, "NotAuthorized"
		case len(se.Messages) > 0 && se.Messages[0].Name != "":
			e.Code = se.Messages[0].Name
		}
	case StatusUnauthorized:
		e.HTTPStatus, e.Code = http.StatusUnauthorized, "Unauthorized"
	case StatusInvalidCredentials:
		e.HTTPStatus, e.Code = http.StatusUnauthorized, "InvalidCredentials"
	default:
		// Not a status the contract knows: the answer is unusable, but may be a one-off.
		e.Code, e.Retryable = "bad_response", true
	}
	e.Message = describe(env)
	return e
}

// describe renders an envelope's messages for operators: "Cityworks Status 1, code 35
// ErrorItemNotFound: Request 9 not found".
func describe(env *envelope) string {
	var b strings.Builder
	b.WriteString("Cityworks Status " + strconv.Itoa(env.Status))
	var texts []string
	for _, m := range env.ErrorMessages {
		fmt.Fprintf(&b, ", code %d", m.Code)
		if m.Name != "" {
			b.WriteString(" " + m.Name)
		}
		switch {
		case m.DisplayText != "":
			texts = append(texts, m.DisplayText)
		case m.DebugDetails != "":
			texts = append(texts, m.DebugDetails)
		}
	}
	if env.Message != "" {
		texts = append(texts, env.Message)
	}
	if len(texts) > 0 {
		b.WriteString(": " + strings.Join(texts, "; "))
	}
	return b.String()
}
