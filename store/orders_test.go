package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

func TestRecordsOptimisticPutAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rs := s.Records("conn-a")
		if _, ok, err := rs.Get(ctx, "order", "WO-1"); ok || err != nil {
			t.Fatalf("absent record: ok=%v err=%v", ok, err)
		}
		r1, err := rs.Put(ctx, "order", "WO-1", []byte(`{"v":1}`), 0)
		if err != nil || r1.Version != 1 {
			t.Fatalf("create: %+v %v", r1, err)
		}
		if _, err := rs.Put(ctx, "order", "WO-1", []byte(`{"v":9}`), 0); !errors.Is(err, vendorapi.ErrRecordChanged) {
			t.Fatalf("a second create must lose: %v", err)
		}
		// The same value again changes nothing: version and time stay.
		same, err := rs.Put(ctx, "order", "WO-1", []byte(`{"v":1}`), 1)
		if err != nil || same.Version != 1 || !same.UpdatedAt.Equal(r1.UpdatedAt) {
			t.Fatalf("unchanged put: %+v %v", same, err)
		}
		time.Sleep(2 * time.Millisecond)
		r2, err := rs.Put(ctx, "order", "WO-1", []byte(`{"v":2}`), 1)
		if err != nil || r2.Version != 2 || !r2.UpdatedAt.After(r1.UpdatedAt) || string(r2.Value) != `{"v":2}` {
			t.Fatalf("update: %+v %v", r2, err)
		}
		if _, err := rs.Put(ctx, "order", "WO-1", []byte(`{"v":3}`), 1); !errors.Is(err, vendorapi.ErrRecordChanged) {
			t.Fatalf("a stale version must lose: %v", err)
		}
		if _, err := rs.Put(ctx, "order", "WO-2", []byte(`{}`), 0); err != nil {
			t.Fatal(err)
		}
		// Another connection and another collection are separate.
		if _, err := s.Records("conn-b").Put(ctx, "order", "WO-1", []byte(`{}`), 0); err != nil {
			t.Fatal(err)
		}
		all, err := rs.List(ctx, "order", time.Time{})
		if err != nil || len(all) != 2 || all[0].Key != "WO-1" || all[1].Key != "WO-2" {
			t.Fatalf("list: %+v %v", all, err)
		}
		recent, err := rs.List(ctx, "order", r2.UpdatedAt.Add(time.Microsecond))
		if err != nil || len(recent) != 1 || recent[0].Key != "WO-2" {
			t.Fatalf("list since: %+v %v", recent, err)
		}
		if err := rs.Delete(ctx, "order", "WO-2"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := rs.Get(ctx, "order", "WO-2"); ok {
			t.Fatal("deleted record still there")
		}
	})
}

// A blob larger than several chunks streams in and out unaltered; replacing and deleting it
// leave no stray chunks.
func TestRecordsBlobsStreamInChunks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rs := s.Records("conn-a")
		data := make([]byte, 3*blobChunk+123)
		for i := range data {
			data[i] = byte(i*7 + i/blobChunk)
		}
		n, err := rs.WriteBlob(ctx, "photo:1", bytes.NewReader(data))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("write: %d %v", n, err)
		}
		body, ok, err := rs.OpenBlob(ctx, "photo:1")
		if err != nil || !ok {
			t.Fatalf("open: %v %v", ok, err)
		}
		h := sha256.New()
		got, err := io.Copy(h, body)
		body.Close()
		if err != nil || got != int64(len(data)) || !bytes.Equal(h.Sum(nil), sha(data)) {
			t.Fatalf("read back %d bytes, err %v", got, err)
		}
		if _, err := rs.WriteBlob(ctx, "photo:1", bytes.NewReader([]byte("short"))); err != nil {
			t.Fatal(err)
		}
		body, _, _ = rs.OpenBlob(ctx, "photo:1")
		short, _ := io.ReadAll(body)
		if string(short) != "short" {
			t.Fatalf("replaced blob reads %q", short)
		}
		if _, err := rs.WriteBlob(ctx, "empty", bytes.NewReader(nil)); err != nil {
			t.Fatal(err)
		}
		if body, ok, _ := rs.OpenBlob(ctx, "empty"); !ok {
			t.Fatal("an empty blob exists")
		} else if b, _ := io.ReadAll(body); len(b) != 0 {
			t.Fatalf("empty blob reads %q", b)
		}
		// A write whose source fails leaves nothing (not even half a blob).
		if _, err := rs.WriteBlob(ctx, "broken", io.MultiReader(bytes.NewReader(data[:blobChunk+5]), failing{})); err == nil {
			t.Fatal("a failing source must fail the write")
		}
		if _, ok, _ := rs.OpenBlob(ctx, "broken"); ok {
			t.Fatal("a failed write left a blob")
		}
		if err := rs.DeleteBlob(ctx, "photo:1"); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.db.GetContext(ctx, &left, s.q(`SELECT COUNT(*) FROM connector_blobs WHERE bkey <> 'empty'`)); err != nil || left != 0 {
			t.Fatalf("%d stray chunks (err %v)", left, err)
		}
	})
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
