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
