package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "out")
	os.WriteFile(target, []byte("old"), 0o600)
	f, err := Create(target, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if data, _ := os.ReadFile(target); string(data) != "old" {
		t.Fatalf("target changed before commit: %q", data)
	}
	f.Abort()
	if data, _ := os.ReadFile(target); string(data) != "old" {
		t.Fatalf("abort changed the target: %q", data)
	}
	if err := WriteFile(target, []byte("new"), 0o640); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(target)
	if data, _ := os.ReadFile(target); string(data) != "new" || info.Mode().Perm() != 0o640 {
		t.Errorf("after commit: %q %v", data, info.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "no/such/dir/out"), nil, 0o644); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	f, _ = Create(target, 0o644)
	f.Commit()
	if err := f.Commit(); err == nil {
		t.Error("a second commit succeeded")
	}
}
