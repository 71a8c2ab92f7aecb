package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPackaged: a file is packaged when a package's md5sums list it with
// its sum (under /usr or, for a merged /usr, without it); a changed file,
// a path that only ends like a listed one, and unlisted files are not.
func TestPackaged(t *testing.T) {
	root := t.TempDir()
	write := func(p, data string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/libx.so", "hello\n")   // md5 b1946ac92492d2347c6235b4d2611184
	write("usr/lib/liby.so", "changed\n") // listed with another sum
	write("usr/bin/tool", "hello\n")      // listed as bin/tool (merged /usr)
	write("opt/a/usr/lib/libx.so", "hello\n")
	write("var/lib/dpkg/info/x.md5sums", "b1946ac92492d2347c6235b4d2611184  usr/lib/libx.so\n00000000000000000000000000000000  usr/lib/liby.so\n")
	write("var/lib/dpkg/info/y.md5sums", "b1946ac92492d2347c6235b4d2611184  bin/tool") // no final newline
	pk := NewPackaged(root)
	for p, want := range map[string]bool{
		"/usr/lib/libx.so":       true,
		"/usr/lib/liby.so":       false,
		"/usr/bin/tool":          true,
		"/opt/a/usr/lib/libx.so": false,
		"/usr/lib/libz.so":       false,
	} {
		if got := pk.Unmodified(p, filepath.Join(root, p)); got != want {
			t.Errorf("Unmodified(%s) = %v, want %v", p, got, want)
		}
	}
	if NewPackaged(t.TempDir()).Unmodified("/usr/lib/libx.so", filepath.Join(root, "usr/lib/libx.so")) {
		t.Error("a root without a dpkg database says a file is packaged")
	}
}
