package scratchpack

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/tracer"
)

// dockerCaps is docker's and podman's default capability set: what a
// `RUN scratchpack build` in a docker build has (no CAP_SYS_PTRACE).
const dockerCaps = "-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write"

// straceWithDockerCaps is an strace that runs with docker's default
// capabilities only.
func straceWithDockerCaps(t *testing.T) string {
	t.Helper()
	real, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	w := filepath.Join(t.TempDir(), "strace")
	script := "#!/bin/sh\nif [ \"$1\" = -V ]; then exec " + real + " -V; fi\nexec " + setpriv + " --bounding-set=" + dockerCaps + " " + real + " \"$@\"\n"
	if err := os.WriteFile(w, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestBuildUnreadable: a program that drops its uid without exec (as
// apache's and mariadb's workers do), traced by an strace without
// CAP_SYS_PTRACE, names files strace cannot read. The build warns once
// per process (pid, program, uid, count, the fix), the report lists the
// processes, and Strict makes it an error that leaves no output.
func TestBuildUnreadable(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/python3")
	dir := t.TempDir()
	data := "/etc/hostname" // (the test's directory is not for uid 65534)
	script := `import os
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
open("` + data + `").read()
if os.fork() == 0:
    open("` + data + `").read()
    os._exit(0)
os.wait()
`
	out := filepath.Join(dir, "rootfs.tar.gz")
	o := BuildOptions{
		Command: []string{"/usr/bin/python3", "-c", script},
		Env:     cleanEnv,
		Trace:   tracer.Options{Collector: tracer.Strace, Strace: straceWithDockerCaps(t), Stdout: io.Discard},
		Pack:    PackOptions{Output: out},
	}
	var warns []string
	o.Warn = func(err error) { warns = append(warns, err.Error()) }
	r, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v\n%q", err, warns)
	}
	if len(r.Unreadable) != 2 {
		t.Fatalf("processes with unread paths: %+v (expected the program and its child)", r.Unreadable)
	}
	var unreadWarns []string
	for _, w := range warns {
		if strings.Contains(w, "could not be read") {
			unreadWarns = append(unreadWarns, w)
		}
	}
	if len(unreadWarns) != 2 {
		t.Errorf("warnings: %q (expected one per process)", warns)
	}
	for i, u := range r.Unreadable {
		if u.UID != 65534 || u.Command != "/usr/bin/python3" || u.Count < 1 || u.Pid <= 0 || !strings.HasPrefix(u.Where, "the trace log, line ") {
			t.Errorf("process %d: %+v", i, u)
		}
		if i < len(unreadWarns) {
			for _, want := range []string{"pid ", "/usr/bin/python3", "uid 65534", "--collector ptrace", "--cap-add SYS_PTRACE"} {
				if !strings.Contains(unreadWarns[i], want) {
					t.Errorf("warning %q lacks %q", unreadWarns[i], want)
				}
			}
		}
	}
	rep, err := ReadReport(r.Report)
	if err != nil || len(rep.Unreadable) != 2 || rep.Unreadable[0].Count != r.Unreadable[0].Count {
		t.Errorf("the report's unreadable calls: %+v %v", rep, err)
	}

	// --strict: an error naming the processes, and nothing written
	for _, f := range []string{out, r.Report} {
		os.Remove(f)
	}
	o.Strict = true
	o.KeepLog = filepath.Join(dir, "trace.log")
	o.Pack.Dockerfile = filepath.Join(dir, "Dockerfile")
	_, err = Build(context.Background(), o)
	var ue *UnreadableError
	if !errors.As(err, &ue) || len(ue.Processes) != 2 || !strings.Contains(err.Error(), "--strict") || !strings.Contains(err.Error(), "uid 65534") ||
		!strings.Contains(err.Error(), o.KeepLog+":") {
		t.Errorf("strict: %v", err)
	}
	for _, f := range []string{out, r.Report, o.Pack.Dockerfile} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("--strict failed, but %s was written", f)
		}
	}
}

// TestUnreadableErrorFix: the warning names the fix for the collector
// that traced: strace's is the ptrace collector; the ptrace collector's
// own unread calls (its Where is "pid N", not said twice) only
// CAP_SYS_PTRACE. Under --strict it says what was not done: a build
// wrote nothing, a verify did not verify.
func TestUnreadableErrorFix(t *testing.T) {
	for _, tc := range []struct {
		collector tracer.Collector
		where     string
		strict    bool
		outcome   string
		want      []string
		not       []string
	}{
		{tracer.Strace, "the trace log, line 7", false, "", []string{"pid 42 (httpd, uid 33): 3 calls (openat) whose path could not be read, the first at the trace log, line 7", "--collector ptrace", "--cap-add SYS_PTRACE"}, []string{"--strict"}},
		{"", "the trace log, line 7", false, "", []string{"--collector ptrace"}, nil},
		{tracer.Ptrace, "pid 42", false, "", []string{"pid 42 (httpd, uid 33): 3 calls (openat) whose path could not be read; ", "--cap-add SYS_PTRACE"}, []string{"--collector ptrace", "the first at"}},
		// --strict: a build's writes nothing; verify's says what it did
		{tracer.Strace, "", true, "", []string{"--strict: 3 calls of 1 processes named a path that could not be read, and nothing was written: pid 42 (httpd, uid 33)"}, nil},
		{tracer.Strace, "", true, "the rootfs is not verified", []string{"--strict: 3 calls of 1 processes named a path that could not be read, and the rootfs is not verified: pid 42"}, []string{"written"}},
	} {
		e := &UnreadableError{Collector: tc.collector, Strict: tc.strict, Outcome: tc.outcome, Processes: []collect.Unreadable{{Pid: 42, Command: "httpd", UID: 33, Count: 3, Calls: []string{"openat"}, Where: tc.where}}}
		got := e.Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: %q lacks %q", tc.collector, got, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%q: %q says %q", tc.collector, got, w)
			}
		}
	}
}
