package ticket

import "log/slog"

// RemapSignal is the payload of `remap`: the status-mapping version to move the ticket to.
type RemapSignal struct {
	Mapping string `json:"mapping"`
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
