package cubu_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

// FuzzParse: any body for any hook name parses or fails with a classified error, never
// panics; what parses round-trips through JSON unchanged and feeds ToNewRequest and Decide
// without surprises. Seeds: testdata/fuzz/FuzzParse (every fixture and odd shapes).
func FuzzParse(f *testing.F) {
	f.Add("afterResolve", fixture(f, "afterResolve.json"))
	f.Fuzz(func(t *testing.T, hookName string, body []byte) {
		hook := cubu.Hook(hookName)
		p, err := cubu.Parse(hook, body)
		if err != nil {
			var pe *cubu.PayloadError
			var uh *cubu.UnknownHookError
			if !errors.As(err, &pe) && !errors.As(err, &uh) && !errors.Is(err, cubu.ErrEmptyBody) && !errors.Is(err, cubu.ErrBodyTooLarge) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			if p != nil {
				t.Fatal("payload returned with an error")
			}
			return
		}
		c := p.CaseInfo()
		if p.Hook() != hook || !cubu.IsGUID(c.CaseID) || strings.ToLower(c.CaseID) != c.CaseID {
			t.Fatalf("hook %s case id %q", p.Hook(), c.CaseID)
		}
		// Round trip: what we parsed is exactly what we would write back.
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := cubu.Parse(hook, out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip changed the payload:\n%#v\n%#v", p, again)
		}

		r, err := cubu.ToNewRequest(p, testMapping())
		var me *cubu.MappingError
		switch {
		case errors.As(err, &me):
			if c.ServiceTypeID == serviceTypeMaintenance {
				t.Fatalf("mapped service type rejected: %v", err)
			}
		case err != nil:
			t.Fatalf("ToNewRequest: %v", err)
		case r.ExternalID != c.CaseID || r.Title == "" || r.Description == "" || r.Requester.Name == "" || r.RequestType == "":
			t.Fatalf("incomplete request %+v", r)
		}
		d := cubu.Decide(p, testMapping(), []string{"description", "location.address", "location.lat", "answers.Preferred time"})
		if !d.Allow && (d.Message == "" || len(d.Missing) == 0 || !hook.Synchronous()) {
			t.Fatalf("decision %+v", d)
		}
		var resp map[string]any
		if err := json.Unmarshal(d.Body(), &resp); err != nil || (d.Allow && len(resp) != 0) || (!d.Allow && resp["cancel"] != true) {
			t.Fatalf("answer body %s", d.Body())
		}
	})
}

// FuzzVerify: Verify never panics, only returns its sentinels, accepts exactly the MACs Sign
// makes (modulo scheme case, padding and surrounding blanks) and rejects any body change.
func FuzzVerify(f *testing.F) {
	f.Add("cubu_test", fixture(f, "afterResolve.json"), contractMAC)
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		secrets := [][]byte{[]byte(secret)}
		err := cubu.Verify(secrets, header, body)
		known := []error{nil, cubu.ErrMissingHeader, cubu.ErrMalformedHeader, cubu.ErrInvalidSignature, cubu.ErrNoSecrets}
		if !slicesContainsErr(known, err) {
			t.Fatalf("unexpected error %v", err)
		}
		if secret == "" {
			if err != cubu.ErrNoSecrets {
				t.Fatalf("empty secret: %v", err)
			}
			return
		}
		good := cubu.Sign([]byte(secret), body)
		if err == nil && !sameMAC(header, good) {
			t.Fatalf("accepted %q, the MAC is %q", header, good)
		}
		if err := cubu.Verify(secrets, good, body); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if err := cubu.Verify([][]byte{[]byte(secret + "x"), []byte(secret)}, good, body); err != nil {
			t.Fatalf("rotation: %v", err)
		}
		tampered := append(bytes.Clone(body), 'x')
		if err := cubu.Verify(secrets, good, tampered); err != cubu.ErrInvalidSignature {
			t.Fatalf("tampered body: %v", err)
		}
		if err := cubu.Verify(secrets, "", body); err != cubu.ErrMissingHeader {
			t.Fatalf("no header: %v", err)
		}
	})
}

func slicesContainsErr(list []error, err error) bool {
	for _, e := range list {
		if e == err {
			return true
		}
	}
	return false
}

// sameMAC compares an accepted header with Sign's output the way Verify reads headers.
func sameMAC(header, good string) bool {
	h := strings.TrimSpace(header)
	scheme, v, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "HMAC") {
		return false
	}
	v = strings.TrimSpace(v)
	want := strings.TrimPrefix(good, "HMAC ")
	return v == want || v == strings.TrimRight(want, "=")
}
