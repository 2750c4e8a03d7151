package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ErrConflict: a ticket with the same external id exists with a different request.
var ErrConflict = errors.New("a ticket with this external id exists with a different request")

// ErrRequestTooLarge: the request, encoded as the workflow engine stores it, is over
// ticket.MaxRequestBytes (it would fail or endanger the ticket's workflow: Temporal refuses
// payloads over 2 MiB, and a continue-as-new input over it terminates the workflow).
var ErrRequestTooLarge = errors.New("the request is too large for a ticket")

// CheckRequestSize returns ErrRequestTooLarge (wrapped, with the sizes) when the encoded
// request is over budget.
func CheckRequestSize(nr vendorapi.NewRequest) error {
	if n := ticket.RequestBytes(nr); n > ticket.MaxRequestBytes {
		return fmt.Errorf("%w: %d bytes once encoded (characters such as <, > and & take 6 bytes each); at most %d",
			ErrRequestTooLarge, n, ticket.MaxRequestBytes)
	}
	return nil
}

// RequestHash is the idempotency fingerprint of a create: the same (connection, externalId,
// request) always hashes the same. It also returns the canonical body stored with the row.
func RequestHash(conn, externalID string, nr vendorapi.NewRequest) (string, []byte) {
	body, _ := json.Marshal(struct {
		Connection string               `json:"connection"`
		ExternalID string               `json:"externalId"`
		Request    vendorapi.NewRequest `json:"request"`
	}{conn, externalID, nr})
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), body
}

// CreateTicket records the ticket's row and starts its workflow, idempotently: it returns the
// row as stored and whether this call created it. A replay of the same request restarts
// nothing that already ran (the workflow id is derived from the external id) and a finished
// ticket is never started again; a different request under the same external id is
// ErrConflict. A row this call created is removed again when the workflow cannot be started,
// so a ticket is never half-created.
func (e *Engine) CreateTicket(ctx context.Context, conn *connectors.Conn, externalID string, nr vendorapi.NewRequest) (store.Ticket, bool, error) {
	if err := CheckRequestSize(nr); err != nil {
		return store.Ticket{}, false, err
	}
	hash, canonical := RequestHash(conn.ID, externalID, nr)
	ref := ticket.NewRef(conn.Tenant, conn.ID, externalID)
	now := time.Now().UTC().Truncate(time.Millisecond)
	row := store.Ticket{ID: ref.TicketID, Tenant: conn.Tenant, Connection: conn.ID, ExternalID: externalID,
		WorkflowID: ref.WorkflowID, RequestHash: hash, Request: canonical, Status: ticket.Submitted,
		MappingVersion: conn.Mapping, CreatedAt: now, UpdatedAt: now}
	got, created, err := e.Store.CreateTicket(ctx, row)
	if err != nil {
		return store.Ticket{}, false, fmt.Errorf("record ticket: %w", err)
	}
	if !created && got.RequestHash != "" && got.RequestHash != hash {
		return got, false, ErrConflict
	}
	if !created && ticket.IsTerminal(got.Status) {
		// Finished (perhaps long ago, its history gone with retention): a replayed create must
		// not start a second workflow that would overwrite Done with Submitted.
		return got, false, nil
	}
	in := e.Input(conn, ref, got.MappingVersion)
	in.Request = nr
	// Start (or confirm) the workflow on every create, replays included: a crash between the
	// insert and the start is healed by the client's retry.
	if err := e.Start(ctx, in); err != nil {
		if created {
			if derr := e.Store.DeleteTicket(context.WithoutCancel(ctx), ref.TicketID); derr != nil {
				e.log().Error("undo ticket row", append(ref.LogAttrs(), "error", derr)...)
			}
		}
		return store.Ticket{}, false, err
	}
	return got, created, nil
}

// Counts summarise a batch of intents (a refresh, an intake page, a hook).
type Counts struct {
	New       int `json:"new"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.New += o.New
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Failed += o.Failed
}

// Execute carries out intents in order. It stops at the first failure that a retry could fix
// (the caller retries the whole batch: every intent is idempotent) and returns the counts so
// far with the error; intents that can never succeed (a conflicting request) count as failed.
func (e *Engine) Execute(ctx context.Context, conn *connectors.Conn, intents []vendorapi.Intent) (Counts, error) {
	var c Counts
	for _, in := range intents {
		switch in.Kind {
		case vendorapi.IntentStart:
			if in.Request == nil || in.ExternalID == "" {
				c.Failed++
				e.log().Warn("start intent without request or external id", "connection", conn.ID)
				continue
			}
			_, created, err := e.CreateTicket(ctx, conn, in.ExternalID, *in.Request)
			switch {
			case errors.Is(err, ErrConflict):
				c.Failed++
				e.log().Warn("intake: request changed after its ticket started; kept the original", ticket.NewRef(conn.Tenant, conn.ID, in.ExternalID).LogAttrs()...)
			case errors.Is(err, ErrRequestTooLarge):
				c.Failed++ // a retry cannot shrink it
				e.log().Warn("intake: request too large for a ticket; not started", append(ticket.NewRef(conn.Tenant, conn.ID, in.ExternalID).LogAttrs(), "error", err)...)
			case err != nil:
				return c, err
			case created:
				c.New++
			default:
				c.Unchanged++
			}
		case vendorapi.IntentSignal:
			err := e.Signal(ctx, ticket.WorkflowID(conn.ID, in.ExternalID), in.Signal, in.Payload)
			switch {
			case errors.Is(err, ErrWorkflowClosed):
				c.Unchanged++
			case err != nil:
				return c, err
			default:
				c.Updated++
			}
		case vendorapi.IntentPoke:
			poked, err := e.Poke(ctx, conn, in.ExternalID, in.RemoteID, in.ModifiedAt)
			if err != nil {
				return c, err
			}
			if poked {
				c.Updated++
			} else {
				c.Unchanged++
			}
		default:
			c.Failed++
			e.log().Warn("unknown intent", "kind", in.Kind, "connection", conn.ID)
		}
	}
	return c, nil
}

// Poke asks a ticket to read the work system now. The ticket is named by the request system's
// id, or by the work system's id: found in the read model or, before the read model has it (a
// change right after the create), by reading our reference back from the work system. A
// request that is not ours, or a finished ticket, is not an error (poked = false). A non-zero
// modifiedAt is the modification the poke announces (ticket.PokeSignal).
func (e *Engine) Poke(ctx context.Context, conn *connectors.Conn, externalID, remoteID string, modifiedAt time.Time) (bool, error) {
	wfID := ""
	switch {
	case externalID != "":
		wfID = ticket.WorkflowID(conn.ID, externalID)
	case remoteID != "":
		t, err := e.Store.GetTicketByRemoteID(ctx, conn.ID, remoteID)
		switch {
		case err == nil:
			wfID = t.WorkflowID
		case !errors.Is(err, store.ErrNotFound):
			return false, fmt.Errorf("find ticket for remote %s: %w", remoteID, err)
		default:
			wfID = e.workflowForUnrecordedRemote(ctx, conn, remoteID)
		}
	}
	if wfID == "" {
		return false, nil
	}
	var arg any
	if !modifiedAt.IsZero() {
		arg = ticket.PokeSignal{ModifiedAt: modifiedAt}
	}
	err := e.Signal(ctx, wfID, ticket.SignalPoke, arg)
	if errors.Is(err, ErrWorkflowClosed) {
		return false, nil
	}
	return err == nil, err
}

// workflowForUnrecordedRemote asks the work system for a request's reference and reads the
// ticket's workflow id from it (bounded: a push must be answered quickly).
func (e *Engine) workflowForUnrecordedRemote(ctx context.Context, conn *connectors.Conn, remoteID string) string {
	p, ok := conn.Work.(vendorapi.ReferenceParser)
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	remote, err := conn.Work.Get(ctx, remoteID)
	if err != nil || remote == nil {
		return ""
	}
	ext, ok := p.ParseReference(conn.ID, remote.ExternalReference)
	if !ok {
		return ""
	}
	return ticket.WorkflowID(conn.ID, ext)
}
