package ptrace

import (
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// forkLauncherEnv makes the test launcher start the command as build
// --from's container init does: the filter loaded on its main thread,
// the command forked from there, and the launcher staying to wait.
const forkLauncherEnv = "PTRACE_TEST_FORK_LAUNCHER"

func forkLaunch(prog string, argv []string) error {
	runtime.LockOSThread()
	env, err := Prepare(dropEnv(os.Environ(), forkLauncherEnv))
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{Path: prog, Args: argv, Env: env, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		return err
	}
	// calls the command never makes: the launcher's, not to be counted
	syscall.Getppid()
	syscall.Getpgrp()
	cmd.Wait()
	os.Exit(cmd.ProcessState.ExitCode())
	return nil
}

// TestCallsLeaveOutForkingLauncher: with AllSyscalls (--seccomp-profile),
// a launcher that forks the command after loading the filter and stays
// (build --from's container init) does not give the command its own
// calls (getppid, getpgrp, wait4...): the counts are the same as when the
// launcher execs the command. Before, the init's pipe2, waitid, wait4 and
// pidfd calls went into every --from profile of the ptrace collector.
func TestCallsLeaveOutForkingLauncher(t *testing.T) {
	res, out := traced(t, Options{AllSyscalls: true}, "/bin/cat", "/etc/hostname")
	if res.Status.ExitStatus() != 0 {
		t.Fatalf("exec launcher: exit %v: %s", res.Status, out)
	}
	want := callNames(res)
	t.Setenv(forkLauncherEnv, "1")
	res, out = traced(t, Options{AllSyscalls: true}, "/bin/cat", "/etc/hostname")
	if res.Status.ExitStatus() != 0 {
		t.Fatalf("forking launcher: exit %v: %s", res.Status, out)
	}
	if got := callNames(res); got != want {
		t.Errorf("the calls differ:\n exec launcher:    %s\n forking launcher: %s", want, got)
	}
	for _, n := range []string{"getppid", "getpgrp", "wait4"} {
		if res.Calls[n] > 0 {
			t.Errorf("the launcher's %s counted as the command's", n)
		}
	}
	if _, ok := usePaths(res)["/etc/hostname"]; !ok {
		t.Errorf("the command's /etc/hostname not seen")
	}
}

// TestCallsLateForkEvent: the command's calls do not depend on when the
// tracer hears of the fork that made it. The forking launcher's child
// (Go's vfork-like clone, which resets signal handlers, dups its fds and
// execs) is made to run to its end before the parent's vfork event is
// handled, as a loaded machine may order them: its calls before its
// execve are still the launcher's. Before, that child's image was left
// without a parent and counted as the command's (rt_sigaction, fcntl...;
// under build --from also chroot, setgroups, setgid, setuid):
// TestFromSeccompProfile failed one run in two under load.
func TestCallsLateForkEvent(t *testing.T) {
	res, out := traced(t, Options{AllSyscalls: true}, "/bin/cat", "/etc/hostname")
	if res.Status.ExitStatus() != 0 {
		t.Fatalf("exec launcher: exit %v: %s", res.Status, out)
	}
	want := callNames(res)
	t.Setenv(forkLauncherEnv, "1")
	for i := 0; i < 3; i++ {
		late := 0
		res, out = traced(t, Options{AllSyscalls: true, lateEvents: &late}, "/bin/cat", "/etc/hostname")
		if res.Status.ExitStatus() != 0 {
			t.Fatalf("forking launcher: exit %v: %s", res.Status, out)
		}
		if late == 0 {
			t.Fatalf("no fork event was handled after the child's exit: the test shows nothing")
		}
		if got := callNames(res); got != want {
			t.Errorf("run %d, %d events late: the calls differ:\n exec launcher:    %s\n forking launcher: %s", i, late, want, got)
		}
		if _, ok := usePaths(res)["/etc/hostname"]; !ok {
			t.Errorf("the command's /etc/hostname not seen")
		}
	}
}

// callNames lists the syscalls a traced run counted, sorted.
func callNames(res *Result) string {
	var out []string
	for n := range res.Calls {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
