package scratchpack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
)

// chrootOut runs argv in root with env, returning combined output.
func chrootOut(t *testing.T, root string, env []string, argv ...string) (string, error) {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	c.Dir, c.Env = "/", env
	out, err := c.CombinedOutput()
	return string(out), err
}

// TestWithCerts: python3's ssl.create_default_context() finds the CA
// certificates in an empty root made by build --with certs, from a
// trace that never touched them.
func TestWithCerts(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/python3")
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		t.Fatal("ca-certificates is needed (make test-deps)")
	}
	script := "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])"
	want := strings.TrimSpace(host(t, "", "/usr/bin/python3", "-c", script))
	if want == "0" {
		t.Fatal("the host itself has no CA certificates")
	}
	// The trace imports ssl but loads no certificates.
	for _, with := range []bool{false, true} {
		o := BuildOptions{Command: []string{"/usr/bin/python3", "-c", "import ssl"}}
		if with {
			o.Paths.Sets = []string{"certs"}
		}
		root, _ := build(t, o)
		got, err := chrootOut(t, root, cleanEnv, "/usr/bin/python3", "-c", script)
		got = strings.TrimSpace(got)
		if with && (err != nil || got != want) {
			t.Errorf("--with certs: %q (%v), host %q", got, err, want)
		}
		if !with && got == want {
			t.Errorf("without the set the certificates came anyway (%s): the test proves nothing", got)
		}
	}
}

// TestWithTzdata: --with tzdata gives the right local time for a zone the
// trace never touched.
func TestWithTzdata(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/date")
	argv := []string{"/usr/bin/date", "-d", "@1700000000", "+%H:%M %Z"}
	tokyo := append([]string{"TZ=Asia/Tokyo"}, cleanEnv...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = tokyo
	want, err := c.Output()
	if err != nil || !strings.Contains(string(want), "JST") {
		t.Fatalf("host: %q %v", want, err)
	}
	for _, with := range []bool{false, true} {
		o := BuildOptions{Command: argv, Env: append([]string{"TZ=UTC"}, cleanEnv...)}
		if with {
			o.Paths.Sets = []string{"tzdata"}
		}
		root, _ := build(t, o)
		got, err := chrootOut(t, root, tokyo, argv...)
		if with && (err != nil || got != string(want)) {
			t.Errorf("--with tzdata: %q %v, want %q", got, err, want)
		}
		if !with && got == string(want) {
			t.Errorf("Tokyo time without tzdata: the test proves nothing")
		}
	}
}

// TestWithNss: --with nss brings the NSS files and modules; python can
// then resolve names in the empty root.
func TestWithNss(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/python3")
	// The trace loads the modules the query needs, but reads no NSS file.
	o := BuildOptions{Command: []string{"/usr/bin/python3", "-c", "import socket, pwd, encodings.idna"}}
	o.Paths.Sets = []string{"nss,users"}
	o.Paths.User = "app"
	root, r := build(t, o)
	for _, p := range []string{"/etc/nsswitch.conf", "/etc/hosts", "/etc/services", "/etc/protocols", "/usr/lib/x86_64-linux-gnu/libnss_files.so.2", "/usr/lib/x86_64-linux-gnu/libnss_dns.so.2", "/usr/lib/x86_64-linux-gnu/libresolv.so.2"} {
		e := r.List.Lookup(p)
		if e == nil || !hasSource(e, "set:nss") {
			t.Errorf("%s: %+v", p, e)
		}
	}
	got, err := chrootOut(t, root, cleanEnv, "/usr/bin/python3", "-c",
		"import socket, pwd; print(socket.getaddrinfo('localhost', 'http', socket.AF_INET)[0][4], socket.getservbyname('ssh'), pwd.getpwnam('app').pw_uid, pwd.getpwnam('nobody').pw_uid)")
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	lines := strings.Split(strings.TrimSpace(string(passwd)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "app:x:") {
		t.Fatalf("generated passwd:\n%s", passwd)
	}
	uid := strings.Split(lines[2], ":")[2] // the first uid from 1000 the host does not use
	if err != nil || strings.TrimSpace(got) != "('127.0.0.1', 80) 22 "+uid+" 65534" {
		t.Errorf("name resolution in the empty root: %q %v", got, err)
	}
}

func hasSource(e *filelist.Entry, src filelist.Source) bool {
	for _, r := range e.Reasons {
		if r.Source == src {
			return true
		}
	}
	return false
}

// TestSecretsStayOut: a run that reads /etc/shadow does not pack it, and
// says so; --include of that exact path packs it.
func TestSecretsStayOut(t *testing.T) {
	needTools(t, "strace", "tar")
	var warns []string
	o := BuildOptions{Command: []string{"/bin/sh", "-c", "cat /etc/shadow /etc/hostname > /dev/null"}}
	out := filepath.Join(t.TempDir(), "r.tar.gz")
	o.Pack.Output, o.Env = out, cleanEnv
	o.Warn = func(err error) { warns = append(warns, err.Error()) }
	r, err := Build(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.List.Lookup("/etc/shadow") != nil || r.List.Lookup("/etc/hostname") == nil {
		t.Error("/etc/shadow packed, or /etc/hostname not")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "/etc/shadow") || !strings.Contains(warns[0], "--include /etc/shadow") {
		t.Errorf("warnings: %v", warns)
	}
	o.Paths.Includes = []string{"/etc/shadow"}
	o.Pack.Output = out + ".2"
	warns = nil
	r, err = Build(t.Context(), o)
	if err != nil || r.List.Lookup("/etc/shadow") == nil || len(warns) != 0 {
		t.Errorf("--include /etc/shadow: %v, warnings %v", err, warns)
	}
}

// TestIncludeExclude: includes take directories whole, excludes beat
// the trace, the sets and included directories; globs with **.
func TestIncludeExclude(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/games/fortune")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf/sub"), 0o755)
	for _, f := range []string{"conf/a.conf", "conf/b.bak", "conf/sub/c.conf", "conf/sub/d.bak"} {
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	os.Symlink("/etc/hostname", filepath.Join(dir, "conf/host"))
	exclFile := filepath.Join(dir, "excludes")
	os.WriteFile(exclFile, []byte("# data files\n/usr/share/games/fortunes/*.dat\n"), 0o644)
	o := BuildOptions{Command: []string{"/usr/games/fortune"}}
	o.Paths = PathOptions{
		Includes:    []string{filepath.Join(dir, "conf"), filepath.Join(dir, "conf/sub/d.bak")},
		Excludes:    []string{"**/*.bak", "/usr/share/zoneinfo/Asia/**"},
		ExcludeFrom: []string{exclFile},
		Sets:        []string{"tzdata"},
	}
	_, r := build(t, o)
	has := func(p string) bool { return r.List.Lookup(p) != nil }
	for p, want := range map[string]bool{
		filepath.Join(dir, "conf/a.conf"):        true,
		filepath.Join(dir, "conf/sub/c.conf"):    true,
		filepath.Join(dir, "conf/b.bak"):         false, // glob beats the included directory
		filepath.Join(dir, "conf/sub/d.bak"):     true,  // an exact include beats the glob
		filepath.Join(dir, "conf/host"):          true,  // links in an included tree are kept as links...
		"/etc/hostname":                          true,  // ...with their targets
		"/usr/share/games/fortunes/fortunes":     true,
		"/usr/share/games/fortunes/fortunes.dat": false, // exclude beats the trace
		"/usr/share/zoneinfo/Europe/Paris":       true,
		"/usr/share/zoneinfo/Asia/Tokyo":         false, // exclude beats a set
	} {
		if has(p) != want {
			t.Errorf("%s listed = %v, want %v", p, has(p), want)
		}
	}
	if e := r.List.Lookup(filepath.Join(dir, "conf/host")); e == nil || e.Kind != filelist.Symlink || e.Reasons[0].Source != "include" {
		t.Errorf("conf/host: %+v", e)
	}
}

// TestDefaultExcludes: /tmp's contents stay out, but a directory the
// program writes into is kept (empty).
func TestDefaultExcludes(t *testing.T) {
	needTools(t, "strace", "tar")
	os.WriteFile("/tmp/scratchpack-excl-input", []byte("x"), 0o644)
	defer os.Remove("/tmp/scratchpack-excl-input")
	defer os.Remove("/tmp/scratchpack-excl-output")
	_, r := build(t, BuildOptions{Command: []string{"/bin/sh", "-c", "cat /tmp/scratchpack-excl-input; echo y > /tmp/scratchpack-excl-output; cat /proc/self/status > /dev/null"}})
	if r.List.Lookup("/tmp/scratchpack-excl-input") != nil || r.List.Lookup("/proc") != nil {
		t.Error("the contents of /tmp or /proc were packed")
	}
	if e := r.List.Lookup("/tmp"); e == nil || e.Mode&01000 == 0 {
		t.Errorf("/tmp is not kept with its sticky mode: %+v", e)
	}
}
