package workflows

import (
	"slices"

	"github.com/ticketsync/ticketsync/ticket"
)

// carry writes into st (the next run's state) what the run holds outside its state: whether
// the read model lags, the timeline rows it could not write (within ticket.MaxUnsyncedEvents
// and MaxUnsyncedBytes, oldest dropped first; rows of events still in the outbox are left out,
// since their delivery records them) and the wake-ups it had not acted on yet
// (changeLosslessHandover).
func (r *run) carry(st *ticket.State) {
	st.Dirty = r.changes != r.syncedChanges
	queued := map[string]bool{}
	for _, ev := range st.Outbox {
		queued[ev.ID] = true // its delivery writes its row
	}
	rows := slices.DeleteFunc(slices.Clone(r.newEvents), func(ev ticket.Event) bool { return queued[ev.ID] })
	size := 0
	for _, ev := range rows {
		size += ticket.EventBytes(ev)
	}
	for len(rows) > 0 && (len(rows) > ticket.MaxUnsyncedEvents || size > ticket.MaxUnsyncedBytes) {
		size -= ticket.EventBytes(rows[0])
		rows = rows[1:]
		st.DroppedRows++
	}
	st.Unsynced = rows
	st.PollNow, st.RetryRequested = r.pollNow, r.retryRequested
	st.SeenFeedbackIDs = st.SeenFeedbackIDs.Clone()
	st.SeenCommentIDs = st.SeenCommentIDs.Clone()
}

// resumeCarried takes back what carry wrote: rows to write, the lag (the first sync of this
// run writes the read model) and the wake-ups. Inputs of older runs have none of it.
func (r *run) resumeCarried() {
	r.newEvents, r.s.Unsynced = r.s.Unsynced, nil
	if r.s.Dirty || len(r.newEvents) > 0 {
		r.changes = 1
	}
	r.s.Dirty = false
	r.pollNow, r.retryRequested = r.s.PollNow, r.s.RetryRequested
	r.s.PollNow, r.s.RetryRequested = false, false
	if r.s.FeedbackDeferred {
		r.pollNow = true // feedback left unread: read it (or defer it again) at once
	}
}
