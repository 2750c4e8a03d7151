package sim

import (
	"testing"
)

func TestSnapshotRestoreKeepsRequestsAndIDs(t *testing.T) {
	a := New(Options{DisableRateLimit: true})
	defer a.Close()
	a.mu.Lock()
	wr := &WorkRequest{ID: "104201", ExternalReference: "ticketsync:c:1", RequestType: "Maintenance", Title: "t",
		Description: "d", Location: "l", RequestedFor: Person{Name: "n"}, Status: StatusPending, Tenant: DefaultTenant}
	wr.CreatedAt, wr.ModifiedAt = a.now(), a.now()
	a.reqs[wr.ID] = wr
	a.byRef[wr.Tenant+"\x00"+wr.ExternalReference] = wr.ID
	a.nextID = 104201
	a.mu.Unlock()
	if _, err := a.SetCategory("104201", "Plumbing"); err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{DisableRateLimit: true})
	defer b.Close()
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	got, ok := b.Request("104201")
	if !ok || got.Status != StatusInProgress || got.Category != "Plumbing" || got.WorkOrderID == "" || got.Tenant != DefaultTenant {
		t.Fatalf("restored request: %+v", got)
	}
	b.mu.Lock()
	ref, next := b.byRef[DefaultTenant+"\x00ticketsync:c:1"], b.nextID
	b.mu.Unlock()
	if ref != "104201" || next != 104201 {
		t.Fatalf("index %q next id %d", ref, next)
	}
	if err := b.Restore([]byte(`{"version":99}`)); err == nil {
		t.Fatal("a snapshot of another version must be refused")
	}
}
