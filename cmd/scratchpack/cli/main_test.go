package cli

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as scratchpack's --root launcher:
// trace re-executes os.Executable() with __chroot-exec.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == chrootExecCommand {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
