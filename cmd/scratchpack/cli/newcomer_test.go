package cli

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJunkLogsAndEmptyArchives: filelist and pack refuse files that are
// not strace logs, naming the file and a line; a real log that names no
// file gives an error instead of an empty archive, unless --allow-empty.
func TestJunkLogsAndEmptyArchives(t *testing.T) {
	need(t, "strace", "tar")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shaped.log"), []byte("hello\nmq(\n"), 0o644)
	random := make([]byte, 500<<10)
	rand.New(rand.NewSource(1)).Read(random)
	os.WriteFile(filepath.Join(dir, "random.bin"), random, 0o644)
	// a real log that names no file: only the exit is traced
	if out, err := exec.Command("strace", "-f", "-o", filepath.Join(dir, "nothing.log"), "-e", "trace=chdir", "true").CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"filelist", "--strace", "shaped.log"}, ExitError, "shaped.log: not a strace log: no line is strace output (line 1: "},
		{[]string{"pack", "-o", "x.tar.gz", "--strace", "shaped.log"}, ExitError, "shaped.log: not a strace log"},
		{[]string{"filelist", "--strace", "random.bin"}, ExitError, "random.bin: not a strace log: no line is strace output (line 1: "},
		{[]string{"pack", "-o", "x.tar.gz", "--strace", "random.bin"}, ExitError, "random.bin: not a strace log"},
		{[]string{"pack", "-o", "x.tar.gz", "--strace", "nothing.log"}, ExitError, "the archive would hold no files (nothing)"},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, dir, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
		if strings.Count(stderr, "\n") > 30 {
			t.Errorf("%v: %d lines of messages", tt.args, strings.Count(stderr, "\n"))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar.gz")); !os.IsNotExist(err) {
		t.Error("a refused pack left x.tar.gz")
	}
	code, _, stderr := run(t, dir, "pack", "-o", "x.tar.gz", "--allow-empty", "--strace", "nothing.log")
	if code != ExitOK {
		t.Fatalf("--allow-empty: exit %d: %s", code, stderr)
	}
	if got := strings.TrimSpace(sh(t, dir, "tar", "-tzf", "x.tar.gz")); got != "tmp/" {
		t.Errorf("--allow-empty wrote entries: %q (expected the /tmp every image has)", got)
	}
}

// TestUsageMessages: a build without a command says that the command
// after -- is missing; usage errors point to the failing command's help;
// inspect names a file that is not an archive.
func TestUsageMessages(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello, not an archive\n"), 0o644)
	sh(t, dir, "gzip", "-k", "notes.txt")
	tests := []struct {
		args   []string
		code   int
		stderr []string
	}{
		{[]string{"build", "-o", "x.tar.gz"}, ExitUsage, []string{
			"scratchpack: the command to run is missing: give it after --, as in 'scratchpack build -o rootfs.tar.gz -- /usr/games/fortune'\n",
			"Run 'scratchpack build --help' for usage.\n"}},
		{[]string{"trace", "-o", "x.log"}, ExitUsage, []string{"the command to run is missing: give it after --", "Run 'scratchpack trace --help' for usage."}},
		{[]string{"pack", "--bogus"}, ExitUsage, []string{"unknown flag: --bogus", "Run 'scratchpack pack --help' for usage."}},
		{[]string{"frobnicate"}, ExitUsage, []string{"unknown command", "Run 'scratchpack --help' for usage."}},
		{[]string{"pack", "-o", "x.tar.gz", "--files", "notes.txt", "--secrets", "maybe"}, ExitUsage, []string{"--secrets \"maybe\": expected warn, fail, exclude or off", "Run 'scratchpack pack --help' for usage."}},
		{[]string{"inspect", "notes.txt"}, ExitError, []string{"scratchpack: notes.txt: not a tar, gzip or zstd archive\n"}},
		{[]string{"inspect", "notes.txt.gz"}, ExitError, []string{"notes.txt.gz: gzip-compressed, but what it holds is not a tar archive"}},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, dir, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d: %s", tt.args, code, tt.code, stderr)
		}
		for _, s := range tt.stderr {
			if !strings.Contains(stderr, s) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, stderr, s)
			}
		}
	}
}
