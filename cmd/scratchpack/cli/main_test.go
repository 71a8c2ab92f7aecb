package cli

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as scratchpack's --root launcher:
// trace re-executes os.Executable() with __chroot-exec.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == chrootExecCommand || os.Args[1] == containerExecCommand || os.Args[1] == containerInitCommand) {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// Keep temporary files out of /tmp, whose contents scratchpack
	// excludes by default.
	base, err := os.MkdirTemp("/var/lib", "scratchpack-test-")
	if err != nil {
		panic(err)
	}
	os.Chmod(base, 0o755)
	os.Setenv("TMPDIR", base)
	code := m.Run()
	os.RemoveAll(base)
	os.Exit(code)
}
