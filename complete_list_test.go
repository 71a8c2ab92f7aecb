package scratchpack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestCompletePack: what --complete adds in pack goes through the
// pipeline: an exclude still wins, an added script gets its
// interpreter, and the secret scan sees an added file. A made root,
// no trace.
func TestCompletePack(t *testing.T) {
	testenv.Need(t, "ssh-keygen")
	root := t.TempDir()
	lib := filepath.Join(root, "usr/lib/python3.11/tool")
	for _, d := range []string{lib, filepath.Join(root, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/python3.11/tool/__init__.py", "", 0o644)
	write("usr/lib/python3.11/tool/run.py", "#!/bin/sh\necho run\n", 0o755)
	write("usr/lib/python3.11/tool/skip.py", "", 0o644)
	write("bin/sh", "not a shell, only its name", 0o755)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", filepath.Join(lib, "deploy_key")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	list := filepath.Join(t.TempDir(), "app.lst")
	if err := os.WriteFile(list, []byte("/usr/lib/python3.11/tool/__init__.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lo := ListOptions{Root: root, Lists: []string{list}, PathOptions: PathOptions{
		Complete: []string{"python"}, Excludes: []string{"/usr/lib/python3.11/tool/skip.py"}}}
	var warns []string
	po := PackOptions{Output: filepath.Join(t.TempDir(), "rootfs.tar"), Warn: func(err error) { warns = append(warns, err.Error()) }}
	po.Compression = "none"
	l, r, err := PackFrom(context.Background(), lo, po)
	if err != nil {
		t.Fatal(err)
	}
	has := func(p string) *filelist.Entry { return l.Lookup(p) }
	if e := has("/usr/lib/python3.11/tool/run.py"); e == nil || e.Reasons[0].Source != "complete:python" ||
		e.Reasons[0].Detail != "tool, the unit of /usr/lib/python3.11/tool/__init__.py" {
		t.Errorf("run.py: %+v", e)
	}
	if e := has("/bin/sh"); e == nil || e.Reasons[0].Source != "shebang" {
		t.Errorf("the interpreter of the added script: %+v", e)
	}
	if has("/usr/lib/python3.11/tool/skip.py") != nil {
		t.Error("an excluded file was added")
	}
	found := false
	for _, f := range r.Secrets {
		found = found || f.Path == "/usr/lib/python3.11/tool/deploy_key"
	}
	if !found {
		t.Errorf("the secret scan did not see the added key: %+v (warnings %q)", r.Secrets, warns)
	}
	if r.Completed.Files != 3 { // run.py, deploy_key, deploy_key.pub
		t.Errorf("Completed: %+v", r.Completed)
	}
	if _, _, err := PackFrom(context.Background(), ListOptions{Root: root, Lists: []string{list}, PathOptions: PathOptions{Complete: []string{"pyhton"}}}, po); err == nil ||
		!strings.Contains(err.Error(), `--complete "pyhton": expected python, node, ruby, perl, os or all`) {
		t.Errorf("a bad kind: %v", err)
	}
}

// TestCompletePackageELF: --complete-package keeps a package whole and
// the ELF pass brings the libraries its .so needs (libmpfr needs libgmp,
// which /usr/bin/true does not), on this Debian host.
func TestCompletePackageELF(t *testing.T) {
	const lib = "/usr/lib/x86_64-linux-gnu/libmpfr.so.6"
	if _, err := os.Stat(lib); err != nil {
		testenv.Need(t, lib) // gcc brings libmpfr6
	}
	list := filepath.Join(t.TempDir(), "app.lst")
	if err := os.WriteFile(list, []byte("/usr/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := List(context.Background(), ListOptions{Lists: []string{list}, ResolveDeps: true,
		PathOptions: PathOptions{CompletePackages: []string{"libmpfr6"}, Excludes: []string{"/usr/share/doc/libmpfr6/copyright"}}})
	if err != nil {
		t.Fatal(err)
	}
	var mpfr, libgmp *filelist.Entry
	for _, e := range l.Entries {
		switch {
		case strings.HasPrefix(e.Path, "/usr/lib/x86_64-linux-gnu/libmpfr.so.") && e.Kind == filelist.File:
			mpfr = e
		case e.Path == "/usr/lib/x86_64-linux-gnu/libgmp.so.10.4.1":
			libgmp = e
		}
	}
	if mpfr == nil || mpfr.Reasons[0] != (filelist.Reason{Source: "complete:package", Detail: "the package libmpfr6 (--complete-package)"}) {
		t.Fatalf("libmpfr: %+v", mpfr)
	}
	if libgmp == nil || libgmp.Reasons[0].Source != filelist.SourceELF || !strings.Contains(libgmp.Reasons[0].Detail, "libmpfr") {
		t.Errorf("libgmp, which libmpfr needs: %+v", libgmp)
	}
	if l.Lookup("/usr/share/doc/libmpfr6/copyright") != nil {
		t.Error("the excluded copyright file was added")
	}
	if _, err := List(context.Background(), ListOptions{Lists: []string{list}, PathOptions: PathOptions{CompletePackages: []string{"no-such-package"}}}); err == nil ||
		!strings.Contains(err.Error(), "--complete-package no-such-package: no installed package") {
		t.Errorf("an unknown package: %v", err)
	}
}
