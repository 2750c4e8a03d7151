package sim

import (
	"encoding/json"
	"fmt"
	"time"
)

// snapshotVersion guards the file format of Snapshot.
const snapshotVersion = 1

// persistedAttachment keeps the content, which the model hides from JSON.
type persistedAttachment struct {
	Attachment
	ContentType string `json:"contentType"`
	Content     []byte `json:"content"`
}

type persistedState struct {
	Version     int                   `json:"version"`
	State       state                 `json:"state"`
	Attachments []persistedAttachment `json:"attachments"`
}

// Snapshot serialises everything Reset would clear (requests, work orders, comments,
// attachments, templates, id counters), so a restarted dev stack finds the items its tickets
// point at. Tokens, faults and stats are not kept: clients simply authenticate again.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := persistedState{Version: snapshotVersion, State: s.st}
	p.State.Attachments = nil
	for _, a := range s.st.Attachments {
		p.Attachments = append(p.Attachments, persistedAttachment{Attachment: *a, ContentType: a.ContentType, Content: a.Content})
	}
	return json.Marshal(p)
}

// Restore replaces the simulator's state with a Snapshot.
func (s *Server) Restore(data []byte) error {
	var p persistedState
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("restore cityworks simulator: %w", err)
	}
	if p.Version != snapshotVersion {
		return fmt.Errorf("restore cityworks simulator: snapshot version %d, want %d", p.Version, snapshotVersion)
	}
	st := fill(p.State)
	for _, pa := range p.Attachments {
		a := pa.Attachment
		a.ContentType, a.Content = pa.ContentType, pa.Content
		st.Attachments = append(st.Attachments, &a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// fill gives a restored state non-nil maps.
func fill(st state) state {
	empty := newState(time.Time{}, false)
	if st.Requests == nil {
		st.Requests = empty.Requests
	}
	if st.Answers == nil {
		st.Answers = empty.Answers
	}
	if st.WorkOrders == nil {
		st.WorkOrders = empty.WorkOrders
	}
	if st.Problems == nil {
		st.Problems = empty.Problems
	}
	if st.WOTemplates == nil {
		st.WOTemplates = empty.WOTemplates
	}
	return st
}
