// Package apitest checks HTTP exchanges against the API's OpenAPI document
// (starter/openapi.json), for the tests of the server (starter), of the client (apiclient)
// and of the CLI (whose fake servers check what the CLI sends).
//
// Beyond what a schema validator checks, Response also reports JSON members a schema does not
// describe (a response schema stays open to additions for clients, but the document must
// still name every field the server sends).
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec is a loaded, validated document with a router over its paths.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
}

// Load parses and validates the document. The servers are dropped so that any host (a test
// server's random port) matches.
func Load(document []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("OpenAPI document is %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route OpenAPI document: %w", err)
	}
	return &Spec{Doc: doc, router: router}, nil
}

// MustLoad is Load for tests.
func MustLoad(t testing.TB, document []byte) *Spec {
	t.Helper()
	s, err := Load(document)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Operation is one documented method and path.
type Operation struct {
	Method, Path, ID string
	Tags             []string
}

// Operations lists every documented operation, sorted by path then method.
func (s *Spec) Operations() []Operation {
	var out []Operation
	for path, item := range s.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, Operation{Method: method, Path: path, ID: op.OperationID, Tags: op.Tags})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// Exchange is one request on its way through a validator.
type Exchange struct {
	input *openapi3filter.RequestValidationInput
	Op    *openapi3.Operation
}

func authPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme.Type == "http" && strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		h := in.RequestValidationInput.Request.Header.Get("Authorization")
		if scheme, key, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(key) != "" {
			return nil
		}
		return errors.New("no Bearer token")
	}
	return fmt.Errorf("unknown security scheme %s", in.SecurityScheme.Type)
}

// Request finds r's operation and validates r against it (the body is read and put back).
// The Exchange is returned even when only the validation failed, so that the answer to an
// invalid request can still be checked; it is nil when no operation matches.
func (s *Spec) Request(r *http.Request) (*Exchange, error) {
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: not in the document: %w", r.Method, r.URL.Path, err)
	}
	body, err := readBody(&r.Body)
	if err != nil {
		return nil, err
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authPresent, MultiError: true,
			RejectWhenRequestBodyNotSpecified: true}}
	ex := &Exchange{input: in, Op: route.Operation}
	err = openapi3filter.ValidateRequest(r.Context(), in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ex, fmt.Errorf("%s %s: request does not match the document: %w", r.Method, r.URL.RequestURI(), err)
	}
	return ex, nil
}

// Response validates an answer to the exchange's request: a documented status, its
// headers and body schema, and no undocumented JSON member.
func (s *Spec) Response(ex *Exchange, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{RequestValidationInput: ex.input, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	in.SetBodyBytes(body)
	where := fmt.Sprintf("%s %s → %d", ex.input.Request.Method, ex.input.Request.URL.RequestURI(), status)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s: answer does not match the document: %w\nbody: %s", where, err, body)
	}
	resp := ex.Op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	ct := header.Get("Content-Type")
	mt := resp.Value.Content.Get(ct)
	if mt == nil || mt.Schema == nil || !strings.Contains(ct, "json") {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: answer is not JSON: %w", where, err)
	}
	if extra := Undocumented(mt.Schema, v); len(extra) > 0 {
		return fmt.Errorf("%s: answer has members the document does not describe: %s", where, strings.Join(extra, ", "))
	}
	return nil
}

// Undocumented lists the JSON members of v (as paths) that its schema does not name, where
// the schema leaves additional properties unspecified.
func Undocumented(ref *openapi3.SchemaRef, v any) []string {
	var out []string
	undocumented(ref, v, "$", &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func undocumented(ref *openapi3.SchemaRef, v any, path string, out *[]string) {
	if ref == nil || ref.Value == nil {
		return
	}
	s := ref.Value
	for _, branch := range append(slices.Clone(s.OneOf), s.AnyOf...) {
		if branch.Value != nil && branch.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()) == nil {
			undocumented(branch, v, path, out)
		}
	}
	for _, branch := range s.AllOf {
		undocumented(branch, v, path, out)
	}
	switch val := v.(type) {
	case map[string]any:
		if len(s.Properties) == 0 && s.AdditionalProperties.Schema == nil {
			return // a free-form object, or one described by its branches only
		}
		for k, member := range val {
			switch {
			case s.Properties[k] != nil:
				undocumented(s.Properties[k], member, path+"."+k, out)
			case s.AdditionalProperties.Schema != nil:
				undocumented(s.AdditionalProperties.Schema, member, path+"."+k, out)
			case s.AdditionalProperties.Has == nil:
				*out = append(*out, path+"."+k)
			}
		}
	case []any:
		for i, item := range val {
			undocumented(s.Items, item, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func readBody(rc *io.ReadCloser) ([]byte, error) {
	if *rc == nil || *rc == http.NoBody {
		*rc = http.NoBody
		return nil, nil
	}
	b, err := io.ReadAll(*rc)
	(*rc).Close()
	*rc = io.NopCloser(bytes.NewReader(b))
	return b, err
}

// Recorded is one exchange seen by a Middleware.
type Recorded struct {
	Method, Path, Query string
	Operation           string // operationId; "" when the path is not documented
	RequestValid        bool
	Status              int
	Body                []byte
}

// Checker wraps a handler: every request and answer through it is validated, failures are
// reported on t (unless the request was expected to be invalid, see ExpectInvalid), and
// every exchange is recorded.
type Checker struct {
	spec *Spec
	t    testing.TB
	next http.Handler

	mu            sync.Mutex
	log           []Recorded
	expectInvalid bool
}

// Wrap returns a validating Checker around next.
func (s *Spec) Wrap(t testing.TB, next http.Handler) *Checker {
	return &Checker{spec: s, t: t, next: next}
}

// ExpectInvalid marks the requests sent while fn runs as deliberately invalid: their
// request must FAIL validation (the document rejects what the server rejects), and only the
// answer is checked.
func (c *Checker) ExpectInvalid(fn func()) {
	c.mu.Lock()
	c.expectInvalid = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.expectInvalid = false
		c.mu.Unlock()
	}()
	fn()
}

// Exchanges returns what passed through so far.
func (c *Checker) Exchanges() []Recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.t.Helper()
	c.mu.Lock()
	invalid := c.expectInvalid
	c.mu.Unlock()
	rec := Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	ex, reqErr := c.spec.Request(r)
	switch {
	case ex == nil:
		c.t.Errorf("apitest: %v", reqErr)
	case invalid && reqErr == nil:
		c.t.Errorf("apitest: %s %s was sent as invalid but the document accepts it", r.Method, r.URL.RequestURI())
	case !invalid && reqErr != nil:
		c.t.Errorf("apitest: %v", reqErr)
	}
	if ex != nil {
		rec.Operation = ex.Op.OperationID
	}
	rec.RequestValid = reqErr == nil
	rw := httptest.NewRecorder()
	c.next.ServeHTTP(rw, r)
	rec.Status, rec.Body = rw.Code, rw.Body.Bytes()
	if ex != nil {
		if err := c.spec.Response(ex, rw.Code, rw.Header(), rw.Body.Bytes()); err != nil {
			c.t.Errorf("apitest: %v", err)
		}
	}
	c.mu.Lock()
	c.log = append(c.log, rec)
	c.mu.Unlock()
	for k, vs := range rw.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rw.Code)
	_, _ = w.Write(rw.Body.Bytes())
}
