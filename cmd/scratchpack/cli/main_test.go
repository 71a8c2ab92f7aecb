package cli

import (
	"os"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestMain lets the test binary serve as scratchpack's --root launcher:
// trace re-executes os.Executable() with __chroot-exec.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == chrootExecCommand || os.Args[1] == containerExecCommand || os.Args[1] == containerInitCommand) {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(testenv.RunOutsideTmp(m))
}
