package starter

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// Operator API keys (TICKETSYNC_OPERATOR_API_KEYS) belong to whoever runs ticketsync, not to a
// tenant: they open the operator routes (skip, enable-endpoint, …) and see every tenant's
// tickets and connections. Tenant keys get 403 on operator routes.

const operatorKey ctxKey = 2

// isOperator reports whether the request was authenticated with an operator key.
func isOperator(r *http.Request) bool { v, _ := r.Context().Value(operatorKey).(bool); return v }

// canSee reports whether the caller may see a resource of tenant.
func canSee(r *http.Request, tenant string) bool { return isOperator(r) || tenant == tenantOf(r) }

// operatorKeyHashes hashes the configured operator keys once (compared in constant time).
func (a *API) operatorKeyHashes() [][32]byte {
	a.operatorOnce.Do(func() {
		for _, k := range a.OperatorKeys {
			if k = strings.TrimSpace(k); k != "" {
				a.operatorHashes = append(a.operatorHashes, sha256.Sum256([]byte(k)))
			}
		}
	})
	return a.operatorHashes
}

// matchOperatorKey reports whether key is an operator key.
func (a *API) matchOperatorKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, h := range a.operatorKeyHashes() {
		found |= subtle.ConstantTimeCompare(sum[:], h[:])
	}
	return found == 1
}

// withOperator marks the request as an operator's.
func withOperator(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), operatorKey, true))
}

// operatorOnly guards an operator route: tenant keys get 403.
func (a *API) operatorOnly(h func(http.ResponseWriter, *http.Request) *Problem) func(http.ResponseWriter, *http.Request) *Problem {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		if !isOperator(r) {
			return problem(http.StatusForbidden, "this is an operator action: call it with an operator API key (TICKETSYNC_OPERATOR_API_KEYS), not a tenant's")
		}
		return h(w, r)
	}
}

// operatorConnection returns connection {id} for an operator (any tenant) or its tenant.
func (a *API) operatorConnection(r *http.Request) (*connectors.Conn, *Problem) {
	id := r.PathValue("id")
	c, err := a.Connections.Get(id)
	if err != nil || !canSee(r, c.Tenant) {
		return nil, problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", id))
	}
	return c, nil
}

// enableEndpoint re-enables a connection's request-system endpoint after a 410 Gone
// (contracts/portal.md: the operator must re-enable it) and sends `retry` to every ticket of
// the connection whose deliveries wait for it, so they resume now rather than at their hourly
// re-check. It answers the connection.
func (a *API) enableEndpoint(w http.ResponseWriter, r *http.Request) *Problem {
	c, p := a.operatorConnection(r)
	if p != nil {
		return p
	}
	was, err := a.Store.EnableEndpoint(r.Context(), c.Tenant, c.ID)
	if err != nil {
		a.log().Error("enable endpoint", "connection", c.ID, "error", err)
		return problem(http.StatusServiceUnavailable, "could not record the endpoint as enabled; retry")
	}
	retried, failed := a.retryEndpointWaiters(r.Context(), c)
	a.log().Info("endpoint re-enabled by an operator", "connection", c.ID, "tenant", c.Tenant, "wasDisabled", was,
		"ticketsRetried", retried, "retryFailed", failed)
	if failed > 0 {
		// The endpoint is enabled; the tickets not reached resume at their hourly re-check.
		w.Header().Set("Warning", fmt.Sprintf(`199 - "%d waiting tickets could not be signalled; they resume within the hour"`, failed))
	}
	writeJSON(w, http.StatusOK, a.connectionView(r, c))
	return nil
}

// retryEndpointWaiters signals retry to the connection's tickets parked on its disabled endpoint.
func (a *API) retryEndpointWaiters(ctx context.Context, c *connectors.Conn) (retried, failed int) {
	parked := true
	f := store.TicketFilter{Tenant: c.Tenant, Connection: c.ID, NeedsAttention: &parked, Limit: store.MaxPageSize}
	for {
		rows, next, err := a.Store.ListTickets(ctx, f)
		if err != nil {
			a.log().Warn("list tickets waiting for the endpoint", "connection", c.ID, "error", err)
			return retried, failed + 1
		}
		for _, t := range rows {
			if !strings.HasPrefix(t.AttentionReason, ticket.ReasonEndpointDisabled) {
				continue
			}
			switch err := a.Engine.Signal(ctx, t.WorkflowID, ticket.SignalRetry, nil); {
			case err == nil, errors.Is(err, engine.ErrWorkflowClosed):
				retried++
			default:
				failed++
				a.log().Warn("retry after enable-endpoint", "ticket", t.ID, "error", err)
			}
		}
		if next == "" {
			return retried, failed
		}
		f.Cursor = next
	}
}
