package codec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// wire records every payload as it would leave the process for the Temporal server: it sits
// outside the encryption codec (codecs encode last to first, so it sees ciphertext).
type wire struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (w *wire) Encode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range ps {
		b, err := proto.Marshal(p)
		if err != nil {
			return ps, err
		}
		w.payloads = append(w.payloads, b)
	}
	return ps, nil
}

func (w *wire) Decode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) { return ps, nil }

type ticketSummary struct {
	ExternalID string
	Comments   int
}

func describeActivity(_ context.Context, t personalTicket) (string, error) {
	if !strings.Contains(t.Email, "@") {
		return "", temporal.NewNonRetryableApplicationError("bad email "+t.Email, "Validation", nil)
	}
	return "for " + t.Name + ": " + t.Description, nil
}

// personalWorkflow moves personal data through every payload path: input, activity input and
// result, a signal, a query and the result.
func personalWorkflow(ctx workflow.Context, t personalTicket) (ticketSummary, error) {
	if err := workflow.SetQueryHandler(ctx, "state", func() (personalTicket, error) { return t, nil }); err != nil {
		return ticketSummary{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var desc string
	if err := workflow.ExecuteActivity(ctx, describeActivity, t).Get(ctx, &desc); err != nil {
		return ticketSummary{}, err
	}
	var comment string
	workflow.GetSignalChannel(ctx, "comment").Receive(ctx, &comment)
	t.Comments = append(t.Comments, comment, desc)
	return ticketSummary{ExternalID: t.ExternalID, Comments: len(t.Comments)}, nil
}

func TestWorkflowPayloadsLeaveEncrypted(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	rec := &wire{}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetDataConverter(converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), rec, New(kr)))
	env.SetFailureConverter(NewFailureConverter(kr))
	env.RegisterWorkflow(personalWorkflow)
	env.RegisterActivity(describeActivity)

	in := samplePersonal()
	const secretComment = "I will be away until Friday, key is under the mat"
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow("state")
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var got personalTicket
		if err := v.Get(&got); err != nil || got.Email != in.Email {
			t.Errorf("query result: %+v %v", got, err)
		}
		env.SignalWorkflow("comment", secretComment)
	}, time.Second)
	env.ExecuteWorkflow(personalWorkflow, in)

	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	var sum ticketSummary
	if err := env.GetWorkflowResult(&sum); err != nil || sum.ExternalID != in.ExternalID || sum.Comments != 3 {
		t.Fatalf("result %+v %v", sum, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// input, activity input, activity result, query result, signal, workflow result at least.
	if len(rec.payloads) < 6 {
		t.Fatalf("only %d payloads went through the codec", len(rec.payloads))
	}
	for i, p := range rec.payloads {
		assertNoPlaintext(t, fmt.Sprintf("payload %d", i), p, append(in.secrets(), secretComment))
	}
}

func TestWorkflowActivityFailureStaysReadable(t *testing.T) {
	kr := mustKeys(t, entry("k1", 1))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetDataConverter(NewDataConverter(kr))
	env.SetFailureConverter(NewFailureConverter(kr))
	env.RegisterWorkflow(personalWorkflow)
	env.RegisterActivity(describeActivity)
	in := samplePersonal()
	in.Email = "no-at-sign"
	env.ExecuteWorkflow(personalWorkflow, in)
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "Validation" || !strings.Contains(appErr.Error(), "bad email no-at-sign") {
		t.Fatalf("the failure must decode back to its message for those holding the key: %v", err)
	}
}
