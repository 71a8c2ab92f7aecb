package units

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/pkgmeta"
)

func TestParseKinds(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []Kind
		err  string
	}{
		{nil, nil, ""},
		{[]string{"python"}, []Kind{Python}, ""},
		{[]string{"os,perl", "python"}, []Kind{Python, Perl, OS}, ""},
		{[]string{"all"}, All, ""},
		{[]string{"node", "all", "node"}, All, ""},
		{[]string{"pyton"}, nil, `--complete "pyton": expected python, node, ruby, perl, os or all`},
		{[]string{"python,"}, nil, `--complete "": expected`},
	} {
		got, err := ParseKinds(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// fakeRoot writes files (path -> content; a content "->X" is a symlink
// to X) under a new root.
func fakeRoot(t testing.TB, files map[string]string) *rootpath.Resolver {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		host := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, host)
		} else if strings.HasSuffix(p, "/") {
			err = os.MkdirAll(host, 0o755)
		} else {
			err = os.WriteFile(host, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var langRoot = map[string]string{
	// python: the stdlib, lib-dynload, dist-packages with an egg-info,
	// site-packages with a RECORD naming a single module
	"/usr/lib/python3.11/os.py":                                              "x",
	"/usr/lib/python3.11/__pycache__/os.cpython-311.pyc":                     "xx",
	"/usr/lib/python3.11/__pycache__/re.cpython-311.pyc":                     "x",
	"/usr/lib/python3.11/email/__init__.py":                                  "x",
	"/usr/lib/python3.11/email/parser.py":                                    "xxx",
	"/usr/lib/python3.11/email/mime/text.py":                                 "xxxx",
	"/usr/lib/python3.11/email/__pycache__/parser.cpython-311.pyc":           "x",
	"/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so":  "x",
	"/usr/lib/python3/dist-packages/jinja2/__init__.py":                      "x",
	"/usr/lib/python3/dist-packages/jinja2/ext.py":                           "x",
	"/usr/lib/python3/dist-packages/jinja2/py.typed":                         "",
	"/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/top_level.txt":     "jinja2\n",
	"/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/PKG-INFO":          "x",
	"/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile":              "x",
	"/usr/lib/python3/dist-packages/easy.pth":                                "x",
	"/app/venv/lib/python3.11/site-packages/six.py":                          "x",
	"/app/venv/lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc": "x",
	"/app/venv/lib/python3.11/site-packages/six-1.16.dist-info/RECORD":       "six.py,sha256=x,1\n__pycache__/six.cpython-311.pyc,,\nsix-1.16.dist-info/RECORD,,\n../../../bin/six,,\n",
	// node: a package with a nested one, a scoped one, a Debian one
	"/app/node_modules/lazy/package.json":                   "{}",
	"/app/node_modules/lazy/index.js":                       "x",
	"/app/node_modules/lazy/tables/big.json":                "x",
	"/app/node_modules/lazy/node_modules/dep/package.json":  "{}",
	"/app/node_modules/lazy/node_modules/dep/index.js":      "x",
	"/app/node_modules/@scope/pkg/package.json":             "{}",
	"/app/node_modules/@scope/pkg/lib/a.js":                 "x",
	"/usr/share/nodejs/iconv-lite/package.json":             "{}",
	"/usr/share/nodejs/iconv-lite/encodings/tables/sj.json": "x",
	"/app/index.js": "x",
	// ruby: a stdlib library in two lib directories, a gem
	"/usr/lib/ruby/3.1.0/digest.rb":                                                   "x",
	"/usr/lib/ruby/3.1.0/digest/sha2.rb":                                              "x",
	"/usr/lib/ruby/3.1.0/set.rb":                                                      "x",
	"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest.so":                                  "x",
	"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest/md5.so":                              "x",
	"/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack.rb":                                 "x",
	"/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack/lint.rb":                            "x",
	"/var/lib/gems/3.1.0/specifications/rack-2.2.4.gemspec":                           "x",
	"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/rack-2.2.4/gem.build_complete": "",
	// perl: a namespace across two lib directories, a version link
	"/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode.pm":            "x",
	"/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode/JP.pm":         "x",
	"/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP/JP.so": "x",
	"/usr/lib/x86_64-linux-gnu/perl/5.36":                        "->5.36.0",
	"/usr/share/perl/5.36.0/Encode/Guess.pm":                     "x",
	"/usr/share/perl5/Foo/Bar.pm":                                "x",
	"/usr/share/perl5/Foo/Bar/data/x.txt":                        "x",
	"/usr/share/perl/5.36.0/unicore/lib/Nv/10.pl":                "x",
	"/usr/share/perl/5.36.0/unicore/Name.pm":                     "x",
}

func TestUnitOf(t *testing.T) {
	f := NewFinder(fakeRoot(t, langRoot), nil)
	for _, c := range []struct {
		kind Kind
		path string
		name string // "" for no unit
		want []string
	}{
		{Python, "/usr/lib/python3.11/email/parser.py", "email", []string{
			"/usr/lib/python3.11/email", "/usr/lib/python3.11/email/__init__.py", "/usr/lib/python3.11/email/__pycache__",
			"/usr/lib/python3.11/email/__pycache__/parser.cpython-311.pyc", "/usr/lib/python3.11/email/mime",
			"/usr/lib/python3.11/email/mime/text.py", "/usr/lib/python3.11/email/parser.py"}},
		{Python, "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", "os", []string{
			"/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", "/usr/lib/python3.11/os.py"}},
		{Python, "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", "_json", []string{
			"/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so"}},
		{Python, "/usr/lib/python3/dist-packages/jinja2/__init__.py", "jinja2", []string{
			"/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info", "/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/PKG-INFO",
			"/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/top_level.txt",
			"/usr/lib/python3/dist-packages/jinja2", "/usr/lib/python3/dist-packages/jinja2/__init__.py",
			"/usr/lib/python3/dist-packages/jinja2/ext.py", "/usr/lib/python3/dist-packages/jinja2/py.typed"}},
		{Python, "/app/venv/lib/python3.11/site-packages/six.py", "six", []string{
			"/app/venv/lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc",
			"/app/venv/lib/python3.11/site-packages/six-1.16.dist-info", "/app/venv/lib/python3.11/site-packages/six-1.16.dist-info/RECORD",
			"/app/venv/lib/python3.11/site-packages/six.py"}},
		{Python, "/usr/lib/python3/dist-packages/easy.pth", "", nil},
		{Python, "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile", "", nil},
		{Python, "/usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/PKG-INFO", "", nil},
		{Python, "/app/index.js", "", nil},
		{Node, "/app/node_modules/lazy/index.js", "lazy", []string{
			"/app/node_modules/lazy", "/app/node_modules/lazy/index.js", "/app/node_modules/lazy/package.json",
			"/app/node_modules/lazy/tables", "/app/node_modules/lazy/tables/big.json"}},
		{Node, "/app/node_modules/lazy/node_modules/dep/index.js", "dep", []string{
			"/app/node_modules/lazy/node_modules/dep", "/app/node_modules/lazy/node_modules/dep/index.js",
			"/app/node_modules/lazy/node_modules/dep/package.json"}},
		{Node, "/app/node_modules/@scope/pkg/lib/a.js", "@scope/pkg", []string{
			"/app/node_modules/@scope/pkg", "/app/node_modules/@scope/pkg/lib", "/app/node_modules/@scope/pkg/lib/a.js",
			"/app/node_modules/@scope/pkg/package.json"}},
		{Node, "/usr/share/nodejs/iconv-lite/package.json", "iconv-lite", []string{
			"/usr/share/nodejs/iconv-lite", "/usr/share/nodejs/iconv-lite/encodings", "/usr/share/nodejs/iconv-lite/encodings/tables",
			"/usr/share/nodejs/iconv-lite/encodings/tables/sj.json", "/usr/share/nodejs/iconv-lite/package.json"}},
		{Node, "/app/index.js", "", nil},
		{Ruby, "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest/md5.so", "digest", []string{
			"/usr/lib/ruby/3.1.0/digest", "/usr/lib/ruby/3.1.0/digest.rb", "/usr/lib/ruby/3.1.0/digest/sha2.rb",
			"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest", "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest.so",
			"/usr/lib/x86_64-linux-gnu/ruby/3.1.0/digest/md5.so"}},
		{Ruby, "/usr/lib/ruby/3.1.0/set.rb", "set", []string{"/usr/lib/ruby/3.1.0/set.rb"}},
		{Ruby, "/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack/lint.rb", "rack", []string{
			"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/rack-2.2.4", "/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/rack-2.2.4/gem.build_complete",
			"/var/lib/gems/3.1.0/gems/rack-2.2.4", "/var/lib/gems/3.1.0/gems/rack-2.2.4/lib", "/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack",
			"/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack.rb", "/var/lib/gems/3.1.0/gems/rack-2.2.4/lib/rack/lint.rb",
			"/var/lib/gems/3.1.0/specifications/rack-2.2.4.gemspec"}},
		{Perl, "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode.pm", "Encode", []string{
			"/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode", "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode.pm",
			"/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode/JP.pm", "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode",
			"/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP", "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP/JP.so",
			"/usr/share/perl/5.36.0/Encode", "/usr/share/perl/5.36.0/Encode/Guess.pm"}},
		{Perl, "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP/JP.so", "Encode::JP", []string{
			"/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode/JP.pm", "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP",
			"/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Encode/JP/JP.so"}},
		{Perl, "/usr/share/perl5/Foo/Bar.pm", "Foo::Bar", []string{"/usr/share/perl5/Foo/Bar", "/usr/share/perl5/Foo/Bar.pm",
			"/usr/share/perl5/Foo/Bar/data", "/usr/share/perl5/Foo/Bar/data/x.txt"}},
		{Perl, "/usr/share/perl5/Foo/Bar/data/x.txt", "Foo::Bar", []string{"/usr/share/perl5/Foo/Bar", "/usr/share/perl5/Foo/Bar.pm",
			"/usr/share/perl5/Foo/Bar/data", "/usr/share/perl5/Foo/Bar/data/x.txt"}},
		{Perl, "/usr/share/perl/5.36.0/unicore/lib/Nv/10.pl", "unicore", []string{"/usr/share/perl/5.36.0/unicore",
			"/usr/share/perl/5.36.0/unicore/Name.pm", "/usr/share/perl/5.36.0/unicore/lib", "/usr/share/perl/5.36.0/unicore/lib/Nv",
			"/usr/share/perl/5.36.0/unicore/lib/Nv/10.pl"}},
		{Perl, "/app/index.js", "", nil},
		{OS, "/usr/lib/python3.11/os.py", "", nil}, // no database
	} {
		us, err := f.Of(c.kind, c.path)
		if err != nil {
			t.Fatalf("%s %s: %v", c.kind, c.path, err)
		}
		if c.name == "" {
			if len(us) != 0 {
				t.Errorf("%s %s: unit %s, want none", c.kind, c.path, us[0].Name)
			}
			continue
		}
		if len(us) != 1 {
			t.Fatalf("%s %s: %d units, want 1", c.kind, c.path, len(us))
		}
		var got []string
		for _, e := range us[0].Entries {
			got = append(got, e.Path)
		}
		if us[0].Name != c.name || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: unit %q\n got %q\nwant %q", c.kind, c.path, us[0].Name, got, c.want)
		}
	}
}

func TestCut(t *testing.T) {
	f := NewFinder(fakeRoot(t, langRoot), nil)
	rows, err := f.Cut(context.Background(), []Kept{
		{Path: "/usr/lib/python3.11/email/__init__.py"},
		{Path: "/usr/lib/python3.11/email/parser.py"},
		{Path: "/usr/lib/python3.11/email/mime/text.py", Added: true},
		{Path: "/usr/lib/python3.11/os.py"},
		{Path: "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc"},
		{Path: "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode.pm"},
		{Path: "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode/JP.pm"}, // inside Encode: one row
		{Path: "/app/index.js"},
	}, All)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Kind: Perl, Format: "perl", Name: "Encode", KeptFiles: 2, TotalFiles: 4, KeptBytes: 2, TotalBytes: 4, KeptModules: 2, TotalModules: 3},
		{Kind: Python, Format: "python", Name: "email", KeptFiles: 3, TotalFiles: 4, KeptBytes: 8, TotalBytes: 9, KeptModules: 3, TotalModules: 3, AddedFiles: 1, AddedBytes: 4},
		{Kind: Python, Format: "python", Name: "os", KeptFiles: 2, TotalFiles: 2, KeptBytes: 3, TotalBytes: 3, KeptModules: 1, TotalModules: 1},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("Cut:\n got %+v\nwant %+v", rows, want)
	}
}

// TestOSUnit: an OS package's files from the dpkg database, its
// documentation marked, a diverted file at its new name.
func TestOSUnit(t *testing.T) {
	files := map[string]string{
		"/var/lib/dpkg/status": "Package: tool\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n" +
			"Package: diverter\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n",
		"/var/lib/dpkg/info/tool.list":     "/.\n/etc\n/etc/tool.conf\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/lib/tool\n/usr/lib/tool/plugin.so\n/usr/lib/tool/conf\n/usr/share/doc/tool/copyright\n/usr/share/doc/tool/README\n/usr/share/man/man1/tool.1.gz\n/usr/bin/gone\n",
		"/var/lib/dpkg/info/diverter.list": "/.\n/usr\n/usr/lib\n/usr/lib/tool\n/usr/lib/tool/conf\n",
		"/var/lib/dpkg/diversions":         "/usr/lib/tool/conf\n/usr/lib/tool/conf.real\ndiverter\n",
		"/usr/bin/tool":                    "xx",
		"/etc/tool.conf":                   "e",
		"/usr/lib/tool/plugin.so":          "xxx",
		"/usr/lib/tool/conf":               "diverter's",
		"/usr/lib/tool/conf.real":          "tool's",
		"/usr/share/doc/tool/copyright":    "c",
		"/usr/share/doc/tool/README":       "r",
		"/usr/share/man/man1/tool.1.gz":    "m",
	}
	res := fakeRoot(t, files)
	db, err := pkgmeta.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFinder(res, db)
	us, err := f.Of(OS, "/usr/bin/tool")
	if err != nil || len(us) != 1 {
		t.Fatalf("Of: %v, %v", us, err)
	}
	var got []string
	for _, e := range us[0].Entries {
		s := e.Path
		if e.Doc {
			s += " (doc)"
		}
		got = append(got, s)
	}
	want := []string{"/etc/tool.conf", "/usr/bin/tool", "/usr/lib/tool/conf.real", "/usr/lib/tool/plugin.so", "/usr/share/doc/tool/README (doc)", "/usr/share/doc/tool/copyright", "/usr/share/man/man1/tool.1.gz (doc)"}
	if !reflect.DeepEqual(got, want) || us[0].Format != "deb" || us[0].Name != "tool" {
		t.Errorf("tool's unit: %q (%s %s), want %q", got, us[0].Name, us[0].Format, want)
	}
	if _, err := f.Packages("nothere"); err == nil || !strings.Contains(err.Error(), "no installed package") {
		t.Errorf("Packages(nothere): %v", err)
	}
	// its configuration and its copyright (kept for the metadata) bring
	// no row: --complete os would not complete it for them either
	copyright := Kept{Path: "/usr/share/doc/tool/copyright", Meta: true}
	rows, err := f.Cut(context.Background(), []Kept{{Path: "/etc/tool.conf"}, copyright}, All)
	if err != nil || len(rows) != 0 || Brings(OS, "/etc/tool.conf") || !Brings(Python, "/etc/x.py") {
		t.Errorf("Cut of a conffile and a copyright file: %+v, %v", rows, err)
	}
	rows, err = f.Cut(context.Background(), []Kept{{Path: "/usr/bin/tool"}, copyright}, All)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (Row{Kind: OS, Format: "deb", Name: "tool", KeptFiles: 2, TotalFiles: 7, KeptBytes: 3, TotalBytes: 15}) {
		t.Errorf("Cut: %+v", rows)
	}
}

// TestApkUnit: an OS package from Alpine's database.
func TestApkUnit(t *testing.T) {
	res := fakeRoot(t, map[string]string{
		"/lib/apk/db/installed": "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nR:libc.musl-x86_64.so.1\n\n" +
			"P:busybox\nV:1.36.1-r5\nA:x86_64\nF:bin\nR:busybox\n\n",
		"/lib/ld-musl-x86_64.so.1":   "musl",
		"/lib/libc.musl-x86_64.so.1": "->ld-musl-x86_64.so.1",
		"/bin/busybox":               "bb",
	})
	db, err := pkgmeta.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFinder(res, db)
	rows, err := f.Cut(context.Background(), []Kept{{Path: "/bin/busybox"}}, []Kind{OS})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (Row{Kind: OS, Format: "apk", Name: "busybox", KeptFiles: 1, TotalFiles: 1, KeptBytes: 2, TotalBytes: 2}) {
		t.Errorf("Cut: %+v", rows)
	}
	us, err := f.Packages("musl")
	if err != nil || len(us) != 1 || len(us[0].Entries) != 2 || us[0].Entries[1].Mode&os.ModeSymlink == 0 {
		t.Errorf("musl: %+v, %v", us, err)
	}
}
