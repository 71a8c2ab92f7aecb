package elfdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/ldd"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

func TestMuslNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		self bool
	}{
		{"libc.so", true},
		{"libc.musl-x86_64.so.1", true},
		{"libpthread.so.0", true},
		{"libm.so.6", true},
		{"libdl.so.2", true},
		{"libxnet.so", true},
		{"libcurl.so.4", false},
		{"libcrypto.so.3", false},
		{"libmagic.so.1", false},
		{"libc", false},
		{"c.so", false},
	} {
		if got := muslSelf(tt.name); got != tt.self {
			t.Errorf("muslSelf(%q) = %v, want %v", tt.name, got, tt.self)
		}
	}
	for _, tt := range []struct{ interp, file string }{
		{"/lib/ld-musl-x86_64.so.1", "/etc/ld-musl-x86_64.path"},
		{"/lib/ld-musl-aarch64.so.1", "/etc/ld-musl-aarch64.path"},
		{"/usr/local/musl/lib/ld-musl-x86_64.so.1", "/usr/local/musl/etc/ld-musl-x86_64.path"},
		{"/ld-musl-x86_64.so.1", "/etc/ld-musl-x86_64.path"},
	} {
		if got := MuslPathFile(tt.interp); got != tt.file {
			t.Errorf("MuslPathFile(%q) = %q, want %q", tt.interp, got, tt.file)
		}
	}
	for _, tt := range []struct {
		data string
		dirs []string
	}{
		{"/opt/lib\n", []string{"/opt/lib"}},
		{"/a:/b\n/c\n\n::/d", []string{"/a", "/b", "/c", "/d"}},
		{"relative:/abs", []string{"/abs"}},
		{"", nil},
		{"/with space/lib", []string{"/with space/lib"}},
	} {
		if got := ParseMuslPath(tt.data); !slices.Equal(got, tt.dirs) {
			t.Errorf("ParseMuslPath(%q) = %q, want %q", tt.data, got, tt.dirs)
		}
	}
}

func FuzzParseMuslPath(f *testing.F) {
	for _, s := range []string{"/opt/lib\n", "/a:/b\n/c\n", "", "::\n\n", "rel:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for _, d := range ParseMuslPath(data) {
			if !strings.HasPrefix(d, "/") || strings.ContainsAny(d, ":\n") {
				t.Fatalf("bad directory %q from %q", d, data)
			}
		}
	})
}

// TestMuslRoot resolves a musl-gcc program in an Alpine-style root built
// from Debian's musl: libc.so and libc.musl-x86_64.so.1 are the loader,
// the libraries are found through /etc/ld-musl-x86_64.path (which comes
// with them), and musl's own ldd (the loader run as ldd) agrees. Without
// the path file musl searches /lib:/usr/local/lib:/usr/lib.
func TestMuslRoot(t *testing.T) {
	testenv.Need(t, "chroot")
	testenv.NeedRoot(t)
	m := testenv.NewMuslRoot(t)
	res, err := rootpath.New(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := NewResolver(res).Resolve(m.App)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range tree.Libs {
		got = append(got, l.Path)
	}
	sort.Strings(got)
	want := []string{"/lib/ld-musl-x86_64.so.1", "/opt/lib/libalpine.so.1", "/opt/lib/libanswer.so.1"}
	if !slices.Equal(got, want) || len(tree.Missing) > 0 {
		t.Errorf("libs %q missing %q, want %q", got, tree.Missing, want)
	}
	if !slices.Equal(tree.Config, []string{"/etc/ld-musl-x86_64.path"}) {
		t.Errorf("config %q, want the path file", tree.Config)
	}
	if !slices.Equal(Paths([]*Tree{tree}), append([]string{"/etc/ld-musl-x86_64.path"}, want...)) {
		t.Errorf("Paths: %q", Paths([]*Tree{tree}))
	}
	// musl's loader as ldd, in the root: the same libraries.
	out, err := exec.Command("chroot", m.Dir, "/lib/ld-musl-x86_64.so.1", "--list", m.App).CombinedOutput()
	if err != nil {
		t.Fatalf("musl ldd: %v\n%s", err, out)
	}
	bins, err := ldd.Parse(strings.NewReader(string(out)), "musl-ldd")
	if err != nil || len(bins) != 1 {
		t.Fatalf("parsing musl's ldd output: %v %d\n%s", err, len(bins), out)
	}
	var fromLdd []string
	for _, l := range bins[0].Libs {
		if !slices.Contains(fromLdd, l.Path) {
			fromLdd = append(fromLdd, l.Path)
		}
	}
	sort.Strings(fromLdd)
	if !slices.Equal(fromLdd, want) {
		t.Errorf("musl's ldd found %q, deps %q\n%s", fromLdd, got, out)
	}
	// A library given directly is mapped by musl's loader, not glibc's.
	lt, err := NewResolver(res).Resolve("/opt/lib/libalpine.so.1")
	if err != nil || len(lt.Missing) > 0 || len(lt.Libs) != 1 || lt.Libs[0].Path != "/lib/ld-musl-x86_64.so.1" {
		t.Errorf("libalpine alone: %+v %v", lt, err)
	}

	// Without the path file: the default path, in which the libraries are not.
	os.Remove(filepath.Join(m.Dir, "etc/ld-musl-x86_64.path"))
	tree, err = NewResolver(res).Resolve(m.App)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Missing) != 2 || len(tree.Config) > 0 {
		t.Errorf("without the path file: missing %q config %q", tree.Missing, tree.Config)
	}
	// ... and once they are in /usr/local/lib (the default), they are found there.
	os.MkdirAll(filepath.Join(m.Dir, "usr/local/lib"), 0o755)
	for _, l := range []string{"libanswer.so.1", "libalpine.so.1"} {
		os.Rename(filepath.Join(m.Dir, "opt/lib", l), filepath.Join(m.Dir, "usr/local/lib", l))
	}
	res, _ = rootpath.New(m.Dir) // (a resolver remembers what it has seen)
	tree, err = NewResolver(res).Resolve(m.App)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, l := range tree.Libs {
		got = append(got, l.Path)
	}
	sort.Strings(got)
	if want := []string{"/lib/ld-musl-x86_64.so.1", "/usr/local/lib/libalpine.so.1", "/usr/local/lib/libanswer.so.1"}; !slices.Equal(got, want) || len(tree.Missing) > 0 {
		t.Errorf("default path: libs %q missing %q, want %q", got, tree.Missing, want)
	}
}
