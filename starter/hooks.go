package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
	"github.com/ticketsync/ticketsync/workflows"
)

const maxHookBody = 64 << 10

// theWorxHubHook receives TheWorxHub's thin "workrequest.updated" push and pokes the ticket, so
// the status reaches the portal in seconds. The push is best effort and unordered: it only
// triggers a read; the feed and the timer remain the source of truth.
func (a *API) theWorxHubHook(w http.ResponseWriter, r *http.Request) *Problem {
	connID := r.PathValue("connection")
	conn, err := a.Connections.Get(connID)
	if err != nil || conn.WorkKind != "theworxhub" {
		return problem(http.StatusNotFound, fmt.Sprintf("no TheWorxHub connection %q", connID))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body exceeds %d bytes", maxHookBody))
	}
	if conn.WebhookSecret != "" {
		if !theworxhub.VerifyWebhook(conn.WebhookSecret, body, r.Header.Get("X-TWH-Signature")) {
			return problem(http.StatusUnauthorized, "bad or missing X-TWH-Signature")
		}
	}
	if p := checkJSONContentType(r); p != nil {
		return p
	}
	ev, err := theworxhub.ParseWebhook(body)
	if err != nil {
		return problem(http.StatusBadRequest, "invalid webhook body: "+err.Error())
	}
	if ev.ID == "" {
		return validationProblem([]FieldError{{"id", "is required"}})
	}
	if d := r.Header.Get("X-TWH-Delivery"); d != "" {
		first, err := a.Store.RecordDelivery(r.Context(), "theworxhub:"+connID, d+"@"+ev.ModifiedAt.UTC().Format(time.RFC3339Nano), time.Now().UTC())
		if err == nil && !first {
			writeJSON(w, http.StatusOK, map[string]any{"accepted": true, "duplicate": true})
			return nil
		}
	}
	t, err := a.Store.GetTicketByRemoteID(r.Context(), connID, ev.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Not recorded yet (a change right after the create) or not ours: read the request's
		// reference back from the work system to find its ticket.
		if wfID, ok := a.workflowForUnrecordedRemote(r.Context(), conn, ev.ID); ok {
			if err := a.Tickets.Signal(r.Context(), wfID, workflows.SignalPoke, nil); err == nil {
				writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "workflowId": wfID})
				return nil
			}
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "ticket": nil})
		return nil
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, "could not look the request up; retry")
	}
	if err := a.Tickets.Signal(r.Context(), t.WorkflowID, workflows.SignalPoke, nil); err != nil && !errors.Is(err, ErrWorkflowClosed) {
		return problem(http.StatusServiceUnavailable, "could not poke the ticket; retry")
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "ticket": t.ID})
	return nil
}

// workflowForUnrecordedRemote asks the work system for a request's reference and reads the
// ticket's workflow id from it (bounded: the push must be answered quickly).
func (a *API) workflowForUnrecordedRemote(ctx context.Context, conn *connectors.Conn, remoteID string) (string, bool) {
	p, ok := conn.Work.(vendorapi.ReferenceParser)
	if !ok {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	remote, err := conn.Work.Get(ctx, remoteID)
	if err != nil || remote == nil {
		return "", false
	}
	ext, ok := p.ParseReference(conn.ID, remote.ExternalReference)
	if !ok {
		return "", false
	}
	return ticket.WorkflowID(conn.ID, ext), true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
