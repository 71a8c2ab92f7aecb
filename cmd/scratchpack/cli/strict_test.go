package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestUnreadableWarnsAndStrict: paths strace printed as addresses are a
// warning per process (filelist of a log, build), and with build
// --strict an error: exit 1, nothing written.
func TestUnreadableWarnsAndStrict(t *testing.T) {
	need(t, "strace", "setpriv", "/usr/bin/python3")
	dir := t.TempDir()
	log, _ := filepath.Abs("../../../collect/strace/testdata/samples/setuid_worker.log")
	code, _, stderr := run(t, dir, "filelist", "--strace", log)
	if code != 0 || strings.Count(stderr, "could not be read") != 2 || !strings.Contains(stderr, "pid 29505 (/usr/bin/python3, uid 65534): 3 calls (newfstatat, openat)") {
		t.Errorf("filelist: exit %d, stderr %q", code, stderr)
	}

	// an strace with docker's default capabilities, first on PATH
	real, _ := exec.LookPath("strace")
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "strace"), []byte("#!/bin/sh\nif [ \"$1\" = -V ]; then exec "+real+" -V; fi\n"+
		"exec setpriv --bounding-set=-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,+sys_chroot,+kill,+audit_write "+real+" \"$@\"\n"), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	script := "import os; os.setresuid(65534, 65534, 65534); open('/etc/hostname').read()"
	code, _, stderr = run(t, dir, "build", "-q", "--collector", "strace", "-o", "s.tar.gz", "--dockerfile", "Dockerfile", "--strict", "--", "/usr/bin/python3", "-c", script)
	if code != ExitError || !strings.Contains(stderr, "--strict: ") || !strings.Contains(stderr, "uid 65534") || !strings.Contains(stderr, "--cap-add SYS_PTRACE") {
		t.Errorf("build --strict: exit %d, stderr %q", code, stderr)
	}
	for _, f := range []string{"s.tar.gz", "s.report.json", "Dockerfile"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("build --strict failed but wrote %s", f)
		}
	}
	code, _, stderr = run(t, dir, "build", "--collector", "strace", "-o", "s.tar.gz", "--", "/usr/bin/python3", "-c", script)
	if code != 0 || strings.Count(stderr, "warning: pid ") != 1 || !strings.Contains(stderr, "uid 65534") {
		t.Errorf("build: exit %d, stderr %q", code, stderr)
	}
}

// TestVerifyUnreadable: in a docker build (docker's default
// capabilities, re-run under setpriv), build an image of a program whose
// worker opens a file after dropping privileges, leaving that file out,
// and verify it. verify's default collector (ptrace) names the file;
// under --collector strace, which cannot read the worker's calls, verify
// warns per process and says so beside MISMATCH and in --json, and
// --strict is an error. fanotify, which sees no failed lookup, is a
// usage error. build --verify verifies with the build's collector.
func TestVerifyUnreadable(t *testing.T) {
	need(t, "strace", "setpriv", "gcc")
	if !testenv.UnderDockerCaps(t, "TestVerifyUnreadable") {
		return
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "dropper")
	sh(t, "", "gcc", "-o", prog, "../../../verify/testdata/dropper.c")
	const data = "/etc/hostname" // the host has it, the image will not
	code, _, stderr := run(t, dir, "build", "-q", "-o", "d.tar.gz", "--exclude", data, "--", prog, data)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	verifyArgs := func(flags ...string) []string {
		return append(append(append([]string{"verify"}, flags...), "d.tar.gz", "--"), prog, data)
	}
	for _, tc := range []struct {
		flags          []string
		code           int
		stdout, stderr []string // each must be there
		not            []string // in neither
	}{
		{nil, ExitMismatch, []string{"verify: MISMATCH: exit status: host 0, image 1", "missing " + data + ", needed by " + prog, "--include " + data}, nil,
			[]string{"could not be read", "could not read", "warning: pid"}},
		{[]string{"--collector", "strace"}, ExitMismatch, []string{"verify: MISMATCH", "\nand 1 calls of 1 processes named a path the strace collector could not read"},
			[]string{"warning: pid ", "(" + prog + ", uid 65534): 1 call (openat) whose path could not be read", "--collector ptrace"}, []string{"missing " + data}},
		{[]string{"--collector", "strace", "--strict"}, ExitError, nil,
			[]string{"--strict: 1 calls of 1 processes named a path that could not be read, and the rootfs is not verified: pid ", "uid 65534"}, []string{"MISMATCH"}},
		{[]string{"--collector", "strace", "--json"}, ExitMismatch, []string{`"collector": "strace"`, `"unreadable": [`, `"uid": 65534`}, nil, nil},
		{[]string{"--collector", "fanotify"}, ExitUsage, nil, []string{"not the lookups that failed", "use ptrace or strace"}, nil},
	} {
		code, stdout, stderr := run(t, dir, verifyArgs(tc.flags...)...)
		if code != tc.code {
			t.Errorf("verify %q: exit %d, want %d\nstdout %s\nstderr %s", tc.flags, code, tc.code, stdout, stderr)
		}
		for _, w := range tc.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("verify %q: stdout lacks %q:\n%s", tc.flags, w, stdout)
			}
		}
		for _, w := range tc.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("verify %q: stderr lacks %q:\n%s", tc.flags, w, stderr)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(stdout+stderr, w) {
				t.Errorf("verify %q says %q:\n%s%s", tc.flags, w, stdout, stderr)
			}
		}
	}

	// build --verify verifies with the build's collector
	code, stdout, stderr := run(t, dir, "build", "-q", "--verify", "-o", "v.tar.gz", "--exclude", data, "--", prog, data)
	if code != ExitMismatch || !strings.Contains(stdout, "missing "+data+", needed by "+prog) {
		t.Errorf("build --verify: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, dir, "build", "--collector", "strace", "--verify", "-o", "v.tar.gz", "--exclude", data, "--", prog, data)
	if code != ExitMismatch || strings.Count(stderr, "warning: pid ") != 2 || !strings.Contains(stdout, "named a path the strace collector could not read") {
		t.Errorf("build --collector strace --verify: exit %d (the build's warning and verify's)\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}
