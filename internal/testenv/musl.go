package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MuslLibc is where Debian's musl package puts musl's libc, which is
// also its loader (/lib/ld-musl-x86_64.so.1 points to it).
const MuslLibc = "/usr/lib/x86_64-linux-musl/libc.so"

// MuslRoot is an Alpine-style root made from Debian's musl and
// musl-tools.
type MuslRoot struct {
	Dir string // the root
	// App is /usr/bin/app inside it: it prints "answer 42 alpine 7" and
	// needs libanswer.so.1 (built by musl-gcc: it needs libc.so),
	// libalpine.so.1 (linked as on Alpine: it needs libc.musl-x86_64.so.1)
	// and libc.so. Both libraries are in /opt/lib, which only the path
	// file /etc/ld-musl-x86_64.path names.
	App string
}

// NewMuslRoot builds the programs with musl-gcc and assembles the root in
// a temporary directory: the loader in /lib (with the libc.musl-ARCH.so.1
// link Alpine has), the libraries in /opt/lib, the path file in /etc.
func NewMuslRoot(t testing.TB) *MuslRoot {
	t.Helper()
	Need(t, "musl-gcc", MuslLibc)
	work := t.TempDir()
	root := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("musl-gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("musl-gcc %v: %v\n%s", args, err, out)
		}
	}
	for _, d := range []string{"lib", "etc", "opt/lib", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	libc, err := os.ReadFile(MuslLibc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "lib/ld-musl-x86_64.so.1"), libc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ld-musl-x86_64.so.1", filepath.Join(root, "lib/libc.musl-x86_64.so.1")); err != nil {
		t.Fatal(err)
	}
	// An Alpine-built library names musl's libc by its Alpine name: link
	// against a copy of libc under that name (it has no soname, so the
	// file name becomes the DT_NEEDED entry).
	alpineLibc := filepath.Join(work, "alpine")
	os.MkdirAll(alpineLibc, 0o755)
	if err := os.WriteFile(filepath.Join(alpineLibc, "libc.musl-x86_64.so.1"), libc, 0o755); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(root, "opt/lib")
	cc("-shared", "-fPIC", "-Wl,-soname,libanswer.so.1", "-o", filepath.Join(lib, "libanswer.so.1"),
		write("answer.c", "int answer(void){return 42;}\n"))
	cc("-shared", "-fPIC", "-nodefaultlibs", "-Wl,-soname,libalpine.so.1", "-o", filepath.Join(lib, "libalpine.so.1"),
		write("alpine.c", "#include <stdlib.h>\nint alpine(void){return abs(-7);}\n"), "-L"+alpineLibc, "-l:libc.musl-x86_64.so.1")
	cc("-o", filepath.Join(root, "usr/bin/app"), write("app.c", `#include <stdio.h>
int answer(void); int alpine(void);
int main(void){printf("answer %d alpine %d\n", answer(), alpine()); return 0;}
`), "-L"+lib, "-l:libanswer.so.1", "-l:libalpine.so.1")
	if err := os.WriteFile(filepath.Join(root, "etc/ld-musl-x86_64.path"), []byte("/nonexistent:/opt/lib\n/lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &MuslRoot{Dir: root, App: "/usr/bin/app"}
}
