package ptrace

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHelper starts a helper (or argv) under the tracer.
func startHelper(t *testing.T, helperName string, argv ...string) (*Run, *strings.Builder) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if len(argv) == 0 {
		argv = []string{self}
	}
	var out strings.Builder
	env := os.Environ()
	if helperName != "" {
		env = append(env, helperEnv+"="+helperName)
	}
	r, err := Start(Options{Args: append([]string{self}, argv...), Env: env, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	return r, &out
}

// waitDone fails the test when the trace does not end within limit.
func waitDone(t *testing.T, r *Run, limit time.Duration) *Result {
	t.Helper()
	select {
	case <-r.Done():
	case <-time.After(limit):
		t.Fatalf("the trace did not end within %s", limit)
	}
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// traceesOfUs lists the live processes this test process traces.
func traceesOfUs() []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		tasks, _ := os.ReadDir("/proc/" + e.Name() + "/task")
		for _, tk := range tasks {
			data, err := os.ReadFile("/proc/" + e.Name() + "/task/" + tk.Name() + "/status")
			if err != nil {
				continue
			}
			if tp := tracerPid(string(data)); tp > 0 && tgidOf(tp) == os.Getpid() && !strings.Contains(string(data), "State:\tZ") {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func tgidOf(tid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	n, _ := statusField(string(data), "Tgid:", 0)
	return n
}

func state(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return s[i+2 : i+3]
}

// TestKilledMidCall: a process killed while it makes traced calls ends
// the trace, with its signal as the status.
func TestKilledMidCall(t *testing.T) {
	r, _ := startHelper(t, "", "/bin/sh", "-c", "while :; do test -e /etc/hostname; done")
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(r.Pid(), syscall.SIGKILL)
	res := waitDone(t, r, 10*time.Second)
	if !res.Status.Signaled() || res.Status.Signal() != syscall.SIGKILL {
		t.Errorf("status %v, want killed by SIGKILL", res.Status)
	}
	if res.Stops < 10 {
		t.Errorf("only %d stops: the loop was not traced", res.Stops)
	}
	if left := traceesOfUs(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestStoppedProgram: SIGSTOP stops the program (a group stop it stays
// in), SIGCONT continues it, SIGKILL ends a stopped one.
func TestStoppedProgram(t *testing.T) {
	r, out := startHelper(t, "", "/bin/sh", "-c", "kill -STOP $$; echo resumed")
	deadline := time.Now().Add(5 * time.Second)
	for state(r.Pid()) != "T" && state(r.Pid()) != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("not stopped: state %s", state(r.Pid()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if s := state(r.Pid()); s != "T" && s != "t" {
		t.Fatalf("the stop did not hold: state %s", s)
	}
	syscall.Kill(r.Pid(), syscall.SIGCONT)
	res := waitDone(t, r, 10*time.Second)
	if res.Status.ExitStatus() != 0 || !strings.Contains(out.String(), "resumed") {
		t.Errorf("status %v, output %q", res.Status, out.String())
	}

	r, _ = startHelper(t, "sleep")
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(r.Pid(), syscall.SIGSTOP)
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(r.Pid(), syscall.SIGKILL)
	res = waitDone(t, r, 10*time.Second)
	if !res.Status.Signaled() {
		t.Errorf("status %v, want killed", res.Status)
	}
	if left := traceesOfUs(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestDetachingDaemon: the trace follows a child that outlives the
// process started (as strace does), and ends when it is killed.
func TestDetachingDaemon(t *testing.T) {
	r, out := startHelper(t, "daemon")
	time.Sleep(500 * time.Millisecond)
	select {
	case <-r.Done():
		t.Fatalf("the trace ended while the daemon runs: %s", out.String())
	default:
	}
	left := traceesOfUs()
	if len(left) != 1 {
		t.Fatalf("traced processes: %v, want the daemon", left)
	}
	syscall.Kill(left[0], syscall.SIGKILL)
	res := waitDone(t, r, 10*time.Second)
	if res.Status.ExitStatus() != 0 {
		t.Errorf("status %v: %s", res.Status, out.String())
	}
	if _, ok := usePaths(res)["/bin/sleep"]; !ok {
		t.Errorf("the daemon's exec was not seen")
	}
	if left := traceesOfUs(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestSignalsDelivered: a signal the program sends itself reaches its
// handler (the tracer delivers it as it was sent), and one it ignores
// does no harm.
func TestSignalsDelivered(t *testing.T) {
	r, out := startHelper(t, "", "/bin/sh", "-c", `trap 'echo got-usr1' USR1; trap '' USR2; kill -USR1 $$; kill -USR2 $$; echo done`)
	res := waitDone(t, r, 10*time.Second)
	if res.Status.ExitStatus() != 0 || out.String() != "got-usr1\ndone\n" {
		t.Errorf("status %v, output %q", res.Status, out.String())
	}
}
