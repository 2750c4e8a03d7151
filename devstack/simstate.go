package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// snapshotter is what a simulator implements to survive a restart of the dev stack: its
// requests, work orders, issues, cases… are what the tickets in the store point at.
type snapshotter interface {
	Snapshot() ([]byte, error)
	Restore([]byte) error
}

// statePath is where a simulator's state lives in the data dir (theworxhub-sim.json, …).
func (s *Stack) statePath(name string) string {
	return filepath.Join(s.opts.DataDir, name+"-sim.json")
}

// restoreSim loads a simulator's saved state. A file it cannot read is moved aside (not
// overwritten by the next save), so nothing is lost silently.
func (s *Stack) restoreSim(sim *Sim) error {
	data, err := os.ReadFile(sim.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := sim.Handler.(snapshotter).Restore(data); err != nil {
		aside := sim.statePath + ".unreadable"
		if rerr := os.Rename(sim.statePath, aside); rerr == nil {
			return fmt.Errorf("%w (the file was moved to %s)", err, aside)
		}
		return err
	}
	sim.lastSaved = data
	return nil
}

// SaveSimulators writes every simulator's state to the data dir (so a restart finds the
// requests its tickets point at).
func (s *Stack) SaveSimulators() error {
	var errs []error
	for _, sim := range s.Sims {
		if err := s.saveSim(sim); err != nil {
			errs = append(errs, fmt.Errorf("save %s simulator state: %w", sim.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Stack) saveSim(sim *Sim) error {
	if sim.statePath == "" {
		return nil
	}
	data, err := sim.Handler.(snapshotter).Snapshot()
	if err != nil {
		return err
	}
	s.simMu.Lock()
	defer s.simMu.Unlock()
	if bytes.Equal(data, sim.lastSaved) {
		return nil
	}
	tmp := sim.statePath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, sim.statePath); err != nil {
		return err
	}
	sim.lastSaved = data
	return nil
}

// saveSimulatorsPeriodically keeps the simulators' state on disk while running, so even a
// killed process (no clean Stop) restarts with the requests its tickets point at.
func (s *Stack) saveSimulatorsPeriodically(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sim := range s.Sims {
			if err := s.saveSim(sim); err != nil {
				s.opts.Logger.Warn("save simulator state", "simulator", sim.Name, "error", err)
			}
		}
	}
}
