package arcgis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/arcgis"
)

// The fuzz target below runs its seeds in every `go test`; explore further with
// `go test ./vendorapi/arcgis -run '^$' -fuzz FuzzReverseGeocode -fuzztime 60s`.
// New crashers land in testdata/fuzz/<target>/ and must be kept there once fixed.

const fuzzArcGISToken = "arcgis-token-never-in-errors"

// fakeArcGIS answers every request with one fuzzed response, in memory.
type fakeArcGIS struct {
	status      int
	contentType string
	body        []byte
	calls       int
}

func (f *fakeArcGIS) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls++
	resp := &http.Response{StatusCode: f.status, Header: http.Header{}, Request: r, ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(f.body))}
	if f.contentType != "" {
		resp.Header.Set("Content-Type", f.contentType)
	}
	return resp, nil
}

// FuzzReverseGeocode throws arbitrary answers (status, Content-Type, body) at ReverseGeocode,
// with a static token or a token source, and checks the contract's rules against an
// independent reading of the body: an ArcGIS error body (inside a 200 or, from proxies, with a
// real HTTP status) is an error with its code (498/499 non-retryable auth failures, 5xx
// retryable), except code 400 with "Unable to find address" details in a 200, which is no
// match (Found false, nil error); a success is a 200 with an address object whose keys all
// appear in Fields and whose named parts come from the contract's keys; HTML inside a 200 and
// HTTP 5xx without an ArcGIS body are retryable; a 498 costs one new token and one repeat
// only; no error text carries the token.
func FuzzReverseGeocode(f *testing.F) {
	seeds := []struct {
		tokenFunc bool
		status    uint16
		ct        string
		body      string
	}{
		{false, 200, "application/json", `{"address":{"Match_addr":"915-999 I St, Sacramento, California, 95814","ShortLabel":"915-999 I St",` +
			`"Addr_type":"StreetAddress","AddNum":"967","Address":"967 I St","City":"Sacramento","Postal":"95814"},` +
			`"location":{"x":-121.493318337979,"y":38.581538437996,"spatialReference":{"wkid":4326}}}`},
		{false, 200, "text/plain; charset=utf-8", `{"address":{"Street":" 1 Main ","City":"","State":"CA","ZIP":95814,"Loc_name":null,"X":true},` +
			`"location":{"x":1,"y":2,"spatialReference":{"wkid":102100,"latestWkid":3857}}}`},
		{false, 200, "application/json", `{"error":{"code":400,"message":"Cannot perform query. Invalid query parameters.","details":["Unable to find address for the specified location."]}}`},
		{false, 200, "application/json", `{"error":{"code":"400","message":"m","details":["UNABLE TO FIND ADDRESS", 5, null]}}`},
		{false, 200, "application/json", `{"error":{"code":400,"message":"Cannot perform query. Invalid query parameters.","details":["'location' parameter not specified"]}}`},
		{true, 200, "application/json", `{"error":{"code":498,"message":"Invalid token.","details":[]}}`},
		{false, 200, "application/json", `{"error":{"code":499,"message":"Token Required."}}`},
		{false, 200, "application/json", `{"error":{"code":403,"message":"You do not have permissions to access this resource or perform this operation."}}`},
		{false, 200, "application/json", `{"error":{"code":500,"message":"Unable to complete operation."}}`},
		{false, 200, "application/json", `{"error":{"code":"x"}}`},
		{false, 200, "application/json", `{"error":null,"address":{}}`},
		{false, 200, "application/json", `{"address":null}`},
		{false, 200, "application/json", `{}`},
		{false, 200, "text/html", `<html><head><title>ArcGIS Web Adaptor - Sign In</title></head></html>`},
		{true, 498, "text/html", `<html>Invalid token</html>`},
		{false, 503, "text/html", `<html><title>Service Unavailable</title></html>`},
		{false, 500, "application/json", `{"error":{"code":500,"message":"Unable to complete operation.","details":["` + fuzzArcGISToken + `"]}}`},
		{false, 429, "", ``},
	}
	for _, s := range seeds {
		f.Add(s.tokenFunc, s.status, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, tokenFunc bool, status uint16, contentType string, body []byte) {
		if strings.ContainsAny(contentType, "\r\n\x00") {
			return // not representable in an HTTP header
		}
		fake := &fakeArcGIS{status: 200 + int(status)%400, contentType: contentType, body: body}
		cfg := arcgis.Config{ServiceURL: "https://gis.example/arcgis/rest/services/Locator/GeocodeServer",
			Retries:    -1, // one attempt per token: the fake answers the same every time
			HTTPClient: &http.Client{Transport: fake, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		tokens := 0
		if tokenFunc {
			cfg.TokenFunc = func(context.Context) (string, error) {
				tokens++
				return fuzzArcGISToken + strconv.Itoa(tokens), nil
			}
		} else {
			cfg.Token = fuzzArcGISToken
		}
		c, err := arcgis.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.ReverseGeocode(context.Background(), -121.49, 38.58)

		// An independent reading of the body.
		var probe struct {
			Error *struct {
				Code    json.RawMessage
				Details []any
			}
			Address map[string]any
		}
		probeErr := json.Unmarshal(body, &probe)
		hasErr := probeErr == nil && probe.Error != nil
		code := 0
		noMatch := false
		if hasErr {
			code, _ = strconv.Atoi(strings.Trim(string(probe.Error.Code), `"`))
			for _, d := range probe.Error.Details {
				if s, ok := d.(string); ok && strings.Contains(strings.ToLower(s), "unable to find address") {
					noMatch = code == 400
				}
			}
		}
		st := fake.status

		if fake.calls > 2 || tokens > 2 || (!tokenFunc && fake.calls > 1) {
			t.Fatalf("%d calls and %d tokens for one lookup", fake.calls, tokens)
		}
		if err != nil {
			var ve *vendorapi.Error
			if !errors.As(err, &ve) {
				t.Fatalf("unclassified error %T %v", err, err)
			}
			if ve.Vendor != arcgis.Vendor || ve.Op == "" {
				t.Fatalf("error without vendor/op: %+v", ve)
			}
			if msg := err.Error(); !bytes.Contains(body, []byte(fuzzArcGISToken)) && strings.Contains(msg, fuzzArcGISToken) {
				t.Fatalf("error leaks the token: %s", msg)
			}
			if res.Found || res.Address.Fields != nil {
				t.Fatalf("error %v with a result %+v", err, res)
			}
			// An ArcGIS error body decides, whatever the HTTP status: proxies pass ArcGIS
			// errors on with a real status, and the body is the more precise of the two.
			if hasErr {
				if noMatch && st == http.StatusOK {
					t.Fatalf("no match reported as an error: %v", err)
				}
				if arcgis.ErrorCode(err) != code {
					t.Fatalf("ArcGIS code %d read as %d", code, arcgis.ErrorCode(err))
				}
				switch {
				case code == arcgis.CodeInvalidToken || code == arcgis.CodeTokenRequired:
					if ve.Retryable || ve.HTTPStatus != http.StatusUnauthorized {
						t.Fatalf("code %d must be a non-retryable auth failure: %+v", code, ve)
					}
					if code == arcgis.CodeInvalidToken && tokenFunc && (tokens != 2 || fake.calls != 2) {
						t.Fatalf("498 with a token source: %d tokens, %d calls; want one refresh", tokens, fake.calls)
					}
				case code >= 500 && code <= 599:
					if !ve.Retryable {
						t.Fatalf("code %d must be retryable: %+v", code, ve)
					}
				case code >= 400 && code <= 499:
					if ve.Retryable && code != http.StatusTooManyRequests {
						t.Fatalf("code %d must not be retryable: %+v", code, ve)
					}
				}
				return
			}
			switch {
			case st >= 500 || st == 429 || st == 408:
				if !ve.Retryable {
					t.Fatalf("HTTP %d must be retryable: %v", st, err)
				}
			case st == http.StatusOK:
				if !ve.Retryable {
					t.Fatalf("an unusable 200 must be retryable: %v", err)
				}
			}
			return
		}
		if st != http.StatusOK {
			t.Fatalf("HTTP %d (%q) accepted", st, body)
		}
		if !res.Found {
			if !noMatch || res.Address.Fields != nil || res.Location != (arcgis.Point{}) {
				t.Fatalf("not found without a no-match answer: %q -> %+v", body, res)
			}
			return
		}
		if hasErr || probe.Address == nil {
			t.Fatalf("found an address in %q", body)
		}
		for k := range probe.Address {
			if _, ok := res.Address.Fields[k]; !ok {
				t.Fatalf("address key %q missing from Fields %v", k, res.Address.Fields)
			}
		}
		a := res.Address
		from := func(got string, keys ...string) {
			if got == "" {
				return
			}
			for _, k := range keys {
				if strings.TrimSpace(a.Fields[k]) == got {
					return
				}
			}
			t.Fatalf("%q comes from none of %v in %v", got, keys, a.Fields)
		}
		from(a.Match, "Match_addr", "LongLabel")
		from(a.Street, "Address", "Street", "ShortLabel")
		from(a.City, "City")
		from(a.State, "Region", "State", "RegionAbbr")
		from(a.Zip, "Postal", "ZIP")
	})
}
