package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzCreateTicketBody throws arbitrary bodies at POST /v1/tickets: the API must answer with a
// client error or a success, never a 5xx, and never create a ticket for a rejected body.
// `go test` runs the seeds; `go test ./e2e -fuzz FuzzCreateTicketBody` explores further.
func FuzzCreateTicketBody(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `"x"`, `{"connection":null}`, `{"connection":{"a":1}}`,
		`{"connection":"sunrise-twh","externalId":"f-1","requestType":"Maintenance","title":"t","description":"d","requester":{"name":"n"}}`,
		`{"connection":"sunrise-twh","externalId":"f-2","requestType":"Maintenance","title":"t","description":"d","requester":{"name":"n"},"location":{"lat":1e400}}`,
		`{"connection":"sunrise-twh","externalId":"` + strings.Repeat("é", 300) + `"}`,
		`{"connection":"sunrise-twh","externalId":"f-3","requestType":"Maintenance","title":"\u0000","description":"d","requester":{"name":"n"}}`,
		`{"connection":"sunrise-twh","externalId":"f-4","requestType":"Maintenance","title":"t","description":"d","requester":{"name":"n"},"answers":{"":""}}`,
		`{"connection":"sunrise-twh","externalId":"f-5","requestType":"Maintenance","title":"t","description":"d","requester":{"name":"n"},"attachments":[{"url":"http://[::1"}]}`,
		`{"a":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5001),
		"\xff\xfe{}", `{"title":"` + string([]byte{0xc3, 0x28}) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest("POST", w.apiURL+"/v1/tickets", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+w.kit.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code := resp.StatusCode
		switch code {
		case http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("body %q: status %d %s", body, code, p)
		}
	})
}
