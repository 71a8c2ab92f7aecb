package scratchpack

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
)

// TestReportTools: the report names the tools the build ran, and only
// those: no strace after a ptrace build (strace on PATH or not), strace's
// version after a strace build and after a fanotify build whose narrow
// strace ran. strace -V runs at most once per build, whatever asks it
// (--seccomp-bpf, the report, each --exec run): the strace given is a
// script that counts its -V runs and execs the real strace, a new one
// per row (the version is kept per binary and process).
func TestReportTools(t *testing.T) {
	needTools(t, "strace", "tar")
	real, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(real, "-V").Output()
	if err != nil {
		t.Fatal(err)
	}
	version, _, _ := strings.Cut(string(out), "\n")
	for _, tc := range []struct {
		name      string
		collector tracer.Collector
		execs     []string
		want      string // strace's entry ("" none)
		versions  int    // strace -V runs
	}{
		{"ptrace", tracer.Ptrace, nil, "", 0},
		{"ptrace with execs", tracer.Ptrace, []string{"/bin/true", "/bin/true"}, "", 0},
		{"strace", tracer.Strace, nil, version, 1},
		{"strace with execs", tracer.Strace, []string{"/bin/true", "/bin/true"}, version, 1},
		{"fanotify", tracer.Fanotify, nil, version, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			count := filepath.Join(dir, "versions")
			wrapper := filepath.Join(dir, "strace")
			script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = -V ] && echo -V >> %s\nexec %s \"$@\"\n", count, real)
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			_, r := build(t, BuildOptions{Command: []string{"/bin/cat", "/etc/hostname"}, Dir: "/", Execs: tc.execs,
				Trace: tracer.Options{Collector: tc.collector, Strace: wrapper, Launcher: testLauncherArgs(t), Stdout: io.Discard}})
			rep, err := ReadReport(r.Report)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := rep.Tools["strace"]; got != tc.want || ok != (tc.want != "") {
				t.Errorf("tools: strace %q (listed %v), want %q", got, ok, tc.want)
			}
			if rep.Tools["go"] == "" || rep.Tools["kernel"] == "" {
				t.Errorf("tools: %q, want go and the kernel", rep.Tools)
			}
			if _, ok := rep.Tools["upx"]; ok {
				t.Errorf("tools: %q name upx, which did not run", rep.Tools)
			}
			data, _ := os.ReadFile(count)
			if n := strings.Count(string(data), "-V"); n != tc.versions {
				t.Errorf("strace -V ran %d times, want %d", n, tc.versions)
			}
		})
	}
}
