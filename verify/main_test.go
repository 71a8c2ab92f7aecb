package verify_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestMain makes the test binary the ptrace collector's launcher, as
// the CLI's hidden __chroot-exec command is scratchpack's, and keeps the
// tests' files out of /tmp, whose contents scratchpack leaves out by
// default.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == testLauncher {
		fmt.Fprintln(os.Stderr, "launcher:", tracer.Launch(os.Args[2:], os.Environ()))
		os.Exit(127)
	}
	os.Exit(testenv.RunOutsideTmp(m))
}

const testLauncher = "__test-launcher"

// launcher is verify.Options.Launcher for the tests' runs.
func launcher(t testing.TB) []string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{self, testLauncher}
}
