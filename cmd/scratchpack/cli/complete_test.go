package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompleteCLI: build prints the units kept in part, --complete
// python says what it added, inspect prints the whole table; a bad kind
// is a usage error.
func TestCompleteCLI(t *testing.T) {
	need(t, "strace", "/usr/bin/python3")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mail.py"), []byte("import email.parser\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, dir, "build", "-o", "a.tar.gz", "--level", "1", "--", "/usr/bin/python3", "mail.py")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "kept in part (a path the trace did not take may need the rest: --complete KIND):\n") ||
		!strings.Contains(stderr, "\n  encodings (python) ") || strings.Contains(stderr, "--complete added") {
		t.Errorf("build's summary:\n%s", stderr)
	}
	code, _, stderr = run(t, dir, "build", "-o", "b.tar.gz", "--level", "1", "--complete", "python", "--", "/usr/bin/python3", "mail.py")
	if code != 0 {
		t.Fatalf("build --complete python: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "--complete added ") || strings.Contains(stderr, "\n  encodings (python) ") {
		t.Errorf("build --complete python's summary:\n%s", stderr)
	}
	code, out, stderr := run(t, dir, "inspect", "b.tar.gz")
	if code != 0 {
		t.Fatalf("inspect: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "most-cut first:\n") || !strings.Contains(out, "\n  email (python) ") || !strings.Contains(out, "\n--complete added ") {
		t.Errorf("inspect:\n%s", out)
	}
	code, _, stderr = run(t, dir, "build", "-o", "c.tar.gz", "--complete", "python,java", "--", "/usr/bin/python3", "mail.py")
	if code != 2 || !strings.Contains(stderr, `--complete "java": expected python, node, ruby, perl, os or all`) {
		t.Errorf("a bad kind: exit %d\n%s", code, stderr)
	}
}
