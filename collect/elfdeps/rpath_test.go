package elfdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// TestRPathRunPath builds real programs with gcc: libone needs libtwo,
// both in $ORIGIN/../lib of the program. With DT_RPATH the program's
// path also serves libone's needs (the loader walks the RPATH of the
// loaders); with DT_RUNPATH it serves only the program's own, so libtwo
// is not found. ldd must agree in both cases.
func TestRPathRunPath(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("gcc is needed to build the test programs")
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	os.MkdirAll(filepath.Join(app, "bin"), 0o755)
	os.MkdirAll(filepath.Join(app, "lib"), 0o755)
	src := func(name, code string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(code), 0o644)
		return p
	}
	gcc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	gcc("-shared", "-fPIC", "-o", filepath.Join(app, "lib/libtwo.so"), src("two.c", "int two(void){return 2;}\n"))
	gcc("-shared", "-fPIC", "-o", filepath.Join(app, "lib/libone.so"), src("one.c", "int two(void); int one(void){return two()-1;}\n"),
		"-L"+filepath.Join(app, "lib"), "-ltwo")
	main := src("main.c", "int one(void); int main(void){return one();}\n")
	gcc("-o", filepath.Join(app, "bin/rpath"), main, "-L"+filepath.Join(app, "lib"), "-lone", "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib")
	gcc("-o", filepath.Join(app, "bin/runpath"), main, "-L"+filepath.Join(app, "lib"), "-lone", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")

	res, _ := rootpath.New("/")
	r := NewResolver(res)
	want := lddSets(t, []string{filepath.Join(app, "bin/rpath"), filepath.Join(app, "bin/runpath")})
	for _, tt := range []struct {
		prog    string
		libtwo  bool
		missing string
	}{
		{"rpath", true, ""},
		{"runpath", false, "libtwo.so needed by " + app + "/bin/../lib/libone.so"},
	} {
		p := filepath.Join(app, "bin", tt.prog)
		tree, err := r.Resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range tree.Libs {
			got = append(got, l.Path)
		}
		sort.Strings(got)
		if strings.Contains(strings.Join(got, " "), "libtwo.so") != tt.libtwo {
			t.Errorf("%s: libs %v", tt.prog, got)
		}
		if tt.missing != "" && (len(tree.Missing) != 1 || tree.Missing[0] != tt.missing) {
			t.Errorf("%s: missing %v, want %q", tt.prog, tree.Missing, tt.missing)
		}
		// ldd lists found libraries; a missing one is "not found", absent from the set
		if strings.Join(got, " ") != strings.Join(want[p], " ") {
			t.Errorf("%s:\n deps %v\n  ldd %v", tt.prog, got, want[p])
		}
		if tt.libtwo && !strings.Contains(strings.Join(got, " "), app+"/bin/../lib/libone.so") {
			t.Errorf("%s: $ORIGIN not expanded as the loader does: %v", tt.prog, got)
		}
	}
}
