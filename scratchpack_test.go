package scratchpack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func paths(l *filelist.List) map[string]filelist.Kind {
	m := map[string]filelist.Kind{}
	for _, e := range l.Entries {
		m[e.Path] = e.Kind
	}
	return m
}

// TestListInsideRoot: with --root, every path of the log resolves inside
// the root: an absolute symlink to /etc/shadow means ROOT/etc/shadow,
// never the host's, and interpreters are found inside the root too.
func TestListInsideRoot(t *testing.T) {
	root := t.TempDir()
	// a program whose PT_INTERP is /lib64/ld-linux-x86-64.so.2 inside the root
	ls, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "usr/bin/ls"), string(ls), 0o755)
	writeFile(t, filepath.Join(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), "loader", 0o755)
	os.MkdirAll(filepath.Join(root, "usr/lib64"), 0o755)
	os.Symlink("usr/lib64", filepath.Join(root, "lib64"))
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	os.Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", filepath.Join(root, "usr/lib64/ld-linux-x86-64.so.2"))
	writeFile(t, filepath.Join(root, "etc/motd"), "hi", 0o644)
	os.Symlink("/etc/shadow", filepath.Join(root, "etc/evil"))
	os.Symlink("../../../../../etc/passwd", filepath.Join(root, "etc/evil2"))
	log := filepath.Join(t.TempDir(), "app.strace")
	writeFile(t, log, `7 execve("/usr/bin/ls", ["ls"], 0x1 /* 1 var */) = 0
7 openat(AT_FDCWD, "/etc/motd", O_RDONLY) = 3
7 openat(AT_FDCWD, "/proc/self/status", O_RDONLY) = 4
7 openat(AT_FDCWD, "/dev/null", O_RDONLY) = 5
`, 0o644)
	l, err := List(context.Background(), ListOptions{Root: root, StraceLogs: []string{log}})
	if err != nil {
		t.Fatal(err)
	}
	got := paths(l)
	for p, k := range map[string]filelist.Kind{
		"/usr/bin/ls": filelist.File, "/etc/motd": filelist.File, "/lib64": filelist.Symlink, "/lib": filelist.Symlink,
		"/usr/lib64/ld-linux-x86-64.so.2":                filelist.Symlink,
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": filelist.File,
	} {
		if got[p] != k {
			t.Errorf("%s: kind %q, want %q", p, got[p], k)
		}
	}
	for p := range got {
		if strings.HasPrefix(p, "/proc") || strings.HasPrefix(p, "/dev") {
			t.Errorf("%s should have been dropped", p)
		}
	}
	if l.Root != root {
		t.Errorf("list root %s", l.Root)
	}
	// The evil links resolve inside the root, where there is no shadow.
	writeFile(t, log, "7 openat(AT_FDCWD, \"/etc/evil\", O_RDONLY) = 3\n", 0o644)
	_, err = List(context.Background(), ListOptions{Root: root, StraceLogs: []string{log}})
	var me *filelist.MissingError
	if !errors.As(err, &me) || me.At != "/etc/shadow" {
		t.Errorf("evil link: %v", err)
	}
	writeFile(t, log, "7 openat(AT_FDCWD, \"/etc/evil2\", O_RDONLY) = 3\n", 0o644)
	_, err = List(context.Background(), ListOptions{Root: root, StraceLogs: []string{log}})
	if !errors.As(err, &me) || me.At != "/etc/passwd" {
		t.Errorf("evil2 link: %v", err)
	}
}

// TestScriptInterpreters: an executed script brings its #! interpreter,
// and that interpreter its ELF loader.
func TestScriptInterpreters(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	writeFile(t, script, "#!/bin/sh\necho hi\n", 0o755)
	log := filepath.Join(dir, "app.strace")
	writeFile(t, log, `7 execve("`+script+`", ["run.sh"], 0x1 /* 1 var */) = 0
7 openat(AT_FDCWD, "`+log+`", O_RDONLY) = 3
`, 0o644)
	l, err := List(context.Background(), ListOptions{StraceLogs: []string{log}})
	if err != nil {
		t.Fatal(err)
	}
	got := paths(l)
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	for _, p := range []string{script, "/bin", sh, "/lib64", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"} {
		if _, ok := got[p]; !ok {
			t.Errorf("%s missing from %v", p, got)
		}
	}
	if _, ok := got[log]; ok {
		t.Error("the trace log itself was listed")
	}
	e := l.Lookup(sh)
	if e == nil || len(e.Reasons) == 0 || e.Reasons[0].Source != "shebang" || !strings.Contains(e.Reasons[0].Detail, script) {
		t.Errorf("reason of %s: %+v", sh, e)
	}
}

func TestParseCmdAndDockerfile(t *testing.T) {
	for _, bad := range []string{"fortune", `["fortune"]`, `[]`, `{"a":1}`} {
		if _, err := ParseCmd(bad); err == nil {
			t.Errorf("ParseCmd(%s) accepted", bad)
		}
	}
	cmd, err := ParseCmd(`["/usr/bin/python3", "-c", "print('<&>')"]`)
	if err != nil {
		t.Fatal(err)
	}
	df := Dockerfile("rootfs.tar.gz", cmd, []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, "/srv")
	want := "FROM scratch\nADD rootfs.tar.gz /\nENV PATH=\"/usr/bin:/bin\"\nENV LANG=\"C.UTF-8\"\nWORKDIR /srv\nCMD [\"/usr/bin/python3\",\"-c\",\"print('<&>')\"]\n"
	if !strings.HasSuffix(df, want) {
		t.Errorf("Dockerfile:\n%s\nwant suffix:\n%s", df, want)
	}
}

func TestEpochFromEnv(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	e, err := EpochFromEnv()
	if err != nil || e == nil || e.Unix() != 1700000000 {
		t.Errorf("%v %v", e, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := EpochFromEnv(); err == nil {
		t.Error("a bad SOURCE_DATE_EPOCH was accepted")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if e, err := EpochFromEnv(); e != nil || err != nil {
		t.Errorf("empty: %v %v", e, err)
	}
}
