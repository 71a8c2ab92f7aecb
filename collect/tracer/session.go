package tracer

import (
	"bytes"
	"context"
	"os/exec"
	"syscall"
	"time"

	"github.com/pkg/errors"
)

// started is a command that runs under one collector: what a start phase
// (startStrace, startWatched, or another collector's) hands to the
// session, which every collector shares.
type started struct {
	res   *Result
	start time.Time
	// leader is the process started: the command, leader of a session
	// of its own (or an older strace, which leads the command's).
	leader int
	// tracer is a tracer process outside the command (strace -DDD's), or
	// the leader when it is the tracer: the sweep never signals it, as it
	// must finish its log once its tracees are gone. 0: none.
	tracer int
	// wait returns once the command and everything the collector follows
	// have exited, with the command's exit (an *exec.ExitError).
	wait func() error
	// ours tells whether a process reparented to us (the subreaper) is
	// the run's: traced by its tracer, in its namespace (see sweeper).
	ours func(pid int) bool
	// finish, when set, runs once every traced process is gone (the watch
	// reads its queue); its error is Run's.
	finish func(*Result) error
	// verdict, when set, runs last, when the session itself had no error
	// (strace's failures told from the command's).
	verdict func(*Result) error
}

// session supervises a started command: it waits for it, runs the
// probes, forwards signals, stops it, and sweeps what it left.
type session struct {
	o     Options
	st    *started
	sweep *sweeper
	done  chan error // the command's exit, once everything followed is gone

	waitErr            error
	finished           bool // waitErr is known
	probeErr, afterErr error
}

func newSession(o Options, st *started, sw *sweeper) *session {
	sw.leader, sw.keep, sw.ours = st.leader, st.tracer, st.ours
	s := &session{o: o, st: st, sweep: sw, done: make(chan error, 1)}
	go func() { s.done <- st.wait() }()
	return s
}

// supervise runs until the command exits, the probes succeed (then
// AfterProbes runs and the command is stopped), Duration passes or ctx
// is done; signals are forwarded meanwhile.
func (s *session) supervise(ctx context.Context) {
	o := s.o
	var timer <-chan time.Time
	if o.Duration > 0 {
		timer = time.After(o.Duration)
	}
	probesDone := make(chan error, 1)
	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	if len(o.Probes) > 0 {
		go func() { probesDone <- runProbes(probeCtx, o, s.st.res, s.done) }()
	}
	for {
		select {
		case s.waitErr = <-s.done:
			s.finished = true
			cancelProbes()
			if len(o.Probes) > 0 {
				if err := <-probesDone; err != nil {
					var pe *ProbeError
					if errors.As(err, &pe) {
						pe.Exited = true
					}
					s.probeErr = err
				}
			}
			return
		case sig := <-o.Signals:
			if sg, ok := sig.(syscall.Signal); ok {
				s.sweep.signal(sg)
			}
		case err := <-probesDone:
			s.probeErr = err
			if err == nil && o.AfterProbes != nil {
				// while the server runs: the caller's own traced runs
				s.afterErr = o.AfterProbes(ctx)
			}
			s.stop()
			return
		case <-timer:
			s.stop()
			return
		case <-ctx.Done():
			s.stop()
			return
		}
	}
}

// stop sends SIGTERM to the run's processes and gives them Grace to exit.
func (s *session) stop() {
	s.st.res.Stopped = true
	s.sweep.signal(syscall.SIGTERM)
	select {
	case s.waitErr = <-s.done:
		s.finished = true
	case <-time.After(s.o.Grace):
	}
}

// end is the sweep: anything of the run still alive (daemons, stuck
// children) is killed; a tracer then finishes its log and exits.
func (s *session) end() {
	s.sweep.kill()
	if !s.finished {
		select {
		case s.waitErr = <-s.done:
		case <-time.After(10 * time.Second):
			if t := s.st.tracer; t > 0 { // 0 is no tracer: kill(0) would be our own group
				syscall.Kill(t, syscall.SIGKILL) // a stuck strace
			}
			s.waitErr = <-s.done
		}
		s.finished = true
	}
	s.sweep.settle()
	s.sweep.reap()
}

// result fills in the exit status and gives the first error: the
// collector's, the probes', AfterProbes', the context's, then the
// collector's verdict.
func (s *session) result(ctx context.Context) (*Result, error) {
	res := s.st.res
	res.Elapsed = time.Since(s.st.start)
	res.ExitCode, res.Signal = exitStatus(s.waitErr)
	if s.st.finish != nil {
		if err := s.st.finish(res); err != nil {
			return res, err
		}
	}
	for _, err := range []error{s.probeErr, s.afterErr, ctx.Err()} {
		if err != nil {
			return res, err
		}
	}
	if s.st.verdict != nil {
		if err := s.st.verdict(res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func runProbes(ctx context.Context, o Options, res *Result, done <-chan error) error {
	deadline := time.Now().Add(o.ProbeTimeout)
	for _, p := range o.Probes {
		pr := ProbeResult{Command: p}
		for {
			pr.Attempts++
			actx, cancel := context.WithTimeout(ctx, min(10*time.Second, time.Until(deadline)+time.Millisecond))
			c := exec.CommandContext(actx, "/bin/sh", "-c", p)
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			err := c.Run()
			cancel()
			pr.Output = out.String()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				res.Probes = append(res.Probes, pr)
				return &ProbeError{Probe: p, Attempts: pr.Attempts, Output: pr.Output}
			}
			select {
			case <-ctx.Done():
				res.Probes = append(res.Probes, pr)
				return &ProbeError{Probe: p, Attempts: pr.Attempts, Output: pr.Output}
			case <-time.After(200 * time.Millisecond):
			}
		}
		res.Probes = append(res.Probes, pr)
	}
	return nil
}

func exitStatus(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.ws.Signaled() {
			return 128 + int(se.ws.Signal()), se.ws.Signal().String()
		}
		return se.ws.ExitStatus(), ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), ws.Signal().String()
		}
		return ee.ExitCode(), ""
	}
	return -1, ""
}
