package arcgis

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ArcGIS error codes of the contract (inside HTTP 200 bodies).
const (
	CodeBadRequest    = 400 // also "no match", told apart by its details
	CodeForbidden     = 403
	CodeInvalidToken  = 498
	CodeTokenRequired = 499
	CodeServerError   = 500
)

// noMatchDetail is how ArcGIS says no address lies within the distance.
const noMatchDetail = "unable to find address"

type errorBody struct {
	Code    int
	Message string
	Details []string
}

// parseError reads {"error":{code,message,details}}; ok is false when the body has no error.
func parseError(body []byte) (errorBody, bool) {
	var raw struct {
		Error *struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Details []any           `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Error == nil {
		return errorBody{}, false
	}
	eb := errorBody{Message: raw.Error.Message}
	eb.Code, _ = strconv.Atoi(strings.Trim(string(raw.Error.Code), `"`))
	for _, d := range raw.Error.Details {
		if s, ok := d.(string); ok {
			eb.Details = append(eb.Details, s)
		}
	}
	return eb, true
}

func (e errorBody) noMatch() bool {
	if e.Code != CodeBadRequest {
		return false
	}
	for _, d := range e.Details {
		if strings.Contains(strings.ToLower(d), noMatchDetail) {
			return true
		}
	}
	return false
}

// classify turns an ArcGIS error into a *vendorapi.Error. Code is the ArcGIS code as text;
// HTTPStatus is its HTTP equivalent (498/499 read as 401) so that Kind() and the retry
// policy treat it like any vendor's.
func classify(op string, eb errorBody, resp *http.Response) *vendorapi.Error {
	e := &vendorapi.Error{Vendor: Vendor, Op: op, Code: strconv.Itoa(eb.Code), Message: eb.Message}
	if len(eb.Details) > 0 {
		e.Message = strings.TrimSpace(e.Message + " " + strings.Join(eb.Details, "; "))
	}
	switch {
	case eb.Code == CodeInvalidToken, eb.Code == CodeTokenRequired:
		e.HTTPStatus = http.StatusUnauthorized
	case eb.Code == http.StatusTooManyRequests:
		e.HTTPStatus, e.Retryable = eb.Code, true
	case eb.Code >= 500 && eb.Code <= 599:
		e.HTTPStatus, e.Retryable = eb.Code, true
	case eb.Code >= 400 && eb.Code <= 499:
		e.HTTPStatus = eb.Code
	default: // not a code the contract knows: treat the answer as a server hiccup
		e.HTTPStatus, e.Retryable = http.StatusBadGateway, true
	}
	if e.Retryable && resp != nil {
		e.RetryAfter = vendorapi.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// isInvalidToken reports whether err is ArcGIS's 498 (expired or invalid token).
func isInvalidToken(err error) bool {
	var ve *vendorapi.Error
	return errors.As(err, &ve) && ve.Vendor == Vendor && ve.Code == strconv.Itoa(CodeInvalidToken)
}

// ErrorCode returns the ArcGIS error code of err (400, 403, 498, 499, 500 …), or 0.
func ErrorCode(err error) int {
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || ve.Vendor != Vendor {
		return 0
	}
	n, _ := strconv.Atoi(ve.Code)
	return n
}
