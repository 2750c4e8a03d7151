package starter

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
)

// ErasureView answers DELETE /v1/tickets/{id}/personal-data.
type ErasureView struct {
	Ticket   TicketView `json:"ticket"`
	ErasedAt time.Time  `json:"erasedAt"`
}

// caller names who made the request for audit entries: the API key's public id (never the
// key) and its tenant, or that it was an operator key.
func caller(r *http.Request) string {
	_, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	id := store.APIKeyID(strings.TrimSpace(key))
	if isOperator(r) {
		return "operator API key " + id
	}
	return fmt.Sprintf("API key %s (tenant %s)", id, tenantOf(r))
}

// erasePersonalData removes the requester's personal data of a finished ticket: the store
// keeps an anonymous row and a ticket.erased audit entry, and the workflow's history is
// deleted from Temporal once the workflow has closed (the API process does it within
// seconds; the timeline records it). Erasing again answers the first erasure.
func (a *API) erasePersonalData(w http.ResponseWriter, r *http.Request) *Problem {
	t, p := a.loadTicket(r)
	if p != nil {
		return p
	}
	lc, err := a.Engine.Erase(r.Context(), t, caller(r))
	switch {
	case errors.Is(err, engine.ErrOpen):
		return problem(http.StatusConflict, fmt.Sprintf("ticket %s is %s: its personal data can be erased once it has finished (cancel it first)", t.ID, t.Status))
	case err != nil:
		a.log().Error("erase personal data", append(refOf(t).LogAttrs(), "error", err)...)
		return problem(http.StatusServiceUnavailable, "could not erase the personal data; nothing was changed, retry later")
	}
	if fresh, err := a.Store.GetTicket(r.Context(), t.Tenant, t.ID); err == nil {
		t = fresh
	}
	out := ErasureView{Ticket: a.view(t)}
	if lc.ErasedAt != nil {
		out.ErasedAt = lc.ErasedAt.UTC()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
