package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Connector records (vendorapi.Records): the state a connector shares between its hooks and
// its activities, e.g. the orders Pruvan's order source serves and the photos Pruvan uploaded
// until the request system has them (migration 00031).

// blobChunk is the size of one stored piece of a blob: small enough that writing or reading
// a 20 MB photo never holds more than this in memory, large enough to take few statements.
const blobChunk = 256 << 10

// Records returns the record store of a connection.
func (s *Store) Records(connection string) vendorapi.Records {
	return &records{s: s, conn: connection}
}

type records struct {
	s    *Store
	conn string
}

var _ vendorapi.Records = (*records)(nil)

type recordRow struct {
	Key       string    `db:"rkey"`
	Value     string    `db:"value"`
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r recordRow) record() vendorapi.Record {
	return vendorapi.Record{Key: r.Key, Value: []byte(r.Value), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (r *records) check(coll, key string) error {
	return required("connection", r.conn, "collection", coll, "key", key)
}

func (r *records) Get(ctx context.Context, coll, key string) (vendorapi.Record, bool, error) {
	if err := r.check(coll, key); err != nil {
		return vendorapi.Record{}, false, fmt.Errorf("store: get record: %w", err)
	}
	var row recordRow
	err := r.s.db.GetContext(ctx, &row, r.s.q(`SELECT rkey, value, version, created_at, updated_at FROM connector_records
		WHERE connection_id = ? AND coll = ? AND rkey = ?`), r.conn, coll, key)
	if errors.Is(err, sql.ErrNoRows) {
		return vendorapi.Record{}, false, nil
	}
	if err != nil {
		return vendorapi.Record{}, false, fmt.Errorf("store: get record %s/%s/%s: %w", r.conn, coll, key, err)
	}
	return row.record(), true, nil
}

func (r *records) Put(ctx context.Context, coll, key string, value []byte, version int64) (vendorapi.Record, error) {
	if err := r.check(coll, key); err != nil {
		return vendorapi.Record{}, fmt.Errorf("store: put record: %w", err)
	}
	now := r.s.nowTS()
	if version == 0 {
		_, err := r.s.db.ExecContext(ctx, r.s.q(`INSERT INTO connector_records
			(connection_id, coll, rkey, value, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)`),
			r.conn, coll, key, string(value), now, now)
		if isUniqueViolation(err) {
			return vendorapi.Record{}, vendorapi.ErrRecordChanged
		}
		if err != nil {
			return vendorapi.Record{}, fmt.Errorf("store: put record %s/%s/%s: %w", r.conn, coll, key, err)
		}
		return vendorapi.Record{Key: key, Value: value, Version: 1, CreatedAt: now, UpdatedAt: now}, nil
	}
	// One statement decides the race: only the writer that read this version changes it.
	res, err := r.s.db.ExecContext(ctx, r.s.q(`UPDATE connector_records SET value = ?, version = version + 1, updated_at = ?
		WHERE connection_id = ? AND coll = ? AND rkey = ? AND version = ? AND value <> ?`),
		string(value), now, r.conn, coll, key, version, string(value))
	if err != nil {
		return vendorapi.Record{}, fmt.Errorf("store: put record %s/%s/%s: %w", r.conn, coll, key, err)
	}
	cur, ok, err := r.Get(ctx, coll, key)
	if err != nil {
		return vendorapi.Record{}, err
	}
	if n, _ := res.RowsAffected(); n == 1 && ok {
		return cur, nil
	}
	if ok && cur.Version == version && bytes.Equal(cur.Value, value) {
		return cur, nil // the value it already had: nothing changes
	}
	return vendorapi.Record{}, vendorapi.ErrRecordChanged
}

func (r *records) List(ctx context.Context, coll string, since time.Time) ([]vendorapi.Record, error) {
	if err := required("connection", r.conn, "collection", coll); err != nil {
		return nil, fmt.Errorf("store: list records: %w", err)
	}
	var rows []recordRow
	err := r.s.db.SelectContext(ctx, &rows, r.s.q(`SELECT rkey, value, version, created_at, updated_at FROM connector_records
		WHERE connection_id = ? AND coll = ? AND updated_at >= ? ORDER BY created_at, rkey`), r.conn, coll, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: list records %s/%s: %w", r.conn, coll, err)
	}
	out := make([]vendorapi.Record, len(rows))
	for i, row := range rows {
		out[i] = row.record()
	}
	return out, nil
}

func (r *records) Delete(ctx context.Context, coll, key string) error {
	if err := r.check(coll, key); err != nil {
		return fmt.Errorf("store: delete record: %w", err)
	}
	_, err := r.s.db.ExecContext(ctx, r.s.q(`DELETE FROM connector_records WHERE connection_id = ? AND coll = ? AND rkey = ?`),
		r.conn, coll, key)
	if err != nil {
		return fmt.Errorf("store: delete record %s/%s/%s: %w", r.conn, coll, key, err)
	}
	return nil
}

// WriteBlob streams r into chunks under a temporary key and renames them in one short
// transaction: no transaction stays open while the bytes arrive (a slow upload must not hold
// SQLite's write lock), a failed write leaves nothing behind, and of two concurrent writes of
// one key the later rename wins whole.
func (r *records) WriteBlob(ctx context.Context, key string, body io.Reader) (int64, error) {
	if err := required("connection", r.conn, "blob key", key); err != nil {
		return 0, fmt.Errorf("store: write blob: %w", err)
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	tmp := key + "#tmp-" + hex.EncodeToString(suffix[:])
	fail := func(err error) (int64, error) {
		_, _ = r.s.db.ExecContext(context.WithoutCancel(ctx), r.s.q(`DELETE FROM connector_blobs WHERE connection_id = ? AND bkey = ?`), r.conn, tmp)
		return 0, err
	}
	buf := make([]byte, blobChunk)
	var total int64
	for chunk := 0; ; chunk++ {
		n, err := io.ReadFull(body, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(fmt.Errorf("store: write blob %s: read: %w", key, err))
		}
		last := err != nil
		if n > 0 || chunk == 0 { // an empty blob is one empty chunk, so it exists
			if _, err := r.s.db.ExecContext(ctx, r.s.q(`INSERT INTO connector_blobs (connection_id, bkey, chunk, data) VALUES (?, ?, ?, ?)`),
				r.conn, tmp, chunk, buf[:n]); err != nil {
				return fail(fmt.Errorf("store: write blob %s: %w", key, err))
			}
			total += int64(n)
		}
		if last {
			break
		}
	}
	tx, err := r.s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fail(fmt.Errorf("store: write blob %s: %w", key, err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, r.s.q(`DELETE FROM connector_blobs WHERE connection_id = ? AND bkey = ?`), r.conn, key); err != nil {
		return fail(fmt.Errorf("store: write blob %s: %w", key, err))
	}
	if _, err := tx.ExecContext(ctx, r.s.q(`UPDATE connector_blobs SET bkey = ? WHERE connection_id = ? AND bkey = ?`), key, r.conn, tmp); err != nil {
		return fail(fmt.Errorf("store: write blob %s: %w", key, err))
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("store: write blob %s: %w", key, err))
	}
	return total, nil
}

// OpenBlob reads chunk by chunk as the caller reads (ctx must outlive the reading).
func (r *records) OpenBlob(ctx context.Context, key string) (io.ReadCloser, bool, error) {
	if err := required("connection", r.conn, "blob key", key); err != nil {
		return nil, false, fmt.Errorf("store: open blob: %w", err)
	}
	var n int
	err := r.s.db.GetContext(ctx, &n, r.s.q(`SELECT COUNT(*) FROM connector_blobs WHERE connection_id = ? AND bkey = ?`), r.conn, key)
	if err != nil {
		return nil, false, fmt.Errorf("store: open blob %s: %w", key, err)
	}
	if n == 0 {
		return nil, false, nil
	}
	return &blobReader{ctx: ctx, r: r, key: key, chunks: n}, true, nil
}

type blobReader struct {
	ctx    context.Context
	r      *records
	key    string
	chunks int
	next   int
	cur    []byte
	closed bool
}

func (b *blobReader) Read(p []byte) (int, error) {
	for len(b.cur) == 0 {
		if b.closed {
			return 0, errors.New("store: read of a closed blob")
		}
		if b.next >= b.chunks {
			return 0, io.EOF
		}
		var data []byte
		err := b.r.s.db.GetContext(b.ctx, &data, b.r.s.q(`SELECT data FROM connector_blobs WHERE connection_id = ? AND bkey = ? AND chunk = ?`),
			b.r.conn, b.key, b.next)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: blob %s lost chunk %d (replaced or deleted while read)", b.key, b.next)
		}
		if err != nil {
			return 0, fmt.Errorf("store: read blob %s: %w", b.key, err)
		}
		b.next++
		b.cur = data
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

func (b *blobReader) Close() error {
	b.closed, b.cur = true, nil
	return nil
}

func (r *records) DeleteBlob(ctx context.Context, key string) error {
	if err := required("connection", r.conn, "blob key", key); err != nil {
		return fmt.Errorf("store: delete blob: %w", err)
	}
	if _, err := r.s.db.ExecContext(ctx, r.s.q(`DELETE FROM connector_blobs WHERE connection_id = ? AND bkey = ?`), r.conn, key); err != nil {
		return fmt.Errorf("store: delete blob %s: %w", key, err)
	}
	return nil
}
