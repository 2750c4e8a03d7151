package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// msg is an envelope message item.
type msg struct {
	Code         int
	Name         string
	DisplayText  string
	DebugDetails string
	MessageType  int
	Service      string
	InnerMessage any
}

// envelope is every API answer.
type envelope struct {
	Status              int
	Message             *string
	ErrorMessages       []msg
	WarningMessages     []msg
	SuccessMessages     []msg
	Value               any
	WebServiceRequestId string `json:",omitempty"`
	// DebugPadding inflates the answer (the LargeResponseBytes fault); clients ignore it.
	DebugPadding string `json:",omitempty"`
}

// Message codes and names the simulator uses (per method, as in the contract).
const (
	codeInactiveUser        = 3
	codeMissingComments     = 3
	codeInvalidCredentials  = 4
	codeCloseFailed         = 4
	codeNotAuthorized       = 5
	codeCancelFailed        = 6
	codeInvalidActivityID   = 6
	codeWOClosedOrCancelled = 8
	codeInvalidMapLogicXY   = 9
	codeNoUIDForEntityType  = 18
	codeInvalidField        = 30
	codeItemNotFound        = 35
	codeWarningNotFound     = 60
)

var codeNames = map[int]string{
	codeInvalidField: "InvalidField", codeItemNotFound: "ErrorItemNotFound",
	codeInvalidMapLogicXY: "InvalidActivityMapLogicXY", codeNoUIDForEntityType: "ErrorNoUidSetForEntityType",
	codeNotAuthorized: "NotAuthorizedToCreateRequest", codeWarningNotFound: "WarningItemNotFound",
	33: "ErrorRequiredFields", 34: "ErrorRequiredCustomFields", 36: "ErrorIncompleteTasks",
	61: "WarningEmptyOrNullField",
}

// apiError is a Status 1 (or 3) answer.
type apiError struct {
	status int
	code   int
	name   string
	text   string
}

// fail is a Status 1 error with a message code; the name defaults from codeNames.
func fail(code int, format string, a ...any) *apiError {
	return &apiError{status: 1, code: code, name: codeNames[code], text: fmt.Sprintf(format, a...)}
}

func (e *apiError) Error() string {
	return fmt.Sprintf("Status %d code %d %s: %s", e.status, e.code, e.name, e.text)
}

// reply is what a method handler returns on success.
type reply struct {
	value    any
	warnings []msg
	wsReqID  string
	rawFile  *Attachment // a download: the file, not an envelope
}

func (s *Server) writeEnvelope(w http.ResponseWriter, service string, rep reply, e *apiError, padding int) {
	env := envelope{ErrorMessages: []msg{}, WarningMessages: []msg{}, SuccessMessages: []msg{}}
	if e != nil {
		env.Status = e.status
		text := e.text
		env.Message = &text
		if e.code != 0 { // Status 2 carries only the Message
			env.ErrorMessages = []msg{{Code: e.code, Name: e.name, DisplayText: e.text, MessageType: 2, Service: service}}
		}
	} else {
		env.Value = rep.value // already in wire form (see handleAPI)
		if rep.warnings != nil {
			env.WarningMessages = rep.warnings
		}
		env.WebServiceRequestId = rep.wsReqID
	}
	if padding > 0 {
		env.DebugPadding = strings.Repeat(" ", padding)
	}
	simkit.WriteJSON(w, 200, env)
}

// dateKeys are the fields the API writes as Cityworks dates.
var dateKeys = map[string]bool{
	"DateTimeInit": true, "DateTimeClosed": true, "DateCancelled": true, "DateWOClosed": true,
	"InitiateDate": true, "DateCreated": true, "LastModified": true, "DateTimeAttached": true,
	"DateModified": true,
}

// hiddenKeys are model fields that are not part of the API objects.
var hiddenKeys = map[string]bool{"Texts": true, "RequestIds": true}

// out converts a model value to its wire form: dates as offset-less site-local wall clock (or
// ISO with Z), zero dates as 0001-01-01T00:00:00, work-order Texts as Text1..Text20.
func (s *Server) out(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // model types always marshal
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		panic(err)
	}
	return s.rewrite(g)
}

func (s *Server) rewrite(g any) any {
	switch v := g.(type) {
	case []any:
		for i := range v {
			v[i] = s.rewrite(v[i])
		}
	case map[string]any:
		if texts, ok := v["Texts"].(map[string]any); ok {
			for k, t := range texts {
				v["Text"+k] = t
			}
		}
		for k, x := range v {
			switch {
			case hiddenKeys[k]:
				delete(v, k)
			case dateKeys[k]:
				if str, ok := x.(string); ok {
					v[k] = s.fmtDate(str)
				}
			default:
				v[k] = s.rewrite(x)
			}
		}
	}
	return g
}

const nullDate = "0001-01-01T00:00:00"

func (s *Server) fmtDate(rfc string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc)
	if err != nil || t.IsZero() {
		return nullDate
	}
	if s.opts.ISODates {
		return t.UTC().Format("2006-01-02T15:04:05Z")
	}
	return t.In(s.loc).Format("2006-01-02T15:04:05")
}

// parseDate reads a date the client sent: offset-less values are site-local wall clock.
func (s *Server) parseDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.HasPrefix(v, "0001-01-01") {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", v)
}

// decodeData reads the data parameter (an empty one is {}).
func decodeData(raw string, v any) *apiError {
	if strings.TrimSpace(raw) == "" {
		raw = "{}"
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fail(codeInvalidField, "data is not valid for this method: %v", err)
	}
	return nil
}

// strList accepts a JSON string or array of strings (Cityworks search filters take both).
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make([]string, 0, len(raw))
		for _, r := range raw {
			var one strList
			if err := one.UnmarshalJSON(r); err != nil {
				return err
			}
			out = append(out, one...)
		}
		*l = out
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = strList{s}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = strList{n.String()}
	return nil
}

func (l strList) has(v string) bool {
	for _, x := range l {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return len(l) == 0
}

// intList accepts a JSON number or array of numbers.
type intList []int

func (l *intList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var v []int
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = v
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a number or a list of numbers, got %s", b)
	}
	*l = intList{n}
	return nil
}

func (l intList) has(v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return len(l) == 0
}

// flexStr accepts a JSON string or number (ids sent either way).
type flexStr string

func (f *flexStr) UnmarshalJSON(b []byte) error {
	var l strList
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	switch len(l) {
	case 0:
		*f = ""
	case 1:
		*f = flexStr(l[0])
	default:
		return fmt.Errorf("want one value, got %s", b)
	}
	return nil
}
