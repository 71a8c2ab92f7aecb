package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestMuslRoot: in an Alpine-style root made from Debian's musl (a
// musl-gcc program whose libraries are in /opt/lib, named only by
// /etc/ld-musl-x86_64.path), `deps --root` finds exactly the files that
// `build --root` packs besides the program, the trace itself keeps the
// path file (the launcher execs from the main thread, so strace sees the
// loader's first calls), the image runs in an empty root, and musl's ldd
// output read by `filelist --ldd` gives the same libraries.
func TestMuslRoot(t *testing.T) {
	need(t, "strace", "tar", "chroot")
	m := testenv.NewMuslRoot(t)
	dir := t.TempDir()
	code, out, stderr := run(t, dir, "deps", "--list", "--root", m.Dir, m.App)
	if code != 0 {
		t.Fatalf("deps: exit %d\n%s%s", code, out, stderr)
	}
	deps := strings.Fields(out)
	want := []string{"/etc/ld-musl-x86_64.path", "/lib/ld-musl-x86_64.so.1", "/opt/lib/libalpine.so.1", "/opt/lib/libanswer.so.1"}
	if !slices.Equal(deps, want) {
		t.Errorf("deps --list: %q, want %q", deps, want)
	}
	code, out, stderr = run(t, dir, "build", "-o", "app.tar.gz", "--root", m.Dir, "--", m.App)
	if code != 0 || out != "answer 42 alpine 7\n" {
		t.Fatalf("build --root: exit %d, stdout %q\n%s", code, out, stderr)
	}
	if strings.Contains(stderr, "not found") {
		t.Errorf("build warned about a missing library:\n%s", stderr)
	}
	var packed []string
	for name, kind := range tarList(t, filepath.Join(dir, "app.tar.gz")) {
		if kind != "d" && "/"+name != m.App {
			packed = append(packed, "/"+name)
		}
	}
	sort.Strings(packed)
	if !slices.Equal(packed, deps) {
		t.Errorf("build packed %q besides the program; deps found %q", packed, deps)
	}
	got, err := extractAndRun(t, filepath.Join(dir, "app.tar.gz"), m.App)
	if err != nil || got != "answer 42 alpine 7\n" {
		t.Errorf("the image: %q, %v", got, err)
	}
	// The path file came from the trace too, not only from the ELF pass.
	data, err := os.ReadFile(filepath.Join(dir, "app.report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Entries []struct {
			Path    string
			Reasons []struct{ Source string }
		}
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, e := range report.Entries {
		if e.Path == "/etc/ld-musl-x86_64.path" {
			for _, r := range e.Reasons {
				sources = append(sources, r.Source)
			}
		}
	}
	if !slices.Contains(sources, "ptrace") || !slices.Contains(sources, "elf") {
		t.Errorf("the path file's reasons: %q, want ptrace (the default collector) and elf", sources)
	}

	// musl's ldd is its loader run as ldd; filelist --ldd reads its output.
	lddOut := sh(t, "", "chroot", m.Dir, "/lib/ld-musl-x86_64.so.1", "--list", m.App)
	os.WriteFile(filepath.Join(dir, "app.ldd"), []byte(lddOut), 0o644)
	code, out, stderr = run(t, dir, "filelist", "--root", m.Dir, "--ldd", "app.ldd")
	if code != 0 {
		t.Fatalf("filelist --ldd: exit %d\n%s", code, stderr)
	}
	if got, want := strings.Fields(out), append(want[1:len(want):len(want)], "/tmp"); !slices.Equal(got, want) {
		t.Errorf("filelist --ldd with musl's ldd output: %q, want %q\n%s", got, want, lddOut)
	}
}

// TestBuildSeccompProfileFlag: build --seccomp-profile writes the profile
// and says what it allows; with fanotify it is a usage error.
func TestBuildSeccompProfileFlag(t *testing.T) {
	need(t, "strace", "tar")
	dir := t.TempDir()
	code, _, stderr := run(t, dir, "build", "-o", "true.tar.gz", "--seccomp-profile", "true.json", "--", "/bin/true")
	if code != 0 || !strings.Contains(stderr, "seccomp profile: ") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var p struct {
		DefaultAction string
		Syscalls      []struct{ Names []string }
	}
	data, err := os.ReadFile(filepath.Join(dir, "true.json"))
	if err != nil || json.Unmarshal(data, &p) != nil || p.DefaultAction != "SCMP_ACT_ERRNO" || len(p.Syscalls) != 2 || !slices.Contains(p.Syscalls[0].Names, "exit_group") {
		t.Errorf("profile: %v\n%s", err, data)
	}
	code, _, stderr = run(t, dir, "build", "-o", "t2.tar.gz", "--collector", "fanotify", "--seccomp-profile", "t2.json", "--", "/bin/true")
	if code != 2 || !strings.Contains(stderr, "strace collector") {
		t.Errorf("with fanotify: exit %d\n%s", code, stderr)
	}
}
