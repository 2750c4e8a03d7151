package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// hookEnv is a connection's vendorapi.HookEnv over the store.
type hookEnv struct {
	store *store.Store
	conn  *connectors.Conn
}

// HookEnv returns the hook environment of a connection.
func (e *Engine) HookEnv(conn *connectors.Conn) vendorapi.HookEnv {
	return hookEnv{store: e.Store, conn: conn}
}

func info(t store.Ticket) vendorapi.TicketInfo {
	out := vendorapi.TicketInfo{ID: t.ID, WorkflowID: t.WorkflowID, ExternalID: t.ExternalID, RemoteID: t.RemoteID,
		Status: t.Status, UpdatedAt: t.UpdatedAt}
	if req, ok := requestOf(t.Request); ok {
		out.Request = req
	}
	return out
}

func (h hookEnv) Ticket(ctx context.Context, externalID string) (vendorapi.TicketInfo, bool, error) {
	t, err := h.store.GetTicketByExternalID(ctx, h.conn.ID, externalID)
	if errors.Is(err, store.ErrNotFound) {
		return vendorapi.TicketInfo{}, false, nil
	}
	if err != nil {
		return vendorapi.TicketInfo{}, false, err
	}
	return info(t), true, nil
}

func (h hookEnv) Tickets(ctx context.Context, since time.Time, includeClosed bool) ([]vendorapi.TicketInfo, error) {
	var out []vendorapi.TicketInfo
	f := store.TicketFilter{Tenant: h.conn.Tenant, Connection: h.conn.ID, Limit: 500}
	for {
		rows, next, err := h.store.ListTickets(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range rows {
			if t.UpdatedAt.Before(since) || (!includeClosed && ticket.IsTerminal(t.Status)) {
				continue
			}
			out = append(out, info(t))
		}
		if next == "" {
			return out, nil
		}
		f.Cursor = next
	}
}

func (h hookEnv) Get(ctx context.Context, key string) (string, error) {
	return h.store.GetCursor(ctx, h.conn.ID, "hook."+key)
}

func (h hookEnv) Put(ctx context.Context, key, value string) error {
	return h.store.SaveCursor(ctx, h.conn.ID, "hook."+key, value)
}

// requestOf reads a ticket row's request: the canonical create body (RequestHash) or, for a
// row repaired by the workflow's sync, the bare request.
func requestOf(raw []byte) (vendorapi.NewRequest, bool) {
	var body struct {
		Request *vendorapi.NewRequest `json:"request"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Request != nil {
		return *body.Request, true
	}
	var bare vendorapi.NewRequest
	if json.Unmarshal(raw, &bare) == nil && bare.Title != "" {
		return bare, true
	}
	return vendorapi.NewRequest{}, false
}
