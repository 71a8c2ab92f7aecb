package scratchpack

import (
	"fmt"
	"os"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestMain keeps the tests' temporary files out of /tmp: scratchpack
// excludes what /tmp holds by default, and the tests trace programs and
// data they write into their temporary directories.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == testLauncher {
		// the launcher of the ptrace collector's runs (see testLauncherArgs)
		fmt.Fprintln(os.Stderr, "launcher:", tracer.Launch(os.Args[2:], os.Environ()))
		os.Exit(127)
	}
	os.Exit(testenv.RunOutsideTmp(m))
}

// testLauncher makes the test binary the launcher, as the CLI's hidden
// __chroot-exec command is scratchpack's.
const testLauncher = "__test-launcher"

// testLauncherArgs is tracer.Options.Launcher for the tests' runs.
func testLauncherArgs(t testing.TB) []string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{self, testLauncher}
}
