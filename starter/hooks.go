package starter

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/ticketsync/ticketsync/store"
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
		// Not one of ours (or not recorded yet): acknowledge so the sender does not retry.
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
