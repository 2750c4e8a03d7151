package ticket

import (
	"log/slog"
	"time"
)

// RemapSignal is the payload of `remap`: the status-mapping version to move the ticket to.
type RemapSignal struct {
	Mapping string `json:"mapping"`
}

// PokeSignal is the optional payload of `poke`: the modification of the remote request the poke
// announces (the change feed's, a push that says). A ticket that has already read the request at
// that modification neither reads the work system again nor restarts its timer; a poke without
// one (an operator's, a push that does not say) always reads. Only work systems whose stamps
// order every change of a request send it (TheWorxHub's milliseconds, not Cityworks' seconds).
type PokeSignal struct {
	ModifiedAt time.Time `json:"modifiedAt"`
}

// LogAttrs are the attributes every log line about a ticket carries, so one filter (by ticket,
// workflow, connection or tenant) finds all of them whichever process wrote them. The
// external id is the request system's id: no personal data.
func (r Ref) LogAttrs() []any {
	return []any{
		slog.String("ticketId", r.TicketID),
		slog.String("workflowId", r.WorkflowID),
		slog.String("connection", r.Connection),
		slog.String("tenant", r.Tenant),
		slog.String("externalId", r.ExternalID),
	}
}

// Logger returns l with the ticket's attributes (LogAttrs) attached.
func (r Ref) Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With(r.LogAttrs()...)
}
