package sim

import (
	"context"
	"net/http"
)

// resendable is what an uploaded item was sent as, so Resend can send exactly it again.
type resendable struct {
	key    string
	proto  SentItem
	fields map[string]any
	photo  *photoSpec
}

// remember keeps an item's upload for Resend.
func (s *Server) remember(key string, proto SentItem, fields map[string]any, photo *photoSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resend[proto.UUID] = resendable{key: key, proto: proto, fields: fields, photo: photo}
}

// Resend sends an uploaded item again, same uuid, payload and bytes: what Pruvan's upload
// queue does with an item the order source did not accept (it was down, or answered an
// error). The attempt is recorded on the project like the first.
func (s *Server) Resend(ctx context.Context, uuid string) (SentItem, error) {
	s.mu.Lock()
	r, ok := s.resend[uuid]
	s.mu.Unlock()
	if !ok {
		return SentItem{}, errf(http.StatusNotFound, "not_found", "no uploaded item %q", uuid)
	}
	t, err := s.target(r.key, r.proto.Task, false)
	if err != nil {
		return SentItem{}, err
	}
	item := r.proto
	s.send(ctx, t, r.fields, r.photo, &item)
	return item, nil
}
