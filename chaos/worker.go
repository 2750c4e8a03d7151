package chaos

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// superviseWorker keeps one worker child process running (the binary's production `worker`
// mode), as an orchestrator would: whether it was SIGKILLed or exited on its own (a worker
// started during a store outage fails to start), a new one starts after a pause.
func (s *stack) superviseWorker(ctx context.Context) error {
	cmd, err := s.startWorker()
	if err != nil {
		return err
	}
	go func() {
		for {
			err := cmd.Wait()
			s.workerMu.Lock()
			killed, stopping := s.killed, s.stopping
			s.killed = false
			s.workerMu.Unlock()
			if stopping || ctx.Err() != nil {
				close(s.workerGone)
				return
			}
			pause := 1500 * time.Millisecond
			if !killed {
				s.exits.Add(1)
				s.log.Warn("worker exited on its own; restarting it", "error", err)
				pause = time.Second
			}
			select {
			case <-ctx.Done():
				close(s.workerGone)
				return
			case <-time.After(pause):
			}
			for {
				if cmd, err = s.startWorker(); err == nil {
					break
				}
				if errors.Is(err, errStopping) {
					close(s.workerGone)
					return
				}
				s.log.Error("worker start", "error", err)
				select {
				case <-ctx.Done():
					close(s.workerGone)
					return
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return nil
}

var errStopping = errors.New("the run is stopping")

func (s *stack) startWorker() (*exec.Cmd, error) {
	s.workerMu.Lock()
	defer s.workerMu.Unlock()
	if s.stopping {
		return nil, errStopping
	}
	cmd := s.opts.WorkerCommand()
	cmd.Env = s.workerEnv
	cmd.Stdout, cmd.Stderr = s.workerLog, s.workerLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	s.worker = cmd
	return cmd, nil
}

// killWorker SIGKILLs the worker: no shutdown of any kind. The supervisor starts a new one.
func (s *stack) killWorker() {
	s.workerMu.Lock()
	defer s.workerMu.Unlock()
	if s.worker == nil || s.worker.Process == nil || s.worker.ProcessState != nil {
		return
	}
	if err := s.worker.Process.Signal(syscall.SIGKILL); err != nil {
		return // it already exited; the supervisor restarts it
	}
	s.killed = true
	s.kills.Add(1)
	s.faults.add("worker", faultKill)
}
