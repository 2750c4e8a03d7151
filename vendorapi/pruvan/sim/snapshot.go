package sim

import (
	"encoding/json"
	"fmt"
)

// snapshotVersion guards the file format of Snapshot.
const snapshotVersion = 1

type persistedState struct {
	Version      int           `json:"version"`
	Integrations []Integration `json:"integrations"`
	Projects     []Project     `json:"projects"`
}

// Snapshot serialises integrations (their api keys included, so the push key an order
// source stored keeps working) and projects, so a restarted dev stack carries on. Calls,
// faults and stats are not kept.
func (s *Server) Snapshot() ([]byte, error) {
	st := persistedState{Version: snapshotVersion, Integrations: s.Integrations(), Projects: s.Projects()}
	return json.MarshalIndent(st, "", " ")
}

// Restore replaces integrations and projects with a Snapshot.
func (s *Server) Restore(data []byte) error {
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("restore simulator: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("restore simulator: snapshot version %d, want %d", st.Version, snapshotVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.integr = map[string]*Integration{}
	for i := range st.Integrations {
		s.setIntegrationLocked(&st.Integrations[i])
	}
	s.projects, s.order = map[string]*Project{}, nil
	for i := range st.Projects {
		p := &st.Projects[i]
		s.projects[p.Key] = p
		s.order = append(s.order, p.Key)
	}
	return nil
}
