package verify_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/verify"
)

func need(t *testing.T) {
	t.Helper()
	testenv.Need(t, "strace", "/usr/games/fortune", "chroot")
	testenv.NeedRoot(t)
}

// fortuneArchive packs fortune with scratchpack's pipeline (its files,
// and the libraries deps finds), leaving out entries that contain drop.
func fortuneArchive(t *testing.T, drop string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("/usr/share/games/fortunes/*")
	lst := filepath.Join(dir, "fortune.lst")
	os.WriteFile(lst, []byte("/usr/games/fortune\n"+strings.Join(files, "\n")+"\n"), 0o644)
	l, err := scratchpack.List(context.Background(), scratchpack.ListOptions{Lists: []string{lst}, ResolveDeps: true})
	if err != nil {
		t.Fatal(err)
	}
	kept := l.Entries[:0]
	for _, e := range l.Entries {
		if drop == "" || !strings.Contains(e.Path, drop) {
			kept = append(kept, e)
		}
	}
	l.Entries = kept
	out := filepath.Join(dir, "rootfs.tar.gz")
	if _, err := scratchpack.Pack(context.Background(), l, scratchpack.PackOptions{Output: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyFortune(t *testing.T) {
	need(t)
	good := fortuneArchive(t, "")
	r, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Match || r.Image.ExitCode != 0 || r.Image.Stdout == "" {
		t.Fatalf("good rootfs: %+v", r)
	}

	bad := fortuneArchive(t, "librecode")
	r, err = verify.Verify(context.Background(), verify.Options{Archive: bad, Command: []string{"/usr/games/fortune"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Match || r.Image.ExitCode != 127 {
		t.Fatalf("rootfs without librecode matched: %+v", r)
	}
	var found bool
	for _, m := range r.Missing {
		if strings.HasSuffix(m.Path, "/librecode.so.0") && m.By == "/usr/games/fortune" {
			found = true
			if !strings.Contains(m.String(), "needed by /usr/games/fortune") {
				t.Errorf("message %q", m)
			}
		}
	}
	if !found {
		t.Errorf("librecode.so.0 not named: %+v", r.Missing)
	}
	if len(r.Includes) == 0 || !strings.Contains(strings.Join(r.Includes, " "), "librecode.so.0") {
		t.Errorf("includes: %v", r.Includes)
	}
	for _, m := range r.Missing {
		if _, err := os.Lstat(m.Path); err != nil {
			t.Errorf("%s is reported missing but the host lacks it too", m.Path)
		}
	}
}

func TestVerifyOutputAndEnv(t *testing.T) {
	need(t)
	good := fortuneArchive(t, "")
	// fortune -e picks files with equal odds: the output differs between runs
	r, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune", "-f"}, CompareOutput: true})
	if err != nil {
		t.Fatal(err)
	}
	// "fortune -f" lists the files it would choose from, on stderr; stdout is empty on both
	if !r.Match {
		t.Errorf("fortune -f: %+v", r)
	}
	if _, err := verify.Verify(context.Background(), verify.Options{Archive: good, Command: []string{"/usr/games/fortune"}, Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("a bad --env was accepted")
	}
}

// TestExtractRefusesUnsafe: entry names that escape are refused.
func TestExtractRefusesUnsafe(t *testing.T) {
	for _, h := range []*tar.Header{
		{Name: "../evil", Typeflag: tar.TypeReg},
		{Name: "/etc/evil", Typeflag: tar.TypeReg},
		{Name: "a/../../evil", Typeflag: tar.TypeReg},
		{Name: "link", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
		{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
	} {
		archive := filepath.Join(t.TempDir(), "evil.tar.gz")
		f, _ := os.Create(archive)
		zw := gzip.NewWriter(f)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(h)
		tw.Close()
		zw.Close()
		f.Close()
		r, err := tarball.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		err = tarball.Extract(context.Background(), r, dir, tarball.ExtractOptions{})
		r.Close()
		var ue *tarball.UnsafeEntryError
		if !asUnsafe(err, &ue) {
			t.Errorf("%s: err = %v", h.Name, err)
		}
	}
	// through a symlink made by an earlier entry
	archive := filepath.Join(t.TempDir(), "evil2.tar")
	f, _ := os.Create(archive)
	tw := tar.NewWriter(f)
	tw.WriteHeader(&tar.Header{Name: "escape", Typeflag: tar.TypeSymlink, Linkname: "/"})
	tw.WriteHeader(&tar.Header{Name: "escape/tmp/x", Typeflag: tar.TypeReg, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	f.Close()
	r, _ := tarball.Open(archive)
	defer r.Close()
	var ue *tarball.UnsafeEntryError
	if err := tarball.Extract(context.Background(), r, t.TempDir(), tarball.ExtractOptions{}); !asUnsafe(err, &ue) {
		t.Errorf("write through a symlink: %v", err)
	}
	if _, err := os.Stat("/tmp/x"); err == nil {
		data, _ := os.ReadFile("/tmp/x")
		if string(data) == "x" {
			t.Error("the extractor wrote /tmp/x outside its directory")
		}
	}
	_ = io.EOF
}

func asUnsafe(err error, target **tarball.UnsafeEntryError) bool {
	if err == nil {
		return false
	}
	ue, ok := err.(*tarball.UnsafeEntryError)
	if ok {
		*target = ue
	}
	return ok
}
