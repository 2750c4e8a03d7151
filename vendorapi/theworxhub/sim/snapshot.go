package sim

import (
	"encoding/json"
	"fmt"
	"sort"
)

// snapshotVersion guards the file format of Snapshot.
const snapshotVersion = 1

type persistedRequest struct {
	Tenant  string          `json:"tenant"`
	Request json.RawMessage `json:"request"` // the wire form (WorkRequest.MarshalJSON)
}

type persistedState struct {
	Version   int                `json:"version"`
	NextID    int64              `json:"nextId"`
	NextSubID int64              `json:"nextSubId"`
	NextWO    int64              `json:"nextWorkOrder"`
	Requests  []persistedRequest `json:"requests"`
}

// Snapshot serialises every work request and the id counters, so a restarted dev stack finds
// the requests its tickets point at. Tokens, faults and rate windows are not kept: clients
// simply fetch a new token.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := persistedState{Version: snapshotVersion, NextID: s.nextID, NextSubID: s.nextSubID, NextWO: s.nextWO}
	ids := make([]string, 0, len(s.reqs))
	for id := range s.reqs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	for _, id := range ids {
		wr := s.reqs[id]
		raw, err := json.Marshal(*wr)
		if err != nil {
			return nil, fmt.Errorf("snapshot request %s: %w", wr.ID, err)
		}
		st.Requests = append(st.Requests, persistedRequest{Tenant: wr.Tenant, Request: raw})
	}
	return json.MarshalIndent(st, "", " ")
}

// Restore replaces the simulator's requests with a Snapshot.
func (s *Server) Restore(data []byte) error {
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("restore simulator: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("restore simulator: snapshot version %d, want %d", st.Version, snapshotVersion)
	}
	reqs := map[string]*WorkRequest{}
	byRef := map[string]string{}
	for _, p := range st.Requests {
		var wr WorkRequest
		if err := json.Unmarshal(p.Request, &wr); err != nil {
			return fmt.Errorf("restore simulator request: %w", err)
		}
		wr.Tenant = p.Tenant
		reqs[wr.ID] = &wr
		byRef[wr.Tenant+"\x00"+wr.ExternalReference] = wr.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.byRef = reqs, byRef
	s.nextID, s.nextSubID, s.nextWO = st.NextID, st.NextSubID, st.NextWO
	return nil
}
