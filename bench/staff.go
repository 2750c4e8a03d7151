package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
	twhsim "github.com/ticketsync/ticketsync/vendorapi/theworxhub/sim"
)

// staff plays TheWorxHub's staff: at a steady rate it picks an open ticket without a change in
// flight and either moves its status (Pending → InProgress → OnHold → InProgress …, never to a
// terminal status, so the ticket stays open) or adds feedback visible to the requester.
type staff struct {
	twh     *twhsim.Server
	tr      *tracker // knows each ticket's remote id
	mapping mapping.Mapping
	rng     *rand.Rand
	tickets []string // external ids it may change (the history sample is left quiet)
}

func newStaff(twh *twhsim.Server, tr *tracker, tickets []string, seed uint64) (*staff, error) {
	m, err := mapping.Lookup("theworxhub-v1")
	if err != nil {
		return nil, err
	}
	return &staff{twh: twh, tr: tr, mapping: m, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), tickets: tickets}, nil
}

// play makes changes at rate per second for d, each expected by tr (ticketsync's tracker, or
// the naive poller's); it returns how many it made and how many ticks found every ticket it
// tried busy.
func (s *staff) play(ctx context.Context, tr *tracker, phase string, rate float64, d time.Duration) (made, skipped int, err error) {
	if len(s.tickets) == 0 || rate <= 0 {
		return 0, 0, nil
	}
	began := time.Now()
	for i := 0; ; i++ {
		next := began.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if next.Sub(began) >= d {
			return made, skipped, nil
		}
		select {
		case <-ctx.Done():
			return made, skipped, ctx.Err()
		case <-time.After(time.Until(next)):
		}
		ok := false
		for try := 0; try < 20 && !ok; try++ {
			ext := s.tickets[s.rng.IntN(len(s.tickets))]
			remote := s.tr.remoteOf(ext)
			if remote == "" {
				continue
			}
			ok, err = s.change(tr, phase, ext, remote)
			if err != nil {
				return made, skipped, err
			}
		}
		if ok {
			made++
		} else {
			skipped++
		}
	}
}

// change makes one change under the tracker's lock (so its event cannot arrive before it is
// expected) and reports false when the ticket is busy.
func (s *staff) change(tr *tracker, phase, ext, remote string) (bool, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if _, busy := tr.pending[ext]; busy {
		return false, nil
	}
	wr, ok := s.twh.Request(remote)
	if !ok {
		return false, fmt.Errorf("remote request %s of %s is not in the simulator", remote, ext)
	}
	c := &change{ext: ext, remoteID: remote, phase: phase}
	var err error
	if s.rng.IntN(2) == 0 {
		c.feedback = true
		wr, err = s.twh.AddFeedback(remote, twhsim.FeedbackInput{Text: "Update from the crew at " + time.Now().Format(time.TimeOnly),
			Author: "J. Rivera", VisibleToRequestor: true})
		if err == nil {
			c.want = wr.Feedback[len(wr.Feedback)-1].ID
		}
	} else {
		switch wr.Status {
		case twhsim.StatusPending:
			wr, err = s.twh.SetCategory(remote, "Plumbing")
		case twhsim.StatusInProgress:
			wr, err = s.twh.Transition(remote, twhsim.StatusOnHold, nil, false)
		default:
			wr, err = s.twh.Transition(remote, twhsim.StatusInProgress, nil, false)
		}
		if err == nil {
			c.want, _ = s.mapping.Translate(wr.Status)
		}
	}
	if err != nil {
		return false, fmt.Errorf("staff change on %s: %w", remote, err)
	}
	c.at = wr.ModifiedAt
	tr.pending[ext] = c
	return true, nil
}
