package elfdeps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/collect/ldd"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// elfFiles lists the regular ELF files directly in dir.
func elfFiles(t testing.TB, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		info, err := os.Lstat(p)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var m [4]byte
		f.Read(m[:])
		f.Close()
		if string(m[:]) == "\x7fELF" {
			out = append(out, p)
		}
	}
	return out
}

// lddSets runs ldd on the files (in batches) and returns each file's set
// of library paths, the interpreter included.
func lddSets(t testing.TB, files []string) map[string][]string {
	out := map[string][]string{}
	for i := 0; i < len(files); i += 200 {
		batch := files[i:min(i+200, len(files))]
		cmd := exec.Command("ldd", batch...)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		_ = cmd.Run() // non-zero when one file is not dynamic
		bins, _ := ldd.Parse(&stdout, "ldd")
		for _, b := range bins {
			var libs []string
			for _, l := range b.Libs {
				libs = append(libs, l.Path)
			}
			sort.Strings(libs)
			out[b.Path] = libs
		}
	}
	return out
}

// TestAgreesWithLdd compares the resolver with ldd on every ELF file in
// /usr/bin and /usr/lib/x86_64-linux-gnu of this machine.
func TestAgreesWithLdd(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Fatal("ldd is needed (libc-bin)")
	}
	res, err := rootpath.New("/")
	if err != nil {
		t.Fatal(err)
	}
	r := NewResolver(res)
	for _, dir := range []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu"} {
		files := elfFiles(t, dir)
		if len(files) < 50 {
			t.Fatalf("only %d ELF files in %s", len(files), dir)
		}
		want := lddSets(t, files)
		agree, static := 0, 0
		for _, f := range files {
			tree, err := r.Resolve(f)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			var got []string
			for _, l := range tree.Libs {
				got = append(got, l.Path)
			}
			sort.Strings(got)
			w, ok := want[f]
			if !ok {
				t.Errorf("%s: no ldd answer", f)
				continue
			}
			if tree.Static {
				static++
			}
			if strings.Join(got, " ") != strings.Join(w, " ") {
				t.Errorf("%s:\n deps %v\n  ldd %v", f, got, w)
				continue
			}
			agree++
		}
		t.Logf("%s: %d ELF files, %d agree with ldd (%d static)", dir, len(files), agree, static)
	}
}
