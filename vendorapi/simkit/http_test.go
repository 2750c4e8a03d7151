package simkit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

func TestWriters(t *testing.T) {
	w := httptest.NewRecorder()
	simkit.WriteJSON(w, http.StatusCreated, map[string]int{"id": 7})
	if w.Code != 201 || w.Header().Get("Content-Type") != "application/json; charset=utf-8" || w.Body.String() != `{"id":7}` {
		t.Errorf("WriteJSON: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	w = httptest.NewRecorder()
	simkit.WriteJSONAs(w, http.StatusOK, "text/plain;charset=utf-8", []int{1})
	if w.Header().Get("Content-Type") != "text/plain;charset=utf-8" || w.Body.String() != `[1]` {
		t.Errorf("WriteJSONAs: %q %s", w.Header().Get("Content-Type"), w.Body)
	}
	w = httptest.NewRecorder()
	simkit.WriteJSON(w, http.StatusOK, func() {})
	if w.Code != 500 {
		t.Errorf("unencodable value: %d", w.Code)
	}
	w = httptest.NewRecorder()
	simkit.Page(http.StatusServiceUnavailable, "<p>down</p>", 30)(w)
	if w.Code != 503 || w.Header().Get("Retry-After") != "30" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" || w.Body.String() != "<p>down</p>" {
		t.Errorf("Page: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	simkit.Page(http.StatusOK, "x", 0)(w)
	if _, ok := w.Header()["Retry-After"]; ok {
		t.Error("Retry-After 0 was sent")
	}
}

func TestReadJSON(t *testing.T) {
	read := func(body string, limit int64) (map[string]any, error) {
		v := map[string]any{"kept": true}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		return v, simkit.ReadJSON(httptest.NewRecorder(), r, &v, limit)
	}
	if v, err := read(`{"a":1}`, 100); err != nil || v["a"] != float64(1) {
		t.Errorf("valid body: %v %v", v, err)
	}
	if v, err := read(" \n", 100); !errors.Is(err, simkit.ErrEmptyBody) || v["kept"] != true {
		t.Errorf("blank body: %v %v", v, err)
	}
	if _, err := read(`{"a":`, 100); err == nil || !strings.HasPrefix(err.Error(), "malformed JSON body: ") {
		t.Errorf("malformed body: %v", err)
	}
	var tooLarge *http.MaxBytesError
	if _, err := read(`{"a":"`+strings.Repeat("x", 200)+`"}`, 100); !errors.As(err, &tooLarge) || !strings.HasPrefix(err.Error(), "cannot read body: ") {
		t.Errorf("oversized body: %v", err)
	}
}

func TestIsForm(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/x-www-form-urlencoded":      true,
		"multipart/form-data; boundary=x":        true,
		"application/json":                       false,
		"":                                       false,
		"Application/X-WWW-Form-Urlencoded; q=1": true,
		"text/plain; charset=utf-8":              false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Content-Type", ct)
		if simkit.IsForm(r) != want {
			t.Errorf("%q: want %v", ct, want)
		}
	}
}

func TestRandomHex(t *testing.T) {
	a, b := simkit.RandomHex(16), simkit.RandomHex(16)
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("%q %q", a, b)
	}
}
