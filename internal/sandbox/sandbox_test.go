package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestWithProc: inside, the root has /proc and /dev/null for programs
// started there; outside, nothing was mounted.
func TestWithProc(t *testing.T) {
	testenv.NeedRoot(t)
	root := t.TempDir()
	// the namespace this process started in, as seen from outside it
	host := "/proc/" + strconv.Itoa(os.Getpid()) + "/mountinfo"
	err := WithProc(root, func() error {
		c := exec.Command("/bin/sh", "-c", "test -r /proc/self/exe && : > /dev/null && cat "+filepath.Join(root, "proc/self/mountinfo")+" | grep -c . ")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Errorf("inside: %v %s", err, out)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, "dev/null"), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFCHR {
			t.Errorf("/dev/null in the root: %v mode %o", err, st.Mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(host)
	// Only mounts under the root count: other tests (podman) may mount
	// and unmount elsewhere on the host meanwhile.
	if strings.Contains(string(after), root) {
		t.Errorf("mounts leaked into the namespace of the process's main thread:\n%s", after)
	}
}

// TestContainerRoot: a program the thread starts after ContainerRoot
// finds /proc and working /dev nodes in the root; under docker's
// default capabilities (no CAP_SYS_ADMIN: a docker build) nothing can be
// mounted, so the nodes are made with mknod and there is no /proc, which
// it says. Nothing is mounted in the process's own namespace.
func TestContainerRoot(t *testing.T) {
	under := testenv.UnderDockerCaps(t, "TestContainerRoot") // (the parent checks with all of root's)
	root := t.TempDir()
	check := "for d in null zero urandom; do test -c " + root + "/dev/$d || exit 1; done; echo x > " + root + "/dev/null && head -c 4 " + root + "/dev/zero | wc -c | grep -qx 4"
	wantProc := !under
	if wantProc {
		check += " && test -r " + root + "/proc/self/exe"
	}
	var proc bool
	err := OnThread(func() error {
		var err error
		if proc, err = ContainerRoot(root); err != nil {
			return err
		}
		out, err := exec.Command("/bin/sh", "-c", check).CombinedOutput()
		if err != nil {
			t.Errorf("in the root: %v %s", err, out)
		}
		return nil
	})
	if err != nil || proc != wantProc {
		t.Fatalf("ContainerRoot: proc %v, want %v; %v", proc, wantProc, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "dev/null"), &st); err != nil || !under && st.Mode&syscall.S_IFMT != syscall.S_IFREG || under && st.Mode&0o777 != 0o666 {
		t.Errorf("/dev/null in the root, seen from outside: %v mode %o (a mount point, or a node made with the host's mode)", err, st.Mode)
	}
	mounts, _ := os.ReadFile("/proc/" + strconv.Itoa(os.Getpid()) + "/mountinfo")
	if strings.Contains(string(mounts), root) {
		t.Errorf("mounts leaked into the process's namespace:\n%s", mounts)
	}
}
