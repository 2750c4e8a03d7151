package ticket

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"
	"unicode/utf8"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Budgets that keep a ticket's workflow inputs, signals and carried state far below Temporal's
// 2 MiB blob limit (a continue-as-new input over it terminates the workflow: a ticket that was
// accepted would silently die). Sizes are of the JSON encoding Temporal stores, where <, > and
// & take 6 bytes each. The worst case of everything together stays under 1.5 MiB.
const (
	// MaxRequestBytes bounds the encoded request a ticket starts with (the API answers 413).
	MaxRequestBytes = 512 << 10
	// MaxPendingComments and MaxPendingCommentBytes bound the comments waiting for the work
	// system. The API refuses comments with 429 well before (SoftPendingComments…); a comment
	// that reaches a full queue by another path is recorded on the timeline, not queued.
	MaxPendingComments     = 100
	MaxPendingCommentBytes = 256 << 10
	SoftPendingComments    = 20
	SoftPendingBytes       = 64 << 10
	// MaxCommentText bounds one comment's text (runes) wherever it comes from.
	MaxCommentText = 16000
	// MaxOutboxEvents and MaxOutboxBytes bound the events waiting for the request system:
	// while over, the ticket reads no new feedback (the work system keeps it; it is read once
	// deliveries catch up). Status events are always queued: they are small and rare.
	MaxOutboxEvents = 200
	MaxOutboxBytes  = 256 << 10
	// MaxFeedbackText bounds one feedback's text (runes) in an event; longer text is shortened
	// with a marker (the full text stays in the work system).
	MaxFeedbackText = 16000
	// MaxFeedbackPerPoll bounds the new feedback one poll returns; the rest comes with the
	// next poll, which follows at once.
	MaxFeedbackPerPoll = 100
	// MaxUnsyncedEvents and MaxUnsyncedBytes bound the timeline rows a continue-as-new carries
	// when the store was unreachable at the hand-over (the oldest are dropped beyond, counted).
	MaxUnsyncedEvents = 200
	MaxUnsyncedBytes  = 128 << 10
	// MaxSeenIDs bounds each seen-id set (8 KiB per 512 ids once encoded).
	MaxSeenIDs = 4096
)

// RequestBytes is the size of the request once encoded as the workflow engine stores it.
func RequestBytes(nr vendorapi.NewRequest) int {
	b, err := json.Marshal(nr)
	if err != nil {
		return 0
	}
	return len(b)
}

// CommentBytes is the encoded size of a queued comment.
func CommentBytes(c CommentSignal) int {
	b, err := json.Marshal(c)
	if err != nil {
		return 0
	}
	return len(b)
}

// EventBytes is the encoded size of an event.
func EventBytes(ev Event) int {
	b, err := json.Marshal(ev)
	if err != nil {
		return 0
	}
	return len(b)
}

// shortenedMarker ends a text cut to its budget.
const shortenedMarker = " … [shortened]"

// Clip cuts s to at most limit runes, ending it with a marker when cut. Clipping a clipped text
// changes nothing, so an activity and the workflow may both apply it.
func Clip(s string, limit int) (string, bool) {
	if utf8.RuneCountInString(s) <= limit {
		return s, false
	}
	keep := max(0, limit-utf8.RuneCountInString(shortenedMarker))
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + shortenedMarker, true
		}
		n++
	}
	return s, false
}

// IDSet is a bounded set of ids already acted on (feedback read from the work system, comments
// received from the request system). It keeps a 64-bit hash per id, oldest first, at most
// MaxSeenIDs of them; an id evicted from it is still recognised by its time when it has one
// (ids created at or before Horizon count as seen), so a work system that lists every
// feedback of a request on each read never gets old feedback re-sent. Ids without a time
// (comments) are remembered for the last MaxSeenIDs only. Encoded compactly for the
// continue-as-new input and the poll activity (16 bytes per id before base64).
type IDSet struct {
	entries []seenEntry
	index   map[uint64]struct{}
	// Horizon is the newest creation time among evicted ids.
	Horizon time.Time
}

type seenEntry struct {
	hash uint64
	at   int64 // creation time in Unix milliseconds; 0 = none
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()
}

// Len is the number of ids held.
func (s *IDSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Has reports whether id (created at createdAt, zero when unknown) was seen.
func (s *IDSet) Has(id string, createdAt time.Time) bool {
	if s == nil {
		return false
	}
	if _, ok := s.index[hashID(id)]; ok {
		return true
	}
	return !createdAt.IsZero() && !s.Horizon.IsZero() && !createdAt.After(s.Horizon)
}

// Add records id; beyond MaxSeenIDs the oldest is evicted (its time moves the horizon).
func (s *IDSet) Add(id string, createdAt time.Time) {
	h := hashID(id)
	if s.index == nil {
		s.index = map[uint64]struct{}{}
	}
	if _, ok := s.index[h]; ok {
		return
	}
	var at int64
	if !createdAt.IsZero() {
		at = createdAt.UnixMilli()
	}
	s.entries = append(s.entries, seenEntry{hash: h, at: at})
	s.index[h] = struct{}{}
	for len(s.entries) > MaxSeenIDs {
		old := s.entries[0]
		s.entries = s.entries[1:]
		delete(s.index, old.hash)
		if old.at != 0 {
			if t := time.UnixMilli(old.at).UTC(); t.After(s.Horizon) {
				s.Horizon = t
			}
		}
	}
}

type idSetJSON struct {
	IDs     string    `json:"ids,omitempty"`
	Horizon time.Time `json:"horizon"`
}

// MarshalJSON packs the hashes and times as base64.
func (s IDSet) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 16*len(s.entries))
	for _, e := range s.entries {
		buf = binary.BigEndian.AppendUint64(buf, e.hash)
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.at))
	}
	return json.Marshal(idSetJSON{IDs: base64.RawStdEncoding.EncodeToString(buf), Horizon: s.Horizon})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *IDSet) UnmarshalJSON(b []byte) error {
	var v idSetJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	raw, err := base64.RawStdEncoding.DecodeString(v.IDs)
	if err != nil || len(raw)%16 != 0 {
		return fmt.Errorf("ticket: malformed id set")
	}
	*s = IDSet{Horizon: v.Horizon, index: make(map[uint64]struct{}, len(raw)/16)}
	for i := 0; i < len(raw); i += 16 {
		e := seenEntry{hash: binary.BigEndian.Uint64(raw[i:]), at: int64(binary.BigEndian.Uint64(raw[i+8:]))}
		s.entries = append(s.entries, e)
		s.index[e.hash] = struct{}{}
	}
	return nil
}

// Clone returns an independent copy (a continue-as-new input must not alias the live set).
func (s *IDSet) Clone() *IDSet {
	if s == nil {
		return nil
	}
	c := &IDSet{entries: append([]seenEntry(nil), s.entries...), index: make(map[uint64]struct{}, len(s.entries)), Horizon: s.Horizon}
	for _, e := range s.entries {
		c.index[e.hash] = struct{}{}
	}
	return c
}
