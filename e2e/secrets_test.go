package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	cwsim "github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
	cubusim "github.com/ticketsync/ticketsync/vendorapi/cubu/sim"
	cxsim "github.com/ticketsync/ticketsync/vendorapi/cyprexx/sim"
	pruvansim "github.com/ticketsync/ticketsync/vendorapi/pruvan/sim"
	scfsim "github.com/ticketsync/ticketsync/vendorapi/seeclickfix/sim"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// logBuffer collects every log line of the run (worker, API, Temporal SDK and server, dev).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretField names a configuration field whose value must never be logged.
var secretField = regexp.MustCompile(`(?i)secret|password|token|apikey`)

// configuredSecrets walks a value (the connections file, with its options) and returns every
// secret-named string by where it was found.
func configuredSecrets(v reflect.Value, path string, out map[string]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			configuredSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				configuredSecrets(v.Field(i), path+"."+f.Name, out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			configuredSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			configuredSecrets(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), out)
		}
	case reflect.String:
		if secretField.MatchString(path[strings.LastIndex(path, ".")+1:]) && len(v.String()) >= 8 {
			out[path] = v.String()
		}
	}
}

// Every secret, key and token configured for every connector kind of the dev stack (the demo
// configuration: one connection per registered kind pair), the tenant API key and the payload
// codec's key and token never appear in the logs of a run that exercises every connection,
// including its failure paths: revoked and expired credentials, refused signatures, a portal
// that rejects ticketsync's signature, HTML and 5xx answers. Logs are captured at debug level.
func TestSecretsNeverLogged(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger) // stray slog.Default() and log.Printf output lands here too
	defer slog.SetDefault(prev)

	dir := t.TempDir()
	o := devstack.Options{DataDir: dir, HTTPAddr: "127.0.0.1:0", TemporalPort: -1, UIPort: -1, NoUI: false,
		FeedInterval: 200 * time.Millisecond, PollInterval: 3 * time.Second, Logger: logger, NoSimRateLimit: true}
	for _, p := range []*int{&o.TWHSimPort, &o.PortalSimPort, &o.CityworksSimPort, &o.ArcGISSimPort, &o.SCFSimPort,
		&o.CyprexxSimPort, &o.PruvanSimPort, &o.CubuSimPort} {
		*p = -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.Stop()
		}
	}()

	secrets := map[string]string{}
	configuredSecrets(reflect.ValueOf(s.App.File), "file", secrets)
	var dc struct{ Keys, Token string }
	data, err := os.ReadFile(filepath.Join(dir, "codec-secrets.json"))
	if err != nil {
		t.Fatalf("the dev codec key is not kept in the data dir: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "codec-secrets.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("codec-secrets.json mode %v, want 0600", fi.Mode().Perm())
	}
	if err := json.Unmarshal(data, &dc); err != nil || dc.Keys == "" || dc.Token != s.CodecToken {
		t.Fatalf("codec-secrets.json: %v %q", err, data)
	}
	secrets["codec key"] = dc.Keys
	secrets["codec token"] = dc.Token
	for name, v := range maps.Clone(secrets) {
		// The material inside prefixed forms ("whsec_<base64>", "<id>:<base64>") alone too.
		for _, sep := range []string{"whsec_", ":"} {
			if _, rest, ok := strings.Cut(v, sep); ok && len(rest) >= 16 {
				secrets[name+" (material)"] = rest
			}
		}
	}
	kinds := map[string]bool{}
	for _, c := range s.App.File.Connections {
		kinds[c.RequestSystem.Kind], kinds[c.WorkSystem.Kind] = true, true
	}
	t.Logf("%d secrets configured across kinds %v (connections %v)", len(secrets), slices.Sorted(maps.Keys(kinds)), s.Demo)

	t.Run("stories", func(t *testing.T) {
		for _, d := range s.Demo {
			story, ok := secretStories[d.ID]
			if !ok {
				t.Errorf("demo connection %s (%s → %s) has no story here: add one so its failure paths are logged and checked", d.ID, d.RequestKind, d.WorkKind)
				continue
			}
			t.Run(d.ID, func(t *testing.T) {
				t.Parallel()
				story(t, s)
			})
		}
	})
	// Validation of every connection (it exercises each vendor's credentials), once with the
	// codec endpoint refusing a wrong token and accepting the right one.
	for _, c := range s.App.File.Connections {
		code, _ := devCall(t, s, http.MethodPost, "/v1/connections/"+c.ID+"/validate", nil)
		t.Logf("validate %s: %d", c.ID, code)
	}
	for _, tok := range []string{"wrong-token-0123456789abcdef", s.CodecToken} {
		req, _ := http.NewRequest(http.MethodPost, s.APIURL+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 401}[tok == s.CodecToken]; resp.StatusCode != want {
			t.Errorf("/codec/decode with token %q…: %d, want %d", tok[:4], resp.StatusCode, want)
		}
	}
	banner := s.Banner()
	stopped = true
	if err := s.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}

	out := logs.String()
	if f := os.Getenv("TICKETSYNC_TEST_LOG_FILE"); f != "" {
		_ = os.WriteFile(f, []byte(out), 0o600)
	}
	if len(out) < 10_000 || !strings.Contains(out, "level=DEBUG") {
		t.Fatalf("only %d bytes of logs captured: is the logger wired?", len(out))
	}
	for name, v := range secrets {
		if i := strings.Index(out, v); i >= 0 {
			line := out[strings.LastIndex(out[:i], "\n")+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("%s appears in the logs: %s", name, strings.ReplaceAll(line, v, "<"+name+">"))
		}
		// The banner shows the demo API key and the codec token on purpose (the developer
		// needs them); nothing else.
		if strings.Contains(banner, v) && !strings.Contains(name, "APIKeys") && name != "codec token" {
			t.Errorf("%s appears in the dev banner", name)
		}
	}
	t.Logf("%d bytes of logs checked for %d secrets", len(out), len(secrets))
}

func devCall(t *testing.T, s *devstack.Stack, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rdr *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rdr = bytes.NewReader(b)
	} else {
		rdr = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.APIURL+path, rdr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out after %s waiting for %s", within, what)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// secretStories drive one demo connection through its simulators with credential faults on.
var secretStories = map[string]func(t *testing.T, s *devstack.Stack){
	devstack.DemoConnection: func(t *testing.T, s *devstack.Stack) {
		var conn struct{ secret string }
		for _, c := range s.App.File.Connections {
			if c.ID == devstack.DemoConnection {
				conn.secret = c.RequestSystem.Secret
			}
		}
		good, err := stdwebhooks.ParseSecret(conn.secret)
		if err != nil {
			t.Fatal(err)
		}
		other, _ := stdwebhooks.ParseSecret(testkit.NewPortalSecret()) // not the configured one
		s.Portal.SetSecrets([]stdwebhooks.Secret{other})               // the portal refuses ticketsync's signature for a while
		s.TWH.SetFaults(twhsim.Faults{RevokeTokens: true, Maintenance: 1, HTMLOn200: 1, WebhookBadSignature: 1})
		code, created := devCall(t, s, http.MethodPost, "/v1/tickets", map[string]any{"connection": devstack.DemoConnection,
			"externalId": "secrets-1", "requestType": "Maintenance", "title": "Leaking sink", "description": "Drips.",
			"location": map[string]any{"address": "Building A, apt 12"}, "requester": map[string]any{"name": "Ada Resident"}})
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, created)
		}
		id, _ := created["id"].(string)
		var wr twhsim.WorkRequest
		if !eventually(t, 30*time.Second, "the TheWorxHub request", func() bool {
			for _, r := range s.TWH.Requests() {
				if strings.HasSuffix(r.ExternalReference, ":secrets-1") {
					wr = r
					return true
				}
			}
			return false
		}) {
			return
		}
		time.Sleep(2 * time.Second) // a few refused deliveries and refused webhooks
		s.Portal.SetSecrets([]stdwebhooks.Secret{good})
		s.TWH.SetFaults(twhsim.Faults{})
		devCall(t, s, http.MethodPost, "/v1/tickets/"+id+"/comments", map[string]string{"text": "Guest bathroom", "author": "Resident"})
		if _, err := s.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed", Author: "J", VisibleToRequestor: true}, true); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "the ticket Done at the portal", func() bool {
			for _, e := range s.Portal.EventsFor(id) {
				if e.Event.Ticket.Status == "Done" {
					return true
				}
			}
			return false
		})
	},
	devstack.DemoSCFConnection: func(t *testing.T, s *devstack.Stack) {
		scf := s.Sim("seeclickfix").Handler.(*scfsim.Server)
		cw := s.Sim("cityworks").Handler.(*cwsim.Server)
		cw.SetFaults(cwsim.Faults{ExpireTokens: true, HTMLOn200: 1})
		scf.SetFaults(scfsim.Faults{HTMLOn200: 1})
		is, err := scf.Report(scfsim.ReportInput{Summary: "Pothole on Elm St", Description: "Deep one.", RequestTypeID: 1001,
			Lat: scfsim.DefaultLat, Lng: scfsim.DefaultLng, Address: "Elm St", Reporter: "Ada Citizen", Answers: map[string]any{"5001": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		var sr cwsim.RequestView
		if !eventually(t, 60*time.Second, "the Cityworks service request", func() bool {
			for _, r := range cw.Requests() {
				if strings.HasPrefix(r.OtherSystemId, "ticketsync:"+devstack.DemoSCFConnection+":") {
					sr = r
					return true
				}
			}
			return false
		}) {
			return
		}
		cw.SetFaults(cwsim.Faults{ExpireTokens: true})
		if _, err := cw.SetRequestStatus(sr.RequestId, "close", ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "the issue closed in SeeClickFix", func() bool {
			got, ok := scf.Issue(is.ID)
			return ok && got.Status == scfsim.StatusClosed
		})
	},
	devstack.DemoCubuConnection: func(t *testing.T, s *devstack.Stack) {
		cubu := s.Sim("cubu").Handler.(*cubusim.Server)
		newCase := cubusim.NewCase{Agent: cubusim.DefaultAgentID, ContactEmail: "resident@example.org",
			Fields: map[string]string{cubusim.FieldDescription: "Water leak under kitchen sink", cubusim.FieldAddress: "Building A, apt 12",
				cubusim.FieldName: "Ada Resident"}}
		// A hook signed with a wrong secret is refused (and the refusal logged): the before-hook
		// gate then blocks the desk.
		cubu.SetFaults(cubusim.Faults{HookBadSignature: 1})
		if _, err := cubu.QueueUp(newCase); err == nil {
			t.Fatal("a before-hook with a bad signature must be refused")
		}
		cubu.SetFaults(cubusim.Faults{RevokeTokens: true, TokenOutage: 1})
		c, err := cubu.QueueUp(newCase)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cubu.StartWork(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatal(err)
		}
		if _, err := cubu.Resolve(c.ID, cubusim.DefaultAgentID); err != nil {
			t.Fatal(err)
		}
		var wr twhsim.WorkRequest
		if !eventually(t, 30*time.Second, "the case's TheWorxHub request", func() bool {
			for _, r := range s.TWH.Requests() {
				if strings.HasPrefix(r.ExternalReference, "ticketsync:"+devstack.DemoCubuConnection+":") {
					wr = r
					return true
				}
			}
			return false
		}) {
			return
		}
		if _, err := s.TWH.Transition(wr.ID, twhsim.StatusCompleted, &twhsim.FeedbackInput{Text: "Fixed", Author: "J", VisibleToRequestor: true}, true); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "the resolve call back to Cubu", func() bool { return cubu.Stats().Ops["resolve"] >= 1 })
		// An expired S2S client secret: validation reports it (and may log it) without the secret.
		cubu.SetFaults(cubusim.Faults{SecretExpired: true})
		code, out := devCall(t, s, http.MethodPost, "/v1/connections/"+devstack.DemoCubuConnection+"/validate", nil)
		t.Logf("validate with an expired secret: %d %v", code, out)
		cubu.SetFaults(cubusim.Faults{})
	},
	devstack.DemoCyprexxConnection: func(t *testing.T, s *devstack.Stack) {
		cx := s.Sim("cyprexx").Handler.(*cxsim.Server)
		pv := s.Sim("pruvan").Handler.(*pruvansim.Server)
		cx.SetFaults(cxsim.Faults{PushBadKeyRate: 0.5, Maintenance: 1})
		pv.SetFaults(pruvansim.Faults{BadCredentials: 1, AppError: 1})
		wo, err := cx.Issue("", cxsim.WorkOrder{Service: "Grass cut", Address1: "12 Elm St", City: "Springfield", State: "IL",
			Zip: "62701", ServiceDue: time.Now().AddDate(0, 0, 7).Format("2006-01-02"), LockboxCode: "4321", KeyCode: "K-77"})
		if err != nil {
			t.Fatal(err)
		}
		// Pruvan imports projects on its own pull; the ticket has its remote once it is offered.
		eventually(t, 60*time.Second, "work order "+wo.WorkOrderNumber+" offered to Pruvan", func() bool {
			_, out := devCall(t, s, http.MethodGet, "/v1/tickets?connection="+devstack.DemoCyprexxConnection, nil)
			items, _ := out["items"].([]any)
			return slices.ContainsFunc(items, func(it any) bool {
				m, _ := it.(map[string]any)
				return m["remoteId"] != nil
			})
		})
	},
}
