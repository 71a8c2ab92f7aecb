package tracer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// callerChildren are the caller's own processes around a run: one that
// outlives it, one in a session of its own, one that exits during it
// (the caller reaps it), and one started while the run goes on.
type callerChildren struct {
	long, ownSession, short, during *exec.Cmd
}

func startSleep(t *testing.T, secs string, setsid bool) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", secs)
	if setsid {
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil && !isZombie(pid)
}

// TestSweepSparesCallersChildren: the final sweep of a run that leaves a
// daemon behind kills the daemon and nothing of the caller's: its
// children, before and during the run, in its session or in one of their
// own, keep running, and one that exited meanwhile is still the caller's
// to wait for.
func TestSweepSparesCallersChildren(t *testing.T) {
	needStrace(t)
	for _, c := range []Collector{Strace, Fanotify} {
		t.Run(string(c), func(t *testing.T) {
			if c == Fanotify {
				testenv.NeedRoot(t)
			}
			var cc callerChildren
			cc.long = startSleep(t, "300", false)
			cc.ownSession = startSleep(t, "300", true)
			cc.short = startSleep(t, "0.2", false)
			dir := t.TempDir()
			ready, pidfile := filepath.Join(dir, "ready"), filepath.Join(dir, "pid")
			// double fork: the daemon's parent exits at once, and the
			// daemon is reparented to us
			server := "(setsid sh -c 'echo $$ > " + pidfile + "; touch " + ready + "; exec sleep 300' &) ; exit 0"
			res, err := Run(context.Background(), Options{
				Collector: c,
				Command:   []string{"/bin/sh", "-c", server},
				Log:       filepath.Join(dir, "log"),
				Probes:    []string{"test -e " + ready},
				Grace:     time.Second,
				AfterProbes: func(context.Context) error {
					cc.during = startSleep(t, "300", false)
					time.Sleep(300 * time.Millisecond) // short has exited
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Stopped {
				t.Errorf("the server was not stopped: %+v", res)
			}
			b, _ := os.ReadFile(pidfile)
			daemon, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if daemon == 0 {
				t.Fatal("the daemon did not start")
			}
			if alive(daemon) {
				t.Errorf("daemon %d is still running", daemon)
			}
			for name, cmd := range map[string]*exec.Cmd{"started before": cc.long, "in a session of its own": cc.ownSession, "started during the run": cc.during} {
				if !alive(cmd.Process.Pid) {
					t.Errorf("the caller's child %s (%d) was killed by the sweep", name, cmd.Process.Pid)
				}
			}
			if err := cc.short.Wait(); err != nil {
				t.Errorf("the caller's child that exited during the run: %v (the sweep reaped it?)", err)
			}
		})
	}
}

// BenchmarkSweepTargets: one look for the run's processes (a session of
// eleven), what each round of the sweep costs.
func BenchmarkSweepTargets(b *testing.B) {
	c := exec.Command("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & done; wait")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() }()
	s, err := newSweeper()
	if err != nil {
		b.Fatal(err)
	}
	s.leader = c.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); len(s.targets()) < 11 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n = len(s.targets())
	}
	b.ReportMetric(float64(n), "targets")
}

// TestFindTracerAfterExit: a command that is gone before its TracerPid
// could be read (it exits at once, on a busy machine) still has its
// strace found, so that the run waits for the whole log.
func TestFindTracerAfterExit(t *testing.T) {
	needStrace(t)
	if err := setSubreaper(); err != nil {
		t.Fatal(err)
	}
	bin, _ := exec.LookPath("strace")
	log := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command(bin, "-DDD", "-f", "-o", log, "--", "/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !isZombie(cmd.Process.Pid) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	tr := findTracer(cmd.Process.Pid, bin)
	if tr == 0 || tr == cmd.Process.Pid {
		t.Errorf("the tracer of an exited command: %d", tr)
	}
	waitExit(tr)
	cmd.Wait()
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), "+++ exited with 0 +++") {
		t.Errorf("the log is not complete once the tracer found exited:\n%s", data)
	}
}
