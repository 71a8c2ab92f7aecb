package depcheck

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// goList returns the module path and the import graph of the packages
// the module's programs are built from, as `go list -deps` reports it.
func goList(t *testing.T) (string, Graph) {
	t.Helper()
	testenv.Need(t, "go")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	watchSources(t, dir)
	out, err = exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...").Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s/...: %v\n%s", module, err, msg)
	}
	g := Graph{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
	}
	return module, g
}

// watchSources stats every Go file of the module: go test caches a
// result only while the files the test looked at are unchanged, and it
// does not see what the go list it runs reads.
func watchSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(p, ".go") || d.Name() == "go.mod" {
			_, err = os.Stat(p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("looking at the sources: %v", err)
	}
}

// TestLayering: no package of scratchpack imports a later layer, and
// every layer still names packages that exist.
func TestLayering(t *testing.T) {
	module, g := goList(t)
	c := Checker{Module: module, Layers: Layers}
	for _, v := range c.Check(g) {
		t.Error(strings.ReplaceAll(v.String(), module+"/", ""))
	}
	used := map[int]int{}
	for pkg := range g {
		if _, ok := c.relative(pkg); ok {
			used[c.Layer(pkg)]++
		}
	}
	for i, l := range Layers {
		if used[i] == 0 {
			t.Errorf("layer %s (%v) holds no package: the table is out of date", l.Name, l.Packages)
		}
	}
	t.Logf("%d packages of %s in %d layers, %d in none", len(g)-countOutside(c, g), module, len(Layers), used[unknown])
}

func countOutside(c Checker, g Graph) int {
	n := 0
	for pkg := range g {
		if _, ok := c.relative(pkg); !ok {
			n++
		}
	}
	return n
}

// TestCheck: the rules on made-up graphs, including packages that do not
// exist yet (pkgmeta, image).
func TestCheck(t *testing.T) {
	const m = "example.com/sp"
	c := Checker{Module: m, Layers: Layers}
	for _, tt := range []struct {
		name  string
		graph map[string][]string // relative to m; "." is the root package
		want  []string            // violations as "pkg -> ... -> forbidden"
	}{
		{"the pipeline in order", map[string][]string{
			"collect/strace": {"internal/rootpath", "collect/fanotify", "fmt"},
			"filelist":       {"internal/rootpath", "collect/sets"},
			"upx":            {"filelist", "internal/sandbox"},
			"tarball":        {"filelist", "upx"},
			"verify":         {"tarball", "collect/tracer"},
			".":              {"verify", "tarball", "upx"},
			"cmd/x/cli":      {".", "verify"},
		}, nil},
		{"collect imports filelist", map[string][]string{"collect": {"filelist"}}, []string{"collect -> filelist"}},
		{"filelist imports upx", map[string][]string{"filelist": {"upx"}}, []string{"filelist -> upx"}},
		{"upx imports tarball", map[string][]string{"upx": {"tarball"}}, []string{"upx -> tarball"}},
		{"tarball imports verify", map[string][]string{"tarball": {"verify"}}, []string{"tarball -> verify"}},
		{"tarball imports the root package", map[string][]string{"tarball": {"."}}, []string{"tarball -> ."}},
		{"verify imports cmd", map[string][]string{"verify": {"cmd/x/cli"}}, []string{"verify -> cmd/x/cli"}},
		{"the root package imports cmd", map[string][]string{".": {"cmd/x/cli"}}, []string{". -> cmd/x/cli"}},
		{"internal imports a stage", map[string][]string{"internal/rootpath": {"filelist"}}, []string{"internal/rootpath -> filelist"}},
		{"through a chain", map[string][]string{"collect/sets": {"internal/a"}, "internal/a": {"internal/b"}, "internal/b": {"upx"}},
			[]string{"collect/sets -> internal/a -> internal/b -> upx", "internal/a -> internal/b -> upx", "internal/b -> upx"}},
		{"a new package uses the stages", map[string][]string{"pkgmeta": {"filelist", "collect", "upx", "tarball", "verify", "internal/rootpath", "image"}, ".": {"pkgmeta"}}, nil},
		{"a new package imports the root package", map[string][]string{"image": {"."}}, []string{"image -> ."}},
		{"a new package imports cmd", map[string][]string{"secrets": {"cmd/x/cli"}}, []string{"secrets -> cmd/x/cli"}},
		{"a stage reaches a later one through a new package", map[string][]string{"filelist": {"pkgmeta"}, "pkgmeta": {"upx"}},
			[]string{"filelist -> pkgmeta -> upx"}},
		{"a new package reaches the root through another", map[string][]string{"image": {"pkgmeta"}, "pkgmeta": {"."}},
			[]string{"image -> pkgmeta -> .", "pkgmeta -> ."}},
		{"a look-alike name is not the layer", map[string][]string{"collector": {"upx"}, "upxtool": {"tarball"}}, nil},
		{"other modules do not count", map[string][]string{"collect": {"example.com/other/cmd"}, "example.com/other/cmd": {m + "/upx"}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			abs := func(rel string) string {
				if rel == "." {
					return m
				}
				if strings.Contains(rel, ".com/") || rel == "fmt" {
					return rel
				}
				return m + "/" + rel
			}
			g := Graph{}
			for pkg, deps := range tt.graph {
				for _, d := range deps {
					g[abs(pkg)] = append(g[abs(pkg)], abs(d))
				}
			}
			var got []string
			for _, v := range c.Check(g) {
				var rel []string
				for _, p := range v.Path {
					rel = append(rel, relName(m, p))
				}
				got = append(got, strings.Join(rel, " -> "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func relName(m, p string) string {
	if p == m {
		return "."
	}
	return strings.TrimPrefix(p, m+"/")
}
