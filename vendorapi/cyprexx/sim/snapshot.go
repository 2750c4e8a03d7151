package sim

import (
	"encoding/json"
	"fmt"
)

// snapshotVersion guards the file format of Snapshot.
const snapshotVersion = 1

type persistedWO struct {
	Vendor    string          `json:"vendor"`
	WorkOrder json.RawMessage `json:"workOrder"` // the wire form (WorkOrder.MarshalJSON)
}

type persistedState struct {
	Version     int                               `json:"version"`
	NextID      int64                             `json:"nextId"`
	NextPhoto   int64                             `json:"nextPhoto"`
	WorkOrders  []persistedWO                     `json:"workOrders"`
	PushKeys    []PushKey                         `json:"pushKeys"`
	Photos      map[string][]Photo                `json:"photos"`
	Surveys     map[string]map[string]*Submission `json:"surveys"`
	Completions []Completion                      `json:"completions"`
	Revoked     []string                          `json:"revoked"`
}

// Snapshot serialises work orders, push keys, relays, revoked tokens and id counters, so a
// restarted dev stack finds the work orders its tickets point at and keeps pushing to the
// callbacks it validated. Faults, stats, rate windows and cursors are not kept.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := persistedState{Version: snapshotVersion, NextID: s.nextID, NextPhoto: s.nextPhoto,
		Photos: map[string][]Photo{}, Surveys: s.surveys, Completions: s.completions}
	for _, wo := range s.workOrdersLocked() {
		raw, err := json.Marshal(wo)
		if err != nil {
			return nil, fmt.Errorf("snapshot work order %s: %w", wo.WorkOrderID, err)
		}
		st.WorkOrders = append(st.WorkOrders, persistedWO{Vendor: wo.Vendor, WorkOrder: raw})
	}
	for _, pk := range s.pushKeys {
		st.PushKeys = append(st.PushKeys, *pk)
	}
	for id, ps := range s.photos {
		for _, p := range ps {
			st.Photos[id] = append(st.Photos[id], *p)
		}
	}
	for tok := range s.revoked {
		st.Revoked = append(st.Revoked, tok)
	}
	return json.MarshalIndent(st, "", " ")
}

// Restore replaces the simulator's data with a Snapshot.
func (s *Server) Restore(data []byte) error {
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("restore simulator: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("restore simulator: snapshot version %d, want %d", st.Version, snapshotVersion)
	}
	wos := map[string]*WorkOrder{}
	for _, p := range st.WorkOrders {
		var wo WorkOrder
		if err := json.Unmarshal(p.WorkOrder, &wo); err != nil {
			return fmt.Errorf("restore simulator work order: %w", err)
		}
		wo.Vendor = p.Vendor
		normalize(&wo)
		wos[wo.WorkOrderID] = &wo
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wos, s.nextID, s.nextPhoto = wos, st.NextID, st.NextPhoto
	s.pushKeys = map[string]*PushKey{}
	for i := range st.PushKeys {
		s.pushKeys[st.PushKeys[i].PushKey] = &st.PushKeys[i]
	}
	s.photos = map[string][]*Photo{}
	for id, ps := range st.Photos {
		for i := range ps {
			s.photos[id] = append(s.photos[id], &ps[i])
		}
	}
	s.surveys = st.Surveys
	if s.surveys == nil {
		s.surveys = map[string]map[string]*Submission{}
	}
	s.completions = st.Completions
	s.revoked = map[string]bool{}
	for _, tok := range st.Revoked {
		s.revoked[tok] = true
	}
	return nil
}
