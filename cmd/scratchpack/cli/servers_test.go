package cli

import (
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
