package pkgmeta

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// fakeRoot writes a root: files (path -> content), symlinks (path ->
// target).
func fakeRoot(t *testing.T, files, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		h := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		h := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, h); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func open(t *testing.T, root string) (*DB, *rootpath.Resolver) {
	t.Helper()
	res, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(res)
	if err != nil {
		t.Fatal(err)
	}
	if db == nil {
		t.Fatal("Open: no database found")
	}
	return db, res
}

const libc6Stanza = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
`

// mergedUsrRoot is a Debian root after the /usr merge: dpkg lists
// /lib/x86_64-linux-gnu/libc.so.6, the file is in /usr/lib.
func mergedUsrRoot(t *testing.T) string {
	return fakeRoot(t, map[string]string{
		"var/lib/dpkg/status": libc6Stanza + "\n" + `Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: tool
Status: install ok installed
Architecture: amd64
Version: 1.0-1

Package: libc6-dev
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u10

Package: tool-wrapper
Status: install ok installed
Architecture: all
Source: tool (1.0-1)
Version: 1.0-1+b1
`,
		"var/lib/dpkg/info/libc6:amd64.list": "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n/lib/x86_64-linux-gnu/libm.so.6\n/lib64\n/lib64/ld-linux-x86-64.so.2\n/usr\n/usr/share\n/usr/share/doc\n/usr/share/doc/libc6\n/usr/share/doc/libc6/copyright\n",
		"var/lib/dpkg/info/libc6:amd64.md5sums": "0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n" +
			"fedcba9876543210fedcba9876543210  lib/x86_64-linux-gnu/libm.so.6\n" +
			"00000000000000000000000000000000  usr/share/doc/libc6/copyright\n",
		// tool ships /usr/bin/tool; tool-wrapper diverts it to
		// /usr/bin/tool.real and ships its own /usr/bin/tool
		"var/lib/dpkg/info/tool.list":            "/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/doc/tool\n/usr/share/doc/tool/copyright\n",
		"var/lib/dpkg/info/libc6-dev:amd64.list": "/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libc.so\n",
		"var/lib/dpkg/info/tool.md5sums":         "11111111111111111111111111111111  usr/bin/tool\n",
		"var/lib/dpkg/info/tool-wrapper.list":    "/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/doc/tool-wrapper\n",
		"var/lib/dpkg/diversions":                "/usr/bin/tool\n/usr/bin/tool.real\ntool-wrapper\n",
		"usr/lib/x86_64-linux-gnu/libc.so.6":     "libc",
		"usr/lib/x86_64-linux-gnu/libm.so.6":     "libm",
		"usr/lib64/ld-linux-x86-64.so.2":         "ld",
		"usr/bin/tool":                           "#!/bin/sh\nexec /usr/bin/tool.real \"$@\"\n",
		"usr/bin/tool.real":                      "real tool",
		"usr/bin/gawk":                           "awk",
		"usr/bin/app":                            "the app",
		"usr/share/doc/libc6/copyright":          "glibc copyright\n",
		"usr/share/doc/tool/copyright":           "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n\nFiles: lib/*\nCopyright: else\nLicense: Expat\n",
		"usr/lib/os-release":                     "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"etc/debian_version":                     "12.10\n",
	}, map[string]string{
		"lib":                        "usr/lib",
		"lib64":                      "usr/lib64",
		"bin":                        "usr/bin",
		"etc/os-release":             "../usr/lib/os-release",
		"etc/alternatives/awk":       "/usr/bin/gawk",
		"usr/bin/awk":                "/etc/alternatives/awk",
		"usr/share/doc/tool-wrapper": "tool",
		// a -dev package's link to libc6's library
		"usr/lib/x86_64-linux-gnu/libc.so": "libc.so.6",
	})
}

func TestOwnersMergedUsr(t *testing.T) {
	db, _ := open(t, mergedUsrRoot(t))
	for _, c := range []struct {
		path string
		want []string
		why  string
	}{
		// the packed name and the listed name: both libc6's
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", []string{"libc6"}, ""},
		{"/lib/x86_64-linux-gnu/libc.so.6", []string{"libc6"}, ""},
		{"/usr/lib64/ld-linux-x86-64.so.2", []string{"libc6"}, ""},
		// the diverted name holds the diverting package's file, the
		// diverted-to name the original package's
		{"/usr/bin/tool", []string{"tool-wrapper"}, ""},
		{"/usr/bin/tool.real", []string{"tool"}, ""},
		{"/bin/tool.real", []string{"tool"}, ""},
		// alternatives: the link in /etc/alternatives and the name that
		// points to it are nobody's; the file it leads to is its package's
		{"/etc/alternatives/awk", nil, "alternatives"},
		{"/usr/bin/awk", nil, "in no package"},
		{"/usr/bin/app", nil, "in no package"},
	} {
		got, why := db.Owners(c.path)
		if !reflect.DeepEqual(got, c.want) || !strings.Contains(why, c.why) {
			t.Errorf("Owners(%s) = %v, %q; want %v, %q", c.path, got, why, c.want, c.why)
		}
	}
	if !db.IsDir("/lib") || !db.IsDir("/usr/lib/x86_64-linux-gnu") || db.IsDir("/usr/bin/tool") {
		t.Error("IsDir: /lib and /usr/lib/x86_64-linux-gnu are directories of the database, /usr/bin/tool is not")
	}
	var names []string
	for _, p := range db.Packages {
		names = append(names, p.Name+"="+p.Version+"/"+p.Key)
	}
	if want := []string{"libc6=2.36-9+deb12u10/libc6:amd64", "libc6-dev=2.36-9+deb12u10/libc6-dev:amd64", "tool=1.0-1/tool", "tool-wrapper=1.0-1+b1/tool-wrapper"}; !reflect.DeepEqual(names, want) {
		t.Errorf("packages %v, want %v (the removed one left out)", names, want)
	}
	if tw := db.Packages[3]; tw.Source != "tool" || tw.SourceVersion != "1.0-1" {
		t.Errorf("tool-wrapper's source: %q %q", tw.Source, tw.SourceVersion)
	}
}

// keptList lists paths of the root as scratchpack would.
func keptList(t *testing.T, res *rootpath.Resolver, paths ...string) *filelist.List {
	t.Helper()
	b := filelist.NewBuilder(res)
	for _, p := range paths {
		if _, err := b.Add(p, filelist.Follow, filelist.Reason{Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return b.List()
}

func TestApply(t *testing.T) {
	root := mergedUsrRoot(t)
	db, res := open(t, root)
	l := keptList(t, res, "/lib/x86_64-linux-gnu/libc.so", "/bin/tool.real", "/usr/bin/awk", "/usr/bin/app")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range r.Packages {
		got = append(got, u.Name)
	}
	// gawk is not in the database here: it is unowned, as is the app
	if want := []string{"libc6", "tool"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("kept packages %v, want %v", got, want)
	}
	var unowned []string
	for _, u := range r.Unowned {
		unowned = append(unowned, u.Path)
	}
	// libc6-dev owns only a link: it is not kept, its link is unowned
	if want := []string{"/etc/alternatives/awk", "/usr/bin/app", "/usr/bin/awk", "/usr/bin/gawk", "/usr/lib/x86_64-linux-gnu/libc.so"}; !reflect.DeepEqual(unowned, want) {
		t.Errorf("unowned %v, want %v", unowned, want)
	}
	if why := r.Unowned[4].Why; why != "a symlink of libc6-dev, which owns no kept file" {
		t.Errorf("why libc.so is unowned: %q", why)
	}
	if r.Packages[1].License != "GPL-2.0-or-later AND MIT" {
		t.Errorf("tool's license from DEP-5: %q", r.Packages[1].License)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, l.Entries[0].ModTime); err != nil {
		t.Fatal(err)
	}
	out := b.List()
	content := func(p string) string {
		e := out.Lookup(p)
		if e == nil {
			t.Fatalf("%s is not in the list", p)
		}
		if e.Data != nil {
			return string(e.Data)
		}
		data, err := os.ReadFile(res.HostPath(p))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got := content("/var/lib/dpkg/status.d/libc6"); got != libc6Stanza {
		t.Errorf("status.d/libc6:\n%s\nwant the stanza as it is in status:\n%s", got, libc6Stanza)
	}
	// libm is not kept: its line is not there; the copyright file the
	// metadata brought is libc6's, its line is
	if got, want := content("/var/lib/dpkg/status.d/libc6.md5sums"), "0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n00000000000000000000000000000000  usr/share/doc/libc6/copyright\n"; got != want {
		t.Errorf("libc6.md5sums %q, want %q", got, want)
	}
	if got := content("/var/lib/dpkg/status.d/tool.md5sums"); got != "11111111111111111111111111111111  usr/bin/tool\n" {
		t.Errorf("tool.md5sums %q", got)
	}
	if out.Lookup("/var/lib/dpkg/status.d/tool-wrapper") != nil {
		t.Error("tool-wrapper owns no kept file but has a status.d entry")
	}
	if e := out.Lookup("/etc/os-release"); e == nil || e.Kind != filelist.Symlink || out.Lookup("/usr/lib/os-release") == nil {
		t.Error("/etc/os-release and what it links to are not both in the list")
	}
	if content("/etc/debian_version") != "12.10\n" || content("/usr/share/doc/libc6/copyright") != "glibc copyright\n" {
		t.Error("debian_version or libc6's copyright not added")
	}
	if out.Lookup("/usr/share/doc/tool/copyright") == nil {
		t.Error("tool's copyright not added")
	}
	if d := out.Lookup("/var/lib/dpkg/status.d"); d == nil || d.Kind != filelist.Dir || d.Mode != 0o755 {
		t.Errorf("status.d: %+v", d)
	}
	if r.MetadataFiles != 7 || r.LicenseFiles != 2 {
		t.Errorf("added %d metadata files, %d licenses; want 7 (2 stanzas, 2 md5sums, diversions, os-release, debian_version) and 2", r.MetadataFiles, r.LicenseFiles)
	}
	// tool's md5sums name /usr/bin/tool, its file is at /usr/bin/tool.real:
	// the diversion that says so comes along
	if got := content("/var/lib/dpkg/diversions"); got != "/usr/bin/tool\n/usr/bin/tool.real\ntool-wrapper\n" {
		t.Errorf("diversions %q", got)
	}
	wantBytes := int64(len(libc6Stanza) + len("0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n"))
	if r.MetadataBytes <= wantBytes {
		t.Errorf("metadata bytes %d", r.MetadataBytes)
	}
}

// TestOwnersHost reads this machine's dpkg database.
func TestOwnersHost(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("no dpkg database on this machine")
	}
	db, _ := open(t, "/")
	libc, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		t.Skip("no x86_64 libc here")
	}
	for _, p := range []string{libc, "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"} {
		if got, why := db.Owners(p); !reflect.DeepEqual(got, []string{"libc6"}) {
			t.Errorf("Owners(%s) = %v (%s), want libc6", p, got, why)
		}
	}
	if fi, err := os.Lstat("/etc/alternatives/awk"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if got, why := db.Owners("/etc/alternatives/awk"); got != nil || !strings.Contains(why, "alternatives") {
			t.Errorf("Owners(/etc/alternatives/awk) = %v, %q", got, why)
		}
	}
	// libpq-dev's pg_config is diverted by postgresql-common
	divs, _ := os.ReadFile("/var/lib/dpkg/diversions")
	if strings.Contains(string(divs), "/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n") {
		if got, _ := db.Owners("/usr/bin/pg_config"); !reflect.DeepEqual(got, []string{"postgresql-common"}) {
			t.Errorf("Owners(/usr/bin/pg_config) = %v, want postgresql-common", got)
		}
		if got, _ := db.Owners("/usr/bin/pg_config.libpq-dev"); !reflect.DeepEqual(got, []string{"libpq-dev"}) {
			t.Errorf("Owners(/usr/bin/pg_config.libpq-dev) = %v, want libpq-dev", got)
		}
	} else {
		t.Log("no pg_config diversion here: the diversion is checked on the synthetic root only")
	}
	// dpkg -S agrees on a few files (it knows the listed names only)
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	if got, _ := db.Owners(sh); len(got) != 1 {
		t.Errorf("Owners(%s) = %v, want one package", sh, got)
	}
}

func TestApk(t *testing.T) {
	installed := `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl
T:the musl c library
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1one=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q1two=

C:Q1def=
P:busybox
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
Z:Q1three=
F:etc
R:busybox.conf

`
	root := fakeRoot(t, map[string]string{
		"lib/apk/db/installed":    installed,
		"lib/ld-musl-x86_64.so.1": "ld",
		"bin/busybox":             "bb",
		"etc/os-release":          "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
		"etc/alpine-release":      "3.19.1\n",
	}, map[string]string{"lib/libc.musl-x86_64.so.1": "ld-musl-x86_64.so.1"})
	db, res := open(t, root)
	if db.Kind != Apk || len(db.Packages) != 2 {
		t.Fatalf("db: %s, %d packages", db.Kind, len(db.Packages))
	}
	l := keptList(t, res, "/lib/ld-musl-x86_64.so.1")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Packages) != 1 || r.Packages[0].Name != "musl" || r.Packages[0].License != "MIT" {
		t.Fatalf("kept: %+v", r.Packages)
	}
	if got, want := r.PURL(r.Packages[0]), "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"; got != want {
		t.Errorf("purl %s, want %s", got, want)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, l.Entries[0].ModTime); err != nil {
		t.Fatal(err)
	}
	e := b.List().Lookup("/lib/apk/db/installed")
	if e == nil || e.Data == nil {
		t.Fatal("no trimmed /lib/apk/db/installed")
	}
	want := "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nT:the musl c library\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1one=\n\n"
	if string(e.Data) != want {
		t.Errorf("trimmed installed:\n%s\nwant:\n%s", e.Data, want)
	}
	if b.List().Lookup("/etc/alpine-release") == nil {
		t.Error("no /etc/alpine-release")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
		parse            func([]byte, string) error
	}{
		{"continuation first", " oops\n", "status:1: a continuation line outside a field", ctl},
		{"no colon", "Package: a\nnot a field\n", "status:2: expected \"Name: value\"", ctl},
		{"twice", "Package: a\nPackage: b\n", "status:2: field Package appears twice", ctl},
		{"md5 short", "abc  usr/bin/x\n", "status:1: expected \"<md5 in hex>  <path>\"", md5},
		{"diversions", "/a\n/b\n", "status:2: expected groups of three lines", div},
		{"diversion relative", "/a\nb\npkg\n", "status:2: expected an absolute path", div},
		{"apk", "P:x\nbad line\n", "status:2: expected \"X:value\"", apk},
		{"apk R first", "P:x\nR:file\n", "status:2: an R: line before any F: line", apk},
	} {
		err := c.parse([]byte(c.data), "status")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func ctl(d []byte, n string) error { _, err := ParseControl(d, n); return err }
func md5(d []byte, n string) error { _, err := ParseMD5Sums(d, n); return err }
func div(d []byte, n string) error { _, err := ParseDiversions(d, n); return err }
func apk(d []byte, n string) error { _, err := ParseApkInstalled(d, n); return err }

func TestDEP5License(t *testing.T) {
	head := "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"
	for _, c := range []struct{ body, want string }{
		{"Files: *\nCopyright: a\nLicense: GPL-2+\n", "GPL-2.0-or-later"},
		{"Files: *\nLicense: GPL-2+ or Artistic\n Long text\n\nFiles: x\nLicense: BSD-3-clause\n", "BSD-3-Clause AND (GPL-2.0-or-later OR Artistic-1.0-Perl)"},
		{"Files: *\nLicense: LGPL-2.1 with OpenSSL exception\n", "LicenseRef-LGPL-2.1-with-OpenSSL-exception"},
		{"Files: *\nLicense: Expat\n\nLicense: Expat\n The text.\n", "MIT"},
		{"Files: *\nLicense: public-domain\n", "LicenseRef-public-domain"},
	} {
		got, _ := DEP5License([]byte(head + c.body))
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.body, got, c.want)
		}
	}
	if got, _ := DEP5License([]byte("This is glibc, Copyright ...\n")); got != "" {
		t.Errorf("a free-form copyright file gave %q", got)
	}
}

func TestParseControlRaw(t *testing.T) {
	data := "Package: a\nDescription: one\n two\n\n\nPackage: b\r\nVersion: 1\n"
	ps, err := ParseControl([]byte(data), "x")
	if err != nil || len(ps) != 2 {
		t.Fatalf("%v %d", err, len(ps))
	}
	if string(ps[0].Raw) != "Package: a\nDescription: one\n two\n" || ps[0].Get("description") != "one\ntwo" || ps[1].Line != 6 || ps[1].Get("Package") != "b" {
		t.Errorf("%q %q %d %q", ps[0].Raw, ps[0].Get("description"), ps[1].Line, ps[1].Get("Package"))
	}
	keys := []string{}
	for _, f := range ps[0].Fields {
		keys = append(keys, f.Name)
	}
	sort.Strings(keys)
}

// TestApplyLicensesOnce: the same license text in two packages is
// stored once, the second copy a hardlink to the first.
func TestApplyLicensesOnce(t *testing.T) {
	text := "the same license text\n"
	root := fakeRoot(t, map[string]string{
		"var/lib/dpkg/status":       "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 1\n",
		"var/lib/dpkg/info/a.list":  "/usr/bin/a\n/usr/share/doc/a/copyright\n",
		"var/lib/dpkg/info/b.list":  "/usr/bin/b\n/usr/share/doc/b/copyright\n",
		"usr/bin/a":                 "a",
		"usr/bin/b":                 "b",
		"usr/share/doc/a/copyright": text,
		"usr/share/doc/b/copyright": text,
	}, nil)
	db, res := open(t, root)
	l := keptList(t, res, "/usr/bin/a", "/usr/bin/b")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	out := b.List()
	first, second := out.Lookup("/usr/share/doc/a/copyright"), out.Lookup("/usr/share/doc/b/copyright")
	if first == nil || second == nil || first.Kind != filelist.File || second.Kind != filelist.Hardlink || second.Target != first.Path {
		t.Fatalf("copyrights: %+v %+v", first, second)
	}
	if r.LicenseFiles != 2 || r.LicenseBytes != int64(len(text)) {
		t.Errorf("licenses: %d files, %d bytes; want 2 files, %d bytes stored", r.LicenseFiles, r.LicenseBytes, len(text))
	}
}

// TestStatusD: a root with the status.d layout (a distroless image, or
// one scratchpack made) is read like a dpkg database: its stanzas, and
// the files its md5sums name.
func TestStatusD(t *testing.T) {
	root := mergedUsrRoot(t)
	db, res := open(t, root)
	l := keptList(t, res, "/lib/x86_64-linux-gnu/libc.so.6", "/bin/tool.real")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	// write the image as a root: the kept files and the metadata
	image := t.TempDir()
	for _, e := range b.List().Entries {
		h := filepath.Join(image, e.Path)
		switch e.Kind {
		case filelist.Dir:
			os.MkdirAll(h, 0o755)
		case filelist.Symlink:
			os.Symlink(e.Target, h)
		case filelist.File:
			data := e.Data
			if data == nil {
				data, _ = os.ReadFile(res.HostPath(e.Path))
			}
			os.WriteFile(h, data, 0o644)
		}
	}
	db2, res2 := open(t, image)
	if db2.Kind != Dpkg || len(db2.Packages) != 2 {
		t.Fatalf("the image's database: %s, %d packages", db2.Kind, len(db2.Packages))
	}
	for p, want := range map[string]string{"/usr/lib/x86_64-linux-gnu/libc.so.6": "libc6", "/usr/bin/tool.real": "tool"} {
		if got, why := db2.Owners(p); !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("in the image, Owners(%s) = %v (%s), want %s", p, got, why, want)
		}
	}
	r2, err := Analyze(context.Background(), db2, keptList(t, res2, "/usr/lib/x86_64-linux-gnu/libc.so.6"))
	if err != nil || len(r2.Packages) != 1 || r2.Packages[0].Version != "2.36-9+deb12u10" || r2.OS != "Debian GNU/Linux 12 (bookworm)" {
		t.Fatalf("re-analyzed: %+v %v", r2, err)
	}
	b2 := keptList(t, res2, "/usr/lib/x86_64-linux-gnu/libc.so.6").Extend(res2)
	if err := r2.Apply(context.Background(), b2, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if e := b2.List().Lookup("/var/lib/dpkg/status.d/libc6"); e == nil || string(e.Data) != libc6Stanza {
		t.Errorf("the stanza does not survive a second pass: %+v", e)
	}
}

// TestApplyOwnsMetadata: the files the metadata brings from the root
// have owners too. os-release and debian_version make base-files a kept
// package, and the copyright file that libgcc-s1's doc link leads to
// makes gcc-12-base one: each gets its status.d entry, with the md5sums
// of what the image holds of it, and its own copyright file; the link is
// libgcc-s1's. A package that owns only a link reached on the way is not
// kept.
func TestApplyOwnsMetadata(t *testing.T) {
	stanza := func(name string) string {
		return "Package: " + name + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n"
	}
	root := fakeRoot(t, map[string]string{
		"var/lib/dpkg/status":                   stanza("libgcc-s1") + "\n" + stanza("gcc-12-base") + "\n" + stanza("base-files") + "\n" + stanza("linker"),
		"var/lib/dpkg/info/libgcc-s1.list":      "/.\n/usr/lib/libgcc_s.so.1\n/usr/share/doc/libgcc-s1\n",
		"var/lib/dpkg/info/libgcc-s1.md5sums":   "11111111111111111111111111111111  usr/lib/libgcc_s.so.1\n",
		"var/lib/dpkg/info/gcc-12-base.list":    "/.\n/usr/share/doc/gcc-12-base\n/usr/share/doc/gcc-12-base/copyright\n",
		"var/lib/dpkg/info/gcc-12-base.md5sums": "22222222222222222222222222222222  usr/share/doc/gcc-12-base/copyright\n",
		"var/lib/dpkg/info/base-files.list":     "/.\n/etc/os-release\n/etc/debian_version\n/usr/lib/os-release\n/usr/share/doc/base-files/copyright\n",
		"var/lib/dpkg/info/base-files.md5sums":  "33333333333333333333333333333333  etc/debian_version\n44444444444444444444444444444444  usr/lib/os-release\n55555555555555555555555555555555  usr/share/doc/base-files/copyright\n",
		"var/lib/dpkg/info/linker.list":         "/.\n/etc/lnk\n",
		"usr/lib/libgcc_s.so.1":                 "libgcc",
		"usr/share/doc/gcc-12-base/copyright":   "gcc copyright\n",
		"usr/share/doc/base-files/copyright":    "base-files copyright\n",
		"usr/lib/os-release":                    "ID=debian\nVERSION_ID=\"12\"\n",
		"etc/debian_version":                    "12.10\n",
	}, map[string]string{
		"etc/os-release":          "../usr/lib/os-release",
		"usr/share/doc/libgcc-s1": "gcc-12-base",
	})
	db, res := open(t, root)
	l := keptList(t, res, "/usr/lib/libgcc_s.so.1")
	r, err := Analyze(context.Background(), db, l)
	if err != nil {
		t.Fatal(err)
	}
	b := l.Extend(res)
	if err := r.Apply(context.Background(), b, l.Entries[0].ModTime); err != nil {
		t.Fatal(err)
	}
	out := b.List()
	var names []string
	for _, u := range r.Packages {
		names = append(names, u.Name)
	}
	if want := []string{"base-files", "gcc-12-base", "libgcc-s1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("packages %v, want %v", names, want)
	}
	for p, want := range map[string]string{
		"/etc/os-release":                      "base-files",
		"/usr/lib/os-release":                  "base-files",
		"/etc/debian_version":                  "base-files",
		"/usr/share/doc/base-files/copyright":  "base-files",
		"/usr/share/doc/gcc-12-base/copyright": "gcc-12-base",
		"/usr/share/doc/libgcc-s1":             "libgcc-s1",
		"/usr/lib/libgcc_s.so.1":               "libgcc-s1",
	} {
		if out.Lookup(p) == nil {
			t.Errorf("%s is not in the list", p)
		}
		var got []string
		for _, u := range r.Owner(p) {
			got = append(got, u.Name)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("owner of %s: %v, want %s", p, got, want)
		}
	}
	for p, want := range map[string]string{
		"/var/lib/dpkg/status.d/base-files.md5sums":  "33333333333333333333333333333333  etc/debian_version\n44444444444444444444444444444444  usr/lib/os-release\n55555555555555555555555555555555  usr/share/doc/base-files/copyright\n",
		"/var/lib/dpkg/status.d/gcc-12-base.md5sums": "22222222222222222222222222222222  usr/share/doc/gcc-12-base/copyright\n",
		"/var/lib/dpkg/status.d/gcc-12-base":         stanza("gcc-12-base"),
	} {
		e := out.Lookup(p)
		if e == nil || string(e.Data) != want {
			t.Errorf("%s: %+v, want %q", p, e, want)
		}
	}
	if len(r.Unowned) != 0 {
		t.Errorf("unowned %+v: every file the metadata brought has its package", r.Unowned)
	}
	if r.LicenseFiles != 2 || r.MetadataFiles != 8 {
		t.Errorf("%d license files, %d metadata files; want 2 (gcc-12-base's, base-files') and 8 (3 stanzas, 3 md5sums, os-release, debian_version)", r.LicenseFiles, r.MetadataFiles)
	}
}
