package vendorapi

import (
	"context"
	"errors"
	"io"
	"time"

	"go.temporal.io/sdk/activity"
)

// ---- connector state shared by every process ------------------------------------------------

// Record is one entry of a connection's Records.
type Record struct {
	Key       string
	Value     []byte // JSON, as written
	Version   int64  // 1 when created, +1 per change: the token of an optimistic Put
	CreatedAt time.Time
	UpdatedAt time.Time // when Value last changed
}

// ErrRecordChanged: a Put lost a race (the record is no longer at the version read). Read it
// again, reapply the change and retry.
var ErrRecordChanged = errors.New("record changed since it was read")

// Records is a connection's small durable state, shared by every worker and API process, for
// connectors that must remember things between a vendor's inbound calls (served by the API)
// and the ticket's activities (run by workers) — e.g. Pruvan's order source, which keeps the
// projects it serves and the photos Pruvan uploaded until the request system has them.
//
// Records are JSON documents by collection and key; files are spooled as blobs, written and
// read as streams in bounded chunks (a photo is never held in memory whole).
type Records interface {
	// Get reads a record; ok is false when there is none.
	Get(ctx context.Context, coll, key string) (rec Record, ok bool, err error)
	// Put writes value if the record is still at version (0: it must not exist yet) and
	// returns it as stored; ErrRecordChanged otherwise. Writing the value a record already has
	// changes nothing (its version and UpdatedAt stay).
	Put(ctx context.Context, coll, key string, value []byte, version int64) (Record, error)
	// List returns coll's records updated at or after since (zero: all), oldest created first.
	List(ctx context.Context, coll string, since time.Time) ([]Record, error)
	// Delete removes a record (absent: no error).
	Delete(ctx context.Context, coll, key string) error
	// WriteBlob stores r's bytes under key, replacing any earlier blob, and returns their
	// number. A failed write leaves no blob behind.
	WriteBlob(ctx context.Context, key string, r io.Reader) (int64, error)
	// OpenBlob streams a blob; ok is false when there is none.
	OpenBlob(ctx context.Context, key string) (body io.ReadCloser, ok bool, err error)
	// DeleteBlob removes a blob (absent: no error).
	DeleteBlob(ctx context.Context, key string) error
}

// ---- progress of long work ------------------------------------------------------------------

// Heartbeat reports the progress of long vendor work (e.g. photos relayed so far) to whoever
// runs it: as a Temporal activity heartbeat when ctx is an activity's — Temporal Web then
// shows how far it got and a retry can read it back — and not at all otherwise (hooks, tests).
// Vendor code calls it between units of work; it never blocks.
func Heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}
