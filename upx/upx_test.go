package upx

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

func upx396(t *testing.T) string {
	p := "/opt/scratchpack/upx-3.96/upx"
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("upx 3.96 is not installed (make test-deps)")
		}
		t.Skip("upx 3.96 is not installed: make test-deps")
	}
	if os.Geteuid() != 0 {
		t.Skip("the start check chroots: needs root")
	}
	return p
}

func list(t *testing.T, paths ...string) *filelist.List {
	res, _ := rootpath.New("/")
	b := filelist.NewBuilder(res)
	for _, p := range paths {
		if _, err := b.Add(p, filelist.Follow, filelist.Reason{Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return b.List()
}

// TestSelection: programs are packed; libraries, the loader, setuid
// files, excluded ones and files upx refuses are not, each with why.
func TestSelection(t *testing.T) {
	bin := upx396(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tiny.c"), []byte("int main(void){return 0;}\n"), 0o644)
	tiny := filepath.Join(dir, "tiny")
	if out, err := exec.Command("gcc", "-o", tiny, filepath.Join(dir, "tiny.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v %s", err, out)
	}
	// the programs and the libraries they need: the check runs them
	l := list(t, "/usr/bin/perl", "/usr/bin/gzip", "/usr/bin/sort", tiny, "/usr/bin/passwd",
		"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libcrypt.so.1")
	res, err := Pack(context.Background(), l, Options{Path: bin, CacheDir: t.TempDir(), Exclude: []filelist.Pattern{filelist.MustPattern("/usr/bin/sort")}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cleanup()
	got := map[string]File{}
	for _, f := range res.Files {
		got[f.Path] = f
	}
	if f := got["/usr/bin/perl"]; !f.Packed || f.After*2 > f.Before {
		t.Errorf("perl: %+v", f)
	}
	if f := got["/usr/bin/gzip"]; !f.Packed {
		t.Errorf("gzip: %+v", f)
	}
	if f := got[tiny]; f.Packed || !strings.Contains(f.Why, "NotCompressibleException") {
		t.Errorf("tiny: %+v", f)
	}
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/bin/passwd", "/usr/bin/sort"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s was a candidate", p)
		}
	}
	e := l.Lookup("/usr/bin/perl")
	if e.Content == "" || e.Size != got["/usr/bin/perl"].After {
		t.Errorf("perl's entry does not point at the packed copy: %+v", e)
	}
	data, _ := os.ReadFile("/usr/bin/perl")
	if int64(len(data)) != got["/usr/bin/perl"].Before {
		t.Error("the source perl changed")
	}
}

func TestNoUPX(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Pack(context.Background(), &filelist.List{Root: "/"}, Options{}); err != ErrNoUPX {
		t.Errorf("err = %v", err)
	}
}
