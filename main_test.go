package scratchpack

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the tests' temporary files out of /tmp: scratchpack
// excludes what /tmp holds by default, and the tests trace programs and
// data they write into their temporary directories.
func TestMain(m *testing.M) {
	os.Exit(withTestTmp(m))
}

func withTestTmp(m *testing.M) int {
	base, err := os.MkdirTemp("/var/lib", "scratchpack-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a temporary directory outside /tmp:", err)
		return 1
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	os.Setenv("TMPDIR", base)
	return m.Run()
}
