package sim

import (
	"encoding/json"
	"fmt"
	"slices"
)

// snapshotVersion guards the file format of Snapshot.
const snapshotVersion = 1

type persistedState struct {
	Version      int               `json:"version"`
	Issues       []Issue           `json:"issues"`
	RequestTypes []RequestType     `json:"requestTypes"`
	Agencies     []Agency          `json:"agencies"`
	Media        map[string]*media `json:"media"`
	People       map[string]int64  `json:"people"`
	Counters     [6]int64          `json:"counters"` // issue, comment, user, request type, question key, media
}

// Snapshot serialises issues, the catalog, agencies, media and id counters, so a restarted dev
// stack finds the issues its tickets point at. Faults, stats and rate windows are not kept.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := persistedState{Version: snapshotVersion, Media: s.media, People: s.citizens,
		Counters: [6]int64{s.nextIssue, s.nextComment, s.nextUser, s.nextRT, s.nextKey, s.nextMedia}}
	for _, is := range s.issues {
		st.Issues = append(st.Issues, is.clone())
	}
	slices.SortFunc(st.Issues, func(a, b Issue) int { return int(a.ID - b.ID) })
	for _, rt := range s.rtypes {
		st.RequestTypes = append(st.RequestTypes, rt.clone())
	}
	slices.SortFunc(st.RequestTypes, func(a, b RequestType) int { return int(a.ID - b.ID) })
	for _, a := range s.agencies {
		st.Agencies = append(st.Agencies, a.Agency)
	}
	slices.SortFunc(st.Agencies, func(a, b Agency) int { return int(a.ID - b.ID) })
	return json.Marshal(st)
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
	issues := map[int64]*Issue{}
	for i := range st.Issues {
		issues[st.Issues[i].ID] = &st.Issues[i]
	}
	rtypes := map[int64]*RequestType{}
	for i := range st.RequestTypes {
		rtypes[st.RequestTypes[i].ID] = &st.RequestTypes[i]
	}
	agencies := map[int64]*agency{}
	for _, a := range st.Agencies {
		ag, err := parseAgency(a)
		if err != nil {
			return fmt.Errorf("restore simulator: %w", err)
		}
		agencies[a.ID] = ag
	}
	if st.Media == nil {
		st.Media = map[string]*media{}
	}
	if st.People == nil {
		st.People = map[string]int64{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issues, s.rtypes, s.agencies, s.media, s.citizens = issues, rtypes, agencies, st.Media, st.People
	c := st.Counters
	s.nextIssue, s.nextComment, s.nextUser, s.nextRT, s.nextKey, s.nextMedia = c[0], c[1], c[2], c[3], c[4], c[5]
	return nil
}
