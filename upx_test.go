package scratchpack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/tracer"
	"github.com/scratchpack/scratchpack/upx"
	"github.com/scratchpack/scratchpack/verify"
)

// upxPath finds the UPX that make test-deps installs.
func upxPath(t *testing.T, version string) string {
	t.Helper()
	p := filepath.Join("/opt/scratchpack", "upx-"+version, "upx")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("upx %s is not installed at %s (make test-deps)", version, p)
		}
		t.Skipf("upx %s is not installed: make test-deps", version)
	}
	return p
}

// TestBuildUPX: build --upx of a perl one-liner packs /usr/bin/perl,
// leaves libc and the loader byte-identical to the host's, prints the
// right output in an empty root, and makes a smaller archive.
func TestBuildUPX(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/perl")
	bin := upxPath(t, "3.96")
	cmd := []string{"/usr/bin/perl", "-e", `print join(",", map { $_ * $_ } 1..5), "\n"`}
	want := host(t, "", cmd...)
	cache := t.TempDir()
	plainRoot, plain := build(t, BuildOptions{Command: cmd})
	sbom := filepath.Join(t.TempDir(), "perl.spdx.json")
	root, packed := build(t, BuildOptions{Command: cmd, Pack: PackOptions{UPX: &upx.Options{Path: bin, CacheDir: cache}, PackageOptions: PackageOptions{SBOM: sbom}}})
	if packed.Pack.Compressed >= plain.Pack.Compressed {
		t.Errorf("--upx archive %d bytes, plain %d", packed.Pack.Compressed, plain.Pack.Compressed)
	}
	perl, _ := os.ReadFile(filepath.Join(root, "usr/bin/perl"))
	if !bytes.Contains(perl[:min(len(perl), 4096)], []byte("UPX!")) {
		t.Error("/usr/bin/perl in the archive is not UPX-packed")
	}
	hostPerl, _ := os.ReadFile("/usr/bin/perl")
	if len(perl) >= len(hostPerl) {
		t.Errorf("packed perl %d bytes, host's %d", len(perl), len(hostPerl))
	}
	// The SBOM holds the digests of the packed bytes; the md5sums in the
	// image stay dpkg's, of the file as the package shipped it.
	pkgs := map[string]string{}
	for _, u := range packed.Pack.Packages.Packages {
		pkgs[u.Name] = u.Version
	}
	checkSBOM(t, sbom, packed.Pack.Output, pkgs)
	if dpkgSums, err := os.ReadFile("/var/lib/dpkg/info/perl-base.md5sums"); err == nil {
		var line string
		for _, l := range strings.Split(string(dpkgSums), "\n") {
			if strings.HasSuffix(l, "  usr/bin/perl") {
				line = l
			}
		}
		kept, _ := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status.d/perl-base.md5sums"))
		if line == "" || !strings.Contains(string(kept), line+"\n") {
			t.Errorf("perl-base.md5sums in the image:\n%s\nlacks dpkg's line %q", kept, line)
		}
	}
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"} {
		a, _ := os.ReadFile(filepath.Join(root, p))
		b, _ := os.ReadFile(p)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the host's", p)
		}
	}
	// perl runs in an empty root (with /proc, as in a container)
	r, err := verify.Verify(context.Background(), verify.Options{Archive: packed.Pack.Output, Command: cmd, CompareOutput: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Match || r.Image.Stdout != want {
		t.Errorf("packed perl in an empty root: %+v", r)
	}
	var f upx.File
	for _, x := range packed.Pack.UPX.Files {
		if x.Path == "/usr/bin/perl" {
			f = x
		}
	}
	if !f.Packed || f.After >= f.Before || f.Before != int64(len(hostPerl)) {
		t.Errorf("summary for perl: %+v", f)
	}
	t.Logf("perl %d -> %d bytes; archive %d -> %d bytes", f.Before, f.After, plain.Pack.Compressed, packed.Pack.Compressed)
	_ = plainRoot
	// a second build packs nothing again: the cache answers
	_, again := build(t, BuildOptions{Command: cmd, Pack: PackOptions{UPX: &upx.Options{Path: bin, CacheDir: cache}}})
	for _, x := range again.Pack.UPX.Files {
		if x.Path == "/usr/bin/perl" && !x.Cached {
			t.Error("the rebuild packed perl again")
		}
	}
}

// TestBuildUPXBroken: UPX 3.94's packed binaries pass `upx -t` and crash
// on this kernel; the stage runs them, sees the crash, and keeps the
// originals with a warning.
func TestBuildUPXBroken(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/perl")
	bin := upxPath(t, "3.94")
	cmd := []string{"/usr/bin/perl", "-e", "print 42"}
	var stdout bytes.Buffer
	root, r := build(t, BuildOptions{Command: cmd, Trace: tracer.Options{Stdout: &stdout}, Pack: PackOptions{UPX: &upx.Options{Path: bin, CacheDir: t.TempDir()}}})
	var f upx.File
	for _, x := range r.Pack.UPX.Files {
		if x.Path == "/usr/bin/perl" {
			f = x
		}
	}
	if f.Packed || !strings.Contains(f.Why, "did not start") || !strings.Contains(f.Why, "segmentation fault") {
		t.Errorf("perl with UPX 3.94: %+v", f)
	}
	a, _ := os.ReadFile(filepath.Join(root, "usr/bin/perl"))
	b, _ := os.ReadFile("/usr/bin/perl")
	if !bytes.Equal(a, b) {
		t.Error("the original perl was not kept")
	}
}
