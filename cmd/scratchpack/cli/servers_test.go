package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestGroupSignalDoesNotReachScratchpack: a server that signals its whole
// process group when it stops (as apache does with kill(0, SIGTERM)) is
// built with a probe; scratchpack is not hit and the build succeeds.
func TestGroupSignalDoesNotReachScratchpack(t *testing.T) {
	need(t, "strace")
	bin := binary(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	server := `trap 'trap "" TERM; kill -TERM 0; exit 0' TERM; touch ` + ready + `; while :; do sleep 0.05; done`
	cmd := exec.Command(bin, "build", "-q", "-o", filepath.Join(dir, "s.tar.gz"), "--probe", "test -e "+ready, "--", "/bin/sh", "-c", server)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build of a server that signals its group: %v\n%s", err, out)
	}
}

// TestInterruptedBuildSaysBy: a build interrupted by SIGTERM says so, and
// exits 128+15, instead of "context canceled".
func TestInterruptedBuildSaysBy(t *testing.T) {
	need(t, "strace")
	bin := binary(t)
	dir := t.TempDir()
	// the traced command's parent is scratchpack itself
	cmd := exec.Command(bin, "build", "-q", "-o", filepath.Join(dir, "s.tar.gz"), "--", "/bin/sh", "-c", "kill -TERM $PPID; sleep 0.2")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit: %v, want %d\n%s", err, 128+int(syscall.SIGTERM), out)
	}
	if !strings.Contains(string(out), "interrupted by SIGTERM") || strings.Contains(string(out), "context canceled") {
		t.Errorf("message: %s", out)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestBuildVerifyInDir: build --verify -- jq -c . in.json, run in a
// directory: verify runs the image in that directory too and matches;
// verify --dir does the same by hand.
func TestBuildVerifyInDir(t *testing.T) {
	need(t, "strace", "jq", "chroot")
	dir := t.TempDir()
	app := filepath.Join(dir, "srv", "app")
	sh(t, "", "mkdir", "-p", app)
	sh(t, "", "sh", "-c", `echo '{"a": [1, 2]}' > `+app+"/in.json")
	code, out, stderr := run(t, app, "build", "--verify", "--verify-compare-output", "-o", filepath.Join(dir, "jq.tar.gz"), "--", "jq", "-c", ".", "in.json")
	if code != 0 || !strings.Contains(out, "verify: OK") {
		t.Fatalf("build --verify in %s: exit %d\n%s\n%s", app, code, out, stderr)
	}
	code, out, _ = run(t, "", "verify", "--dir", app, "--compare-output", filepath.Join(dir, "jq.tar.gz"), "--", "/usr/bin/jq", "-c", ".", "in.json")
	if code != 0 {
		t.Errorf("verify --dir: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "exit status 0") {
		t.Errorf("verify --dir: %s", out)
	}
}

// TestBuildExecFlags: --exec and --exec-file through the CLI; the
// Dockerfile's CMD stays the command, and a failing exec names itself.
func TestBuildExecFlags(t *testing.T) {
	need(t, "strace", "tar", "chroot")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "execs"), []byte("# more paths\n/usr/bin/sort /etc/hostname\n"), 0o644)
	code, _, stderr := run(t, dir, "build", "-q", "-o", "x.tar.gz", "--dockerfile", "Dockerfile",
		"--exec", "/usr/bin/wc -l /etc/hostname", "--exec-file", "execs", "--", "/bin/true")
	if code != 0 {
		t.Fatalf("build --exec: %d %s", code, stderr)
	}
	for _, argv := range [][]string{{"/usr/bin/wc", "-l", "/etc/hostname"}, {"/usr/bin/sort", "/etc/hostname"}, {"/bin/true"}} {
		if out, err := extractAndRun(t, filepath.Join(dir, "x.tar.gz"), argv...); err != nil {
			t.Errorf("%v in the empty root: %v %s", argv, err, out)
		}
	}
	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if !strings.Contains(string(df), `CMD ["/bin/true"]`) {
		t.Errorf("Dockerfile:\n%s", df)
	}
	code, _, stderr = run(t, dir, "build", "-q", "-o", "y.tar.gz", "--exec", "/bin/false --now", "--", "/bin/true")
	if code != ExitError || !strings.Contains(stderr, `--exec "/bin/false --now" exited with status 1`) {
		t.Errorf("a failing exec: %d %s", code, stderr)
	}
}
