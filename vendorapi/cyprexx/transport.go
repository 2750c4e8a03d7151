package cyprexx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ---- HTTP plumbing ----

type response struct {
	*http.Response // body already read and closed
	body           []byte
}

func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, in, out any) error {
	resp, err := c.call(ctx, op, method, path, q, in)
	if err != nil {
		return err
	}
	return decode(op, resp, out)
}

// call sends one JSON request within the per-call timeout and reads at most
// maxResponseBody bytes of the answer (slowly dripping bodies count against the timeout).
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, in any) (*response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode request body", Err: err}
		}
		body = bytes.NewReader(b)
	}
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "build request", Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(op, req)
}

// send adds the common headers, sends req and reads the answer.
func (c *Client) send(op string, req *http.Request) (*response, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	defer res.Body.Close()
	data, err := vendorapi.ReadBody(Vendor, op, res, maxResponseBody)
	if err != nil {
		return nil, err
	}
	return &response{Response: res, body: data}, nil
}

// decode turns a response into out (2xx JSON; a 204 or out == nil needs no body) or a
// classified error.
func decode(op string, resp *response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(op, resp)
	}
	if resp.StatusCode == http.StatusNoContent || (out == nil && len(bytes.TrimSpace(resp.body)) == 0) {
		return nil
	}
	if !vendorapi.IsJSON(resp.Response) {
		e := vendorapi.NotJSON(Vendor, op, resp.Response)
		e.Message += vendorapi.PageTitle(resp.body)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
			Message: "undecodable JSON body: " + err.Error(), Retryable: true}
	}
	return nil
}

// fail classifies a non-2xx response (vendorapi.ClassifyStatus: 5xx/429 retry, 401 invalid
// token and other 4xx park) and fills Code/Message/Fields from Cyprexx's error body.
func fail(op string, resp *response) *vendorapi.Error {
	e := vendorapi.ClassifyStatus(Vendor, op, resp.Response)
	if !vendorapi.IsJSON(resp.Response) {
		e.Code = CodeNotJSON // e.g. the 503 maintenance page; the status decides retryability
		e.Message = fmt.Sprintf("non-JSON %q response", resp.Header.Get("Content-Type")) + vendorapi.PageTitle(resp.body)
		return e
	}
	var body struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Fields  json.RawMessage `json:"fields"`
			Details struct {
				Fields  json.RawMessage   `json:"fields"`
				Missing []json.RawMessage `json:"missing"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.body, &body) != nil {
		return e
	}
	e.Code, e.Message = body.Error.Code, body.Error.Message
	e.Fields = fieldMap(body.Error.Details.Fields)
	if e.Fields == nil {
		e.Fields = fieldMap(body.Error.Fields)
	}
	for _, m := range body.Error.Details.Missing {
		if e.Fields == nil {
			e.Fields = map[string]string{}
		}
		k, v := missingItem(m)
		e.Fields[k] = v
	}
	return e
}

func fieldMap(raw json.RawMessage) map[string]string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // e.g. a list of messages: readable rather than dropped
		}
		out[k] = s
	}
	return out
}

// missingItem renders one details.missing entry of a 422 incomplete:
// {"type":"photos","taskId","required","received"} or {"type":"form","formId"}; a plain
// string is taken as it is.
func missingItem(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, "missing"
	}
	var m struct {
		Type     string `json:"type"`
		TaskID   string `json:"taskId"`
		FormID   string `json:"formId"`
		Required int    `json:"required"`
		Received int    `json:"received"`
	}
	json.Unmarshal(raw, &m)
	switch m.Type {
	case "photos":
		return "photos:" + m.TaskID, fmt.Sprintf("%d of %d required photos", m.Received, m.Required)
	case "form":
		return "form:" + m.FormID, "no survey submitted"
	}
	return string(raw), "missing"
}

func invalidArgument(op, msg string) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: msg}
}

// FormatTime renders t as Cyprexx expects: RFC 3339, UTC, milliseconds (sub-millisecond
// digits are dropped, which with the inclusive updatedSince can only add items).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// checkURL requires an absolute http(s) URL without credentials or fragment (and without a
// query unless allowQuery), https unless the host is loopback.
func checkURL(name, raw string, allowQuery bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%s is required", name)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %q is not a valid URL: %v", name, raw, err)
	case u.Host == "":
		return nil, fmt.Errorf("%s %q has no host", name, raw)
	case u.User != nil || u.Fragment != "" || (u.RawQuery != "" && !allowQuery):
		return nil, fmt.Errorf("%s %q must not contain credentials, a query or a fragment", name, raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%s %q must use https (http only on loopback)", name, raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
