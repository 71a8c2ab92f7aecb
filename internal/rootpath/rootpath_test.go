package rootpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tree builds a small merged-/usr root:
//
//	/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3
//	/usr/lib/x86_64-linux-gnu/libfoo.so.1 -> libfoo.so.1.2.3
//	/lib -> usr/lib
//	/lib64 -> usr/lib64, /usr/lib64/ld.so -> /lib/x86_64-linux-gnu/libfoo.so.1
//	/escape -> ../../../../etc, /abs -> /etc, /etc/passwd
//	/loop1 -> loop2, /loop2 -> loop1
//	/usr/share/dirlink -> ../lib/x86_64-linux-gnu
func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := func(p string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/x86_64-linux-gnu")
	mk("usr/lib64")
	mk("usr/share")
	mk("etc")
	file("usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3")
	file("etc/passwd")
	link("libfoo.so.1.2.3", "usr/lib/x86_64-linux-gnu/libfoo.so.1")
	link("usr/lib", "lib")
	link("usr/lib64", "lib64")
	link("/lib/x86_64-linux-gnu/libfoo.so.1", "usr/lib64/ld.so")
	link("../../../../etc", "escape")
	link("/etc", "abs")
	link("loop2", "loop1")
	link("loop1", "loop2")
	link("../lib/x86_64-linux-gnu", "usr/share/dirlink")
	return root
}

func TestResolve(t *testing.T) {
	root := tree(t)
	r, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		follow bool
		want   string
		links  []string
	}{
		{"/lib64/ld.so", true, "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3",
			[]string{"/lib64", "/usr/lib64/ld.so", "/lib", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"}},
		{"/lib64/ld.so", false, "/usr/lib64/ld.so", []string{"/lib64"}},
		{"/lib/x86_64-linux-gnu/libfoo.so.1", true, "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3",
			[]string{"/lib", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"}},
		// ".." after a symlink goes to the parent of its target, not back.
		{"/usr/share/dirlink/../x86_64-linux-gnu/libfoo.so.1.2.3", true, "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3",
			[]string{"/usr/share/dirlink"}},
		// Nothing escapes the root: ".." at / stays at /, absolute targets restart at the root.
		{"/escape/passwd", true, "/etc/passwd", []string{"/escape"}},
		{"/../../etc/passwd", true, "/etc/passwd", nil},
		{"/abs/passwd", true, "/etc/passwd", []string{"/abs"}},
		{"//etc/./passwd", true, "/etc/passwd", nil},
		{"/", true, "/", nil},
	}
	for _, tt := range tests {
		res, err := r.Resolve(tt.path, tt.follow)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tt.path, err)
			continue
		}
		var links []string
		for _, l := range res.Links {
			links = append(links, l.Path)
		}
		if res.Path != tt.want || strings.Join(links, " ") != strings.Join(tt.links, " ") {
			t.Errorf("Resolve(%s, %v) = %s via %v; want %s via %v", tt.path, tt.follow, res.Path, links, tt.want, tt.links)
		}
		if res.Info == nil {
			t.Errorf("Resolve(%s): no Info", tt.path)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	r, err := New(tree(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		errno syscall.Errno
		at    string
	}{
		{"/loop1", syscall.ELOOP, "/loop1"},
		{"/etc/missing", syscall.ENOENT, "/etc/missing"},
		{"/lib/nope/libfoo.so", syscall.ENOENT, "/usr/lib/nope"},
		{"/etc/passwd/x", syscall.ENOTDIR, "/etc/passwd"},
		{"/" + strings.Repeat("a/", 2100), syscall.ENAMETOOLONG, ""},
		{"/etc/pa\x00sswd", syscall.EINVAL, ""},
	}
	for _, tt := range tests {
		_, err := r.Resolve(tt.path, true)
		var re *Error
		if !errors.As(err, &re) || !errors.Is(err, tt.errno) || re.At != tt.at {
			t.Errorf("Resolve(%.40s): err = %v, want %v at %q", tt.path, err, tt.errno, tt.at)
		}
	}
	_, err = r.Resolve("/etc/missing", true)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestNewRoot(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("New(absent dir) succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("New(file) = %v", err)
	}
	r, err := New("")
	if err != nil || r.Root() != "/" || r.HostPath("/etc") != "/etc" {
		t.Errorf("New(\"\") = %v, %v", r, err)
	}
}

func TestJoin(t *testing.T) {
	for _, tt := range [][3]string{
		{"/a", "b", "/a/b"}, {"/", "b", "/b"}, {"/a", "/b", "/b"}, {"/a", "", "/a"}, {"/a/", "../b", "/a/../b"},
	} {
		if got := Join(tt[0], tt[1]); got != tt[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}
