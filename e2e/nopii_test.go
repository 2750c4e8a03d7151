package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/operatorservice/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/devstack"
	"github.com/ticketsync/ticketsync/internal/testkit"
	"github.com/ticketsync/ticketsync/starter"
	"github.com/ticketsync/ticketsync/ticket"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
	"github.com/ticketsync/ticketsync/workers"
)

// codecWorld is the e2e world with the payload codec on: the worker, the engine and the API use
// a client that encrypts every payload, and the API serves /codec/ with a token. raw is a client
// of the same server WITHOUT the codec: what anyone reading Temporal's database, its backups or
// Temporal Web without signing in to the codec sees.
type codecWorld struct {
	*world
	enc   client.Client
	raw   client.Client
	token string
}

func newCodecWorld(t *testing.T) *codecWorld {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	raw := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := raw.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: devstack.SearchAttributes, Namespace: ts.GetDefaultNamespace()}); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}
	entry, err := codec.GenerateKey("e2e1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := codec.ParseKeys(entry)
	if err != nil {
		t.Fatal(err)
	}
	token, err := codec.GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	enc := ts.NewClientWithOptions(client.Options{DataConverter: codec.NewDataConverter(keys),
		FailureConverter: codec.NewFailureConverter(keys)})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + ln.Addr().String()
	kit := testkit.New(t, testkit.Options{WebhookURL: apiURL + "/v1/hooks/theworxhub/" + testkit.Connection})
	eng := kit.UseTemporal(enc)
	w := workers.New(enc, kit.Activities, workers.Options{TaskQueue: "ticketsync"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	codecHandler, err := codec.NewHandler(keys, codec.HandlerOptions{Tokens: []string{token}})
	if err != nil {
		t.Fatal(err)
	}
	api := &starter.API{Store: kit.Store, Engine: eng, Connections: kit.Registry, PollInterval: 15 * time.Minute, Codec: codecHandler}
	srv := &http.Server{Handler: api.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &codecWorld{world: &world{t: t, kit: kit, ts: ts, apiURL: apiURL}, enc: enc, raw: raw, token: token}
}

// A ticket's personal fields never reach Temporal in plaintext: the raw history of every
// workflow (the ticket's and the connection's), fetched without the codec, holds none of them,
// while the state query through the codec, and the /codec/decode endpoint Temporal Web calls,
// still read them.
func TestNoPersonalDataInRawHistory(t *testing.T) {
	w := newCodecWorld(t)
	personal := map[string]string{
		"name":        "Zelda Quintessa Marchbanks",
		"email":       "zelda.marchbanks.7731@example.org",
		"phone":       "+1 555 0199 4242",
		"description": "Water pours through the ceiling above the piano, flat 4C",
		"comment":     "Please ring twice, the doorbell is broken since Tuesday",
		"feedback":    "Plumber booked for Zelda on Thursday morning",
	}
	body := ticketBody("nopii-1")
	body["description"] = personal["description"]
	body["requester"] = map[string]any{"name": personal["name"], "email": personal["email"], "phone": personal["phone"]}
	code, created := w.call("POST", "/v1/tickets", w.kit.APIKey, body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id, _ := created["id"].(string)
	remote := w.oneRemote()
	if remote.RequestedFor.Email != personal["email"] {
		t.Fatalf("the work system must still get the requester: %+v", remote.RequestedFor)
	}
	if code, out := w.call("POST", "/v1/tickets/"+id+"/comments", w.kit.APIKey,
		map[string]string{"text": personal["comment"], "author": "Resident"}); code != http.StatusAccepted {
		t.Fatalf("comment: %d %v", code, out)
	}
	waitFor(t, 20*time.Second, "the comment at the work system", func() bool {
		r, _ := w.kit.TWH.Request(remote.ID)
		return len(r.Comments) == 1
	})
	if _, err := w.kit.TWH.Transition(remote.ID, twhsim.StatusRejected,
		&twhsim.FeedbackInput{Text: personal["feedback"], Author: "Front desk", VisibleToRequestor: true}, false); err != nil {
		t.Fatal(err)
	}
	wfID := ticket.WorkflowID(testkit.Connection, "nopii-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.enc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("the ticket must finish (rejected): %v", err)
	}

	// Every workflow of the namespace, every event, read raw.
	var list *workflowservice.ListWorkflowExecutionsResponse
	waitFor(t, 10*time.Second, "the ticket in the visibility store", func() bool {
		var err error
		list, err = w.raw.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: w.ts.GetDefaultNamespace()})
		return err == nil && slices.ContainsFunc(list.Executions, func(e *workflowpb.WorkflowExecutionInfo) bool {
			return e.Execution.WorkflowId == wfID
		})
	})
	encrypted := 0
	for _, ex := range list.Executions {
		it := w.raw.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", ex.Execution.WorkflowId, err)
			}
			wire, _ := proto.Marshal(ev)
			text, _ := protojson.Marshal(ev)
			for field, v := range personal {
				if bytes.Contains(wire, []byte(v)) || bytes.Contains(text, []byte(v)) {
					t.Errorf("%s event %d (%s) holds the %s in plaintext", ex.Execution.WorkflowId, ev.EventId, ev.EventType, field)
				}
			}
			encrypted += countEncrypted(ev)
		}
	}
	if encrypted == 0 {
		t.Fatal("no encrypted payload in any history: is the codec wired?")
	}

	// Through the codec the state query still reads the personal fields.
	st, err := w.kit.Activities.Engine.State(ctx, wfID)
	if err != nil {
		t.Fatalf("state through the codec: %v", err)
	}
	if st.Request == nil || st.Request.Requester.Name != personal["name"] || st.Request.Requester.Email != personal["email"] ||
		st.Request.Requester.Phone != personal["phone"] || st.Request.Description != personal["description"] {
		t.Fatalf("state query through the codec lost the personal fields: %+v", st.Request)
	}
	// Without it the answer is ciphertext.
	v, err := w.raw.QueryWorkflow(ctx, wfID, "", ticket.QueryState)
	if err != nil {
		t.Fatalf("raw query: %v", err)
	}
	var rawState ticket.State
	if err := v.Get(&rawState); err == nil {
		t.Fatalf("a client without the codec decoded the state: %+v", rawState)
	}

	// Temporal Web (or the temporal CLI) decodes the input through /codec/decode with the token.
	first := w.raw.GetWorkflowHistory(ctx, wfID, "", false, 0)
	ev, err := first.Next()
	if err != nil {
		t.Fatal(err)
	}
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	reqBody, _ := protojson.Marshal(input)
	decoded := w.codecDecode(t, reqBody, w.token)
	if !strings.Contains(decoded, personal["email"]) {
		t.Fatalf("/codec/decode did not give the input back: %.300s", decoded)
	}
	if got := w.codecDecode(t, reqBody, "not-the-token-0123456789"); strings.Contains(got, personal["email"]) {
		t.Fatal("/codec/decode decrypted for a wrong token")
	}
}

func (w *codecWorld) codecDecode(t *testing.T, body []byte, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.apiURL+"/codec/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Namespace", w.ts.GetDefaultNamespace())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var ps commonpb.Payloads
	if err := protojson.Unmarshal(out, &ps); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	var b strings.Builder
	for _, p := range ps.Payloads {
		var v any
		if json.Unmarshal(p.Data, &v) == nil {
			j, _ := json.Marshal(v)
			b.Write(j)
		}
	}
	return b.String()
}

// countEncrypted counts the codec's payloads in one event (any field, any depth).
func countEncrypted(ev proto.Message) int {
	n := 0
	var walk func(m proto.Message)
	walk = func(m proto.Message) {
		if p, ok := m.(*commonpb.Payload); ok {
			if string(p.GetMetadata()["encoding"]) == codec.EncodingEncrypted {
				n++
			}
			return
		}
		m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message().Interface())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message().Interface())
					return true
				})
			case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
				walk(v.Message().Interface())
			}
			return true
		})
	}
	walk(ev)
	return n
}
