// Package testenv holds what scratchpack's tests need of the machine.
// A missing tool skips a test with the reason, but fails it in CI
// (CI=true), which must run the core checks: `make test-deps` installs
// every tool.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Need checks that each tool is on PATH (or, with a slash, exists).
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" is not installed (make test-deps installs it)")
		}
	}
}

// NeedRoot checks that the test runs as root (chroot, mounts, owners).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test needs root (chroot, mounts, owners)")
	}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
