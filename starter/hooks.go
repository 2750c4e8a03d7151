package starter

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Inbound hook limits: a body bigger than maxHookBody is refused (streamed paths excepted) and
// each connection takes at most hookRate calls per second (burst hookBurst) so that nobody can
// make us spend a connection's vendor calls or the store's time.
const (
	maxHookBody = 1 << 20
	hookRate    = 20
	hookBurst   = 100
)

// hookLimiters holds one inbound limiter per connection.
type hookLimiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (h *hookLimiters) allow(conn string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*rate.Limiter{}
	}
	l, ok := h.m[conn]
	if !ok {
		l = rate.NewLimiter(hookRate, hookBurst)
		h.m[conn] = l
	}
	return l.Allow()
}

// unauthorizedHook is the one answer for a bad signature and for an unknown connection, so a
// caller cannot tell which connection ids exist.
func unauthorizedHook() *Problem {
	return problem(http.StatusUnauthorized, "the hook could not be verified (bad or missing signature or credentials)")
}

// hook serves /v1/hooks/{kind}/{connection}/{path...} and counts each call by result
// (ticketsync_inbound_hooks_total).
func (a *API) hook(w http.ResponseWriter, r *http.Request) *Problem {
	result := metrics.HookAccepted
	p := a.serveHook(w, r, &result)
	if p != nil {
		switch {
		case p.Status == http.StatusUnauthorized:
			result = metrics.HookBadSignature
		case p.Status == http.StatusNotFound:
			result = metrics.HookUnknownConnection
		case p.Status >= 500:
			result = metrics.HookError
		default:
			result = metrics.HookInvalid
		}
	}
	kind := r.PathValue("kind")
	if !isKnownKind(kind) {
		kind = "unknown" // a caller must not mint label values
	}
	metrics.CountInboundHook(kind, result)
	return p
}

// serveHook finds the vendor package owning {kind} on the connection, lets it verify and parse
// the call, executes the intents it returns through the engine, and answers (a vendor's
// synchronous answer, or 202).
func (a *API) serveHook(w http.ResponseWriter, r *http.Request, result *string) *Problem {
	kind, connID, path := r.PathValue("kind"), r.PathValue("connection"), r.PathValue("path")
	if !isKnownKind(kind) {
		return problem(http.StatusNotFound, fmt.Sprintf("no hooks for kind %q", kind))
	}
	conn, err := a.Connections.Get(connID)
	if err != nil {
		return unauthorizedHook()
	}
	h := conn.Hooks(kind)
	if h == nil {
		return problem(http.StatusNotFound, fmt.Sprintf("connection %q takes no %s hooks", connID, kind))
	}
	if !a.hookLimits.allow(connID) {
		w.Header().Set("Retry-After", "1")
		return problem(http.StatusTooManyRequests, "too many hook calls for this connection; retry shortly")
	}
	req := vendorapi.HookRequest{Connection: connID, Path: path, Method: r.Method, Header: r.Header, Received: time.Now().UTC()}
	if s, ok := h.(vendorapi.HookStreamer); ok && s.StreamsHook(path) {
		req.Stream = r.Body
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("hook body exceeds %d bytes", maxHookBody))
			}
			return problem(http.StatusBadRequest, "could not read the hook body")
		}
		req.Body = body
	}
	res, err := h.HandleHook(r.Context(), a.Engine.HookEnv(conn), req)
	if err != nil {
		var he *vendorapi.HookError
		if errors.As(err, &he) {
			if he.Status == http.StatusUnauthorized {
				return unauthorizedHook()
			}
			return problem(he.Status, he.Detail)
		}
		a.log().Error("hook failed", "kind", kind, "connection", connID, "error", err)
		return problem(http.StatusServiceUnavailable, "the hook could not be processed; retry")
	}
	duplicate, p := a.executeHook(r, conn, kind, res)
	if p != nil {
		return p
	}
	if duplicate {
		*result = metrics.HookDuplicate
	}
	if res.Status != 0 {
		ct := res.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
		return nil
	}
	if duplicate {
		writeJSON(w, http.StatusOK, map[string]any{"accepted": true, "duplicate": true})
		return nil
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true})
	return nil
}

// executeHook runs a hook's intents once per delivery key (see vendorapi.HookResult) and
// reports whether the delivery was a replay.
func (a *API) executeHook(r *http.Request, conn *connectors.Conn, kind string, res vendorapi.HookResult) (bool, *Problem) {
	source := kind + ":" + conn.ID
	if res.DeliveryKey != "" {
		seen, err := a.Store.DeliverySeen(r.Context(), source, res.DeliveryKey)
		if err != nil {
			return false, problem(http.StatusServiceUnavailable, "could not check the delivery; retry")
		}
		if seen {
			return true, nil // acknowledged without a second effect
		}
	}
	if _, err := a.Engine.Execute(r.Context(), conn, res.Intents); err != nil {
		a.log().Warn("hook intents failed", "kind", kind, "connection", conn.ID, "error", err)
		return false, problem(http.StatusServiceUnavailable, "could not act on the hook; retry")
	}
	if res.DeliveryKey != "" {
		if _, err := a.Store.RecordDelivery(r.Context(), source, res.DeliveryKey, time.Now().UTC()); err != nil {
			a.log().Warn("record hook delivery", "source", source, "error", err)
		}
	}
	return false, nil
}

func isKnownKind(kind string) bool {
	return slices.Contains(connectors.WorkKinds(), kind) || slices.Contains(connectors.RequestKinds(), kind)
}
