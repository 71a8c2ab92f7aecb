package tracer

import (
	"bytes"
	"context"
	"errors"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needStrace(t *testing.T) {
	t.Helper()
	testenv.Need(t, "strace")
}

func TestRunKeepsStdioAndExitStatus(t *testing.T) {
	needStrace(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	res, err := Run(context.Background(), Options{
		Command: []string{"/bin/sh", "-c", "read x; echo got $x; echo oops >&2; cat /etc/hostname >/dev/null; exit 3"},
		Log:     filepath.Join(dir, "log"),
		Stdin:   strings.NewReader("hello\n"),
		Stdout:  &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "got hello\n" || errb.String() != "oops\n" || res.ExitCode != 3 {
		t.Errorf("stdout %q stderr %q exit %d", out.String(), errb.String(), res.ExitCode)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	if !bytes.Contains(log, []byte(`"/etc/hostname"`)) || !bytes.Contains(log, []byte("execve(")) {
		t.Errorf("the log lacks the file and the exec:\n%.500s", log)
	}
	if !strings.Contains(strings.Join(res.Args, " "), "--seccomp-bpf") {
		t.Errorf("strace 6.1 supports --seccomp-bpf; args %v", res.Args)
	}
}

func TestRunReportsSignalDeath(t *testing.T) {
	needStrace(t)
	res, err := Run(context.Background(), Options{Command: []string{"/bin/sh", "-c", "kill -SEGV $$"}, Log: filepath.Join(t.TempDir(), "log")})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 128+int(syscall.SIGSEGV) || res.Signal == "" {
		t.Errorf("exit %d signal %q", res.ExitCode, res.Signal)
	}
}

// TestProbesStopDaemons: a server that daemonizes (its parent exits) is
// probed, stopped, and nothing it started is left running.
func TestProbesStopDaemons(t *testing.T) {
	needStrace(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	pidfile := filepath.Join(dir, "pid")
	// double fork: the daemon's parent exits at once
	server := "(setsid sh -c 'echo $$ > " + pidfile + "; touch " + ready + "; exec sleep 300' &) ; exit 0"
	res, err := Run(context.Background(), Options{
		Command: []string{"/bin/sh", "-c", server},
		Log:     filepath.Join(dir, "log"),
		Probes:  []string{"test -e " + ready},
		Grace:   time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || len(res.Probes) != 1 {
		t.Errorf("stopped %v probes %+v", res.Stopped, res.Probes)
	}
	data, _ := os.ReadFile(pidfile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid == 0 {
		t.Fatal("the daemon did not start")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("daemon %d is still running", pid)
	}
}

func TestProbeFailure(t *testing.T) {
	needStrace(t)
	start := time.Now()
	_, err := Run(context.Background(), Options{
		Command:      []string{"/bin/sleep", "30"},
		Log:          filepath.Join(t.TempDir(), "log"),
		Probes:       []string{"echo not yet; exit 1"},
		ProbeTimeout: time.Second,
		Grace:        time.Second,
	})
	var pe *ProbeError
	if !errors.As(err, &pe) || pe.Attempts < 2 || !strings.Contains(err.Error(), "not yet") {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	// the command exits before the probe can succeed
	_, err = Run(context.Background(), Options{
		Command: []string{"/bin/true"}, Log: filepath.Join(t.TempDir(), "log"),
		Probes: []string{"exit 1"}, ProbeTimeout: 20 * time.Second,
	})
	if !errors.As(err, &pe) || !pe.Exited {
		t.Errorf("exited early: %v", err)
	}
}

func TestDurationAndSignals(t *testing.T) {
	needStrace(t)
	res, err := Run(context.Background(), Options{Command: []string{"/bin/sleep", "30"}, Log: filepath.Join(t.TempDir(), "log"), Duration: 300 * time.Millisecond, Grace: time.Second})
	if err != nil || !res.Stopped || res.Elapsed > 5*time.Second {
		t.Errorf("duration: %+v %v", res, err)
	}
	sigs := make(chan os.Signal, 1)
	go func() { time.Sleep(300 * time.Millisecond); sigs <- syscall.SIGTERM }()
	res, err = Run(context.Background(), Options{Command: []string{"/bin/sleep", "30"}, Log: filepath.Join(t.TempDir(), "log"), Signals: sigs})
	if err != nil || res.Signal != "terminated" || res.Stopped {
		t.Errorf("forwarded SIGTERM: %+v %v", res, err)
	}
}

func TestNoStrace(t *testing.T) {
	_, err := Run(context.Background(), Options{Command: []string{"/bin/true"}, Log: filepath.Join(t.TempDir(), "log"), Strace: "/nonexistent/strace"})
	if err == nil {
		t.Error("a missing strace binary was accepted")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Run(context.Background(), Options{Command: []string{"/bin/true"}, Log: "x"}); !errors.Is(err, ErrNoStrace) {
		t.Errorf("err = %v", err)
	}
}

// TestWatchedRun: the fanotify collector keeps stdio and the exit status,
// stops a daemonizing server after its probe with nothing left running,
// forwards signals, and reports the files the command used.
func TestWatchedRun(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	os.WriteFile(data, []byte("hello\n"), 0o644)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Collector: Fanotify,
		Command:   []string{"sh", "-c", "cat data.txt; exit 3"},
		Dir:       dir,
		Env:       []string{"PATH=/usr/bin:/bin"},
		Stdout:    &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" || res.ExitCode != 3 || res.Watch == nil {
		t.Fatalf("stdout %q exit %d watch %v", out.String(), res.ExitCode, res.Watch)
	}
	seen := map[string]bool{}
	for _, a := range res.Watch.Accesses {
		seen[a.Path] = true
	}
	if !seen[data] {
		t.Errorf("%s not seen in %+v", data, res.Watch.Accesses)
	}

	// without and with the narrow strace beside the watch
	for _, log := range []string{"", filepath.Join(dir, "narrow.log")} {
		ready := filepath.Join(dir, "ready")
		pidfile := filepath.Join(dir, "pid")
		os.Remove(ready)
		os.Remove(pidfile)
		server := "(setsid sh -c 'echo $$ > " + pidfile + "; touch " + ready + "; exec sleep 300' &) ; exit 0"
		res, err = Run(context.Background(), Options{Collector: Fanotify, Log: log, Command: []string{"/bin/sh", "-c", server}, Probes: []string{"test -e " + ready}, Grace: time.Second})
		if err != nil || !res.Stopped || res.WatchLog != (log != "") {
			t.Fatalf("log %q: probe run: %+v %v", log, res, err)
		}
		b, _ := os.ReadFile(pidfile)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid == 0 || syscall.Kill(pid, 0) == nil {
			t.Errorf("log %q: daemon %d did not start or is still running", log, pid)
		}

		sigs := make(chan os.Signal, 1)
		go func() { time.Sleep(300 * time.Millisecond); sigs <- syscall.SIGTERM }()
		res, err = Run(context.Background(), Options{Collector: Fanotify, Log: log, Command: []string{"/bin/sleep", "30"}, Signals: sigs})
		if err != nil || res.Signal != "terminated" || res.Stopped {
			t.Errorf("log %q: forwarded SIGTERM: %+v %v", log, res, err)
		}
	}

	_, err = Run(context.Background(), Options{Collector: Fanotify, Command: []string{"no-such-command-here"}, Env: []string{"PATH=/usr/bin"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-command-here: command not found in PATH /usr/bin") {
		t.Errorf("missing command: %v", err)
	}
}
