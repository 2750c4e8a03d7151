package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// StatusSubmitted is the portal status of a ticket the work system does not
// know yet; CreateTicket uses it when Status is empty.
const StatusSubmitted = "Submitted"

// Ticket is the read model of one Ticket workflow. Empty strings mean "none";
// times are UTC.
type Ticket struct {
	ID              string          `db:"id" json:"id"`
	Tenant          string          `db:"tenant_id" json:"tenant"`
	Connection      string          `db:"connection_id" json:"connection"`
	ExternalID      string          `db:"external_id" json:"externalId"`
	WorkflowID      string          `db:"workflow_id" json:"workflowId"`
	RequestHash     string          `db:"request_hash" json:"requestHash"`
	Request         json.RawMessage `db:"request" json:"request"`
	Status          string          `db:"status" json:"status"`
	RemoteID        string          `db:"remote_id" json:"remoteId"`
	RemoteStatus    string          `db:"remote_status" json:"remoteStatus"`
	Category        string          `db:"category" json:"category"`
	MappingVersion  string          `db:"mapping_version" json:"mappingVersion"`
	NeedsAttention  bool            `db:"needs_attention" json:"needsAttention"`
	AttentionReason string          `db:"attention_reason" json:"attentionReason"`
	AttentionSince  *time.Time      `db:"attention_since" json:"attentionSince"`
	Paused          bool            `db:"paused" json:"paused"`
	PausedReason    string          `db:"paused_reason" json:"pausedReason"`
	PausedSince     *time.Time      `db:"paused_since" json:"pausedSince"`
	CreatedAt       time.Time       `db:"created_at" json:"createdAt"`
	UpdatedAt       time.Time       `db:"updated_at" json:"updatedAt"`
	// Version is the workflow's version of the last state written
	// (TicketState.Version); 0 until a versioned write. CreateTicket ignores it.
	Version int64 `db:"version" json:"version"`
}

// ticketRow is the scan target: drivers return TEXT as string (not []byte)
// and nullable times need sql.NullTime.
type ticketRow struct {
	ID              string       `db:"id"`
	Tenant          string       `db:"tenant_id"`
	Connection      string       `db:"connection_id"`
	ExternalID      string       `db:"external_id"`
	WorkflowID      string       `db:"workflow_id"`
	RequestHash     string       `db:"request_hash"`
	Request         string       `db:"request"`
	Status          string       `db:"status"`
	RemoteID        string       `db:"remote_id"`
	RemoteStatus    string       `db:"remote_status"`
	Category        string       `db:"category"`
	MappingVersion  string       `db:"mapping_version"`
	NeedsAttention  bool         `db:"needs_attention"`
	AttentionReason string       `db:"attention_reason"`
	AttentionSince  sql.NullTime `db:"attention_since"`
	Paused          bool         `db:"paused"`
	PausedReason    string       `db:"paused_reason"`
	PausedSince     sql.NullTime `db:"paused_since"`
	CreatedAt       time.Time    `db:"created_at"`
	UpdatedAt       time.Time    `db:"updated_at"`
	Version         int64        `db:"version"`
}

func (r ticketRow) ticket() Ticket {
	return Ticket{
		ID:              r.ID,
		Tenant:          r.Tenant,
		Connection:      r.Connection,
		ExternalID:      r.ExternalID,
		WorkflowID:      r.WorkflowID,
		RequestHash:     r.RequestHash,
		Request:         json.RawMessage(r.Request),
		Status:          r.Status,
		RemoteID:        r.RemoteID,
		RemoteStatus:    r.RemoteStatus,
		Category:        r.Category,
		MappingVersion:  r.MappingVersion,
		NeedsAttention:  r.NeedsAttention,
		AttentionReason: r.AttentionReason,
		AttentionSince:  fromNull(r.AttentionSince),
		Paused:          r.Paused,
		PausedReason:    r.PausedReason,
		PausedSince:     fromNull(r.PausedSince),
		CreatedAt:       r.CreatedAt.UTC(),
		UpdatedAt:       r.UpdatedAt.UTC(),
		Version:         r.Version,
	}
}

// ticketColumns are the columns CreateTicket writes; ticketSelectColumns adds
// the ones only UpdateTicketState writes.
const (
	ticketColumns = `id, tenant_id, connection_id, external_id, workflow_id, request_hash, request,
	status, remote_id, remote_status, category, mapping_version,
	needs_attention, attention_reason, attention_since, paused, paused_reason, paused_since,
	created_at, updated_at`
	ticketSelectColumns = ticketColumns + `, version`
)

// WorkflowIDFor is the Temporal workflow id of a ticket: ticket/<connection>/<external id>.
func WorkflowIDFor(connection, externalID string) string {
	return "ticket/" + connection + "/" + externalID
}

// CreateTicket inserts t unless a ticket with the same (Connection,
// ExternalID) exists, in which case it returns that existing row and
// created=false — also under concurrent creates, where exactly one caller gets
// created=true. The caller compares RequestHash to tell a replay from a
// conflicting request.
//
// Tenant is required (ErrInvalid); a connection recorded for another tenant
// is ErrNotFound, an unrecorded one (connections-file only) is accepted.
// Defaults: WorkflowID = WorkflowIDFor, Status = StatusSubmitted, Request =
// {}, CreatedAt = now, UpdatedAt = CreatedAt. The row starts at version 0
// whatever t.Version says, so the workflow's first versioned write always
// lands. Reusing an ID for another (connection, external id) is ErrConflict.
func (s *Store) CreateTicket(ctx context.Context, t Ticket) (Ticket, bool, error) {
	if err := required("ticket id", t.ID, "tenant", t.Tenant, "connection", t.Connection, "external id", t.ExternalID); err != nil {
		return Ticket{}, false, fmt.Errorf("store: create ticket: %w", err)
	}
	fail := func(err error) (Ticket, bool, error) {
		return Ticket{}, false, fmt.Errorf("store: create ticket %s (connection %s, external id %q): %w", t.ID, t.Connection, t.ExternalID, err)
	}
	if err := s.checkConnectionTenant(ctx, t.Tenant, t.Connection); err != nil {
		return fail(err)
	}
	if t.WorkflowID == "" {
		t.WorkflowID = WorkflowIDFor(t.Connection, t.ExternalID)
	}
	if t.Status == "" {
		t.Status = StatusSubmitted
	}
	request, err := jsonText(t.Request)
	if err != nil {
		return fail(fmt.Errorf("request: %w", err))
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	res, err := s.db.ExecContext(ctx, s.q(`
		INSERT INTO tickets (`+ticketColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (connection_id, external_id) DO NOTHING`),
		t.ID, t.Tenant, t.Connection, t.ExternalID, t.WorkflowID, t.RequestHash, request,
		t.Status, t.RemoteID, t.RemoteStatus, t.Category, t.MappingVersion,
		t.NeedsAttention, t.AttentionReason, tsPtr(t.AttentionSince), t.Paused, t.PausedReason, tsPtr(t.PausedSince),
		ts(t.CreatedAt), ts(t.UpdatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fail(fmt.Errorf("%w: ticket id already used: %v", ErrConflict, err))
		}
		return fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(err)
	}
	// Read back in both cases: the stored row is the truth (normalised times,
	// or the row a concurrent creator won with).
	got, err := s.getTicketBy(ctx, `connection_id = ? AND external_id = ?`, t.Connection, t.ExternalID)
	if err != nil {
		return fail(err)
	}
	return got, n == 1, nil
}

// GetTicket returns the tenant's ticket id; a ticket of another tenant is
// ErrNotFound (the API must not reveal it exists), an empty tenant ErrInvalid.
func (s *Store) GetTicket(ctx context.Context, tenant, id string) (Ticket, error) {
	if err := requireTenant(tenant); err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket: %w", err)
	}
	if err := required("ticket id", id); err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket: %w", err)
	}
	t, err := s.getTicketBy(ctx, `id = ? AND tenant_id = ?`, id, tenant)
	if err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket %s: %w", id, err)
	}
	return t, nil
}

// GetTicketAnyTenant returns ticket id whatever its tenant, for workers,
// operator tools and tests; never call it on a tenant's behalf.
func (s *Store) GetTicketAnyTenant(ctx context.Context, id string) (Ticket, error) {
	if err := required("ticket id", id); err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket: %w", err)
	}
	t, err := s.getTicketBy(ctx, `id = ?`, id)
	if err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket %s: %w", id, err)
	}
	return t, nil
}

// GetTicketByExternalID finds a ticket by the request system's id.
func (s *Store) GetTicketByExternalID(ctx context.Context, connection, externalID string) (Ticket, error) {
	if err := required("connection", connection, "external id", externalID); err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket by external id: %w", err)
	}
	t, err := s.getTicketBy(ctx, `connection_id = ? AND external_id = ?`, connection, externalID)
	if err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket by external id %q (connection %s): %w", externalID, connection, err)
	}
	return t, nil
}

// GetTicketByRemoteID finds a ticket by the work system's id (webhooks and
// change feeds speak in remote ids). Should several match, the oldest wins.
func (s *Store) GetTicketByRemoteID(ctx context.Context, connection, remoteID string) (Ticket, error) {
	if err := required("connection", connection, "remote id", remoteID); err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket by remote id: %w", err)
	}
	t, err := s.getTicketBy(ctx, `connection_id = ? AND remote_id = ? ORDER BY created_at, id LIMIT 1`, connection, remoteID)
	if err != nil {
		return Ticket{}, fmt.Errorf("store: get ticket by remote id %q (connection %s): %w", remoteID, connection, err)
	}
	return t, nil
}

func (s *Store) getTicketBy(ctx context.Context, where string, args ...any) (Ticket, error) {
	var r ticketRow
	if err := s.db.GetContext(ctx, &r, s.q(`SELECT `+ticketSelectColumns+` FROM tickets WHERE `+where), args...); err != nil {
		return Ticket{}, notFound(err)
	}
	return r.ticket(), nil
}

// Page size bounds of ListTickets.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ErrBadCursor is returned (wrapped) by ListTickets for a cursor it did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// TicketFilter selects tickets for ListTickets; zero values mean "any",
// except Tenant, which is required unless AllTenants is set.
type TicketFilter struct {
	Tenant         string
	AllTenants     bool // operator tools only: list every tenant's tickets (Tenant must be empty)
	Connection     string
	Status         string
	NeedsAttention *bool
	Limit          int    // default DefaultPageSize, capped at MaxPageSize
	Cursor         string // nextCursor of the previous page, "" for the first
}

// pageKey is the keyset position encoded in a cursor.
type pageKey struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

func encodeCursor(t Ticket) string {
	b, _ := json.Marshal(pageKey{CreatedAt: t.CreatedAt.UTC(), ID: t.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (pageKey, error) {
	var k pageKey
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return k, ErrBadCursor
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil || k.ID == "" || k.CreatedAt.IsZero() {
		return k, ErrBadCursor
	}
	k.CreatedAt = ts(k.CreatedAt)
	return k, nil
}

// ListTickets returns one page of tickets ordered by (created_at, id) and the
// cursor of the next page ("" on the last page). Keyset pagination keeps
// pages stable while tickets are being created: no duplicates, no gaps.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) ([]Ticket, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if limit > MaxPageSize {
		limit = MaxPageSize
	}
	var (
		where []string
		args  []any
	)
	switch {
	case f.AllTenants && f.Tenant != "":
		return nil, "", fmt.Errorf("store: list tickets: %w: AllTenants with a tenant", ErrInvalid)
	case !f.AllTenants:
		if err := requireTenant(f.Tenant); err != nil {
			return nil, "", fmt.Errorf("store: list tickets: %w (or set AllTenants)", err)
		}
		where, args = append(where, "tenant_id = ?"), append(args, f.Tenant)
	}
	if f.Connection != "" {
		where, args = append(where, "connection_id = ?"), append(args, f.Connection)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.NeedsAttention != nil {
		where, args = append(where, "needs_attention = ?"), append(args, *f.NeedsAttention)
	}
	if f.Cursor != "" {
		k, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("store: list tickets: %w", err)
		}
		where = append(where, "(created_at > ? OR (created_at = ? AND id > ?))")
		args = append(args, k.CreatedAt, k.CreatedAt, k.ID)
	}
	query := `SELECT ` + ticketSelectColumns + ` FROM tickets`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(` ORDER BY created_at, id LIMIT %d`, limit+1)
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
		return nil, "", fmt.Errorf("store: list tickets: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(rows[limit-1].ticket())
	}
	out := make([]Ticket, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.ticket())
	}
	return out, next, nil
}

// TicketState is the workflow-owned part of a ticket, written after each step.
// Activities may be retried and run out of order, so writes are ordered by
// Version: the workflow's own counter, which increases with every state it
// writes (carried across continue-as-new). Wall clocks do not order them: the
// API host's clock (which stamps the row it inserts) may disagree with the
// workflow's.
type TicketState struct {
	ID              string
	Status          string
	RemoteID        string
	RemoteStatus    string
	Category        string
	NeedsAttention  bool
	AttentionReason string
	AttentionSince  *time.Time
	Paused          bool
	PausedReason    string
	PausedSince     *time.Time
	UpdatedAt       time.Time // shown as the ticket's updatedAt; zero = now
	// Version orders writes: > 0 is applied only when greater than the stored
	// version (an older or equal one is a stale or retried write and is
	// ignored). 0 means unversioned, the behaviour before versions: applied
	// only while the row has never had a versioned write, and only when
	// UpdatedAt is not older than the stored updated_at.
	Version int64
}

// UpdateTicketState overwrites the ticket's state unless it is stale (see
// TicketState.Version); a stale write is a silent no-op. ErrNotFound if the
// ticket does not exist; a negative Version is ErrInvalid.
func (s *Store) UpdateTicketState(ctx context.Context, st TicketState) error {
	if err := required("ticket id", st.ID, "status", st.Status); err != nil {
		return fmt.Errorf("store: update ticket state: %w", err)
	}
	if st.Version < 0 {
		return fmt.Errorf("store: update ticket state %s: %w: negative version %d", st.ID, ErrInvalid, st.Version)
	}
	updated := ts(st.UpdatedAt)
	if st.UpdatedAt.IsZero() {
		updated = s.nowTS()
	}
	newer, newerArgs := `version < ?`, []any{st.Version}
	if st.Version == 0 {
		newer, newerArgs = `version = 0 AND updated_at <= ?`, []any{updated}
	}
	args := append([]any{st.Status, st.RemoteID, st.RemoteStatus, st.Category,
		st.NeedsAttention, st.AttentionReason, tsPtr(st.AttentionSince),
		st.Paused, st.PausedReason, tsPtr(st.PausedSince),
		updated, st.Version, st.ID}, newerArgs...)
	res, err := s.db.ExecContext(ctx, s.q(`
		UPDATE tickets SET
			status = ?, remote_id = ?, remote_status = ?, category = ?,
			needs_attention = ?, attention_reason = ?, attention_since = ?,
			paused = ?, paused_reason = ?, paused_since = ?,
			updated_at = ?, version = ?
		WHERE id = ? AND `+newer), args...)
	if err != nil {
		return fmt.Errorf("store: update ticket state %s: %w", st.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update ticket state %s: %w", st.ID, err)
	}
	if n == 0 {
		var one int
		err := s.db.GetContext(ctx, &one, s.q(`SELECT 1 FROM tickets WHERE id = ?`), st.ID)
		if err != nil {
			return fmt.Errorf("store: update ticket state %s: %w", st.ID, notFound(err))
		}
		// Stale write: a newer state is already stored.
	}
	return nil
}

// RecordRemoteID notes the remote request a ticket created, before the workflow's next
// read-model write: the work system's push about the create names only the remote id, and
// without it the push would cost a read of the request to find its ticket. It never replaces a
// remote id already recorded.
func (s *Store) RecordRemoteID(ctx context.Context, ticketID, remoteID string) error {
	if err := required("ticket id", ticketID, "remote id", remoteID); err != nil {
		return fmt.Errorf("store: record remote id: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE tickets SET remote_id = ? WHERE id = ? AND remote_id = ''`), remoteID, ticketID); err != nil {
		return fmt.Errorf("store: record remote id of %s: %w", ticketID, err)
	}
	return nil
}

// DeleteTicket removes a ticket and its events. It exists only to undo a
// create whose workflow could not be started; ErrNotFound if absent.
func (s *Store) DeleteTicket(ctx context.Context, id string) error {
	if err := required("ticket id", id); err != nil {
		return fmt.Errorf("store: delete ticket: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tickets WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("store: delete ticket %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: delete ticket %s: %w", id, ErrNotFound)
	}
	return nil
}

// jsonText validates a JSON document for a TEXT column; empty means {}.
func jsonText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "{}", nil
	}
	if !json.Valid(raw) {
		return "", fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	return string(raw), nil
}
