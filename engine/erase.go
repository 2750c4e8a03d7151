package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// Retention and erasure. Residents and citizens may ask for their personal data to be erased;
// a finished ticket's requester fields then leave the store at once (an anonymous row and an
// audit entry stay) and its workflow history leaves Temporal as soon as the workflow has
// closed (DeleteErasedHistories, run by the API process). Retention prunes what finished
// tickets leave behind after a configured time.

// ErrOpen: erasure waits until the ticket has finished (cancel it first).
var ErrOpen = errors.New("the ticket is still open")

// errStillRunning: the workflow has not closed yet (it may still be delivering its last
// events); its history is deleted at a later pass.
var errStillRunning = errors.New("workflow still running")

// LocalSeqBase numbers timeline entries written outside the workflow (audit entries): far
// above any sequence a workflow reaches, so they never collide with the workflow's own and
// sort after them.
const LocalSeqBase int64 = 1 << 40

// personalKeys are the JSON members erasure removes from timeline payloads, wherever they
// appear: requester and staff text, names and contact data, places and files.
var personalKeys = []string{"text", "author", "name", "email", "phone", "description", "title", "address",
	"location", "lat", "lng", "requester", "answers", "attachments", "comment", "comments", "body", "url"}

// detailIsOurs lists the event types whose detail is ours (ids, operator reasons) and stays;
// other details (truncations keep the full text, notes and comment results may quote it) go.
var detailIsOurs = []string{ticket.EventRemoteCreated, ticket.EventPaused, ticket.EventResumed,
	ticket.EventSkipped, ticket.EventRemapped, ticket.EventErased}

// scrubJSON removes personal members from a JSON document and shortens reasons to their class.
// changed reports whether anything was removed.
func scrubJSON(raw json.RawMessage, keepDetail bool) (out json.RawMessage, changed bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return raw, false
	}
	v, changed = scrubValue(v, keepDetail)
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw, false
	}
	return b, true
}

func scrubValue(v any, keepDetail bool) (any, bool) {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			switch {
			case slices.Contains(personalKeys, k) || (k == "detail" && !keepDetail):
				delete(x, k)
				changed = true
			case k == "reason":
				if s, ok := child.(string); ok && ReasonClass(s) != s {
					x[k] = ReasonClass(s)
					changed = true
				}
			default:
				var c bool
				x[k], c = scrubValue(child, keepDetail)
				changed = changed || c
			}
		}
	case []any:
		for i, child := range x {
			var c bool
			x[i], c = scrubValue(child, keepDetail)
			changed = changed || c
		}
	}
	return v, changed
}

// anonymousRequest is what stays of an erased ticket's create body: which connection and
// request-system id it was, and the request type (statistics), nothing about the person.
func anonymousRequest(t store.Ticket) json.RawMessage {
	var body struct {
		Request struct {
			RequestType string `json:"requestType"`
		} `json:"request"`
	}
	_ = json.Unmarshal(t.Request, &body)
	if body.Request.RequestType == "" {
		_ = json.Unmarshal(t.Request, &body.Request) // a bare request (row repaired by the workflow)
	}
	out, _ := json.Marshal(map[string]any{"connection": t.Connection, "externalId": t.ExternalID,
		"request": map[string]string{"requestType": body.Request.RequestType}})
	return out
}

// ErasureEvent is the payload of the ticket.erased audit entry.
type ErasureEvent struct {
	ticket.Event
	ErasedBy string    `json:"erasedBy"`
	ErasedAt time.Time `json:"erasedAt"`
}

// Erase removes the requester's personal data of a finished ticket from the store: the create
// body (only the connection, external id and request type stay), personal members of every
// timeline payload, the vendor text of the needs-attention reason. It records a ticket.erased
// audit entry with who and when, and leaves the workflow history for DeleteErasedHistories.
// Idempotent: erasing again changes nothing and returns the first erasure. ErrOpen while the
// ticket is open.
func (e *Engine) Erase(ctx context.Context, t store.Ticket, by string) (store.Lifecycle, error) {
	if !ticket.IsTerminal(t.Status) {
		return store.Lifecycle{}, fmt.Errorf("%w: ticket %s is %s", ErrOpen, t.ID, t.Status)
	}
	ref := ticket.Ref{TicketID: t.ID, WorkflowID: t.WorkflowID, Tenant: t.Tenant, Connection: t.Connection, ExternalID: t.ExternalID}
	events, err := e.Store.ListEvents(ctx, t.ID)
	if err != nil {
		return store.Lifecycle{}, err
	}
	scrubbed := map[string]json.RawMessage{}
	for _, ev := range events {
		if p, changed := scrubJSON(ev.Payload, slices.Contains(detailIsOurs, ev.Type)); changed {
			scrubbed[ev.ID] = p
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	audit := ErasureEvent{Event: ticket.Event{ID: ticket.EventID(t.WorkflowID+"#erased", 0), Seq: LocalSeqBase,
		Type: ticket.EventErased, OccurredAt: now, Detail: "requester's personal data erased by " + by},
		ErasedBy: by, ErasedAt: now}
	payload, _ := json.Marshal(audit)
	lc, erased, err := e.Store.EraseTicket(ctx, store.Erasure{TicketID: t.ID, Request: anonymousRequest(t),
		AttentionReason: ReasonClass(t.AttentionReason), Events: scrubbed, By: by, At: now,
		Audit: store.Event{ID: audit.ID, TicketID: t.ID, Seq: audit.Seq, Type: audit.Type, Payload: payload, OccurredAt: now}})
	if err != nil {
		return lc, err
	}
	if erased {
		ref.Logger(e.log()).Info("personal data erased", "by", by, "timelineRows", len(scrubbed))
	}
	return lc, nil
}

// DeleteHistory deletes every run of a closed ticket workflow from Temporal (continue-as-new
// leaves one history per run, each with the request in its input) and returns how many it
// deleted; a workflow Temporal no longer has (retention got there first) deletes nothing.
// A running workflow is errStillRunning: deleting it would terminate it.
func (e *Engine) DeleteHistory(ctx context.Context, namespace, workflowID string) (int, error) {
	desc, err := e.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return 0, errStillRunning
	}
	svc := e.Client.WorkflowService()
	runs := []string{info.GetExecution().GetRunId()}
	// Walk the continue-as-new chain back through each run's first event…
	for run := runs[0]; run != ""; {
		hist, err := svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: run}, MaximumPageSize: 1})
		if errors.As(err, &nf) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read history of %s run %s: %w", workflowID, run, err)
		}
		run = ""
		if evs := hist.GetHistory().GetEvents(); len(evs) > 0 {
			if prev := evs[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId(); prev != "" && !slices.Contains(runs, prev) {
				runs = append(runs, prev)
				run = prev
			}
		}
	}
	// …and add runs only visibility knows (resets), when the id can be quoted.
	if !strings.ContainsAny(workflowID, `'"\`) {
		var token []byte
		for page := 0; page < 100; page++ {
			resp, err := svc.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: namespace, Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), NextPageToken: token})
			if err != nil {
				e.log().Debug("list runs from visibility", "workflowId", workflowID, "error", err)
				break
			}
			for _, ex := range resp.GetExecutions() {
				if r := ex.GetExecution().GetRunId(); ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && !slices.Contains(runs, r) {
					runs = append(runs, r)
				}
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
	}
	for _, run := range runs {
		_, err := svc.DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: run}})
		if err != nil && !errors.As(err, &nf) {
			return 0, fmt.Errorf("delete %s run %s: %w", workflowID, run, err)
		}
	}
	return len(runs), nil
}

// HistoryCounts summarise one DeleteErasedHistories pass.
type HistoryCounts struct {
	Deleted int `json:"deleted"` // tickets whose history is gone now
	Waiting int `json:"waiting"` // workflows still running (retried next pass)
	Failed  int `json:"failed"`
}

// DeleteErasedHistories deletes the Temporal history of erased tickets whose workflow has
// closed, recording each deletion on the ticket row and its timeline. Safe to run from several
// processes at once (deletion and the record are idempotent).
func (e *Engine) DeleteErasedHistories(ctx context.Context, namespace string, limit int) (HistoryCounts, error) {
	var c HistoryCounts
	pending, err := e.Store.PendingHistoryDeletions(ctx, limit)
	if err != nil {
		return c, err
	}
	var errs []error
	for _, p := range pending {
		ref := ticket.Ref{TicketID: p.TicketID, WorkflowID: p.WorkflowID, Tenant: p.Tenant, Connection: p.Connection, ExternalID: p.ExternalID}
		log := ref.Logger(e.log())
		n, err := e.DeleteHistory(ctx, namespace, p.WorkflowID)
		switch {
		case errors.Is(err, errStillRunning):
			c.Waiting++
			log.Debug("erased ticket's workflow still running; its history is deleted once it closes")
			continue
		case err != nil:
			c.Failed++
			errs = append(errs, err)
			log.Warn("delete erased ticket's workflow history", "error", err)
			continue
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		note := ticket.Event{ID: ticket.EventID(p.WorkflowID+"#history-deleted", 0), Seq: LocalSeqBase + 1,
			Type: ticket.EventNote, OccurredAt: now, Detail: fmt.Sprintf("workflow history deleted from Temporal (%d runs)", n)}
		payload, _ := json.Marshal(note)
		if err := e.Store.MarkHistoryDeleted(ctx, p.TicketID, now, store.Event{ID: note.ID, TicketID: p.TicketID,
			Seq: note.Seq, Type: note.Type, Payload: payload, OccurredAt: now}); err != nil {
			c.Failed++
			errs = append(errs, err)
			continue
		}
		c.Deleted++
		log.Info("erased ticket's workflow history deleted", "runs", n)
	}
	return c, errors.Join(errs...)
}

// PruneRetention forgets the timeline rows and request bodies of tickets that finished more
// than retention ago (audit entries stay; counts stay on the ticket row).
func (e *Engine) PruneRetention(ctx context.Context, retention time.Duration) (store.PruneCounts, error) {
	if retention <= 0 {
		return store.PruneCounts{}, nil
	}
	return e.Store.PruneFinished(ctx, store.RetentionPolicy{Before: time.Now().UTC().Add(-retention),
		Statuses: []string{ticket.Done, ticket.Canceled}, Keep: []string{ticket.EventErased}})
}
