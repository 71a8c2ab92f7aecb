package tarball

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestNotAnArchive: the system tar's archives in every format are read;
// text, short files, and gzip streams that hold no tar are refused with
// an error that says what the file is not.
func TestNotAnArchive(t *testing.T) {
	testenv.Need(t, "tar")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644)
	for _, format := range []string{"v7", "ustar", "gnu", "posix"} {
		out, err := exec.Command("tar", "-C", dir, "--format="+format, "-cf", "-", "a.txt").Output()
		if err != nil {
			t.Fatalf("tar --format=%s: %v", format, err)
		}
		if _, err := NewReader(bytes.NewReader(out)); err != nil {
			t.Errorf("tar --format=%s: %v", format, err)
		}
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a tar, gzip or zstd archive"},
		{"text", []byte("hello, not an archive\n"), "not a tar, gzip or zstd archive"},
		{"a block of text", bytes.Repeat([]byte("0123456789abcdef"), 64), "not a tar, gzip or zstd archive"},
		{"gzip of text", gz([]byte("hello\n")), "gzip-compressed, but what it holds is not a tar archive"},
		{"cut gzip", gz(bytes.Repeat([]byte{1, 2, 3}, 1000))[:20], "is it cut short?"},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader(tt.data))
		if err == nil || err.Error() == "" || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewReader(bytes.NewReader([]byte("x"))); !errors.Is(err, ErrNotArchive) {
		t.Errorf("errors.Is(err, ErrNotArchive) is false for %v", err)
	}
	if _, err := NewReader(bytes.NewReader(make([]byte, 1024))); err != nil {
		t.Errorf("an empty archive (two zero blocks): %v", err)
	}
}
