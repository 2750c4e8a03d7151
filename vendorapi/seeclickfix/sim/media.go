package sim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// storeMediaLocked keeps an uploaded image and returns its key (/files/{key}/…, /_media/{key}).
func (s *Server) storeMediaLocked(up *upload) string {
	s.nextMedia++
	key := "m" + strconv.FormatInt(s.nextMedia, 10)
	s.media[key] = &media{Data: up.data, ContentType: up.contentType}
	return key
}

// handleFile serves /files/{key}/full|square as SCF does: a redirect to the stored file.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, rest string) {
	key, size, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	_, ok := s.media[key]
	s.mu.Unlock()
	if !ok || (size != "full" && size != "square") {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, "/_media/"+key, http.StatusFound)
}

func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request, key string) {
	if !simkit.Sleep(r.Context(), s.latency()) {
		return
	}
	s.mu.Lock()
	m := s.media[key]
	s.stats.MediaFetches++
	s.mu.Unlock()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Data)))
	w.Header().Set("Cache-Control", "public, max-age=31536000")
	w.Write(m.Data)
}
