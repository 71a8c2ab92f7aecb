package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPackaged: a file is packaged when the database's sum is its md5;
// a changed file, a file the database does not know, a final symlink
// (never followed) and no database at all are not.
func TestPackaged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "libx.so"), []byte("hello\n"), 0o644) // md5 b1946ac92492d2347c6235b4d2611184
	os.WriteFile(filepath.Join(dir, "liby.so"), []byte("changed\n"), 0o644)
	os.Symlink("libx.so", filepath.Join(dir, "link.so"))
	sums := map[string]string{
		"/usr/lib/libx.so": "b1946ac92492d2347c6235b4d2611184",
		"/usr/lib/liby.so": "b1946ac92492d2347c6235b4d2611184",
		"/usr/lib/link.so": "b1946ac92492d2347c6235b4d2611184",
	}
	pk := NewPackaged(func(p string) (string, bool) { s, ok := sums[p]; return s, ok })
	for name, want := range map[string]bool{"libx.so": true, "liby.so": false, "link.so": false, "libz.so": false} {
		if got := pk.Unmodified("/usr/lib/"+name, filepath.Join(dir, name)); got != want {
			t.Errorf("Unmodified(%s) = %v, want %v", name, got, want)
		}
	}
	if NewPackaged(nil).Unmodified("/usr/lib/libx.so", filepath.Join(dir, "libx.so")) {
		t.Error("without a database, a file is packaged")
	}
}
