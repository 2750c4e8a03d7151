package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Body limits: images are up to 20 MB, so multipart bodies may be a little larger.
const (
	MaxImageBytes     = 20 << 20
	maxBodyBytes      = 1 << 20
	maxMultipartBytes = MaxImageBytes + 1<<20
)

var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true}

type upload struct {
	name        string
	contentType string
	data        []byte
}

// input is a request body read as SCF accepts it: JSON, form-encoded or multipart. Form keys
// use Rails nesting: answers[5001]=x, answers[5004][]=a&answers[5004][]=b.
type input struct {
	values map[string]any // string, json.Number, bool, []any, map[string]any
	files  map[string]*upload
}

func readInput(w http.ResponseWriter, r *http.Request) (*input, *Error) {
	in := &input{values: map[string]any{}, files: map[string]*upload{}}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxMultipartBytes)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return nil, bodyError(err)
		}
		for k, vs := range r.MultipartForm.Value {
			for _, v := range vs {
				in.setForm(k, v)
			}
		}
		for k, fhs := range r.MultipartForm.File {
			if len(fhs) == 0 {
				continue
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, errFields(k, "could not be read")
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, errFields(k, "could not be read")
			}
			in.files[k] = &upload{name: fhs[0].Filename, contentType: fhs[0].Header.Get("Content-Type"), data: data}
		}
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			return nil, bodyError(err)
		}
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, errBadJSON()
		}
		for k, vs := range vals {
			for _, v := range vs {
				in.setForm(k, v)
			}
		}
	default: // JSON (also when the type is missing)
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			return nil, bodyError(err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return in, nil
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&in.values); err != nil || in.values == nil {
			return nil, errBadJSON()
		}
	}
	return in, nil
}

func bodyError(err error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, msg: "body too large",
			Body: map[string]string{"message": "Request Entity Too Large"}}
	}
	return errBadJSON()
}

// setForm stores a form field, expanding a[b] and a[b][] nesting (one level).
func (in *input) setForm(key, value string) {
	name, sub, nested := strings.Cut(key, "[")
	if !nested {
		in.values[key] = value
		return
	}
	sub, rest, _ := strings.Cut(sub, "]")
	if sub == "" { // a[]=x
		list, _ := in.values[name].([]any)
		in.values[name] = append(list, value)
		return
	}
	m, _ := in.values[name].(map[string]any)
	if m == nil {
		m = map[string]any{}
		in.values[name] = m
	}
	if rest == "[]" {
		list, _ := m[sub].([]any)
		m[sub] = append(list, value)
		return
	}
	m[sub] = value
}

// str returns a scalar field as text ("" when absent or null).
func (in *input) str(key string) string { return scalarText(in.values[key]) }

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// has reports whether the field was sent with a non-empty value.
func (in *input) has(key string) bool { return strings.TrimSpace(in.str(key)) != "" }

func (in *input) float(key string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(in.str(key)), 64)
	return f, err == nil
}

func (in *input) int(key string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(in.str(key)), 10, 64)
	return n, err == nil
}

func (in *input) bool(key string) bool {
	b, _ := strconv.ParseBool(strings.TrimSpace(in.str(key)))
	return b
}

func (in *input) obj(key string) map[string]any {
	m, _ := in.values[key].(map[string]any)
	return m
}

// image returns the uploaded image of field key (or nil) after SCF's checks.
func (in *input) image(key string) (*upload, *Error) {
	up := in.files[key]
	if up == nil {
		return nil, nil
	}
	if len(up.data) > MaxImageBytes {
		return nil, errFields(key, "is too large (maximum is 20 MB)")
	}
	ct := http.DetectContentType(up.data)
	if !imageTypes[ct] {
		return nil, errFields(key, "must be a PNG, JPEG or GIF image")
	}
	up.contentType = ct
	return up, nil
}
