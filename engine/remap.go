package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/store"
	"github.com/ticketsync/ticketsync/ticket"
)

// ErrBadMapping: the mapping version does not exist, or reads another work system's statuses.
var ErrBadMapping = errors.New("unusable status mapping")

// CheckRemap says whether a ticket may move to the mapping version name: it must exist and
// read the statuses of the ticket's work system kind.
func (e *Engine) CheckRemap(t store.Ticket, name string) (mapping.Mapping, error) {
	m, err := mapping.Lookup(name)
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrBadMapping, err)
	}
	conn, err := e.Connections.Get(t.Connection)
	if err != nil {
		return m, err
	}
	if m.WorkKind != conn.WorkKind {
		return m, fmt.Errorf("%w: %s reads %s statuses; connection %s's work system is %s", ErrBadMapping, m.Name, m.WorkKind, conn.ID, conn.WorkKind)
	}
	return m, nil
}

// Remap moves a ticket to another status-mapping version: the workflow switches at its next
// wake (the poke right after the signal) and translates the current remote status with the
// new table, un-parking a ticket the old table could not map. The read model records the new
// version at once. A finished ticket is ErrWorkflowClosed.
func (e *Engine) Remap(ctx context.Context, t store.Ticket, name string) error {
	m, err := e.CheckRemap(t, name)
	if err != nil {
		return err
	}
	if ticket.IsTerminal(t.Status) {
		return ErrWorkflowClosed
	}
	if err := e.Signal(ctx, t.WorkflowID, ticket.SignalRemap, ticket.RemapSignal{Mapping: m.Name}); err != nil {
		return err
	}
	ref := ticket.Ref{TicketID: t.ID, WorkflowID: t.WorkflowID, Tenant: t.Tenant, Connection: t.Connection, ExternalID: t.ExternalID}
	log := ref.Logger(e.log())
	// The remap is read at the ticket's next wake; wake it now. A failed poke only delays it
	// until the safety-net poll.
	if err := e.Signal(ctx, t.WorkflowID, ticket.SignalPoke, nil); err != nil && !errors.Is(err, ErrWorkflowClosed) {
		log.Warn("poke after remap; the remap applies at the next poll", "error", err)
	}
	if err := e.Store.SetTicketMapping(context.WithoutCancel(ctx), t.ID, m.Name); err != nil {
		log.Warn("record the new mapping in the read model", "mapping", m.Name, "error", err)
	}
	log.Info("ticket remapped", "from", t.MappingVersion, "to", m.Name)
	return nil
}
