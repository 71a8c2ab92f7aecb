package rootpath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLookPath: the one PATH search, confined to the root. The host
// gets a decoy for every name the root must not find.
func TestLookPath(t *testing.T) {
	root := t.TempDir()
	host := t.TempDir() // outside the root: what a leak would find
	write := func(dir, p string, mode os.FileMode) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	write(root, "usr/bin/app", 0o755)
	write(root, "usr/bin/data", 0o644)      // not executable
	write(root, "usr/local/bin/app", 0o755) // later in PATH than /usr/local? see order below
	write(root, "opt/x/run", 0o755)
	write(root, "srv/tool", 0o755)
	if err := os.MkdirAll(filepath.Join(root, "usr/bin/adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	link("app", "usr/bin/alias")        // relative link: found, name kept
	link(host+"/leak", "usr/bin/leak")  // absolute link: resolved inside the root, where it is missing
	link("/opt/x", "usr/bin/xdir")      // a directory link on the way
	link("../../../../../etc", "bin")   // ".." never climbs out
	write(host, "leak", 0o755)          // the decoy the absolute link names on the host
	write(root, "srv/rel/tool2", 0o755) // reachable only through a relative PATH entry
	res, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		path []string
		dir  string
		want string // "" when not found
	}{
		{"app", []string{"/usr/bin", "/usr/local/bin"}, "/", "/usr/bin/app"},
		{"app", []string{"/usr/local/bin", "/usr/bin"}, "/", "/usr/local/bin/app"},
		{"app", []string{"/usr/bin/"}, "/", "/usr/bin/app"},          // a trailing slash
		{"data", []string{"/usr/bin"}, "/", ""},                      // not executable
		{"adir", []string{"/usr/bin"}, "/", ""},                      // a directory
		{"alias", []string{"/usr/bin"}, "/", "/usr/bin/alias"},       // the name as found, not its target
		{"leak", []string{"/usr/bin"}, "/", ""},                      // the absolute link stays in the root
		{"run", []string{"/usr/bin/xdir"}, "/", "/usr/bin/xdir/run"}, // through a directory link
		{"tool2", []string{"", ".", "rel"}, "/srv", ""},              // empty and relative entries are skipped
		{"tool", []string{""}, "/srv", ""},                           // even when the cwd holds it
		{"nothing", []string{"/usr/bin"}, "/", ""},                   // absent
		{"/usr/bin/app", nil, "/", "/usr/bin/app"},                   // a slash: as it is
		{"./tool", nil, "/srv", "/srv/tool"},                         // relative to dir
		{"rel/tool2", nil, "/srv", "/srv/rel/tool2"},
		{"/usr/bin/nothing", nil, "/", ""}, // a slash, missing
	} {
		got, err := res.LookPath(c.name, c.path, c.dir)
		if c.want == "" {
			if err == nil {
				t.Errorf("LookPath(%q, %q): found %s, want an error", c.name, c.path, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("LookPath(%q, %q) = %q, %v; want %q", c.name, c.path, got, err, c.want)
		}
	}
	_, err = res.LookPath("nothing", []string{"/usr/bin"}, "/")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Name != "nothing" || nf.Root != res.Root() {
		t.Errorf("not found: %v, want a *NotFoundError naming the command and the root", err)
	}
}

func TestPathOfAndNormRoot(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want int
	}{
		{nil, 6},                    // the default PATH
		{[]string{"PATH=/a:/b"}, 2}, //
		{[]string{"PATH=/a", "PATH=/x:/y:/z"}, 3}, // the last one wins, as getenv
		{[]string{"PATH="}, 0},                    // set but empty: no default
	} {
		if got := PathOf(c.env); len(got) != c.want {
			t.Errorf("PathOf(%q) = %q, want %d entries", c.env, got, c.want)
		}
	}
	for in, want := range map[string]string{"": "/", "/": "/", "/tmp/r/": "/tmp/r", "/tmp//r/../s": "/tmp/s"} {
		if got := NormRoot(in); got != want {
			t.Errorf("NormRoot(%q) = %q, want %q", in, got, want)
		}
	}
}
