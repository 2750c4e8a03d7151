package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// workerProc runs the stack's worker as a child process (--worker-process): production's
// `ticketsync worker`, so its RSS and CPU are its own, apart from the Temporal server, the API
// and the bench in this process. Like an orchestrator it restarts a worker that exits; the
// report counts the restarts (a healthy run has none).
type workerProc struct {
	command  func() *exec.Cmd
	log      string
	pid      atomic.Int64
	restarts atomic.Int64
	mu       sync.Mutex
	cpuDone  float64 // CPU seconds of workers that exited (a restart must not lose them)
}

// run is devstack.Options.ExternalWorker: it keeps a worker running until ctx ends, then
// stops it as an orchestrator would (SIGTERM, then SIGKILL after 20 s).
func (w *workerProc) run(ctx context.Context, env []string) error {
	logf, err := os.OpenFile(w.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	for first := true; ; first = false {
		if !first {
			w.restarts.Add(1)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		cmd := w.command()
		// Ours come last: for a duplicated key, the last value is the one used.
		cmd.Env = append(os.Environ(), append(env, "TICKETSYNC_LOG_FORMAT=json", "TICKETSYNC_LOG_LEVEL=warn")...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start the worker process: %w", err)
		}
		pid := cmd.Process.Pid
		w.pid.Store(int64(pid))
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			w.addCPU(cmd.ProcessState)
			fmt.Fprintf(logf, "bench: worker %d exited: %v; restarting it\n", pid, err)
			continue
		case <-ctx.Done():
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		w.pid.Store(0)
		return nil
	}
}

func (w *workerProc) addCPU(ps *os.ProcessState) {
	if ps == nil {
		return
	}
	w.mu.Lock()
	w.cpuDone += (ps.UserTime() + ps.SystemTime()).Seconds()
	w.mu.Unlock()
}

// sample is the running worker's resources (zero when none runs); CPU includes the workers
// that exited before it.
func (w *workerProc) sample() Resources {
	if w == nil {
		return Resources{}
	}
	w.mu.Lock()
	r := Resources{CPUSeconds: w.cpuDone}
	w.mu.Unlock()
	if pid := w.pid.Load(); pid > 0 {
		p := procSample(strconv.FormatInt(pid, 10))
		r.RSSBytes, r.PeakRSSBytes = p.RSSBytes, p.PeakRSSBytes
		r.CPUSeconds += p.CPUSeconds
	}
	return r
}

// cpuSeconds is the CPU time used so far by this process and, when apart, the worker.
func (rn *runner) cpuSeconds() float64 {
	return sampleResources().CPUSeconds + rn.e.worker.sample().CPUSeconds
}

// waitPolling waits until the worker polls the task queue (it is up: the idle milestone
// samples a running worker), for at most a minute.
func (w *workerProc) waitPolling(ctx context.Context, c client.Client, taskQueue string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		d, err := c.DescribeTaskQueue(ctx, taskQueue, enums.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(d.GetPollers()) > 0 && w.pid.Load() > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the worker process did not poll %s within a minute (log: %s): %v", taskQueue, w.log, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
