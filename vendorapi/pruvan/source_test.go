package pruvan_test

// A fake OrderSource shared by the handler and contract tests: it records every call and
// hashes uploaded files while streaming them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

var testCreds = pruvan.Credentials{Username: "ticketsync", Password: "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", Token: "tok-1"}

type gotUpload struct {
	up   pruvan.Upload
	sha  string
	size int64
	err  error
}

type fakeSource struct {
	mu       sync.Mutex
	orders   []pruvan.WorkOrder
	known    map[string]bool
	pushKeys []string
	sinces   []*time.Time
	statuses []pruvan.StatusUpdate
	uploads  []gotUpload
	seen     map[string]bool // uuids already stored: duplicates are not read again

	// Failure injection.
	validateErr error
	ordersErr   error
	ordersDelay time.Duration
	uploadErr   error
}

func newFakeSource(orders ...pruvan.WorkOrder) *fakeSource {
	f := &fakeSource{orders: orders, known: map[string]bool{}, seen: map[string]bool{}}
	for _, o := range orders {
		f.known[o.WorkOrderNumber] = true
	}
	return f
}

func (f *fakeSource) Validate(_ context.Context, pushKey string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.validateErr != nil {
		return f.validateErr
	}
	f.pushKeys = append(f.pushKeys, pushKey)
	return nil
}

func (f *fakeSource) WorkOrders(ctx context.Context, since *time.Time) ([]pruvan.WorkOrder, error) {
	f.mu.Lock()
	f.sinces = append(f.sinces, since)
	delay, err, orders := f.ordersDelay, f.ordersErr, append([]pruvan.WorkOrder(nil), f.orders...)
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return orders, err
}

func (f *fakeSource) Status(_ context.Context, u pruvan.StatusUpdate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, u)
	if !f.known[u.WorkOrderNumber] {
		return pruvan.ErrUnknownWorkOrder
	}
	return nil
}

func (f *fakeSource) UploadPictures(_ context.Context, u pruvan.Upload) error {
	f.mu.Lock()
	dup := f.seen[u.Picture.UUID]
	f.seen[u.Picture.UUID] = true
	uploadErr := f.uploadErr
	f.mu.Unlock()
	g := gotUpload{up: u}
	if !dup {
		h := sha256.New()
		g.size, g.err = io.Copy(h, u.Body)
		g.sha = hex.EncodeToString(h.Sum(nil))
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, g)
	f.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	return uploadErr
}

// record is what the source has seen so far.
type record struct {
	pushKeys []string
	sinces   []*time.Time
	statuses []pruvan.StatusUpdate
	uploads  []gotUpload
}

func (f *fakeSource) snapshot() record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return record{pushKeys: append([]string(nil), f.pushKeys...), sinces: append([]*time.Time(nil), f.sinces...),
		statuses: append([]pruvan.StatusUpdate(nil), f.statuses...), uploads: append([]gotUpload(nil), f.uploads...)}
}
